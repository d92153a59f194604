"""OTLP/gRPC receivers: the Export methods of TraceService, MetricsService and LogsService.

Handlers take the request's raw bytes (no deserializer registered) so a malformed message gets
INVALID_ARGUMENT with a clear message rather than a transport-level failure, and the bytes can
be forwarded as received. A full queue answers RESOURCE_EXHAUSTED (UNAVAILABLE while stopping)
with a google.rpc.RetryInfo, which OTLP exporters read as "retry after this delay". gRPC itself
enforces the size limit (max_receive_message_length, applied after decompression).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTracePartialSuccess

from ._auth import token_matches
from ._ingest import EXPERIMENT_HEADER, Ingest
from ._payload import PROTOBUF, PayloadError, decode, response_type

__all__ = ["create_grpc_server"]

_log = logging.getLogger("traceglass.server")

_SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
}
_WORKERS = 8


def create_grpc_server(ingest: Ingest, host: str, port: int, *, auth_token: str | None,
                       max_message_size: int, retry_after_seconds: float) -> tuple[grpc.Server, int]:
    """A gRPC server bound to host:port (not started yet), and the port it got (for port 0)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="traceglass-grpc"),
        # so_reuseport off: otherwise a second server could bind the same port and split the traffic.
        options=[("grpc.max_receive_message_length", max_message_size), ("grpc.so_reuseport", 0)],
    )
    for signal, service in _SERVICES.items():
        handler = grpc.unary_unary_rpc_method_handler(
            _export(ingest, signal, auth_token, retry_after_seconds),
            request_deserializer=None,
            response_serializer=lambda message: message.SerializeToString(),
        )
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound = server.add_insecure_port(address)
    return server, bound


def _export(ingest: Ingest, signal: str, auth_token: str | None,
            retry_after_seconds: float) -> Callable[[bytes, grpc.ServicerContext], Any]:
    def export(request: bytes, context: grpc.ServicerContext) -> Any:
        metadata = dict(context.invocation_metadata())
        if auth_token and not token_matches(auth_token, _text(metadata.get("authorization"))):
            context.abort(grpc.StatusCode.UNAUTHENTICATED,
                          "Missing or wrong bearer token: send the 'authorization: Bearer <token>' header.")
        try:
            outcome = ingest.receive(decode(signal, request, PROTOBUF), _text(metadata.get(EXPERIMENT_HEADER)))
        except PayloadError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, error.message)
        if not outcome.accepted:
            _abort_retry(context, outcome.closing, retry_after_seconds)
        response = response_type(signal)()
        if outcome.rejected and signal == "traces":
            response.partial_success.CopyFrom(
                ExportTracePartialSuccess(rejected_spans=outcome.rejected, error_message=outcome.error))
        return response

    return export


def _abort_retry(context: grpc.ServicerContext, closing: bool, retry_after_seconds: float) -> None:
    if closing:
        code, message = grpc.StatusCode.UNAVAILABLE, "The server is shutting down; retry later."
    else:
        code, message = grpc.StatusCode.RESOURCE_EXHAUSTED, "The server is busy writing earlier requests; retry later."
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(int(retry_after_seconds * 1e9))
    retry_info = error_details_pb2.RetryInfo(retry_delay=delay)
    detail = status_pb2.Status(code=code.value[0], message=message)
    detail.details.add().Pack(retry_info)
    # The standard rich-status trailer, plus the bare RetryInfo trailer the Python OTLP exporter reads.
    context.set_trailing_metadata((
        ("grpc-status-details-bin", detail.SerializeToString()),
        ("google.rpc.retryinfo-bin", retry_info.SerializeToString()),
    ))
    context.abort(code, message)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)

