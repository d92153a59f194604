"""What one odd request, or another process changing the store, must not do to the server: hold
up every later request, or drop spans it has acknowledged."""

from __future__ import annotations

import logging

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from traceglass.collector.store import Store
from traceglass.semconv import names as N

from tests.server._helpers import StartServer, post, protobuf_request, url, written

PROTOBUF = {"Content-Type": "application/x-protobuf"}
_UINT64_MAX = 2**64 - 1


def _request(trace: int, spans: int, *, start: int = 1, end: int = 2, input_tokens: int | None = None) -> bytes:
    """One trace of `spans` spans (the first its root), as an ExportTraceServiceRequest."""
    request = ExportTraceServiceRequest()
    batch = request.resource_spans.add().scope_spans.add().spans
    for number in range(1, spans + 1):
        span = batch.add(trace_id=trace.to_bytes(16, "big"), span_id=number.to_bytes(8, "big"), name=f"span {number}",
                         start_time_unix_nano=start, end_time_unix_nano=end)
        if number > 1:
            span.parent_span_id = (1).to_bytes(8, "big")
        if input_tokens is not None:
            attribute = span.attributes.add(key=N.USAGE_INPUT_TOKENS)
            attribute.value.int_value = input_tokens
    return request.SerializeToString()


def _stored_traces(store: Store) -> int:
    return sum(experiment.trace_count for experiment in store.list_experiments())


def test_token_counts_at_the_64_bit_limit_do_not_hold_up_ingest(start_server: StartServer) -> None:
    """Two spans of a trace claiming 2**63 - 1 input tokens each overflowed the trace's sum: SQLite's
    "integer overflow" is an OperationalError, which the writer took for a busy database and
    retried for ever, while every later request waited behind it (and was lost at shutdown)."""
    server = start_server()
    assert post(url(server), _request(1, 2, input_tokens=2**63 - 1), PROTOBUF)[0] == 200
    assert post(url(server), protobuf_request(100, 10), PROTOBUF)[0] == 200
    store = written(server)
    assert _stored_traces(store) == 11 and server.ingest.queue.dropped == 0
    found = store.get_trace((1).to_bytes(16, "big").hex())
    assert found is not None and found.info.span_count == 2 and found.info.input_tokens is None


def test_timestamps_past_the_64_bit_signed_limit_are_stored_not_dropped(start_server: StartServer) -> None:
    """An OTLP time is unsigned: 2**64 - 1 could not be stored, and the acknowledged span was
    dropped (after its whole batch had been retried span by span)."""
    server = start_server()
    assert post(url(server), _request(1, 3, start=_UINT64_MAX, end=_UINT64_MAX), PROTOBUF)[0] == 200
    assert post(url(server), _request(2, 1, start=5, end=_UINT64_MAX), PROTOBUF)[0] == 200
    store = written(server)
    assert server.ingest.queue.dropped == 0
    far = store.get_trace((1).to_bytes(16, "big").hex())
    assert far is not None and far.info.span_count == 3
    assert {(span.start_ns, span.end_ns) for span in far.spans} == {(2**63 - 1, 2**63 - 1)}
    assert store.get_trace((2).to_bytes(16, "big").hex()) is not None


@pytest.mark.parametrize("writer_process", [True, False])
def test_an_experiment_deleted_by_another_process_does_not_slow_ingest(
    start_server: StartServer, store_url: str, caplog: pytest.LogCaptureFixture, writer_process: bool,
) -> None:
    """The server keeps experiment ids in memory: after another process (the CLI on the store file,
    a local exporter's app) deleted the experiment, the writer process refused the next batch for
    its stale id and the server wrote it again one span at a time, a transaction per span."""
    server = start_server(writer_process=writer_process)
    headers = {**PROTOBUF, "x-traceglass-experiment": "shared"}
    assert post(url(server), protobuf_request(1, 10), headers)[0] == 200
    written(server)
    with Store.open(store_url) as other:
        experiment = other.get_experiment_by_name("shared")
        assert experiment is not None
        other.delete_experiment(experiment.experiment_id)
    with caplog.at_level(logging.WARNING, logger="traceglass.server"):
        assert post(url(server), protobuf_request(101, 500), headers)[0] == 200
        store = written(server)
    assert [record.getMessage() for record in caplog.records] == []
    [experiment] = store.list_experiments()
    assert (experiment.name, experiment.trace_count) == ("shared", 500)
