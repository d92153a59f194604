"""traceglass.instrumentors.openai: OpenTelemetry GenAI telemetry for the openai SDK.

    from traceglass.instrumentors.openai import OpenAIInstrumentor
    OpenAIInstrumentor().instrument(tracer_provider=tp, capture_content="SPAN_ONLY")
"""

from __future__ import annotations

from traceglass._env import OPENAI_PROVIDER_NAME

from .._base import GenAIInstrumentor, Target

__all__ = ["OpenAIInstrumentor"]

_CHAT = "openai.resources.chat.completions"
_RESPONSES = "openai.resources.responses.responses"
_BETA_RESPONSES = "openai.resources.beta.responses"


def _targets() -> tuple[Target, ...]:
    # Importing the adapters imports openai itself.
    from ._adapters import CHAT, COMPLETIONS, EMBEDDINGS, FETCH_RESPONSE, RESPONSES

    table = []
    for module, methods, adapter in (
        # stream() calls create(stream=True), so it is traced through create; stream(response_id=)
        # calls retrieve(stream=True), so it is traced through retrieve.
        (_CHAT, ("create", "parse"), CHAT),
        (_RESPONSES, ("create", "parse"), RESPONSES),
        (_RESPONSES, ("retrieve",), FETCH_RESPONSE),
        (_BETA_RESPONSES, ("create",), RESPONSES),
        (_BETA_RESPONSES, ("retrieve",), FETCH_RESPONSE),
        ("openai.resources.embeddings", ("create",), EMBEDDINGS),
        ("openai.resources.completions", ("create",), COMPLETIONS),
    ):
        for method in methods:
            sync_class = "Completions" if module in (_CHAT, "openai.resources.completions") else (
                "Embeddings" if module.endswith("embeddings") else "Responses")
            table.append(Target(module, f"{sync_class}.{method}", adapter))
            table.append(Target(module, f"Async{sync_class}.{method}", adapter, is_async=True))
    return tuple(table)


class OpenAIInstrumentor(GenAIInstrumentor):
    """Traces chat completions, the Responses API (responses.retrieve as fetch_response),
    embeddings and legacy completions of the openai SDK (sync and async clients, AzureOpenAI
    included)."""

    _name = "traceglass.instrumentors.openai"
    _provider_name_env = OPENAI_PROVIDER_NAME
    _instruments = ("openai >= 1.40",)

    def _load_targets(self) -> tuple[Target, ...]:
        return _targets()
