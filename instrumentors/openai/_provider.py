"""Which provider and server an OpenAI client talks to.

The OpenAI SDK also serves every OpenAI-compatible API; `gen_ai.provider.name` is the
conventions' "instrumentation's best knowledge", taken from the client's base URL.
"""

from __future__ import annotations

from typing import Any

__all__ = ["KNOWN_HOSTS", "KNOWN_PORTS", "endpoint_of"]

_DEFAULT_PORTS = {"https": 443, "http": 80}

# Host (or host suffix, with a leading dot) -> gen_ai.provider.name. Well-known values of the
# conventions where one exists; the others are the provider's own lowercase name.
KNOWN_HOSTS: dict[str, str] = {
    "api.openai.com": "openai",
    ".openai.azure.com": "azure.ai.openai",
    "api.groq.com": "groq",
    "api.deepseek.com": "deepseek",
    "api.mistral.ai": "mistral_ai",
    "api.x.ai": "x_ai",
    "api.perplexity.ai": "perplexity",
    "api.together.xyz": "together_ai",
    "api.together.ai": "together_ai",
    "api.fireworks.ai": "fireworks",
    "openrouter.ai": "openrouter",
    "generativelanguage.googleapis.com": "gcp.gemini",
    "api.moonshot.ai": "moonshot_ai",
    # The OpenAI-SDK compatibility endpoints of providers with their own well-known value.
    "api.anthropic.com": "anthropic",
    "api.cohere.ai": "cohere",
    "api.cohere.com": "cohere",
}
# Local servers are recognised by their default port.
KNOWN_PORTS: dict[int, str] = {11434: "ollama", 8000: "vllm"}

_AZURE_CLIENTS = frozenset({"AzureOpenAI", "AsyncAzureOpenAI"})
_cache: dict[int, tuple[Any, tuple[str, str | None, int | None]]] = {}


def _provider(client: Any, host: str | None, port: int | None, explicit_port: bool) -> str:
    if type(client).__name__ in _AZURE_CLIENTS:
        return "azure.ai.openai"
    if host:
        known = KNOWN_HOSTS.get(host)
        if known is not None:
            return known
        for suffix, name in KNOWN_HOSTS.items():
            if suffix.startswith(".") and host.endswith(suffix):
                return name
    if explicit_port and port in KNOWN_PORTS:
        return KNOWN_PORTS[port]  # type: ignore[index]
    return "openai"


def endpoint_of(resource: Any) -> tuple[str, str | None, int | None]:
    """(gen_ai.provider.name, server.address, server.port) for an SDK resource object.

    openai.resources.* hold their client as `_client`; its `base_url` is an httpx2.URL whose
    `port` is None when it is the scheme's default.
    """
    client = getattr(resource, "_client", None)
    url = getattr(client, "base_url", None)
    cached = _cache.get(id(client))
    if cached is not None and cached[0] is url:
        return cached[1]
    host = getattr(url, "host", None) or None
    explicit_port = getattr(url, "port", None)
    port = explicit_port or _DEFAULT_PORTS.get(getattr(url, "scheme", ""))
    endpoint = (_provider(client, host, port, explicit_port is not None), host, port)
    if len(_cache) > 256:  # clients are few; a program that makes many gets a fresh cache
        _cache.clear()
    # Keyed by id(client) but checked against the URL object, which a new client (reusing the
    # id) or a changed base_url replaces.
    _cache[id(client)] = (url, endpoint)
    return endpoint
