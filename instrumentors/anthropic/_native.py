"""The anthropic SDK's own spans: one span per model call, whoever records it.

anthropic 2.x traces itself. `SyncAPIClient.request` / `AsyncAPIClient.request` (in
`anthropic._base_client`) ask the module-level function `start_api_call_span(tracer, base_url,
options, ...)` (defined in `anthropic._tracing`) for a CLIENT span, `anthropic.messages.create`
for every messages.create / stream / parse and their beta twins. A client has a tracer when its
`open_telemetry` option (or, for a client given none, `ANTHROPIC_OPEN_TELEMETRY=false`, read once
at construction) leaves traces on, which is the default, and the span records when a global
tracer provider is set (or the option names one). With traceglass that would be two spans per call.

The choice: while traceglass is instrumented, `anthropic._base_client.start_api_call_span` is
wrapped (wrapt) so that, for a call traceglass is tracing (its invocation is current:
`traceglass.semconv.current_invocation()`), it starts nothing and returns traceglass's span as
a non-recording stand-in. The SDK treats that like a sampled-out span of its own: it records
nothing on it and never ends a real span, but still injects the trace context (its
`propagation` option, on by default), which now names traceglass's span. uninstrument() removes
the wrapper and the SDK's spans come back.

Why this and not the alternatives:
- It acts per call, at the one place both sync and async clients start the span, so it covers
  clients built before instrument(), copies made by `with_options()`, and every platform client
  (Bedrock, Vertex, Foundry, ...), none of which need to be found or changed.
- Turning the client option off (patching `Anthropic.__init__`, setting the env var) reaches
  only clients built afterwards, also drops the SDK's spans for calls traceglass does not
  trace (count_tokens, batches, admin APIs) and its trace-context propagation. The tracer is
  cached per client (`_lazy_tracer`), so hooking `get_tracer` misses clients already used.
- Calls traceglass does not trace keep the SDK's span: count_tokens and the like, and a call
  made through a `with_raw_response` attribute that was first read before instrument() (it holds
  the unwrapped method), so such a call still gets exactly one span, the SDK's.
- The hook relies on one private name. If an SDK release renames it, the wrapper is not
  installed (logged at DEBUG) and the SDK's spans appear next to ours: a duplicate, never a
  broken call. tests/instrumentors/anthropic/test_native_tracing.py catches that.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from opentelemetry.instrumentation.utils import unwrap
from traceglass.semconv import current_invocation
from wrapt import wrap_function_wrapper

__all__ = ["defer_native_spans", "restore_native_spans"]

_MODULE = "anthropic._base_client"
_FUNCTION = "start_api_call_span"
_log = logging.getLogger("traceglass")


def _start_api_call_span(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    handle = current_invocation()
    if handle is None:  # not a call traceglass traces: the SDK's span as usual
        return wrapped(*args, **kwargs)
    return handle.stand_in_span()


def _module() -> Any:
    try:
        module = importlib.import_module(_MODULE)
    except ImportError:
        return None
    return module if callable(getattr(module, _FUNCTION, None)) else None


def defer_native_spans() -> None:
    """Install the wrapper (once)."""
    module = _module()
    if module is None:
        _log.debug("traceglass: %s.%s not found; the anthropic SDK's own spans are left on", _MODULE, _FUNCTION)
        return
    if not _is_ours(getattr(module, _FUNCTION)):
        wrap_function_wrapper(module, _FUNCTION, _start_api_call_span)


def restore_native_spans() -> None:
    """Remove the wrapper if it is the outermost one. If another library wrapped the function since,
    ours stays, inert: once uninstrumented no traceglass invocation is ever current."""
    module = _module()
    if module is not None and _is_ours(getattr(module, _FUNCTION)):
        unwrap(module, _FUNCTION)


def _is_ours(function: Any) -> bool:
    return getattr(function, "_self_wrapper", None) is _start_api_call_span
