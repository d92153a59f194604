"""The exporters of a destination: spans, metrics and logs, built on demand.

- a store: `LocalStoreSpanExporter` (spans only: the store keeps no metrics or logs);
- a traceglass server at `{uri}`: OTLP/HTTP to `{uri}/v1/traces`, `/v1/metrics`, `/v1/logs`,
  with TRACEGLASS_AUTH_TOKEN as bearer token when it is set (`_server_export`: a batch given up is
  one line on the `traceglass` logger, and exit does not wait out the retries);
- OpenTelemetry's settings: the exporters OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER /
  OTEL_LOGS_EXPORTER name, loaded through the `opentelemetry_<signal>_exporter` entry points as
  `opentelemetry-instrument` loads them (`otlp` means gRPC or http/protobuf as
  OTEL_EXPORTER_OTLP_[<SIGNAL>_]PROTOCOL says; gRPC when unset, like the Python SDK). A signal whose
  variable is unset gets `otlp` when an OTLP endpoint is configured, else nothing (so
  OTEL_TRACES_EXPORTER=console alone does not send metrics to a collector that is not there).
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
import sys
from collections.abc import Callable
from typing import Any

from traceglass._env import OtelExportEnv, TrackingEnv
from traceglass._tracking import Destination

__all__ = ["Exporters", "exporter_identity", "exporters_for"]

_log = logging.getLogger("traceglass")

_OTLP_BY_PROTOCOL = {"grpc": "otlp_proto_grpc", "http/protobuf": "otlp_proto_http"}
_GROUPS = {
    "traces": "opentelemetry_traces_exporter",
    "metrics": "opentelemetry_metrics_exporter",
    "logs": "opentelemetry_logs_exporter",
}


@dataclasses.dataclass(frozen=True)
class Exporters:
    """Factories, so nothing is built (no connection opened) for a signal nobody sets up."""

    spans: Callable[[], list[Any]]
    metrics: Callable[[], list[Any]]
    logs: Callable[[], list[Any]]


def exporters_for(destination: Destination) -> Exporters:
    if destination.kind == "store":
        url = destination.url

        def store_spans() -> list[Any]:
            from traceglass.exporters import LocalStoreSpanExporter

            return [LocalStoreSpanExporter(url)]

        return Exporters(store_spans, list, list)
    if destination.kind == "server":
        return _server(str(destination.url))
    otel = TrackingEnv.resolve().otel
    return Exporters(*(_from_env(otel, signal) for signal in ("traces", "metrics", "logs")))


def exporter_identity(exporter: Any) -> tuple[str, str | None]:
    """Where an exporter sends: its class, and its endpoint or store URL when it has one. Two
    exporters with one identity would deliver every span twice to one place."""
    cls = type(exporter)
    server_export = sys.modules.get("traceglass._server_export")  # loaded once such an exporter exists
    if server_export is not None:
        cls = server_export.IDENTITIES.get(cls, cls)  # a traceglass server's exporter is the SDK's OTLP one
    where = getattr(exporter, "url", None) or getattr(exporter, "_endpoint", None)
    return (f"{cls.__module__}.{cls.__qualname__}", str(where) if where is not None else None)


def _server(base: str) -> Exporters:
    # The SDK's OTLP/HTTP exporters, reporting a batch they give up on in one line and giving up
    # quickly at exit (`_server_export`); TRACEGLASS_AUTH_TOKEN is their bearer token when set.
    def spans() -> list[Any]:
        from traceglass import _server_export

        return [_server_export.span_exporter(base)]

    def metric_exporters() -> list[Any]:
        from traceglass import _server_export

        return [_server_export.metric_exporter(base)]

    def logs() -> list[Any]:
        from traceglass import _server_export

        return [_server_export.log_exporter(base)]

    return Exporters(spans, metric_exporters, logs)


def _from_env(otel: OtelExportEnv, signal: str) -> Callable[[], list[Any]]:
    def build() -> list[Any]:
        names = otel.exporter_names(signal)
        if names is None:
            names = ["otlp"] if signal == "traces" or otel.has_otlp_endpoint(signal) else []
        built = []
        for name in names:
            try:
                built.append(_load(signal, _entry_point_name(otel, signal, name))())
            except (ValueError, LookupError) as exc:  # a setting to fix, which the message names
                _log.warning("traceglass: cannot build the %s exporter %r: %s. No %s are exported through it.",
                             signal, name, exc, signal)
            except Exception:
                _log.warning("traceglass: cannot build the %s exporter %r; no %s are exported through it.",
                             signal, name, signal, exc_info=True)
        return built

    return build


def _entry_point_name(otel: OtelExportEnv, signal: str, name: str) -> str:
    if name != "otlp":
        return name
    protocol = (otel.otlp_protocol(signal) or "grpc").strip()
    if protocol not in _OTLP_BY_PROTOCOL:
        variable = "OTEL_EXPORTER_OTLP_" + (f"{signal.upper()}_" if getattr(otel, f"{signal}_protocol") else "")
        raise ValueError(f"{variable}PROTOCOL is {protocol!r}; expected grpc or http/protobuf")
    return _OTLP_BY_PROTOCOL[protocol]


def _load(signal: str, name: str) -> Any:
    group = _GROUPS[signal]
    for entry_point in importlib.metadata.entry_points(group=group, name=name):
        return entry_point.load()
    raise LookupError(f"OTEL_{signal.upper()}_EXPORTER names {name!r}, and no installed package provides "
                      f"an exporter by that name (entry point group {group})")
