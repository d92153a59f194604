"""embed (/api/embed, batch) and the legacy embeddings (/api/embeddings): operation embeddings."""

from __future__ import annotations

from typing import Any

import ollama
import pytest
from opentelemetry.trace import SpanKind
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import (
    ASYNC,
    DURATION,
    TOKENS,
    assert_no_content,
    call,
    cassette,
    durations,
    embed_body,
    one_point,
    points,
    run,
    span_attributes,
)

QUESTIONS = ["Why is the sky blue?", "Why is the grass green?"]


@ASYNC
def test_embed_batch(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    body = embed_body()
    replay.add("POST", "/api/embed", body=body)
    instrument(OllamaInstrumentor, capture_content="SPAN_AND_EVENT")

    result = run(ollama_client, is_async, call("embed", model="all-minilm", input=QUESTIONS))

    assert type(result) is ollama.EmbedResponse and [len(v) for v in result.embeddings] == [384, 384]
    span = otel.span()
    assert (span.name, span.kind) == ("embeddings all-minilm", SpanKind.CLIENT)
    # Embeddings carry no content, whatever the capture mode, and emit no details event.
    assert span_attributes(span) == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "all-minilm",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.model": "all-minilm",
        "gen_ai.embeddings.dimension.count": 384,
        "gen_ai.usage.input_tokens": 16,
        **durations(body),
    }
    assert (span.attributes["ollama.total_duration"], span.attributes["ollama.load_duration"]) == (0.014143917,
                                                                                                    0.0010195)
    assert otel.logs() == []
    metric_attrs = {"gen_ai.operation.name": "embeddings", "gen_ai.provider.name": "ollama",
                    "gen_ai.request.model": "all-minilm", "gen_ai.response.model": "all-minilm",
                    "server.address": "127.0.0.1", "server.port": replay.port}
    assert dict(one_point(otel, DURATION).attributes) == metric_attrs
    assert [(dict(p.attributes)["gen_ai.token.type"], p.sum) for p in points(otel, TOKENS)] == [("input", 16)]


@pytest.mark.parametrize("vectors", [True, False], ids=["vectors", "no-vectors"])
def test_embed_positional_arguments_and_dimensions(vectors: bool, replay: Any, otel: Any, instrument: Any,
                                                    ollama_client: Any) -> None:
    body = embed_body(count=1, dimensions=256) if vectors else embed_body(count=0)
    replay.add("POST", "/api/embed", body=body)
    instrument(OllamaInstrumentor)

    # embed(model, input, truncate, options, keep_alive, dimensions): all positional.
    ollama_client().embed("all-minilm", "hello", True, None, None, 256)

    assert replay.last_request.json["dimensions"] == 256
    attrs = otel.span().attributes
    # The vectors say how long they are; without any, what was asked for is what is known.
    assert attrs["gen_ai.embeddings.dimension.count"] == 256
    assert attrs["gen_ai.request.model"] == "all-minilm"


@ASYNC
def test_legacy_embeddings(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_embeddings_legacy"))
    instrument(OllamaInstrumentor)

    # As recorded: the model and prompt were swapped by the source project's test.
    result = run(ollama_client, is_async, call("embeddings", model="llama3", prompt="all-minilm"))

    assert type(result) is ollama.EmbeddingsResponse and len(result.embedding) == 4096
    span = otel.span()
    assert span.name == "embeddings llama3"
    # The legacy endpoint answers with the vector only: no model, no counts, no timings.
    assert span_attributes(span) == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.embeddings.dimension.count": 4096,
    }
    assert_no_content(span.attributes)
    assert points(otel, TOKENS) == []
