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
        if experiment_ids is not None and not experiment_ids:
            return TracePage([])  # an empty scope matches nothing; no parameter would mean "everywhere"
        params: list[tuple[str, Any]] = [("experiment_id", experiment_id) for experiment_id in experiment_ids or ()]
        if filter_string:
            params.append(("filter", filter_string))
        params.extend(("order_by", key) for key in order_by or ())
        params.append(("max_results", max_results))
        if page_token:
            params.append(("page_token", page_token))
        data = self._request("GET", "/traces?" + urllib.parse.urlencode(params))
        return TracePage([TraceInfo.from_dict(info) for info in data["traces"]], data.get("next_page_token"))

    def get_trace(self, trace_id: str) -> Trace | None:
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
                raise _error(error.code, error.read(), f"{method} {request.full_url}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreError(f"Cannot reach the traceglass server at {self.url}: {reason}") from None
        return json.loads(content) if content else None


class _NotFound(StoreError):
    pass


def _segment(text: str) -> str:
    # Trace ids and tag keys are path segments: a key like "a/b" must not become two segments.
    return urllib.parse.quote(str(text), safe="")


def _error(status: int, content: bytes, request: str) -> Exception:
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
    if status == 401:
        return StoreError("The traceglass server requires a token: set TRACEGLASS_AUTH_TOKEN to its bearer token.")
    # Not an answer of the query API: the address is likely something else (an OTLP-only port, a proxy).
    return StoreError(f"The server answered {status} to {request}: is it a traceglass server's main port "
                      f"(with the query API)?")
