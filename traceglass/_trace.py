"""`@traceglass.trace`: one span per call of a function, coroutine, generator or async generator.

The span is current while the function's own code runs (between a generator's yields, only while
it runs), records the bound arguments (self/cls excluded) and the result as JSON when content
capture is on and the span records, and marks exceptions (which propagate unchanged). A
generator's span covers the whole iteration: it ends on exhaustion, close(), an exception, or
garbage collection of the generator; its output is the list of yielded items.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace as otel_trace

from traceglass import semconv
from traceglass._spans import LiveSpan, open_span

__all__ = ["trace"]

F = TypeVar("F", bound=Callable[..., Any])
_MAX_ITEMS = 1000  # yielded items kept for a generator's output (the size cap applies as well)


@overload
def trace(func: F) -> F: ...
@overload
def trace(
    func: None = None,
    *,
    name: str | None = None,
    span_type: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Callable[[F], F]: ...


def trace(
    func: Any = None,
    *,
    name: str | None = None,
    span_type: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> Any:
    """Trace each call: `@trace` or `@trace(name="answer", span_type=SpanType.CHAIN, attributes={...})`.

    Works on functions, async functions, generator and async generator functions, and methods;
    placed above @classmethod/@staticmethod it wraps the underlying function. The span is named
    after the function's __qualname__ unless `name` is given.
    """
    if func is None:
        return lambda f: _decorate(f, name, span_type, attributes)
    return _decorate(func, name, span_type, attributes)


def _decorate(func: Any, name: str | None, span_type: str | None, attributes: Mapping[str, Any] | None) -> Any:
    if isinstance(func, (classmethod, staticmethod)):
        return type(func)(_decorate(func.__func__, name, span_type, attributes))
    if isinstance(func, property):  # @trace above @property: the getter is what runs
        getter = _decorate(func.fget, name, span_type, attributes) if func.fget is not None else None
        return func.getter(getter) if getter is not None else func
    # An object with __call__ (not a function, method or partial): its __call__ says what kind it is.
    kind = func
    if callable(func) and not isinstance(func, (type, functools.partial)) and not inspect.isroutine(func):
        kind = getattr(func, "__call__", func)  # noqa: B004
    label = None if name is None else str(name)
    meta = _Meta(func, label or _name_of(func), span_type, dict(attributes) if attributes else None)
    if inspect.isasyncgenfunction(kind):
        wrapper: Callable[..., Any] = _async_gen_wrapper(func, meta)
    elif inspect.isgeneratorfunction(kind):
        wrapper = _gen_wrapper(func, meta)
    elif inspect.iscoroutinefunction(kind):
        wrapper = _async_wrapper(func, meta)
    else:
        wrapper = _sync_wrapper(func, meta)
    return functools.wraps(func)(wrapper)


def _name_of(func: Any) -> str:
    """The span name of a callable: its __qualname__; a partial's function's; an object's class's."""
    while isinstance(func, functools.partial):
        func = func.func
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    return name if isinstance(name, str) else type(func).__qualname__


class _Meta:
    """What the wrappers need, computed once per decorated function (the signature lazily)."""

    __slots__ = ("_signature", "attributes", "func", "name", "span_type")

    def __init__(self, func: Any, name: str, span_type: str | None, attributes: dict[str, Any] | None) -> None:
        self.func = func
        self.name = name
        self.span_type = span_type
        self.attributes = attributes
        self._signature: inspect.Signature | None = None

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[LiveSpan, object] | None:
        """Start the span, make it current, record inputs; None if traceglass itself failed."""
        try:
            live = open_span(self.name, self.span_type, self.attributes)
            token = otel_context.attach(otel_trace.set_span_in_context(live.span))
        except Exception:
            semconv.report_failure("trace.start")
            return None
        if live.captures_content:
            live.set_inputs(self._inputs(args, kwargs))
        return live, token

    def _inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            if self._signature is None:
                self._signature = inspect.signature(self.func)
            bound = self._signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            first = next(iter(self._signature.parameters), None)
            if first in ("self", "cls"):
                arguments.pop(first, None)
            return arguments
        except Exception:
            return {"args": list(args), "kwargs": kwargs}


def _end(live: LiveSpan, token: object | None, exc: BaseException | None, output: Any = None) -> None:
    try:
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]
        if exc is not None and not isinstance(exc, GeneratorExit):
            live.end(exception=exc)
        else:
            if output is not None and live.captures_content:
                live.set_outputs(output)
            live.end()
    except Exception:
        semconv.report_failure("trace.end")


def _sync_wrapper(func: Callable[..., Any], meta: _Meta) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = meta.begin(args, kwargs)
        if started is None:
            return func(*args, **kwargs)
        live, token = started
        try:
            result = func(*args, **kwargs)
        except BaseException as exc:
            _end(live, token, exc)
            raise
        _end(live, token, None, result)
        return result

    return wrapper


def _async_wrapper(func: Callable[..., Any], meta: _Meta) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = meta.begin(args, kwargs)
        if started is None:
            return await func(*args, **kwargs)
        live, token = started
        try:
            result = await func(*args, **kwargs)
        except BaseException as exc:
            _end(live, token, exc)
            raise
        _end(live, token, None, result)
        return result

    return wrapper


class _Items:
    """The yielded items kept for the output (only when content is captured)."""

    __slots__ = ("items",)

    def __init__(self, live: LiveSpan) -> None:
        self.items: list[Any] | None = [] if live.captures_content else None

    def add(self, item: Any) -> None:
        if self.items is not None and len(self.items) < _MAX_ITEMS:
            self.items.append(item)


def _step(live: LiveSpan, call: Callable[[], Any]) -> Any:
    """Run one step of the wrapped generator with its span current."""
    token = otel_context.attach(otel_trace.set_span_in_context(live.span))
    try:
        return call()
    finally:
        otel_context.detach(token)


def _gen_wrapper(func: Callable[..., Any], meta: _Meta) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = meta.begin(args, kwargs)
        if started is None:
            return (yield from func(*args, **kwargs))
        live, token = started
        otel_context.detach(token)  # (re)attached around each step only
        items = _Items(live)
        try:
            gen = _step(live, lambda: func(*args, **kwargs))
            send: Callable[[], Any] = gen.__next__
            while True:
                try:
                    item = _step(live, send)
                except StopIteration as stop:
                    _end(live, None, None, items.items)
                    return stop.value
                items.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    _step(live, gen.close)
                    raise
                except BaseException as exc:
                    send = functools.partial(gen.throw, exc)
                else:
                    send = functools.partial(gen.send, sent)
        except BaseException as exc:
            if isinstance(exc, GeneratorExit):
                _end_partial(live, items)
            _end(live, None, exc, None)
            raise

    return wrapper


def _end_partial(live: LiveSpan, items: _Items) -> None:
    # close() or garbage collection: a normal end, with what was yielded so far.
    if items.items is not None:
        live.set_outputs(items.items)


def _async_gen_wrapper(func: Callable[..., Any], meta: _Meta) -> Callable[..., Any]:
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = meta.begin(args, kwargs)
        if started is None:
            async for item in func(*args, **kwargs):
                yield item
            return
        live, token = started
        otel_context.detach(token)
        items = _Items(live)
        try:
            agen = _step(live, lambda: func(*args, **kwargs))
            step: Callable[[], Any] = agen.__anext__
            while True:
                token = otel_context.attach(otel_trace.set_span_in_context(live.span))
                try:
                    item = await step()
                except StopAsyncIteration:
                    _end(live, None, None, items.items)
                    return
                finally:
                    otel_context.detach(token)
                items.add(item)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(otel_trace.set_span_in_context(live.span))
                    try:
                        await agen.aclose()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as exc:
                    step = functools.partial(agen.athrow, exc)
                else:
                    step = functools.partial(agen.asend, sent)
        except BaseException as exc:
            if isinstance(exc, GeneratorExit):
                _end_partial(live, items)
            _end(live, None, exc, None)
            raise

    return wrapper
