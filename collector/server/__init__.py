"""traceglass.collector.server: the bundled collector's receivers (`traceglass server`).

    from traceglass.collector.server import Server, ServerConfig

    with Server(ServerConfig(store_url="sqlite:///traces.db", port=5000)) as server:
        ...  # OTLP/HTTP on :5000 and :4318 (/v1/traces, /v1/metrics, /v1/logs), OTLP/gRPC on :4317

Spans go to the trace store; metrics and log requests are kept whole in its `otlp_requests`
table (`TelemetryTable`); everything can also be forwarded to other OTLP/HTTP backends.
"""

from ._app import Server
from ._config import (
    DEFAULT_GRPC_PORT,
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    DEFAULT_MAX_REQUEST_SIZE,
    DEFAULT_OTLP_HTTP_PORT,
    DEFAULT_PORT,
    ServerConfig,
    ServerConfigError,
)
from ._ingest import EXPERIMENT_HEADER
from ._telemetry import TelemetryRequest, TelemetryTable

__all__ = [
    "DEFAULT_GRPC_PORT",
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "DEFAULT_MAX_REQUEST_SIZE",
    "DEFAULT_OTLP_HTTP_PORT",
    "DEFAULT_PORT",
    "EXPERIMENT_HEADER",
    "Server",
    "ServerConfig",
    "ServerConfigError",
    "TelemetryRequest",
    "TelemetryTable",
]
