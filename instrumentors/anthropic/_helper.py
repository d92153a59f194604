"""messages.stream(): the MessageStreamManager it returns, traced.

stream() never calls create(): it returns a manager holding `partial(self._post, ...)`, and the
request is sent in `__enter__` / `__aenter__`, which wraps the raw `Stream` in a MessageStream.
The proxy here sends that request with the invocation's context current (so the SDK's own
tracing sees it) and swaps the MessageStream's `_raw_stream` for our stream proxy before anything
reads it: MessageStream, its `text_stream`, `get_final_message()` and `until_done()` all iterate
`_raw_stream`, and its `close()` (called on leaving the `with` block) closes it. So the invocation
ends exactly once, with what arrived, however the app reads or leaves the stream.

SDK types read (anthropic 2.x): anthropic.lib.streaming.MessageStreamManager /
AsyncMessageStreamManager / BetaMessageStreamManager / BetaAsyncMessageStreamManager and the
MessageStream classes they return (attribute `_raw_stream`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from traceglass.semconv import Accumulator, AsyncStream, InvocationHandle, SyncStream, report_failure

__all__ = ["AsyncStreamManager", "SyncStreamManager"]

_log = logging.getLogger("traceglass")


def _adopt(message_stream: Any, handle: InvocationHandle, accumulator: Accumulator,
           proxy: Callable[[Any, InvocationHandle, Accumulator], Any]) -> None:
    try:
        raw = getattr(message_stream, "_raw_stream", None)
        if raw is not None:
            message_stream._raw_stream = proxy(raw, handle, accumulator)
            return
        # An SDK that changed its helper: the call is traced, its response is not.
        _log.debug("traceglass: %s has no _raw_stream; stream content not recorded", type(message_stream).__name__)
    except Exception:
        report_failure("anthropic stream helper")
    handle.finish()


class _Manager(wrapt.ObjectProxy):  # type: ignore[misc]
    def __init__(self, manager: Any, handle: InvocationHandle, accumulator: Accumulator) -> None:
        super().__init__(manager)
        self._self_handle = handle
        self._self_accumulator = accumulator
        self._self_entered = False

    def __del__(self) -> None:
        # Never entered: no request was sent. End the span rather than leave it open.
        if not self._self_entered:
            self._self_handle.finish()


class SyncStreamManager(_Manager):
    def __enter__(self) -> Any:
        self._self_entered = True
        handle = self._self_handle
        token = otel_context.attach(handle.context())
        try:
            message_stream = self.__wrapped__.__enter__()
        except BaseException as exc:
            handle.fail(exc)
            raise
        finally:
            otel_context.detach(token)
        _adopt(message_stream, handle, self._self_accumulator, SyncStream)
        return message_stream

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)


class AsyncStreamManager(_Manager):
    async def __aenter__(self) -> Any:
        self._self_entered = True
        handle = self._self_handle
        token = otel_context.attach(handle.context())
        try:
            message_stream = await self.__wrapped__.__aenter__()
        except BaseException as exc:
            handle.fail(exc)
            raise
        finally:
            otel_context.detach(token)
        _adopt(message_stream, handle, self._self_accumulator, AsyncStream)
        return message_stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)
