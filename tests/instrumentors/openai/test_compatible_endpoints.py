"""OpenAI-compatible endpoints: gen_ai.provider.name from the client's base URL, and its overrides.

The SDK believes it talks to the provider's real host; a transport forwards each request over
real HTTP to the local replay server, so the request path and the SDK's behaviour stay real.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from tests.replay import ReplayServer

from ._helpers import SAY_TEST, cassette, chat_span


class _ToReplay(httpx2.HTTPTransport):
    """Sends every request to the replay server, as /v1/<endpoint> (providers put the OpenAI API
    under different prefixes, the recordings are under /v1)."""

    def __init__(self, replay: ReplayServer) -> None:
        super().__init__()
        self._port = replay.port

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        endpoint = request.url.path.rsplit("/chat/", 1)[-1]
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port,
                                            path=f"/v1/chat/{endpoint}")
        return super().handle_request(request)


def _client(replay: ReplayServer, base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0,
                         http_client=httpx2.Client(transport=_ToReplay(replay)))


@pytest.mark.parametrize(("base_url", "provider", "address", "port"), [
    ("https://api.openai.com/v1", "openai", "api.openai.com", 443),
    ("https://api.groq.com/openai/v1", "groq", "api.groq.com", 443),
    ("https://api.deepseek.com/v1", "deepseek", "api.deepseek.com", 443),
    ("https://api.mistral.ai/v1", "mistral_ai", "api.mistral.ai", 443),
    ("https://api.x.ai/v1", "x_ai", "api.x.ai", 443),
    ("https://api.perplexity.ai", "perplexity", "api.perplexity.ai", 443),
    ("https://api.together.xyz/v1", "together_ai", "api.together.xyz", 443),
    ("https://api.fireworks.ai/inference/v1", "fireworks", "api.fireworks.ai", 443),
    ("https://openrouter.ai/api/v1", "openrouter", "openrouter.ai", 443),
    ("https://generativelanguage.googleapis.com/v1beta/openai", "gcp.gemini",
     "generativelanguage.googleapis.com", 443),
    ("https://my-res.openai.azure.com/openai/v1", "azure.ai.openai", "my-res.openai.azure.com", 443),
    ("https://api.anthropic.com/v1/", "anthropic", "api.anthropic.com", 443),
    ("https://api.cohere.ai/compatibility/v1", "cohere", "api.cohere.ai", 443),
    ("http://localhost:11434/v1", "ollama", "localhost", 11434),
    ("http://gpu-box:8000/v1", "vllm", "gpu-box", 8000),
    ("https://llm.internal.example/v1", "openai", "llm.internal.example", 443),
])
def test_provider_from_base_url(replay: Any, otel: Any, instrument: Any, base_url: str, provider: str,
                                address: str, port: int) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    instrument()
    with _client(replay, base_url) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
    attributes = chat_span(otel).attributes
    assert (attributes["gen_ai.provider.name"], attributes["server.address"], attributes["server.port"]) == (
        provider, address, port)
    (point,) = [p for p in otel.metrics()["gen_ai.client.operation.duration"]]
    assert point.attributes["gen_ai.provider.name"] == provider


def test_ollama_openai_compatible_stream_from_recording(replay: Any, otel: Any, instrument: Any) -> None:
    """The recorded traffic of the OpenAI SDK against Ollama's /v1 endpoint."""
    replay.add_sse("/v1/chat/completions", [
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "llama3.2",
         "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}, "finish_reason": None}]},
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "llama3.2",
         "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}]},
    ])
    instrument()
    with _client(replay, "http://localhost:11434/v1") as client:
        chunks = list(client.chat.completions.create(model="llama3.2", messages=SAY_TEST, stream=True))
    assert len(chunks) == 2
    attributes = chat_span(otel).attributes
    assert attributes["gen_ai.provider.name"] == "ollama"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)


def test_argument_overrides_the_base_url(replay: Any, otel: Any, instrument: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    instrument(provider_name="my_gateway")
    with _client(replay, "https://api.groq.com/openai/v1") as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
    assert chat_span(otel).attributes["gen_ai.provider.name"] == "my_gateway"


def test_environment_variable_overrides_the_base_url(replay: Any, otel: Any, instrument: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    monkeypatch.setenv("TRACEGLASS_OPENAI_PROVIDER_NAME", "deepseek")
    instrument()
    with _client(replay, "https://proxy.example/v1") as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
    assert chat_span(otel).attributes["gen_ai.provider.name"] == "deepseek"


def test_argument_wins_over_the_environment(replay: Any, otel: Any, instrument: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    monkeypatch.setenv("TRACEGLASS_OPENAI_PROVIDER_NAME", "deepseek")
    instrument(provider_name="groq")
    with _client(replay, "https://proxy.example/v1") as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
    assert chat_span(otel).attributes["gen_ai.provider.name"] == "groq"
