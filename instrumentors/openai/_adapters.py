"""One Adapter per kind of openai endpoint, shared by sync and async clients."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import openai
from traceglass.semconv import Invocation, InvocationHandle, stream_or_finish

from traceglass._env import Settings

from .._stainless import is_raw_response, wrap_raw_response
from ._request import (
    chat_invocation,
    completion_invocation,
    embeddings_invocation,
    fetch_invocation,
    responses_invocation,
)
from ._response import apply_chat, apply_completion, apply_embeddings, apply_fetched, apply_response
from ._streams import ChatChunks, CompletionChunks, FetchedEvents, ResponseEvents

__all__ = ["CHAT", "COMPLETIONS", "EMBEDDINGS", "FETCH_RESPONSE", "RESPONSES"]

# What chat.completions.parse() raises for a completion it cannot parse; each carries the completion.
_REFUSED = (openai.LengthFinishReasonError, openai.ContentFilterFinishReasonError)


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    request_fn: Callable[[Any, dict[str, Any], bool], Invocation]
    apply_fn: Callable[[Invocation, Any, bool], None]
    accumulator: Callable[[], Any] | None  # bound to the capture setting once, at instrument()
    content: bool

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation:
        return self.request_fn(instance, kwargs, self.content)

    def respond(self, handle: InvocationHandle, result: Any) -> Any:
        if is_raw_response(result):
            # with_raw_response has read the body already: parse (cached by the SDK) right away,
            # unless it is a stream; with_streaming_response must not be read before the caller.
            if type(result).__name__ == "LegacyAPIResponse" and not handle.invocation.stream:
                try:
                    parsed = result.parse()
                except _REFUSED as exc:  # the caller's parse() raises it again; the response is real
                    parsed = getattr(exc, "completion", None)
                self.record(handle, parsed)
                return result
            return wrap_raw_response(result, handle, lambda parsed: self.record(handle, parsed))
        return self.record(handle, result)

    def failed(self, handle: InvocationHandle, exc: BaseException) -> None:
        # parse() received a completion, then refused it (finish reason length or content_filter):
        # the call fails, but it was answered, and billed.
        completion = getattr(exc, "completion", None) if isinstance(exc, _REFUSED) else None
        if completion is not None:
            self.apply_fn(handle.invocation, completion, self.content)

    def record(self, handle: InvocationHandle, result: Any) -> Any:
        return stream_or_finish(handle, result, lambda inv: self.apply_fn(inv, result, self.content),
                                self.accumulator, openai.Stream, openai.AsyncStream)


@dataclasses.dataclass(frozen=True)
class _Retrieve(_Endpoint):
    """responses.retrieve(response_id, ...): the id may be passed positionally (the SDK's own
    responses.stream(response_id=) helper does so in its async variant)."""

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation:
        if args:  # a copy: the SDK is called with the caller's own kwargs
            kwargs = {**kwargs, "response_id": args[0]}
        return self.request_fn(instance, kwargs, self.content)


def _endpoint(request_fn: Any, apply_fn: Any, accumulator: Any,
              kind: type[_Endpoint] = _Endpoint) -> Callable[[Settings], _Endpoint]:
    def build(settings: Settings) -> _Endpoint:
        content = settings.capture.captures
        bound = None if accumulator is None else functools.partial(accumulator, content)
        return kind(request_fn, apply_fn, bound, content)

    return build


CHAT = _endpoint(chat_invocation, apply_chat, ChatChunks)
RESPONSES = _endpoint(responses_invocation, apply_response, ResponseEvents)
EMBEDDINGS = _endpoint(embeddings_invocation, apply_embeddings, None)
COMPLETIONS = _endpoint(completion_invocation, apply_completion, CompletionChunks)
FETCH_RESPONSE = _endpoint(fetch_invocation, apply_fetched, FetchedEvents, _Retrieve)
