"""One Adapter per ollama method, shared by Client, AsyncClient and the module-level functions."""

from __future__ import annotations

import dataclasses
import functools
import types
from collections.abc import Callable
from typing import Any

from traceglass.semconv import Accumulator, Invocation, InvocationHandle, stream_or_finish

from traceglass._env import Settings

from ._request import (
    CHAT_PARAMS,
    EMBED_PARAMS,
    EMBEDDINGS_PARAMS,
    GENERATE_PARAMS,
    chat_invocation,
    embed_invocation,
    embeddings_invocation,
    generate_invocation,
)
from ._response import apply_chat, apply_embed, apply_embeddings, apply_generate
from ._streams import ChatChunks, GenerateChunks

__all__ = ["CHAT", "EMBED", "EMBEDDINGS", "GENERATE"]

RequestFn = Callable[[Any, dict[str, Any], dict[str, Any], bool, bool], Invocation]


@dataclasses.dataclass(frozen=True)
class _Endpoint:
    positional: tuple[str, ...]  # the method's parameters that may be passed positionally, in order
    request_fn: RequestFn
    apply_fn: Callable[[Invocation, Any, bool], None]
    accumulator: Callable[[], Accumulator] | None  # bound to the capture setting once, at instrument()
    content: bool
    full_tools: bool

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation:
        # Unlike openai's, ollama's parameters are positional too: ollama.chat("llama3.2", messages).
        params = {**dict(zip(self.positional, args, strict=False)), **kwargs} if args else kwargs
        return self.request_fn(instance, params, kwargs, self.content, self.full_tools)

    def respond(self, handle: InvocationHandle, result: Any) -> Any:
        # stream=True returns a generator (an async generator from AsyncClient) that sends the
        # request only on the first next(): HTTP errors and ResponseError arrive while iterating.
        return stream_or_finish(handle, result, lambda inv: self.apply_fn(inv, result, self.content),
                                self.accumulator, types.GeneratorType, types.AsyncGeneratorType)


def _endpoint(positional: tuple[str, ...], request_fn: RequestFn, apply_fn: Any,
              accumulator: Any) -> Callable[[Settings], _Endpoint]:
    def build(settings: Settings) -> _Endpoint:
        content = settings.capture.captures
        bound = None if accumulator is None else functools.partial(accumulator, content)
        return _Endpoint(positional, request_fn, apply_fn, bound, content, settings.full_tool_definitions)

    return build


CHAT = _endpoint(CHAT_PARAMS, chat_invocation, apply_chat, ChatChunks)
GENERATE = _endpoint(GENERATE_PARAMS, generate_invocation, apply_generate, GenerateChunks)
EMBED = _endpoint(EMBED_PARAMS, embed_invocation, apply_embed, None)
EMBEDDINGS = _endpoint(EMBEDDINGS_PARAMS, embeddings_invocation, apply_embeddings, None)
