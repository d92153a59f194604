"""Client.generate / AsyncClient.generate (operation text_completion), streamed or not."""

from __future__ import annotations

import base64
import json
from typing import Any

import ollama
from opentelemetry.trace import SpanKind
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import (
    ASYNC,
    INPUT,
    OUTPUT,
    PNG,
    SYSTEM,
    TTFC,
    assert_no_content,
    call,
    cassette,
    chat_span,
    content,
    durations,
    one_point,
    run,
    span_attributes,
    text,
)

JOKE = "Tell me a joke about OpenTelemetry"


@ASYNC
def test_plain_generate(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    recorded = replay.load_cassette(cassette("openllmetry__test_ollama_generation_legacy"))
    body = json.loads(recorded.responses[0].body)
    instrument(OllamaInstrumentor)

    result = run(ollama_client, is_async, call("generate", model="llama3", prompt=JOKE))

    assert type(result) is ollama.GenerateResponse and result.response == body["response"]
    assert result.context == body["context"]
    span = chat_span(otel)
    assert (span.name, span.kind) == ("text_completion llama3", SpanKind.CLIENT)
    assert span_attributes(span) == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.model": "llama3",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 17,
        "gen_ai.usage.output_tokens": 63,
        **durations(body),
        INPUT: span.attributes[INPUT],
        OUTPUT: span.attributes[OUTPUT],
    }
    assert span.attributes["ollama.load_duration"] == 2.037300208
    assert content(span, INPUT) == [{"role": "user", "parts": [text(JOKE)]}]
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text(result.response)], "finish_reason": "stop"}]


@ASYNC
def test_generate_stream(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    recorded = replay.load_cassette(cassette("openllmetry__test_ollama_streaming_generation_legacy"))
    final = json.loads(recorded.responses[0].body.splitlines()[-1])
    instrument(OllamaInstrumentor)

    chunks = run(ollama_client, is_async, call("generate", model="llama3", prompt=JOKE, stream=True))

    assert all(type(c) is ollama.GenerateResponse for c in chunks) and chunks[-1].done
    answer = "".join(c.response for c in chunks)
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert attrs["gen_ai.request.stream"] is True and attrs["gen_ai.response.time_to_first_chunk"] > 0
    # Counts come from the last (done) chunk only.
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (17, 71)
    assert (final["prompt_eval_count"], final["eval_count"]) == (17, 71)
    assert {k: v for k, v in attrs.items() if k.startswith("ollama.")} == durations(final)
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text(answer)], "finish_reason": "stop"}]
    assert one_point(otel, TTFC, {"gen_ai.operation.name": "text_completion"}).count == 1


@ASYNC
def test_system_images_thinking_and_format(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                           ollama_client: Any) -> None:
    answer = {"model": "qwen3-vl:8b", "created_at": "2026-08-07T06:08:07Z", "done": True, "done_reason": "stop",
              "response": '{"color": "transparent"}', "thinking": "A single pixel, fully transparent.",
              "prompt_eval_count": 300, "eval_count": 40}
    replay.add("POST", "/api/generate", body=answer)
    instrument(OllamaInstrumentor)
    encoded = base64.b64encode(PNG).decode()

    # model and prompt positionally; options as a dict, with num_predict=-1 ("no limit").
    result = run(ollama_client, is_async, call("generate", "qwen3-vl:8b", "What color is it?", system="Be terse.",
                                               images=[encoded], think="medium", format="json",
                                               options={"num_predict": -1, "top_k": 20, "stop": "END"}))

    assert result.response == answer["response"]
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert attrs["gen_ai.request.reasoning.level"] == "medium" and attrs["gen_ai.output.type"] == "json"
    assert (attrs["gen_ai.request.top_k"], attrs["gen_ai.request.stop_sequences"]) == (20, ["END"])
    assert "gen_ai.request.max_tokens" not in attrs  # -1 is not a token count
    assert "ollama.load_duration" not in attrs  # absent from the response, so absent here
    assert content(span, SYSTEM) == [text("Be terse.")]
    assert content(span, INPUT) == [{"role": "user", "parts": [
        text("What color is it?"), {"type": "blob", "modality": "image", "mime_type": "image/png", "content": encoded},
    ]}]
    assert content(span, OUTPUT) == [{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "reasoning", "content": "A single pixel, fully transparent."}, text('{"color": "transparent"}')]}]


def test_generated_image_is_a_blob_part(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    image = base64.b64encode(PNG).decode()
    replay.add("POST", "/api/generate", body={"model": "x/flux2-klein", "created_at": "2026-08-07T06:08:07Z",
                                              "image": image, "done": True, "done_reason": "stop"})
    instrument(OllamaInstrumentor)

    result = ollama_client().generate(model="x/flux2-klein", prompt="a red pixel", width=1, height=1, steps=2)

    assert result.image == image
    assert content(chat_span(otel), OUTPUT) == [{"role": "assistant", "finish_reason": "stop",
                                                 "parts": [{"type": "blob", "modality": "image", "content": image}]}]


def test_model_load_without_a_prompt(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    # generate(model) with no prompt loads the model; Ollama answers done_reason "load".
    replay.add("POST", "/api/generate", body={"model": "llama3", "created_at": "2026-08-07T06:08:07Z",
                                              "response": "", "done": True, "done_reason": "load"})
    instrument(OllamaInstrumentor)

    ollama_client().generate("llama3")

    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("load",)
    assert INPUT not in span.attributes
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text("")], "finish_reason": "load"}]


def test_no_content_captured_when_off(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_generation_legacy"))
    instrument(OllamaInstrumentor, capture_content="NO_CONTENT")

    ollama_client().generate(model="llama3", prompt=JOKE, system="You are funny.")

    attrs = chat_span(otel).attributes
    assert_no_content(attrs)
    assert attrs["gen_ai.usage.output_tokens"] == 63
