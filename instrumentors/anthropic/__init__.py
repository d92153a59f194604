"""traceglass.instrumentors.anthropic: OpenTelemetry GenAI telemetry for the anthropic SDK."""

from __future__ import annotations

from .._base import GenAIInstrumentor, Target

__all__ = ["AnthropicInstrumentor"]


class AnthropicInstrumentor(GenAIInstrumentor):
    _name = "traceglass.instrumentors.anthropic"
    _instruments = ()

    def _load_targets(self) -> tuple[Target, ...]:
        return ()
