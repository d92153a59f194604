"""Which provider and server an OpenAI client talks to."""

from __future__ import annotations

from typing import Any

__all__ = ["endpoint_of"]

_DEFAULT_PORTS = {"https": 443, "http": 80}
_cache: dict[int, tuple[Any, tuple[str, str | None, int | None]]] = {}


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
    port = getattr(url, "port", None) or _DEFAULT_PORTS.get(getattr(url, "scheme", ""))
    provider = "openai"
    if type(client).__name__ in ("AzureOpenAI", "AsyncAzureOpenAI") or (host or "").endswith(".openai.azure.com"):
        provider = "azure.ai.openai"
    endpoint = (provider, host, port)
    if len(_cache) > 256:  # clients are few; a program that makes many gets a fresh cache
        _cache.clear()
    # Keyed by id(client) but checked against the URL object, which a new client (reusing the
    # id) or a changed base_url replaces.
    _cache[id(client)] = (url, endpoint)
    return endpoint
