"""A traceglass server's query API (/api/v1), seen through the Store methods the query facade and
the CLI use: search_traces() and the `traceglass traces|experiments` commands then work the same
against a server as against a store.

The standard library's urllib is enough for these small JSON requests and adds no dependency.
TRACEGLASS_AUTH_TOKEN, when set, is sent as the bearer token (as the span exporters do). Errors
come back as the exceptions the store raises: FilterError (same message and position), ValueError
for a bad page token or argument, StoreError for anything else.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from typing import Any

from traceglass._env import server_auth_token
from traceglass.collector.store import Experiment, FilterError, StoreError, Trace, TraceInfo, TracePage

__all__ = ["RemoteStore"]

_PREFIX = "/api/v1"
_TIMEOUT = 30.0
_MAX_PAGE = 1000  # the most traces the query API returns per request (its max_results limit)
_LONG_REQUEST = 8000  # characters of URL beyond which common HTTP servers and proxies may refuse it


class RemoteStore:
    """The query API of the server at `base_url` (e.g. http://127.0.0.1:5000)."""

    def __init__(self, base_url: str, token: str | None = None, timeout: float = _TIMEOUT) -> None:
        self.url = base_url.rstrip("/")
        self._token = token if token is not None else server_auth_token()
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"RemoteStore({self.url!r})"

    # --- experiments -------------------------------------------------------------------------

    def list_experiments(self) -> list[Experiment]:
        return [Experiment(**data) for data in self._request("GET", "/experiments")["experiments"]]

    def experiment_names(self) -> dict[str, int]:
        return {experiment.name: experiment.experiment_id for experiment in self.list_experiments()}

    def create_experiment(self, name: str) -> Experiment:
        return Experiment(**self._request("POST", "/experiments", {"name": name}))

    def rename_experiment(self, experiment_id: int, new_name: str) -> Experiment:
        return Experiment(**self._request("PATCH", f"/experiments/{int(experiment_id)}", {"name": new_name}))

    def delete_experiment(self, experiment_id: int) -> None:
        self._request("DELETE", f"/experiments/{int(experiment_id)}")

    # --- traces ------------------------------------------------------------------------------

    def search_traces(
        self,
        experiment_ids: Sequence[int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> TracePage:
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ValueError(f"max_results must be a positive integer, not {max_results!r}")
        if experiment_ids is not None and not experiment_ids:
            return TracePage([])  # an empty scope matches nothing; no parameter would mean "everywhere"
        params: list[tuple[str, Any]] = [("experiment_id", experiment_id) for experiment_id in experiment_ids or ()]
        if filter_string:
            params.append(("filter", filter_string))
        params.extend(("order_by", key) for key in order_by or ())
        infos: list[TraceInfo] = []
        token = page_token
        while True:
            # The server answers at most _MAX_PAGE traces a request: a larger page is the next
            # pages joined, so that max_results means what it means against a store.
            size = min(max_results - len(infos), _MAX_PAGE)
            data = self._request("GET", "/traces?" + _search_query(
                [*params, ("max_results", size), *([("page_token", token)] if token else [])],
                filter_string, order_by, page_token))
            infos.extend(TraceInfo.from_dict(info) for info in data["traces"])
            token = data.get("next_page_token")
            if token is None or len(infos) >= max_results:
                return TracePage(infos, token)

    def get_trace(self, trace_id: str) -> Trace | None:
        if not trace_id:
            return None  # no trace has an empty id, and /traces/ would be the search route
        try:
            return Trace.from_dict(self._request("GET", f"/traces/{_segment(trace_id)}"))
        except _NotFound:
            return None

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"tag value must be a str, not {type(value).__name__}")
        self._request("PUT", f"/traces/{_segment(trace_id)}/tags/{_segment(key)}", {"value": value})

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        self._request("DELETE", f"/traces/{_segment(trace_id)}/tags/{_segment(key)}")

    def delete_traces(self, trace_ids: Iterable[str]) -> int:
        return int(self._request("DELETE", "/traces", {"trace_ids": list(trace_ids)})["deleted"])

    # --- HTTP --------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(self.url + _PREFIX + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as error:
            with error:
                try:
                    content = error.read()
                except OSError:  # closed after the answer, as a server does with a request line too long for it
                    content = b""
                raise _error(error.code, content, f"{method} {request.full_url}", bool(self._token)) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreError(f"Cannot reach the traceglass server at {self.url}: {reason}") from None
        try:
            return json.loads(content) if content else None
        except ValueError:  # an HTML page: a proxy's login, another web application on that port
            raise StoreError(f"The server at {self.url} answered {method} {_PREFIX}{path} with something other "
                             f"than JSON: is it a traceglass server's main port (with the query API)?") from None


class _NotFound(StoreError):
    pass


def _search_query(params: list[tuple[str, Any]], filter_string: str | None, order_by: Sequence[str] | None,
                  page_token: str | None) -> str:
    """The query string of a search request."""
    try:
        return urllib.parse.urlencode(params)
    except UnicodeEncodeError:
        # Text that cannot be sent as UTF-8 (a lone surrogate): raise what a store raises for it.
        from traceglass.collector.store._filter import parse_filter
        from traceglass.collector.store._query import decode_page_token, sort_keys

        parse_filter(filter_string)
        keys = sort_keys(order_by)
        if page_token:
            decode_page_token(page_token, keys)
        raise


def _segment(text: str) -> str:
    # Trace ids and tag keys are path segments: a key like "a/b" must not become two segments.
    return urllib.parse.quote(str(text), safe="")


def _error(status: int, content: bytes, request: str, token_sent: bool = False) -> Exception:
    """The exception the store would have raised for the server's error answer."""
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message", ""))
        code = error.get("code")
        if code == "INVALID_FILTER" and isinstance(error.get("position"), int):
            return FilterError(error.get("text") or "", error["position"], str(error.get("expected")),
                               str(error.get("found")), str(error.get("kind") or "filter"))
        if status == 404:
            return _NotFound(message)
        if status == 400:
            return ValueError(message)
        return StoreError(message)
    if status == 422 and isinstance(payload, dict):  # FastAPI's validation answer
        details = "; ".join(f"{'.'.join(map(str, item.get('loc', ())))}: {item.get('msg')}"
                            for item in payload.get("detail") or () if isinstance(item, dict))
        return ValueError(f"The server refused the request: {details or payload}")
    if status == 401 and token_sent:
        return StoreError("The traceglass server refused the token in TRACEGLASS_AUTH_TOKEN: set it to the "
                          "server's bearer token (its --auth-token).")
    if status == 401:
        return StoreError("The traceglass server requires a token: set TRACEGLASS_AUTH_TOKEN to its bearer token.")
    if status in (400, 414, 431) and len(request) > _LONG_REQUEST:
        # HTTP servers and proxies refuse long URLs before the query API sees them; a store has no such limit.
        return ValueError(f"The server refused a request of {len(request)} characters, longer than it accepts: "
                          f"shorten the filter (fewer values in its IN lists), or search the store directly.")
    # Not an answer of the query API: the address is likely something else (an OTLP-only port, a proxy).
    shown = request if len(request) <= 200 else request[:200] + "..."
    return StoreError(f"The server answered {status} to {shown}: is it a traceglass server's main port "
                      f"(with the query API)?")
