"""SyncStream: the invocation of a streamed call finishes exactly once, however the stream ends."""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from semconv_kit import CHUNKS, Collecting, FailingAdd, FailingApply, Pipelines, ProviderError, stream_invocation
from traceglass.semconv import Accumulator, SyncStream


class FakeResponse:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class FakeStream:
    """An SDK stream in miniature: a generator behind close(), a context manager, and extras."""

    def __init__(self, chunks: list[str], fail_with: BaseException | None = None, fail_after: int = 0) -> None:
        self._source = self._generate(chunks, fail_with, fail_after)
        self.closed = False
        self.exits = 0
        self.model = "fake-model"
        self.response = FakeResponse()

    @staticmethod
    def _generate(chunks: list[str], fail_with: BaseException | None, fail_after: int) -> Iterator[str]:
        for index, chunk in enumerate(chunks):
            if fail_with is not None and index == fail_after:
                raise fail_with
            yield chunk

    def __iter__(self) -> FakeStream:
        return self

    def __next__(self) -> str:
        return next(self._source)

    def close(self) -> None:
        self.closed = True
        self._source.close()

    def __enter__(self) -> FakeStream:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.exits += 1
        self.close()

    def double(self, value: int) -> int:
        return 2 * value


def _wrap(kit: Pipelines, stream: Any, accumulator: Accumulator | None = None) -> SyncStream:
    handle = kit.telemetry(capture_content="SPAN_ONLY").start(stream_invocation())
    return SyncStream(stream, handle, accumulator if accumulator is not None else Collecting())


def _accumulator(stream: SyncStream) -> Collecting:
    accumulator = stream._self_accumulator
    assert isinstance(accumulator, Collecting)
    return accumulator


def _output_text(span: ReadableSpan) -> str:
    messages = json.loads(str((span.attributes or {})["gen_ai.output.messages"]))
    return str(messages[0]["parts"][0]["content"])


def test_exhaustion_finishes_once(kit: Pipelines) -> None:
    stream = _wrap(kit, FakeStream(CHUNKS))
    assert kit.spans() == []
    assert list(stream) == CHUNKS
    span = kit.span()
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("stop",)
    assert (span.attributes or {})["gen_ai.response.id"] == "resp-stream"
    assert isinstance((span.attributes or {})["gen_ai.response.time_to_first_chunk"], float)
    assert _output_text(span) == "Hello, world"
    assert span.status.status_code is StatusCode.UNSET
    # Nothing after the end adds a second span or a second apply.
    with pytest.raises(StopIteration):
        next(stream)
    stream.close()
    with stream:
        pass
    assert len(kit.spans()) == 1
    assert _accumulator(stream).applied == [True]
    assert kit.points("gen_ai.client.operation.duration")[0].count == 1


def test_close_ends_a_partly_read_stream(kit: Pipelines) -> None:
    fake = FakeStream(CHUNKS)
    stream = _wrap(kit, fake)
    assert next(stream) == "Hel"
    stream.close()
    assert fake.closed
    span = kit.span()
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("error",)
    assert _output_text(span) == "Hel"
    assert _accumulator(stream).applied == [False]
    stream.close()
    assert len(kit.spans()) == 1


def test_leaving_with_ends_the_stream(kit: Pipelines) -> None:
    fake = FakeStream(CHUNKS)
    with _wrap(kit, fake) as stream:
        assert isinstance(stream, SyncStream)
        for chunk in stream:
            if chunk == "lo":
                break
        assert kit.spans() == []
    assert fake.exits == 1 and fake.closed
    assert (kit.span().attributes or {})["gen_ai.response.finish_reasons"] == ("error",)
    assert _accumulator(stream).applied == [False]


def test_with_around_a_full_read_finishes_once(kit: Pipelines) -> None:
    with _wrap(kit, FakeStream(CHUNKS)) as stream:
        assert "".join(stream) == "Hello, world"
        assert len(kit.spans()) == 1
    assert len(kit.spans()) == 1
    assert _accumulator(stream).applied == [True]


def test_an_exception_mid_stream_reaches_the_caller_unchanged(kit: Pipelines) -> None:
    error = ProviderError("connection dropped")
    stream = _wrap(kit, FakeStream(CHUNKS, fail_with=error, fail_after=2))
    received: list[str] = []
    with pytest.raises(ProviderError) as caught:
        for chunk in stream:
            received.append(chunk)
    assert caught.value is error
    assert received == ["Hel", "lo"]
    span = kit.span()
    assert (span.attributes or {})["error.type"] == "semconv_kit.ProviderError"
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("error",)
    assert _output_text(span) == "Hello"  # partial output is kept
    assert _accumulator(stream).applied == [False]
    stream.close()
    assert len(kit.spans()) == 1
    (point,) = kit.points("gen_ai.client.operation.duration")
    assert point.attributes["error.type"] == "semconv_kit.ProviderError"


def test_an_exception_before_the_first_chunk(kit: Pipelines) -> None:
    error = ProviderError("refused")
    stream = _wrap(kit, FakeStream(CHUNKS, fail_with=error, fail_after=0))
    with pytest.raises(ProviderError) as caught:
        next(stream)
    assert caught.value is error
    attributes = kit.span().attributes or {}
    assert "gen_ai.response.time_to_first_chunk" not in attributes
    assert kit.points("gen_ai.client.operation.time_to_first_chunk") == []


def test_garbage_collection_of_an_abandoned_stream_finishes_it(kit: Pipelines) -> None:
    accumulator = Collecting()
    stream = _wrap(kit, FakeStream(CHUNKS), accumulator)
    assert next(stream) == "Hel"
    assert next(stream) == "lo"
    del stream
    gc.collect()
    span = kit.span()
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("error",)
    assert _output_text(span) == "Hello"
    assert accumulator.applied == [False]


def test_garbage_collection_with_a_reference_cycle(kit: Pipelines) -> None:
    # Reading .response makes a proxy that points back at the stream: only the cycle collector frees it.
    accumulator = Collecting()
    stream = _wrap(kit, FakeStream(CHUNKS), accumulator)
    next(stream)
    assert stream.response is stream.response
    del stream
    gc.collect()
    assert len(kit.spans()) == 1 and accumulator.applied == [False]


def test_garbage_collection_after_the_end_adds_nothing(kit: Pipelines) -> None:
    accumulator = Collecting()
    stream = _wrap(kit, FakeStream(CHUNKS), accumulator)
    list(stream)
    del stream
    gc.collect()
    assert len(kit.spans()) == 1 and accumulator.applied == [True]


def test_a_failing_accumulator_add_does_not_break_iteration(kit: Pipelines, tg_log: pytest.LogCaptureFixture) -> None:
    stream = _wrap(kit, FakeStream(CHUNKS), FailingAdd())
    assert list(stream) == CHUNKS
    warnings = [r for r in tg_log.records if r.name == "traceglass" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "FailingAdd.add" in warnings[0].getMessage()
    assert len([r for r in tg_log.records if r.name == "traceglass" and r.levelno == logging.DEBUG]) == 3
    assert (kit.span().attributes or {})["gen_ai.response.finish_reasons"] == ("stop",)


def test_a_failing_accumulator_apply_still_finishes(kit: Pipelines, tg_log: pytest.LogCaptureFixture) -> None:
    stream = _wrap(kit, FakeStream(CHUNKS), FailingApply())
    assert list(stream) == CHUNKS
    span = kit.span()
    assert span.status.status_code is StatusCode.UNSET
    assert len([r for r in tg_log.records if r.name == "traceglass" and r.levelno == logging.WARNING]) == 1


def test_the_proxy_looks_like_the_wrapped_stream(kit: Pipelines) -> None:
    fake = FakeStream(CHUNKS)
    stream = _wrap(kit, fake)
    assert isinstance(stream, FakeStream)
    assert stream.model == "fake-model"
    assert stream.double(21) == 42
    stream.model = "renamed"
    assert fake.model == "renamed"
    stream.close()


def test_next_then_a_loop_then_a_second_loop_read_each_chunk_once(kit: Pipelines) -> None:
    stream = _wrap(kit, FakeStream(CHUNKS))
    first = next(stream)
    rest = []
    for chunk in stream:
        rest.append(chunk)
        break  # leaving a loop does not end the stream: it may be read on
    assert kit.spans() == []
    rest += list(stream)
    assert [first, *rest] == CHUNKS
    assert _accumulator(stream).chunks == CHUNKS
    span = kit.span()
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("stop",)
    assert _output_text(span) == "Hello, world"


def test_a_loop_left_early_then_closed_ends_the_stream_as_cut_short(kit: Pipelines) -> None:
    fake = FakeStream(CHUNKS)
    stream = _wrap(kit, fake)
    for _chunk in stream:
        break
    stream.close()
    assert fake.closed
    span = kit.span()
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("error",)
    assert isinstance((span.attributes or {})["gen_ai.response.time_to_first_chunk"], float)
    assert _accumulator(stream).applied == [False]


def test_closing_the_http_response_ends_the_stream(kit: Pipelines) -> None:
    # SDK helpers close `stream.response` directly rather than the stream.
    fake = FakeStream(CHUNKS)
    stream = _wrap(kit, fake)
    next(stream)
    assert isinstance(stream.response, FakeResponse)
    stream.response.close()
    assert fake.response.closed
    assert (kit.span().attributes or {})["gen_ai.response.finish_reasons"] == ("error",)


def test_a_bare_generator_can_be_wrapped(kit: Pipelines) -> None:
    def generate() -> Iterator[str]:
        yield from CHUNKS

    stream = _wrap(kit, generate())
    assert "".join(stream) == "Hello, world"
    assert len(kit.spans()) == 1
    early = _wrap(kit, generate())
    next(early)
    early.close()  # generators have close()
    assert len(kit.spans()) == 2


def test_a_stream_abandoned_after_leaving_a_loop_is_finished_when_collected(kit: Pipelines) -> None:
    stream = _wrap(kit, FakeStream(CHUNKS))
    accumulator = _accumulator(stream)
    for _chunk in stream:
        break
    del stream
    gc.collect()
    span = kit.span()
    assert (span.attributes or {})["gen_ai.response.finish_reasons"] == ("error",)
    assert accumulator.applied == [False]
