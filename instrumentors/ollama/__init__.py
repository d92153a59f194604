"""traceglass.instrumentors.ollama: OpenTelemetry GenAI telemetry for the ollama SDK."""

from __future__ import annotations

from .._base import GenAIInstrumentor, Target

__all__ = ["OllamaInstrumentor"]


class OllamaInstrumentor(GenAIInstrumentor):
    _name = "traceglass.instrumentors.ollama"
    _instruments = ()

    def _load_targets(self) -> tuple[Target, ...]:
        return ()
