"""One stream wrapper, sync and async, that finishes an invocation exactly once.

It proxies the SDK's stream object (wrapt.ObjectProxy keeps isinstance() and every attribute
working), hands each chunk to the adapter's accumulator, and ends the invocation on exhaustion,
close(), leaving a `with` block, an exception mid-stream, or garbage collection of an abandoned
stream. Only the accumulator's `add` runs per chunk; JSON and metrics wait for the end. A `for`
(`async for`) loop reads through a generator, next() (`__anext__`) through the proxy's method:
both take chunks from the one SDK stream, so they can be mixed. Leaving a loop early does not end
the stream, which may still be read on; closing or dropping it does.

A stream still open when the interpreter exits (abandoned in a global, never read to the end) is
ended by an exit hook: left to garbage collection, it would end after the exporters shut down.
"""

from __future__ import annotations

import atexit
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

import wrapt

from ._guard import report_failure
from ._invocation import Invocation
from ._telemetry import InvocationHandle

__all__ = ["Accumulator", "AsyncStream", "SyncStream", "stream_or_finish"]


class Accumulator(Protocol):
    """Adapter-side state of one stream: `add` each chunk, `apply` the sum at the end."""

    def add(self, chunk: Any) -> None: ...

    def apply(self, invocation: Invocation, complete: bool) -> None:
        """Copy what arrived into the invocation; `complete` is False when the stream stopped
        before its end (closed early, failed, abandoned)."""


# Streams not ended yet, by id: weak, so an abandoned stream is still collected (and ended) as usual.
_unended: weakref.WeakValueDictionary[int, _Ending] = weakref.WeakValueDictionary()
_exit_hook_registered = False


def _end_unended_streams() -> None:
    # Registered at the first stream, so after every tracer provider built before it: atexit runs
    # hooks last-in first-out, so this runs while their exporters can still take the spans.
    for stream in list(_unended.values()):
        try:
            stream._self_end()
        except Exception:
            report_failure("ending a stream at exit")


class _Ending:
    """Shared finish-once logic of the sync and async proxies (state lives in `_self_*`)."""

    _self_handle: InvocationHandle
    _self_accumulator: Accumulator
    _self_response: Any
    _self_on_chunk: Any

    def _self_init(self, handle: InvocationHandle, accumulator: Accumulator) -> None:
        self._self_handle = handle
        self._self_accumulator = accumulator
        self._self_response = None
        # Per chunk only this runs: the first chunk marks time to first chunk, then hands the
        # slot to the accumulator's bound add().
        self._self_on_chunk = self._self_first_chunk
        _unended[id(self)] = self
        global _exit_hook_registered
        if not _exit_hook_registered:
            _exit_hook_registered = True
            atexit.register(_end_unended_streams)

    def _self_first_chunk(self, chunk: Any) -> None:
        self._self_handle.first_chunk()
        self._self_on_chunk = self._self_accumulator.add
        self._self_accumulator.add(chunk)

    def _self_end(self, exc: BaseException | None = None, complete: bool = False) -> None:
        handle = self._self_handle
        if handle.ended:
            return
        _unended.pop(id(self), None)
        try:
            self._self_accumulator.apply(handle.invocation, complete)
        except Exception:
            report_failure(f"{type(self._self_accumulator).__name__}.apply")
        if exc is None:
            handle.finish()
        else:
            handle.fail(exc)

    @property
    def response(self) -> Any:
        # SDK helpers (openai's ChatCompletionStream) close the HTTP response directly rather
        # than the stream; a closing proxy of it lets us see that close too.
        if self._self_response is None:
            self._self_response = _ClosingResponse(self.__wrapped__.response, self)  # type: ignore[attr-defined]
        return self._self_response

    def __del__(self) -> None:
        try:
            self._self_end()
        except Exception:  # never raise from a finalizer
            pass


class _ClosingResponse(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, response: Any, stream: _Ending) -> None:
        super().__init__(response)
        self._self_stream = stream

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_stream._self_end()

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_stream._self_end()


class SyncStream(_Ending, wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, stream: Any, handle: InvocationHandle, accumulator: Accumulator) -> None:
        wrapt.ObjectProxy.__init__(self, stream)
        self._self_init(handle, accumulator)
        self._self_next = stream.__next__  # bound once: the hot path of every chunk

    def __iter__(self) -> Iterator[Any]:
        # A `for` loop reads through this generator, not __next__: resuming a generator costs a
        # fraction of a call to a Python __next__, and locals a fraction of the proxy's attributes.
        add, first = self._self_accumulator.add, True
        try:
            for chunk in self.__wrapped__:
                if first:
                    first = False
                    self._self_handle.first_chunk()  # ignored if __next__ already saw one
                try:
                    add(chunk)
                except Exception:
                    report_failure(f"{type(self._self_accumulator).__name__}.add")
                yield chunk
        except GeneratorExit:  # the loop was left: the stream may still be read on, or closed
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        self._self_end(complete=True)

    def __next__(self) -> Any:
        try:
            chunk = self._self_next()
        except StopIteration:
            self._self_end(complete=True)
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        try:
            self._self_on_chunk(chunk)
        except Exception:
            report_failure(f"{type(self._self_accumulator).__name__}.add")
        return chunk

    def __enter__(self) -> SyncStream:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_end()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_end()


class AsyncStream(_Ending, wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, stream: Any, handle: InvocationHandle, accumulator: Accumulator) -> None:
        wrapt.ObjectProxy.__init__(self, stream)
        self._self_init(handle, accumulator)
        self._self_anext = stream.__anext__  # bound once: the hot path of every chunk

    async def __aiter__(self) -> AsyncIterator[Any]:
        # As SyncStream.__iter__: an `async for` resumes this generator instead of creating a
        # coroutine of __anext__ for every chunk.
        add, first = self._self_accumulator.add, True
        try:
            async for chunk in self.__wrapped__:
                if first:
                    first = False
                    self._self_handle.first_chunk()
                try:
                    add(chunk)
                except Exception:
                    report_failure(f"{type(self._self_accumulator).__name__}.add")
                yield chunk
        except GeneratorExit:
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        self._self_end(complete=True)

    async def __anext__(self) -> Any:
        try:
            chunk = await self._self_anext()
        except StopAsyncIteration:
            self._self_end(complete=True)
            raise
        except BaseException as exc:
            self._self_end(exc)
            raise
        try:
            self._self_on_chunk(chunk)
        except Exception:
            report_failure(f"{type(self._self_accumulator).__name__}.add")
        return chunk

    async def __aenter__(self) -> AsyncStream:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_end()

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_end()

    async def aclose(self) -> Any:
        try:
            return await self.__wrapped__.aclose()
        finally:
            self._self_end()


def stream_or_finish(
    handle: InvocationHandle,
    result: Any,
    record: Callable[[Invocation], None],
    accumulator: Callable[[], Accumulator] | None = None,
    sync_streams: type | tuple[type, ...] = (),
    async_streams: type | tuple[type, ...] = (),
) -> Any:
    """What every adapter does with an SDK result, and what the caller gets back.

    A stream (an instance of one of the SDK's stream types) comes back behind the stream wrapper,
    which finishes `handle` when the stream ends; anything else is recorded into the invocation
    now and `handle` finished, even if recording fails.
    """
    if accumulator is not None:
        if isinstance(result, sync_streams):
            return SyncStream(result, handle, accumulator())
        if isinstance(result, async_streams):
            return AsyncStream(result, handle, accumulator())
    try:
        record(handle.invocation)
    finally:
        handle.finish()
    return result
