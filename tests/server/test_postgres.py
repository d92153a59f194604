"""The server on a PostgreSQL store: what the SQLite tests check for ingest, experiments, the query
API and shutdown, against a real PostgreSQL server (tests/postgres.py)."""

from __future__ import annotations

import json

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from traceglass.collector.server import Server, ServerConfig
from traceglass.collector.store import Store

from tests.server._helpers import StartServer, json_span, post, post_json, url, written

API = "/api/v1"


def _send_with_sdk(exporter: object, resource: dict[str, str], names: list[str]) -> None:
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # type: ignore[arg-type]
    tracer = provider.get_tracer("app")
    for name in names:
        with tracer.start_as_current_span(name) as root:
            root.set_attribute("gen_ai.request.model", "gpt-4o")
            with tracer.start_as_current_span("chat gpt-4o") as child:
                child.set_attribute("gen_ai.usage.input_tokens", 12)
                child.set_attribute("gen_ai.usage.output_tokens", 5)
    provider.shutdown()


def test_otlp_over_http_and_grpc_is_stored_by_experiment(start_server: StartServer, postgres_store_url: str) -> None:
    server = start_server(store_url=postgres_store_url)
    _send_with_sdk(HttpSpanExporter(endpoint=url(server)), {"service.name": "a", "traceglass.experiment": "pg-http"},
                   ["http one", "http two"])
    _send_with_sdk(GrpcSpanExporter(endpoint=f"127.0.0.1:{server.ports['grpc']}", insecure=True),
                   {"service.name": "b"}, ["grpc one"])
    status, _ = post_json(url(server), json_span(trace_id="7" * 32, name="by header"),
                          {"x-traceglass-experiment": "pg-header"})
    assert status == 200

    store = written(server)
    by_name = {e.name: e for e in store.list_experiments()}
    assert by_name["pg-http"].trace_count == 2
    assert by_name["Default"].trace_count == 1
    assert by_name["pg-header"].trace_count == 1
    page = store.search_traces([by_name["pg-http"].experiment_id], "span.attributes.gen_ai.request.model = 'gpt-4o'")
    assert sorted(info.name for info in page.traces) == ["http one", "http two"]
    assert {info.input_tokens for info in page.traces} == {12}
    assert all(info.span_count == 2 and info.status == "OK" for info in page.traces)


def test_query_api_searches_and_reads_a_postgresql_store(start_server: StartServer, postgres_store_url: str) -> None:
    server = start_server(store_url=postgres_store_url)
    for number in range(3):
        trace_id = f"{number + 1:032x}"
        attributes = {"traceglass.experiment": "api", "gen_ai.request.model": "gpt-4o" if number else "claude"}
        assert post_json(url(server), json_span(trace_id=trace_id, span_id=f"{number + 1:016x}",
                                                name=f"root {number}", attributes=attributes))[0] == 200
    written(server)

    status, _, body = post(url(server, f"{API}/traces?experiment_name=api&filter="
                                       "span.attributes.gen_ai.request.model%20%3D%20'gpt-4o'&order_by=name"),
                           b"", method="GET")
    assert status == 200
    assert [t["name"] for t in json.loads(body)["traces"]] == ["root 1", "root 2"]

    status, _, body = post(url(server, f"{API}/traces/{1:032x}"), b"", method="GET")
    assert status == 200
    trace = json.loads(body)
    assert trace["info"]["name"] == "root 0"
    assert trace["spans"][0]["attributes"]["gen_ai.request.model"] == "claude"

    status, _, body = post(url(server, f"{API}/traces?filter=trace.nope%20%3D%201"), b"", method="GET")
    assert status == 400
    assert json.loads(body)["error"]["code"] == "INVALID_FILTER"


def test_stop_writes_everything_acknowledged(postgres_store_url: str) -> None:
    server = Server(ServerConfig(store_url=postgres_store_url, port=0, otlp_http_port=0, grpc_port=0))
    server.start()
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for number in range(1, 2001):
        spans.add(trace_id=number.to_bytes(16, "big"), span_id=number.to_bytes(8, "big"), name=f"s{number}",
                  start_time_unix_nano=1, end_time_unix_nano=2)
    body = request.SerializeToString()
    for _ in range(3):  # the same spans again: acknowledged, stored once
        assert post(url(server), body, {"Content-Type": "application/x-protobuf"})[0] == 200
    server.stop()  # returns once the queue is written

    with Store.open(postgres_store_url) as store:
        assert store.search_traces(max_results=1).traces
        assert sum(e.trace_count for e in store.list_experiments()) == 2000
