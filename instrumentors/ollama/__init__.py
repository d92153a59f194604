"""traceglass.instrumentors.ollama: OpenTelemetry GenAI telemetry for the ollama SDK.

    from traceglass.instrumentors.ollama import OllamaInstrumentor
    OllamaInstrumentor().instrument(tracer_provider=tp, capture_content="SPAN_ONLY")

Traces chat, generate, embed and embeddings of `ollama.Client` and `ollama.AsyncClient`, and the
module-level functions `ollama.chat(...)` etc.
"""

from __future__ import annotations

import inspect

from .._base import GenAIInstrumentor, Target

__all__ = ["OllamaInstrumentor"]

# A dotted module path, not `ollama._client`: on the package that name is the module-level Client
# instance, which shadows the submodule.
_CLIENT_MODULE = "ollama._client"


def _targets() -> tuple[Target, ...]:
    # Importing the adapters does not import ollama; this does.
    import ollama

    from ._adapters import CHAT, EMBED, EMBEDDINGS, GENERATE

    table = []
    for method, adapter in (("chat", CHAT), ("generate", GENERATE), ("embed", EMBED), ("embeddings", EMBEDDINGS)):
        table.append(Target(_CLIENT_MODULE, f"Client.{method}", adapter))
        table.append(Target(_CLIENT_MODULE, f"AsyncClient.{method}", adapter, is_async=True))
        # `ollama.chat = _client.chat` ran at import: a method bound to the original function, which
        # the class wrapper never sees. Wrap the module attribute itself. Only a bound method: a
        # plain function calling `_client.chat` would already be traced by the class wrapper, and
        # wrapping it too would make two spans of one call.
        function = getattr(ollama, method, None)
        if inspect.ismethod(function):
            table.append(Target("ollama", method, adapter, is_async=inspect.iscoroutinefunction(function)))
    return tuple(table)


class OllamaInstrumentor(GenAIInstrumentor):
    """Traces chat, generate, embed and embeddings of the ollama SDK (sync and async clients, and the
    module-level functions), streamed or not."""

    _name = "traceglass.instrumentors.ollama"
    _instruments = ("ollama >= 0.6",)

    def _load_targets(self) -> tuple[Target, ...]:
        return _targets()
