"""Client metrics: duration, token usage and time-to-first-chunk histograms, with low-cardinality attributes."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.metrics.export import HistogramDataPoint
from semconv_kit import Pipelines, rich_invocation, text_invocation
from traceglass.semconv import Usage

DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
TTFC = "gen_ai.client.operation.time_to_first_chunk"

LOW_CARDINALITY = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o-2024-08-06",
    "server.address": "api.openai.com",
    "server.port": 443,
}


def _only(points: list[HistogramDataPoint]) -> HistogramDataPoint:
    assert len(points) == 1, points
    return points[0]


def test_duration_has_one_point_per_call_with_low_cardinality_attributes(kit: Pipelines) -> None:
    kit.telemetry(capture_content="SPAN_AND_EVENT").start(rich_invocation()).finish()
    point = _only(kit.points(DURATION))
    assert point.count == 1
    # Exactly these: no response id, conversation id, request parameters, provider extras or content.
    assert dict(point.attributes) == LOW_CARDINALITY


def test_duration_of_a_failed_call_carries_error_type(kit: Pipelines) -> None:
    kit.telemetry().start(rich_invocation()).fail(TimeoutError())
    point = _only(kit.points(DURATION))
    assert dict(point.attributes) == {**LOW_CARDINALITY, "error.type": "TimeoutError"}


def test_calls_aggregate_by_attribute_set(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    for _ in range(3):
        telemetry.start(rich_invocation(response_id="chatcmpl-unique")).finish()
    telemetry.start(rich_invocation(request_model="gpt-4o-mini", response_model="gpt-4o-mini")).finish()
    telemetry.start(rich_invocation()).fail(ValueError())
    counts = sorted((p.attributes["gen_ai.request.model"], p.attributes.get("error.type", ""), p.count)
                    for p in kit.points(DURATION))
    assert counts == [("gpt-4o", "", 3), ("gpt-4o", "ValueError", 1), ("gpt-4o-mini", "", 1)]


def test_duration_value_is_in_seconds_and_matches_the_span(kit: Pipelines) -> None:
    handle = kit.telemetry().start(text_invocation())
    time.sleep(0.05)
    handle.finish()
    point = _only(kit.points(DURATION))
    span = kit.span()
    assert span.end_time is not None and span.start_time is not None
    span_seconds = (span.end_time - span.start_time) / 1e9
    assert 0.05 <= point.sum <= span_seconds + 0.001
    assert span_seconds - point.sum < 0.05


def test_token_usage_by_token_type(kit: Pipelines) -> None:
    kit.telemetry().start(rich_invocation()).finish()
    points = kit.points(TOKENS)
    by_type = {p.attributes["gen_ai.token.type"]: p for p in points}
    assert set(by_type) == {"input", "output"} and len(points) == 2
    assert (by_type["input"].sum, by_type["output"].sum) == (100, 40)
    for token_type, point in by_type.items():
        assert point.count == 1
        assert dict(point.attributes) == {**LOW_CARDINALITY, "gen_ai.token.type": token_type}


def test_token_usage_records_only_known_counts(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    telemetry.start(text_invocation()).finish()  # no usage at all
    assert kit.points(TOKENS) == []
    telemetry.start(text_invocation(usage=Usage(input_tokens=9))).finish()
    point = _only(kit.points(TOKENS))
    assert point.attributes["gen_ai.token.type"] == "input" and point.sum == 9


def test_zero_tokens_are_recorded(kit: Pipelines) -> None:
    kit.telemetry().start(text_invocation(usage=Usage(0, 0))).finish()
    assert sorted(p.sum for p in kit.points(TOKENS)) == [0, 0]


def test_no_time_to_first_chunk_without_a_first_chunk(kit: Pipelines) -> None:
    kit.telemetry().start(rich_invocation()).finish()
    assert kit.points(TTFC) == []
    assert "gen_ai.response.time_to_first_chunk" not in (kit.span().attributes or {})


def test_time_to_first_chunk_metric_and_span_attribute_in_seconds(kit: Pipelines) -> None:
    handle = kit.telemetry(capture_content="EVENT_ONLY").start(rich_invocation())
    time.sleep(0.03)
    handle.first_chunk()
    time.sleep(0.2)
    handle.first_chunk()  # later calls do not move it
    handle.finish()
    ttfc = (kit.span().attributes or {})["gen_ai.response.time_to_first_chunk"]
    assert isinstance(ttfc, float)
    assert 0.03 <= ttfc < 0.2  # seconds (not ms), and the first call's time
    point = _only(kit.points(TTFC))
    assert point.count == 1 and point.sum == pytest.approx(ttfc)
    assert dict(point.attributes) == LOW_CARDINALITY
    duration = _only(kit.points(DURATION)).sum
    assert duration > ttfc
    (record,) = kit.logs()
    assert (record.log_record.attributes or {})["gen_ai.response.time_to_first_chunk"] == ttfc


def test_stream_flag_only_on_streaming_spans(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    telemetry.start(rich_invocation(stream=True)).finish()
    telemetry.start(rich_invocation(stream=False)).finish()
    streamed, plain_call = kit.spans()
    assert (streamed.attributes or {})["gen_ai.request.stream"] is True
    assert "gen_ai.request.stream" not in (plain_call.attributes or {})
    # Streaming is a span detail, not a metric dimension.
    assert all("gen_ai.request.stream" not in p.attributes for p in kit.points(DURATION))


def test_choice_count_of_one_is_left_out(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    telemetry.start(rich_invocation(choice_count=1)).finish()
    telemetry.start(rich_invocation(choice_count=3)).finish()
    one, three = kit.spans()
    assert "gen_ai.request.choice.count" not in (one.attributes or {})
    assert (three.attributes or {})["gen_ai.request.choice.count"] == 3


def test_batched_measurements_all_reach_the_reader_and_nothing_else_is_exported(kit: Pipelines) -> None:
    """Measurements are recorded in batches (every 128 calls and before each collection): a
    collection at any moment sees every finished call, from any thread, and the flush hook
    itself exports nothing."""
    import threading

    telemetry = kit.telemetry()

    def calls(count: int) -> None:
        for _ in range(count):
            handle = telemetry.start(text_invocation())
            handle.invocation.usage = Usage(input_tokens=3, output_tokens=4)
            handle.finish()

    threads = [threading.Thread(target=calls, args=(100,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    calls(7)  # a partial batch, still pending until the collection below
    assert set(kit.metrics()) == {DURATION, TOKENS}
    assert sum(p.count for p in kit.points(DURATION)) == 307
    by_type = {p.attributes["gen_ai.token.type"]: p for p in kit.points(TOKENS)}
    assert (by_type["input"].count, by_type["input"].sum) == (307, 3 * 307)
    assert (by_type["output"].count, by_type["output"].sum) == (307, 4 * 307)
    calls(1)  # and the next collection sees what came after the last one
    assert sum(p.count for p in kit.points(DURATION)) == 308


def test_exemplars_point_at_the_calls_own_span(kit: Pipelines) -> None:
    kit.telemetry().start(text_invocation()).finish()
    span = kit.span()
    exemplars = _only(kit.points(DURATION)).exemplars
    assert exemplars and exemplars[0].span_id == span.context.span_id
    assert exemplars[0].trace_id == span.context.trace_id
