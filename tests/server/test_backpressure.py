"""A full queue makes receivers answer "retry" as OTLP prescribes (HTTP 503 + Retry-After, gRPC
RESOURCE_EXHAUSTED + RetryInfo); the SDK's exporters retry and every span ends up stored.

The store is made slow for real: another connection holds SQLite's write lock, so the writer
thread waits (and retries) while the queue fills."""

from __future__ import annotations

import threading

import grpc
import pytest
from google.rpc import error_details_pb2
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traceglass.collector.server import Server

from tests.server._helpers import StartServer, post, protobuf_request, url, write_lock, written


def _spans(prefix: str, count: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("t")
    for number in range(count):
        tracer.start_span(f"{prefix} {number}").end()
    provider.shutdown()
    return list(memory.get_finished_spans())


def _stored_names(server: Server) -> set[str]:
    page = written(server).search_traces(max_results=1000)
    return {info.name for info in page.traces if info.name}


def test_full_queue_answers_retry_and_exporters_deliver_later(start_server: StartServer, store_url: str) -> None:
    server = start_server(queue_capacity=5, batch_size=5, retry_after_seconds=0.2)
    protobuf = {"Content-Type": "application/x-protobuf"}
    with write_lock(store_url) as release:
        assert post(url(server), protobuf_request(1, 5), protobuf)[0] == 200  # fills the queue; the writer is stuck

        status, headers, _ = post(url(server), protobuf_request(6, 1), protobuf)
        assert status == 503
        assert headers["retry-after"] == "1"  # whole seconds, at least one

        with grpc.insecure_channel(f"127.0.0.1:{server.ports['grpc']}") as channel:
            export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
            with pytest.raises(grpc.RpcError) as error:
                export(protobuf_request(7, 1), timeout=10)
        assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trailers = dict(error.value.trailing_metadata())
        delay = error_details_pb2.RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]).retry_delay
        assert delay.ToMilliseconds() == 200
        assert "grpc-status-details-bin" in trailers

        # The SDK's exporters get the same answers and retry until the lock is released.
        results: dict[str, SpanExportResult] = {}
        exporters = {
            "http": HttpSpanExporter(endpoint=url(server)),
            "grpc": GrpcSpanExporter(endpoint=f"127.0.0.1:{server.ports['grpc']}", insecure=True),
        }
        batches = {name: _spans(name, 3) for name in exporters}
        threads = [threading.Thread(target=lambda name=name: results.__setitem__(
            name, exporters[name].export(batches[name]))) for name in exporters]
        for thread in threads:
            thread.start()
        threading.Timer(0.5, release.set).start()
        for thread in threads:
            thread.join(15)
    for exporter in exporters.values():
        exporter.shutdown()

    assert results == {"http": SpanExportResult.SUCCESS, "grpc": SpanExportResult.SUCCESS}
    names = _stored_names(server)
    assert {f"span {number}" for number in range(1, 6)} <= names
    assert {span.name for batch in batches.values() for span in batch} <= names
    assert server.ingest.queue.dropped == 0
