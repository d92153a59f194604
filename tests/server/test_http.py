"""OTLP/HTTP: the SDK's own exporters (protobuf, gzip) and raw OTLP/JSON posts reach the store."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from traceglass.collector.server import Server

from tests.server._helpers import json_span, post, post_json, url, written


def _tracer_provider(exporter: OTLPSpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.mark.parametrize("compression", [Compression.NoCompression, Compression.Gzip, Compression.Deflate])
@pytest.mark.parametrize("port", ["http", "otlp_http"])
def test_sdk_exporter_spans_are_stored(server: Server, compression: Compression, port: str) -> None:
    provider = _tracer_provider(OTLPSpanExporter(endpoint=url(server, port=port), compression=compression))
    tracer = provider.get_tracer("shop", "1.2")
    with tracer.start_as_current_span("checkout", kind=SpanKind.SERVER,
                                      attributes={"gen_ai.request.model": "gpt-4o", "n": 3, "ok": True,
                                                  "tags": ["a", "b"]}) as root:
        root.add_event("cache miss", {"key": "cart"})
        with tracer.start_as_current_span("charge", links=[Link(root.get_span_context())]) as child:
            child.set_status(Status(StatusCode.ERROR, "card declined"))
    provider.shutdown()

    store = written(server)
    trace_id = format(root.get_span_context().trace_id, "032x")
    trace = store.get_trace(trace_id)
    assert trace is not None
    assert trace.info.experiment_name == "Default"
    assert trace.info.name == "checkout"
    by_name = {span.name: span for span in trace.spans}
    assert set(by_name) == {"checkout", "charge"}
    checkout, charge = by_name["checkout"], by_name["charge"]
    assert checkout.kind == "SERVER"
    assert checkout.attributes["gen_ai.request.model"] == "gpt-4o"
    assert checkout.attributes["n"] == 3 and checkout.attributes["ok"] is True
    assert list(checkout.attributes["tags"]) == ["a", "b"]
    assert [event.name for event in checkout.events] == ["cache miss"]
    assert checkout.resource_attributes["service.name"] == "checkout"
    assert checkout.scope_name == "shop" and checkout.scope_version == "1.2"
    assert charge.parent_span_id == checkout.span_id
    assert charge.status_code == "ERROR" and charge.status_message == "card declined"
    assert [link.span_id for link in charge.links] == [checkout.span_id]


def test_otlp_json_with_hex_ids_camel_case_and_enum_ints(server: Server) -> None:
    document = json_span(name="json span", attributes={"k": "v"},
                         status={"code": 2, "message": "boom"}, kind=3,
                         events=[{"timeUnixNano": "1700000000500000000", "name": "e"}],
                         unknownField={"ignored": True})
    status, answer = post_json(url(server), document)
    assert (status, answer) == (200, {})
    span = written(server).get_trace("5b8efff798038103d269b633813fc60c").spans[0]
    assert (span.span_id, span.name, span.kind) == ("eee19b7ec3c1b174", "json span", "CLIENT")
    assert span.status_code == "ERROR"
    assert span.start_ns == 1_700_000_000_000_000_000
    assert span.attributes == {"k": "v"}
    assert [(event.name, event.time_ns) for event in span.events] == [("e", 1_700_000_000_500_000_000)]


def test_gzip_json_body(server: Server) -> None:
    body = gzip.compress(json.dumps(json_span()).encode())
    status, headers, _ = post(url(server), body, {"Content-Type": "application/json",
                                                       "Content-Encoding": "gzip"})
    assert status == 200 and headers["content-type"] == "application/json"
    assert written(server).get_trace("5b8efff798038103d269b633813fc60c") is not None


def test_protobuf_answer_and_partial_success_for_invalid_ids(server: Server) -> None:
    document = json_span()
    spans = document["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans.append({**spans[0], "spanId": "00000000000000000000", "name": "bad"})  # 10 bytes: not a span id
    status, answer = post_json(url(server), document)
    assert status == 200
    assert answer["partialSuccess"]["rejectedSpans"] == "1"
    assert "span id" in answer["partialSuccess"]["errorMessage"]
    # the same request as protobuf gets a protobuf answer
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=b"", name="no id")
    status, headers, body = post(url(server), request.SerializeToString(), {"Content-Type": "application/x-protobuf"})
    assert status == 200 and headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(body).partial_success.rejected_spans == 1
    assert [span.name for span in written(server).get_trace("5b8efff798038103d269b633813fc60c").spans] == ["span"]


def test_metrics_and_logs_are_kept(server: Server) -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    meter_provider.get_meter("genai").create_histogram("gen_ai.client.token.usage").record(42, {"type": "input"})
    data = reader.get_metrics_data()
    metric_exporter = OTLPMetricExporter(endpoint=url(server, "/v1/metrics"))
    assert metric_exporter.export(data).name == "SUCCESS"
    meter_provider.shutdown()

    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=url(server, "/v1/logs", port="otlp_http"))))
    logger_provider.get_logger("genai").emit(event_name="gen_ai.client.inference.operation.details",
                                             body={"input": "hi"})
    logger_provider.shutdown()

    written(server)
    assert server.telemetry is not None
    [metrics] = server.telemetry.read("metrics")
    request = ExportMetricsServiceRequest.FromString(metrics.payload)
    assert request.resource_metrics[0].scope_metrics[0].metrics[0].name == "gen_ai.client.token.usage"
    assert metrics.item_count == 1
    [logs] = server.telemetry.read("logs")
    record = ExportLogsServiceRequest.FromString(logs.payload).resource_logs[0].scope_logs[0].log_records[0]
    assert record.event_name == "gen_ai.client.inference.operation.details"


@pytest.mark.parametrize(("headers", "status"), [
    ({"Content-Type": "text/plain"}, 415),
    ({}, 415),
    ({"Content-Type": "application/json", "Content-Encoding": "br"}, 415),
])
def test_unsupported_media_type_or_encoding(server: Server, headers: dict[str, str], status: int) -> None:
    answer_status, _, body = post(url(server), b"{}", headers)
    assert answer_status == status
    assert json.loads(body)["message"]


def test_deflate_body(server: Server) -> None:
    body = zlib.compress(ExportTraceServiceRequest().SerializeToString() + b"")
    status, _, _ = post(url(server), body, {"Content-Type": "application/x-protobuf", "Content-Encoding": "deflate"})
    assert status == 200


def test_otlp_port_serves_only_otlp(server: Server) -> None:
    assert post(url(server, "/health"), b"", method="GET")[0] == 200
    assert post(url(server, "/health", port="otlp_http"), b"", method="GET")[0] == 404
    assert post(url(server, "/v1/traces"), b"", method="GET")[0] == 405
