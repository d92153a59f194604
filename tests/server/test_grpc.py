"""OTLP/gRPC: the SDK's gRPC exporters reach the store; bad messages get INVALID_ARGUMENT."""

from __future__ import annotations

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from traceglass.collector.server import Server

from tests.server._helpers import StartServer, written

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def _endpoint(server: Server) -> str:
    return f"127.0.0.1:{server.ports['grpc']}"


@pytest.mark.parametrize("compression", [grpc.Compression.NoCompression, grpc.Compression.Gzip])
def test_sdk_grpc_exporter_spans_are_stored(server: Server, compression: grpc.Compression) -> None:
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=_endpoint(server), insecure=True, compression=compression)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("agent", attributes={"gen_ai.operation.name": "invoke_agent"}) as root:
        with tracer.start_as_current_span("tool"):
            pass
    provider.shutdown()
    trace = written(server).get_trace(format(root.get_span_context().trace_id, "032x"))
    assert trace is not None
    assert sorted(span.name for span in trace.spans) == ["agent", "tool"]
    assert trace.info.experiment_name == "Default"


def test_grpc_metrics_and_logs_are_kept(server: Server) -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    meter_provider.get_meter("m").create_counter("calls").add(2)
    exporter = OTLPMetricExporter(endpoint=_endpoint(server), insecure=True)
    assert exporter.export(reader.get_metrics_data()).name == "SUCCESS"
    exporter.shutdown()
    meter_provider.shutdown()
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=_endpoint(server), insecure=True)))
    logger_provider.get_logger("l").emit(event_name="gen_ai.client.inference.operation.details", body="x")
    logger_provider.shutdown()
    written(server)
    assert server.telemetry is not None
    assert [request.item_count for request in server.telemetry.read("metrics")] == [1]
    assert [request.item_count for request in server.telemetry.read("logs")] == [1]


def _call(server: Server, payload: bytes, metadata: tuple[tuple[str, str], ...] = (),
          compression: grpc.Compression | None = None) -> bytes:
    with grpc.insecure_channel(_endpoint(server), compression=compression) as channel:
        export = channel.unary_unary(_EXPORT)  # raw bytes in and out
        return export(payload, metadata=metadata, timeout=10)


def test_malformed_message_is_invalid_argument_and_server_keeps_serving(server: Server) -> None:
    with pytest.raises(grpc.RpcError) as error:
        _call(server, b"\xff\xff\xff\xff")
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid ExportTraceServiceRequest" in error.value.details()
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="ok")
    assert ExportTraceServiceResponse.FromString(_call(server, request.SerializeToString())) == \
        ExportTraceServiceResponse()
    assert written(server).get_trace("01" * 16) is not None


def test_message_over_the_limit_is_refused(start_server: StartServer) -> None:
    server = start_server(max_request_size=64 * 1024, max_decompressed_size=64 * 1024)
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8,
                                                             name="x" * 100_000)
    with pytest.raises(grpc.RpcError) as error:
        _call(server, request.SerializeToString())
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in error.value.details()
    # compressed: about 1 KiB on the wire but 1 MiB inflated, refused after decompression
    request.resource_spans[0].scope_spans[0].spans[0].name = "x" * (1024 * 1024)
    with pytest.raises(grpc.RpcError) as error:
        _call(server, request.SerializeToString(), compression=grpc.Compression.Gzip)
    assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "Decompressed message larger than max" in error.value.details()
    request.resource_spans[0].scope_spans[0].spans[0].name = "small"
    _call(server, request.SerializeToString())
    assert written(server).get_trace("01" * 16) is not None


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_exporters_configured_by_otel_variables_reach_the_server(server: Server, protocol: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """What `opentelemetry-instrument` builds from OTEL_EXPORTER_OTLP_ENDPOINT alone: the default
    ports are 4317 (gRPC) and 4318 (HTTP); here the test's ports stand in for them."""
    port = server.ports["grpc" if protocol == "grpc" else "otlp_http"]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    exporter = OTLPSpanExporter() if protocol == "grpc" else HttpSpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("app").start_span(f"via {protocol}").end()
    provider.shutdown()
    assert [info.name for info in written(server).search_traces().traces] == [f"via {protocol}"]
