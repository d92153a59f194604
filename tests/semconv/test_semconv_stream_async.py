"""AsyncStream: the async twin of test_semconv_stream, each case driven by asyncio.run."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.trace import StatusCode
from semconv_kit import CHUNKS, Collecting, FailingAdd, Pipelines, ProviderError, stream_invocation
from traceglass.semconv import Accumulator, AsyncStream


class FakeAsyncStream:
    """An async SDK stream in miniature: an async generator behind close()/aclose() and `async with`."""

    def __init__(self, chunks: list[str], fail_with: BaseException | None = None, fail_after: int = 0) -> None:
        self._source = self._generate(chunks, fail_with, fail_after)
        self.closed = False
        self.exits = 0
        self.model = "fake-model"

    @staticmethod
    async def _generate(chunks: list[str], fail_with: BaseException | None, fail_after: int) -> AsyncIterator[str]:
        for index, chunk in enumerate(chunks):
            if fail_with is not None and index == fail_after:
                raise fail_with
            await asyncio.sleep(0)
            yield chunk

    def __aiter__(self) -> FakeAsyncStream:
        return self

    async def __anext__(self) -> str:
        return await self._source.__anext__()

    async def close(self) -> None:
        self.closed = True
        await self._source.aclose()

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> FakeAsyncStream:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.exits += 1
        await self.close()

    async def double(self, value: int) -> int:
        return 2 * value


def _wrap(kit: Pipelines, stream: Any, accumulator: Accumulator | None = None) -> AsyncStream:
    handle = kit.telemetry(capture_content="SPAN_ONLY").start(stream_invocation())
    return AsyncStream(stream, handle, accumulator if accumulator is not None else Collecting())


def _finish_reasons(kit: Pipelines) -> Any:
    return (kit.span().attributes or {})["gen_ai.response.finish_reasons"]


def test_exhaustion_finishes_once(kit: Pipelines) -> None:
    accumulator = Collecting()

    async def main() -> list[str]:
        stream = _wrap(kit, FakeAsyncStream(CHUNKS), accumulator)
        received = [chunk async for chunk in stream]
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
        await stream.close()
        await stream.aclose()
        async with stream:
            pass
        return received

    assert asyncio.run(main()) == CHUNKS
    assert len(kit.spans()) == 1
    assert _finish_reasons(kit) == ("stop",)
    assert accumulator.applied == [True]
    assert isinstance((kit.span().attributes or {})["gen_ai.response.time_to_first_chunk"], float)


@pytest.mark.parametrize("method", ["close", "aclose"])
def test_close_ends_a_partly_read_stream(kit: Pipelines, method: str) -> None:
    accumulator = Collecting()
    fake = FakeAsyncStream(CHUNKS)

    async def main() -> None:
        stream = _wrap(kit, fake, accumulator)
        assert await stream.__anext__() == "Hel"
        await getattr(stream, method)()

    asyncio.run(main())
    assert fake.closed
    assert _finish_reasons(kit) == ("error",)
    assert accumulator.applied == [False]


def test_leaving_async_with_ends_the_stream(kit: Pipelines) -> None:
    accumulator = Collecting()
    fake = FakeAsyncStream(CHUNKS)

    async def main() -> None:
        async with _wrap(kit, fake, accumulator) as stream:
            assert isinstance(stream, AsyncStream)
            async for chunk in stream:
                if chunk == "lo":
                    break
            assert kit.spans() == []

    asyncio.run(main())
    assert fake.exits == 1
    assert _finish_reasons(kit) == ("error",)
    assert accumulator.applied == [False]


def test_an_exception_mid_stream_reaches_the_caller_unchanged(kit: Pipelines) -> None:
    error = ProviderError("connection dropped")
    accumulator = Collecting()

    async def main() -> list[str]:
        received: list[str] = []
        stream = _wrap(kit, FakeAsyncStream(CHUNKS, fail_with=error, fail_after=2), accumulator)
        with pytest.raises(ProviderError) as caught:
            async for chunk in stream:
                received.append(chunk)
        assert caught.value is error
        await stream.close()
        return received

    assert asyncio.run(main()) == ["Hel", "lo"]
    span = kit.span()
    assert (span.attributes or {})["error.type"] == "semconv_kit.ProviderError"
    assert span.status.status_code is StatusCode.ERROR
    assert _finish_reasons(kit) == ("error",)
    assert accumulator.applied == [False]


def test_cancellation_mid_stream_fails_the_invocation(kit: Pipelines) -> None:
    async def main() -> None:
        stream = _wrap(kit, FakeAsyncStream(CHUNKS))
        await stream.__anext__()
        task = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)  # let it start and suspend inside the SDK stream
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    span = kit.span()
    assert span.status.status_code is StatusCode.ERROR
    assert str((span.attributes or {})["error.type"]).endswith("CancelledError")


def test_cancellation_inside_async_for_fails_the_invocation(kit: Pipelines) -> None:
    received: list[str] = []

    async def main() -> None:
        stream = _wrap(kit, FakeAsyncStream(CHUNKS))

        async def read() -> None:
            async for chunk in stream:
                received.append(chunk)

        task = asyncio.ensure_future(read())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert 0 < len(received) < len(CHUNKS)
    span = kit.span()
    assert span.status.status_code is StatusCode.ERROR
    assert str((span.attributes or {})["error.type"]).endswith("CancelledError")


def test_anext_then_a_loop_then_a_second_loop_read_each_chunk_once(kit: Pipelines) -> None:
    accumulator = Collecting()

    async def main() -> list[str]:
        stream = _wrap(kit, FakeAsyncStream(CHUNKS), accumulator)
        received = [await stream.__anext__()]
        async for chunk in stream:
            received.append(chunk)
            break  # leaving a loop does not end the stream: it may be read on
        assert kit.spans() == []
        received += [chunk async for chunk in stream]
        return received

    assert asyncio.run(main()) == CHUNKS
    assert accumulator.chunks == CHUNKS
    assert accumulator.applied == [True]
    assert _finish_reasons(kit) == ("stop",)


def test_garbage_collection_of_an_abandoned_stream_finishes_it(kit: Pipelines) -> None:
    accumulator = Collecting()

    async def main() -> None:
        stream = _wrap(kit, FakeAsyncStream(CHUNKS), accumulator)
        assert await stream.__anext__() == "Hel"
        del stream
        gc.collect()
        assert len(kit.spans()) == 1  # finished at collection, not at loop shutdown

    asyncio.run(main())
    assert _finish_reasons(kit) == ("error",)
    assert accumulator.applied == [False]


def test_a_failing_accumulator_add_does_not_break_iteration(kit: Pipelines, tg_log: pytest.LogCaptureFixture) -> None:
    async def main() -> list[str]:
        return [chunk async for chunk in _wrap(kit, FakeAsyncStream(CHUNKS), FailingAdd())]

    assert asyncio.run(main()) == CHUNKS
    warnings = [r for r in tg_log.records if r.name == "traceglass" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "FailingAdd.add" in warnings[0].getMessage()
    assert _finish_reasons(kit) == ("stop",)


def test_the_proxy_looks_like_the_wrapped_stream(kit: Pipelines) -> None:
    fake = FakeAsyncStream(CHUNKS)

    async def main() -> None:
        stream = _wrap(kit, fake)
        assert isinstance(stream, FakeAsyncStream)
        assert stream.model == "fake-model"
        assert await stream.double(21) == 42
        await stream.aclose()

    asyncio.run(main())
    assert len(kit.spans()) == 1


def test_a_stream_abandoned_after_leaving_async_for_is_finished(kit: Pipelines) -> None:
    accumulator = Collecting()

    async def main() -> None:
        stream = _wrap(kit, FakeAsyncStream(CHUNKS), accumulator)
        async for _chunk in stream:
            break
        del stream
        # The event loop closes the async generator the `async for` left behind (its finalizer hook
        # schedules aclose()); the stream goes with it, a few turns of the loop later.
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
        assert len(kit.spans()) == 1

    asyncio.run(main())
    assert _finish_reasons(kit) == ("error",)
    assert accumulator.applied == [False]
