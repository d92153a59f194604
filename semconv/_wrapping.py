"""The wrapt wrappers every instrumentor installs: start, call, respond, never break the app.

Only the SDK call sits inside `try: ... except BaseException: fail(); raise`, so the caller
gets the SDK's own exception object. Building the invocation and reading the result run
guarded: a bug there costs telemetry, never the call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from ._guard import report_failure
from ._invocation import Invocation
from ._telemetry import InvocationHandle, Telemetry

__all__ = ["Adapter", "async_wrapper", "sync_wrapper"]

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


class Adapter(Protocol):
    """Translation of one SDK method: request kwargs in, result out."""

    def request(self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Invocation | None:
        """The invocation this call makes, or None to leave the call untraced."""

    def respond(self, handle: InvocationHandle, result: Any) -> Any:
        """Record `result` and finish `handle` (or hand it to a stream proxy); return what the
        caller should get: `result` itself or a proxy of it."""

    # Optional: `failed(handle, exc)`, called before `handle` fails with the exception the SDK call
    # raised, to record a response the exception carries (a result the SDK received, then refused).


def _start(telemetry: Telemetry, adapter: Adapter, instance: Any, args: Any, kwargs: Any) -> InvocationHandle | None:
    if not telemetry.active or not is_instrumentation_enabled():
        return None
    try:
        invocation = adapter.request(instance, args, kwargs)
        return None if invocation is None else telemetry.start(invocation)
    except Exception:
        report_failure(f"{type(adapter).__name__}.request")
        return None


def _fail(adapter: Adapter, handle: InvocationHandle, exc: BaseException) -> None:
    failed = getattr(adapter, "failed", None)
    if failed is not None:
        try:
            failed(handle, exc)
        except Exception:
            report_failure(f"{type(adapter).__name__}.failed")
    handle.fail(exc)


def _respond(adapter: Adapter, handle: InvocationHandle, result: Any) -> Any:
    try:
        return adapter.respond(handle, result)
    except Exception:
        report_failure(f"{type(adapter).__name__}.respond")
        handle.finish()
        return result


def sync_wrapper(telemetry: Telemetry, adapter: Adapter) -> Wrapper:
    def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        handle = _start(telemetry, adapter, instance, args, kwargs)
        if handle is None:
            return wrapped(*args, **kwargs)
        token = otel_context.attach(handle.context())
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            _fail(adapter, handle, exc)
            raise
        otel_context.detach(token)
        return _respond(adapter, handle, result)

    return wrapper


def async_wrapper(telemetry: Telemetry, adapter: Adapter) -> Wrapper:
    async def wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any:
        handle = _start(telemetry, adapter, instance, args, kwargs)
        if handle is None:
            return await wrapped(*args, **kwargs)
        token = otel_context.attach(handle.context())
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as exc:
            otel_context.detach(token)
            _fail(adapter, handle, exc)
            raise
        otel_context.detach(token)
        return _respond(adapter, handle, result)

    return wrapper
