"""Shapes shared by the SDKs generated the same way (openai, anthropic): sentinel values for
"not given", request params given as dicts or as the SDK's models, tool arguments sent as JSON
text, and the raw-response objects of `with_raw_response` / `with_streaming_response`.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import wrapt
from traceglass.semconv import AsyncStream, InvocationHandle, SyncStream

__all__ = ["field", "given", "is_raw_response", "parse_arguments", "reusable", "wrap_raw_response"]

_SENTINELS = frozenset({"NotGiven", "Omit"})


def given(value: Any) -> Any:
    """`value`, or None where the SDK's NOT_GIVEN / omit sentinel stands for "not passed"."""
    if value is None or type(value).__name__ in _SENTINELS:
        return None
    return value


def field(obj: Any, key: str) -> Any:
    """`obj[key]` or `obj.key`: request params are usually dicts, but users may pass the SDK's
    pydantic models (a previous response's content blocks, for instance)."""
    if isinstance(obj, dict):
        return obj.get(key)
    return getattr(obj, key, None)


def reusable(kwargs: dict[str, Any], key: str) -> Any:
    """`kwargs[key]`, turned into a list first if it is a one-shot iterator (a generator, iter()).

    The SDK takes any Iterable and reads it after us: reading an iterator here would leave it
    empty for the request. The wrapper calls the SDK with this same kwargs dict, so the SDK gets
    the list, which it would have built from the iterator anyway.
    """
    value = given(kwargs.get(key))
    if isinstance(value, Iterator):
        value = kwargs[key] = list(value)
    return value


def parse_arguments(arguments: Any) -> Any:
    """Tool-call arguments arrive as a JSON string; record the object when it parses."""
    if isinstance(arguments, str):
        try:
            return orjson.loads(arguments)
        except orjson.JSONDecodeError:  # or JSON only json reads (NaN, huge numbers)
            try:
                return json.loads(arguments)
            except ValueError:
                return arguments
    return arguments


class _RawResponse(wrapt.ObjectProxy):  # type: ignore[misc]
    """Proxy of an APIResponse / LegacyAPIResponse whose body the caller parses later.

    The invocation is finished from the first `parse()` (its result may be a stream, which
    then carries the invocation on), from `close()`, or when the response is dropped unread.
    """

    def __init__(self, response: Any, handle: InvocationHandle, on_parsed: Callable[[Any], Any]) -> None:
        super().__init__(response)
        self._self_handle = handle
        self._self_on_parsed = on_parsed
        self._self_parsed = False
        self._self_raw: Any = None  # what the SDK's first parse() returned
        self._self_result: Any = None  # what the caller got for it (a stream proxy, or the same object)

    def _self_record(self, parsed: Any) -> Any:
        if self._self_parsed:
            # The SDK caches parse(): the same object again gets the same proxy again.
            return self._self_result if parsed is self._self_raw else parsed
        if self._self_handle.ended:
            return parsed
        self._self_parsed = True
        self._self_raw = parsed
        self._self_result = self._self_on_parsed(parsed)
        return self._self_result

    def _self_stream(self) -> Any:
        """The stream proxy parse() returned, if any: closing it ends the invocation with what it read."""
        result = self._self_result
        return result if isinstance(result, (SyncStream, AsyncStream)) else None

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            stream = self._self_stream()
            if stream is not None:
                stream.close()
            else:
                self._self_handle.finish()

    def __del__(self) -> None:
        if not self._self_parsed:
            self._self_handle.finish()


class _SyncRawResponse(_RawResponse):
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_record(self.__wrapped__.parse(*args, **kwargs))


class _AsyncRawResponse(_RawResponse):
    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_record(await self.__wrapped__.parse(*args, **kwargs))

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            stream = self._self_stream()
            if stream is not None:
                await stream.close()
            else:
                self._self_handle.finish()


_RAW_RESPONSES = frozenset({"LegacyAPIResponse", "APIResponse", "AsyncAPIResponse"})


def is_raw_response(result: Any) -> bool:
    # By class name, not hasattr(): on the SDK's pydantic results a missing attribute costs an
    # exception, on every call.
    return type(result).__name__ in _RAW_RESPONSES


def wrap_raw_response(result: Any, handle: InvocationHandle, on_parsed: Callable[[Any], Any]) -> Any:
    """Proxy `result` so that parsing it records the response through `on_parsed(parsed)`."""
    if inspect.iscoroutinefunction(type(result).parse):
        return _AsyncRawResponse(result, handle, on_parsed)
    return _SyncRawResponse(result, handle, on_parsed)
