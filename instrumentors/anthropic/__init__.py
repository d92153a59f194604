"""traceglass.instrumentors.anthropic: OpenTelemetry GenAI telemetry for the anthropic SDK.

    from traceglass.instrumentors.anthropic import AnthropicInstrumentor
    AnthropicInstrumentor().instrument(tracer_provider=tp, capture_content="SPAN_ONLY")

Traces messages.create (plain and stream=True), messages.stream() and messages.parse, and their
beta twins, on every client (Anthropic, AsyncAnthropic, AnthropicBedrock, AnthropicVertex, ...),
with_raw_response and with_streaming_response included. While instrumented, the SDK's own span
for a traced call is folded into traceglass's (see _native.py): one span per model call.
"""

from __future__ import annotations

from typing import Any

from .._base import GenAIInstrumentor, Target

__all__ = ["AnthropicInstrumentor"]

_MODULES = ("anthropic.resources.messages.messages", "anthropic.resources.beta.messages.messages")


def _targets() -> tuple[Target, ...]:
    # Importing the adapters imports anthropic itself.
    from ._adapters import CREATE, STREAM

    table = []
    for module in _MODULES:
        for cls, is_async in (("Messages", False), ("AsyncMessages", True)):
            table.append(Target(module, f"{cls}.create", CREATE, is_async))
            table.append(Target(module, f"{cls}.parse", CREATE, is_async))
            # stream() is a plain method on both: it returns a manager that sends the request
            # when entered, and does not go through create().
            table.append(Target(module, f"{cls}.stream", STREAM))
    return tuple(table)


class AnthropicInstrumentor(GenAIInstrumentor):
    """Traces the Messages API of the anthropic SDK (sync and async, beta included)."""

    _name = "traceglass.instrumentors.anthropic"
    _instruments = ("anthropic >= 1.0",)

    def _load_targets(self) -> tuple[Target, ...]:
        return _targets()

    def _instrument(self, **kwargs: Any) -> None:
        super()._instrument(**kwargs)
        if self._targets:  # empty when anthropic is not installed
            from ._native import defer_native_spans

            defer_native_spans()

    def _uninstrument(self, **kwargs: Any) -> None:
        super()._uninstrument(**kwargs)
        if self._targets:
            from ._native import restore_native_spans

            restore_native_spans()
