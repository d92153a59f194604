"""The OTLP/HTTP exporters of a traceglass server destination, and what they say when it fails.

They are the SDK's own exporters (`OTLPSpanExporter`, `OTLPMetricExporter`, `OTLPLogExporter`),
with the same retries, subclassed only to change what happens around a batch:

- A batch the exporter gives up on is reported in one line on the `traceglass` logger, naming
  the server and the reason (connection refused, unknown host, certificate, HTTP 401/404/5xx),
  once per outage: later failed batches go to DEBUG, and a line at INFO says when the server
  accepts telemetry again. The exporter's own messages (multi-line `HTTPConnectionPool(...)` texts,
  one per retry) are moved to DEBUG on `traceglass`, for these exporters only.
- When the process ends (`finish()`), each batch left gets one attempt, with a 1.5 s connect
  and 2 s read timeout, and none once the server has not answered: exit waits about a second or
  two for a server that is down rather than the exporter's 10 s of retries per batch. While the
  app runs, the retries are the exporter's (backoff of 1, 2, 4 s within its timeout, 10 s by
  default), so a server restarted within a few seconds loses nothing.

The outcome of each request (the exception, or the HTTP status) is seen through the `session`
the exporters accept; the exporters' retry loop stops early through its own shutdown event, as
`shutdown()` stops it.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult
from urllib3 import exceptions as urllib3_errors

from traceglass._env import otlp_http_credential_provider, server_auth_token
from traceglass._tracking import display_url

__all__ = ["finish", "forget", "log_exporter", "metric_exporter", "span_exporter"]

_log = logging.getLogger("traceglass")

# At exit: time to connect (TCP, and TLS on a new connection) and to wait for the answer.
_FINAL_CONNECT_TIMEOUT = 1.5
_FINAL_READ_TIMEOUT = 2.0  # a traceglass server answers within a second, busy or not
# How long "the server did not answer" stands for the other exporters finishing after it.
_UNREACHABLE_FOR = 5.0

_NOUNS = {"spans": ("span", "spans"), "metrics": ("metric point", "metric points"),
          "logs": ("log record", "log records")}


# -- what the exporters' own loggers say, while they export for traceglass -----------------------

_exporting = threading.local()  # .depth: inside one of our export() calls; .said: its last message

_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.common.http",
)


class _OwnExportsToDebug(logging.Filter):
    """Drops what an exporter logs during an export traceglass runs (each retry, the final
    failure), logging it at DEBUG on `traceglass` instead; other exporters are left alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_exporting, "depth", 0):
            return True
        message = record.getMessage()
        _exporting.said = message
        _log.debug("traceglass: %s says: %s", record.name, message)
        return False


_filter = _OwnExportsToDebug()
for _name in _EXPORTER_LOGGERS:
    logging.getLogger(_name).addFilter(_filter)


# -- one traceglass server: what was reported, and whether it answers ----------------------------


class _Server:
    """What the exporters of one server address share: the outage reported, what it lost."""

    def __init__(self, base: str) -> None:
        self.url = display_url(base)
        self.host = urlsplit(base).hostname or ""
        self._lock = threading.Lock()
        self._reported: str | None = None  # the reason of the outage reported, while it lasts
        self._lost: Counter[str] = Counter()
        self._unreachable: tuple[float, BaseException] | None = None

    def sent(self) -> None:
        with self._lock:
            self._unreachable = None
            if self._reported is None:
                return
            lost, self._lost, self._reported = self._lost, Counter(), None
        _log.info("traceglass: the traceglass server at %s accepts telemetry again; %s could not be sent "
                  "before that and %s not recorded.", self.url, _counts(lost),
                  "was" if sum(lost.values()) == 1 else "were")

    def failed(self, signal: str, count: int, outcome: object, said: str | None) -> None:
        reason, hint = _reason(outcome, said, self.host)
        with self._lock:
            self._lost[signal] += count
            again = self._reported == reason
            self._reported = reason
        were = "it was" if count == 1 else "they were"
        _log.log(logging.DEBUG if again else logging.WARNING,
                 "traceglass: could not send %s to the traceglass server at %s (%s); %s not recorded.%s",
                 _counts({signal: count}), self.url, reason, were, hint)

    def unreachable(self) -> BaseException | None:
        """The error of the last attempt made while finishing, if it found no server lately."""
        with self._lock:
            if self._unreachable is None or time.monotonic() - self._unreachable[0] > _UNREACHABLE_FOR:
                return None
            return self._unreachable[1]

    def did_not_answer(self, error: BaseException) -> None:
        with self._lock:
            self._unreachable = (time.monotonic(), error)


_servers: dict[str, _Server] = {}
_servers_lock = threading.Lock()


def _server(base: str) -> _Server:
    with _servers_lock:
        return _servers.setdefault(base, _Server(base))


def forget() -> None:
    """Forget the outages reported, as in a new process."""
    with _servers_lock:
        _servers.clear()


# -- the session: each request's outcome, and the timeouts when finishing ------------------------


class _Session(requests.Session):
    """The exporter's HTTP session. It remembers, per thread, how the last request ended (for the
    message), and once `final` it caps the timeouts and sends nothing to a server that has just
    not answered."""

    def __init__(self, server: _Server) -> None:
        super().__init__()
        self.final = False
        self._server = server
        self._seen = threading.local()

    def outcome(self) -> object:
        """The last request's exception, or its (status, reason); None before any."""
        return getattr(self._seen, "outcome", None)

    def forget_outcome(self) -> None:
        self._seen.outcome = None

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if self.final:
            error = self._server.unreachable()
            if error is not None:
                self._seen.outcome = error
                raise _NotTried(f"not sent: {error}")
            kwargs["timeout"] = _final_timeout(kwargs.get("timeout"))
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            self._seen.outcome = exc
            if self.final and not _dropped_connection(exc):
                self._server.did_not_answer(exc)
            raise
        self._seen.outcome = (response.status_code, response.reason or "")
        return response


class _NotTried(requests.ConnectionError):
    """A request not sent while finishing: the server did not answer the one before."""


def _final_timeout(timeout: Any) -> tuple[float, float]:
    if isinstance(timeout, (int, float)):
        return (min(float(timeout), _FINAL_CONNECT_TIMEOUT), min(float(timeout), _FINAL_READ_TIMEOUT))
    return (_FINAL_CONNECT_TIMEOUT, _FINAL_READ_TIMEOUT)


# -- the exporters --------------------------------------------------------------------------------


_built: weakref.WeakSet[Any] = weakref.WeakSet()


class _Reporting:
    """What the three exporters add: the report of a failed batch, and `finish()`."""

    _FAILURE: ClassVar[Any]
    _signal: str
    _server_state: _Server
    _session: _Session | None

    def _watch(self, count: int, export: Callable[[], Any]) -> Any:
        session = self._session
        if session is not None:
            session.forget_outcome()
        _exporting.depth = getattr(_exporting, "depth", 0) + 1
        _exporting.said = None
        outcome: object = None
        try:
            result = export()
        except Exception as exc:  # reported below, like any failed batch
            _log.debug("traceglass: the %s exporter raised", self._signal, exc_info=True)
            result, outcome = self._FAILURE, exc
        finally:
            _exporting.depth -= 1
        try:
            if result.name == "SUCCESS":
                self._server_state.sent()
            else:
                if outcome is None and session is not None:
                    outcome = session.outcome()
                self._server_state.failed(self._signal, count, outcome, _exporting.said)
        except Exception:  # the report must not fail the export
            _log.debug("traceglass: reporting an export failed", exc_info=True)
        return result

    def finish(self) -> None:
        """From now on: one attempt per batch, short timeouts, nothing after a server that did not
        answer. A retry already waiting out its backoff stops waiting."""
        if self._session is not None:
            self._session.final = True
        for event in self._retry_stops():
            event.set()

    def _retry_stops(self) -> list[threading.Event]:
        """The events the exporter's retry loop stops at (and stops waiting out a backoff): its
        HTTP client's since 1.45, the exporter's own before."""
        candidates = (getattr(getattr(self, "_client", None), "_shutdown_event", None),
                      getattr(self, "_shutdown_in_progress", None))
        return [event for event in candidates if isinstance(event, threading.Event)]


def _setup(exporter: _Reporting, signal: str, server: _Server, session: _Session | None) -> None:
    exporter._signal = signal
    exporter._server_state = server
    exporter._session = session
    _built.add(exporter)


class _SpanExporter(_Reporting, OTLPSpanExporter):
    _FAILURE = SpanExportResult.FAILURE

    def export(self, spans: Any) -> Any:
        return self._watch(len(spans), lambda: super(_SpanExporter, self).export(spans))


class _MetricExporter(_Reporting, OTLPMetricExporter):
    _FAILURE = MetricExportResult.FAILURE

    def export(self, metrics_data: Any, timeout_millis: float | None = 10000, **kwargs: Any) -> Any:
        return self._watch(_points(metrics_data),
                           lambda: super(_MetricExporter, self).export(metrics_data, timeout_millis, **kwargs))


class _LogExporter(_Reporting, OTLPLogExporter):
    _FAILURE = LogRecordExportResult.FAILURE

    def export(self, batch: Any) -> Any:
        return self._watch(len(batch), lambda: super(_LogExporter, self).export(batch))


# The classes traceglass's exporters stand for: two exporters with one identity deliver twice.
IDENTITIES: Mapping[type, type] = {_SpanExporter: OTLPSpanExporter, _MetricExporter: OTLPMetricExporter,
                                   _LogExporter: OTLPLogExporter}


def _build(cls: type, signal: str, path: str, base: str, **options: Any) -> Any:
    server = _server(base)
    # A credential provider (OTEL_PYTHON_EXPORTER_OTLP_HTTP_[<SIGNAL>_]CREDENTIAL_PROVIDER) supplies
    # the session itself: it is kept, and the messages name a reason only when the exporter did.
    session = None if otlp_http_credential_provider(path) else _Session(server)
    exporter = cls(endpoint=f"{base}/v1/{path}", session=session, **options)
    _setup(exporter, signal, server, session)
    return exporter


def _headers() -> dict[str, Any]:
    # The server's bearer token, when this process knows it (the same variable the server reads);
    # otherwise OTEL_EXPORTER_OTLP_[<SIGNAL>_]HEADERS apply as usual.
    token = server_auth_token()
    return {"headers": {"authorization": f"Bearer {token}"}} if token else {}


def span_exporter(base: str) -> OTLPSpanExporter:
    """The span exporter to the traceglass server at `base` (`{base}/v1/traces`)."""
    return _build(_SpanExporter, "spans", "traces", base, **_headers())


def metric_exporter(base: str) -> OTLPMetricExporter:
    """The metric exporter to the traceglass server at `base` (`{base}/v1/metrics`)."""
    return _build(_MetricExporter, "metrics", "metrics", base, **_headers())


def log_exporter(base: str) -> OTLPLogExporter:
    """The log exporter to the traceglass server at `base` (`{base}/v1/logs`)."""
    return _build(_LogExporter, "logs", "logs", base, **_headers())


def finish(exporters: Iterable[Any] | None = None) -> None:
    """Make `exporters` (default: every one built here) quick to give up: the process ends."""
    for exporter in list(_built) if exporters is None else exporters:
        if isinstance(exporter, _Reporting):
            try:
                exporter.finish()
            except Exception:  # exit goes on
                _log.debug("traceglass: finishing an exporter failed", exc_info=True)


# -- the words ------------------------------------------------------------------------------------


def _counts(counts: Mapping[str, int]) -> str:
    parts = []
    for signal, count in counts.items():
        singular, plural = _NOUNS[signal]
        parts.append(f"{count} {singular if count == 1 else plural}")
    return ", ".join(parts)


def _points(metrics_data: Any) -> int:
    try:
        return sum(len(metric.data.data_points) for resource in metrics_data.resource_metrics
                   for scope in resource.scope_metrics for metric in scope.metrics)
    except Exception:
        return 0


_NOT_RUNNING = " Is `traceglass server` running there?"


def _reason(outcome: object, said: str | None, host: str) -> tuple[str, str]:
    """(why, hint): the reason in a few words, and a sentence on what to check (may be empty)."""
    if isinstance(outcome, tuple) and outcome[0] >= 400:
        status, phrase = outcome
        answer = f"it answered HTTP {status} {phrase}".rstrip()
        if status in (401, 403):
            if server_auth_token():
                return f"{answer}: the token in TRACEGLASS_AUTH_TOKEN is not the server's", \
                    " Set TRACEGLASS_AUTH_TOKEN to the token the server was started with."
            return f"{answer}: it requires a token", \
                " Set TRACEGLASS_AUTH_TOKEN to the token the server was started with."
        if status == 404:
            return answer, " Is that the address of a traceglass server?"
        if status in (429, 503):
            return f"{answer}: it is busy or stopping", ""
        return answer, ""
    if isinstance(outcome, BaseException):
        return _error_reason(outcome, host)
    return (said or "the export failed"), ""


def _error_reason(error: BaseException, host: str) -> tuple[str, str]:
    chain = _chain(error)

    def found(*types: type) -> BaseException | None:
        return next((item for item in chain if isinstance(item, types)), None)

    if (item := found(ssl.SSLCertVerificationError)) is not None:
        return f"TLS: {getattr(item, 'verify_message', None) or 'certificate verify failed'}", \
            " Does its certificate verify? OTEL_EXPORTER_OTLP_CERTIFICATE can name the CA that signed it."
    if (item := found(ssl.SSLError)) is not None:
        text = getattr(item, "reason", None) or str(item)
        return f"TLS: {text.replace('_', ' ').lower()}", " Does the server speak https on that port?"
    if found(urllib3_errors.NameResolutionError) is not None:
        return f"cannot resolve the host name {host}", " Is the host name right?"
    if found(ConnectionRefusedError) is not None:
        return "connection refused", _NOT_RUNNING
    if found(requests.ConnectTimeout) is not None or any(
            isinstance(item, urllib3_errors.ConnectTimeoutError)
            and not isinstance(item, urllib3_errors.NewConnectionError) for item in chain):
        return "no answer: connecting timed out", _NOT_RUNNING
    if found(requests.ReadTimeout, urllib3_errors.ReadTimeoutError) is not None:
        return "no reply in time", ""
    if found(ConnectionResetError, ConnectionAbortedError, urllib3_errors.ProtocolError) is not None:
        return "the connection was closed before a reply", ""
    for item in chain:
        if isinstance(item, OSError) and item.strerror and not isinstance(item, requests.RequestException):
            return item.strerror[:1].lower() + item.strerror[1:], " Is the server reachable from here?"
    return " ".join(str(error).split())[:200] or type(error).__name__, ""


def _chain(error: BaseException) -> list[BaseException]:
    """`error` and what it wraps: requests' argument, urllib3's reason, causes and contexts."""
    seen: list[BaseException] = []
    todo = [error]
    while todo and len(seen) < 20:
        item = todo.pop(0)
        if item in seen:
            continue
        seen.append(item)
        wrapped = [*(item.args[:1] if item.args else ()), getattr(item, "reason", None), item.__cause__,
                   item.__context__]
        todo.extend(w for w in wrapped if isinstance(w, BaseException))
    return seen


def _dropped_connection(error: BaseException) -> bool:
    """A pooled connection the server closed meanwhile: the next attempt may well succeed."""
    chain = _chain(error)
    return not any(isinstance(item, (urllib3_errors.NewConnectionError, urllib3_errors.ConnectTimeoutError,
                                     ssl.SSLError, requests.Timeout, urllib3_errors.ReadTimeoutError))
                   for item in chain) and any(
        isinstance(item, (urllib3_errors.ProtocolError, ConnectionResetError, ConnectionAbortedError))
        for item in chain)
