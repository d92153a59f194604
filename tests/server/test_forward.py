"""--forward-otlp: what one server receives reaches a second OTLP receiver unchanged; a backend
that is down never slows ingest, and its buffer drops the oldest requests."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from traceglass.collector.server import Server
from traceglass.collector.server._forward import ForwardTarget

from tests.server._helpers import StartServer, json_span, post, post_json, url, written


def _wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_everything_received_is_forwarded(start_server: StartServer, tmp_path: Path) -> None:
    backend = start_server(store_url=f"sqlite:///{tmp_path / 'backend.db'}", grpc_port=None)
    server = start_server(forward_urls=(f"http://127.0.0.1:{backend.ports['otlp_http']}",))

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"127.0.0.1:{server.ports['grpc']}", insecure=True)))
    provider.get_tracer("t").start_span("over grpc", attributes={"traceglass.experiment": "fwd"}).end()
    provider.shutdown()
    assert post_json(url(server), json_span(name="as json"), {"x-traceglass-experiment": "json-exp"})[0] == 200
    metrics = ExportMetricsServiceRequest()
    metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="gen_ai.client.token.usage")
    metric.sum.data_points.add(as_int=7)
    protobuf = {"Content-Type": "application/x-protobuf"}
    assert post(url(server, "/v1/metrics"), metrics.SerializeToString(), protobuf)[0] == 200

    def backend_has_everything() -> bool:
        assert backend.store is not None and backend.telemetry is not None
        return (len(backend.store.search_traces().traces) == 2 and len(backend.telemetry.read("metrics")) == 1)

    _wait_for(backend_has_everything)
    by_name = {info.name: info for info in written(backend).search_traces().traces}
    assert by_name["over grpc"].experiment_name == "fwd"
    # The header is not forwarded: the payload is sent as received, nothing added.
    assert by_name["as json"].experiment_name == "Default"
    assert backend.telemetry is not None
    assert ExportMetricsServiceRequest.FromString(backend.telemetry.read("metrics")[0].payload) == metrics
    assert written(server).search_traces().traces  # and stored locally as well


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_backend_drops_oldest_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    target = ForwardTarget(f"http://127.0.0.1:{_closed_port()}/v1/traces", max_bytes=250)
    assert not target.base_url.endswith("/v1/traces")  # the base URL; the signal path is added per request
    target.start()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="traceglass.server"):
        for number in range(5):
            target.submit("traces", bytes([number]) * 100)  # 100 bytes each: two fit
        assert time.monotonic() - started < 0.5  # submitting never waits for the backend
        target.close(timeout=0.2)
    assert target.sent == 0
    assert target.dropped == 5  # 3 dropped as oldest while down, 2 left at shutdown
    assert any("oldest requests" in record.getMessage() and "(3 so far)" in record.getMessage()
               for record in caplog.records)
    assert any("were not forwarded" in record.getMessage() for record in caplog.records)


def test_slow_backend_does_not_slow_ingest(start_server: StartServer, tmp_path: Path) -> None:
    server: Server = start_server(forward_urls=(f"http://127.0.0.1:{_closed_port()}",), grpc_port=None,
                                  forward_drain_seconds=0.1)
    started = time.monotonic()
    for number in range(20):
        document = json_span(trace_id=f"{number + 1:032x}")
        assert post_json(url(server), document)[0] == 200
    assert time.monotonic() - started < 5
    assert len(written(server).search_traces().traces) == 20
