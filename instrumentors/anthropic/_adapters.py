"""The Adapters of the Messages API (and its beta twin), shared by sync and async clients."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import anthropic
from traceglass.semconv import Invocation, InvocationHandle, stream_or_finish

from traceglass._env import Settings

from .._stainless import is_raw_response, wrap_raw_response
from ._helper import AsyncStreamManager, SyncStreamManager
from ._request import messages_invocation
from ._response import apply_message
from ._streams import MessageEvents

__all__ = ["CREATE", "STREAM"]


@dataclasses.dataclass(frozen=True)
class _Create:
    """messages.create (stream or not) and messages.parse."""

    content: bool

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation:
        return messages_invocation(instance, kwargs, self.content)

    def respond(self, handle: InvocationHandle, result: Any) -> Any:
        if is_raw_response(result):
            http = result.http_response
            if not handle.invocation.stream and http.is_closed:
                # with_raw_response has read the body: record its JSON now. Parsing it here is no
                # option for async clients (parse() is a coroutine) and would not be ours to cache.
                try:
                    body = http.json()
                except ValueError:
                    body = None
                return self.record(handle, body if isinstance(body, dict) else None, result)
            # A stream, or with_streaming_response: the body is the caller's to read.
            return wrap_raw_response(result, handle, lambda parsed: self.record(handle, parsed, parsed))
        return self.record(handle, result, result)

    def record(self, handle: InvocationHandle, message: Any, result: Any) -> Any:
        """Record `message` (a Message, its JSON, or a stream) and return what the caller gets."""
        def apply(inv: Invocation) -> None:
            if message is not None:
                apply_message(inv, message, self.content)

        if isinstance(message, (anthropic.Stream, anthropic.AsyncStream)):
            result = message  # the stream itself goes back behind the wrapper
        return stream_or_finish(handle, result, apply, functools.partial(MessageEvents, self.content),
                                anthropic.Stream, anthropic.AsyncStream)


@dataclasses.dataclass(frozen=True)
class _Stream(_Create):
    """messages.stream(): the request is sent later, when the returned manager is entered."""

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation:
        invocation = super().request(instance, args, kwargs)
        invocation.stream = True
        return invocation

    def respond(self, handle: InvocationHandle, result: Any) -> Any:
        proxy = AsyncStreamManager if hasattr(type(result), "__aenter__") else SyncStreamManager
        return proxy(result, handle, MessageEvents(self.content))


def _adapter(cls: type[_Create]) -> Callable[[Settings], _Create]:
    return lambda settings: cls(settings.capture.captures)


CREATE = _adapter(_Create)
STREAM = _adapter(_Stream)
