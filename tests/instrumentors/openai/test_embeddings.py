"""Embeddings through the real openai client: span, dimension count, encoding formats, usage, errors."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.openai._helpers import IDS, IS_ASYNC, run, sdk_call, span_attributes

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
MODEL = "text-embedding-3-small"


def _recorded_vectors(cassette: Any) -> list[Any]:
    return [item["embedding"] for item in json.loads(cassette.responses[0].body)["data"]]


@ASYNC
@pytest.mark.parametrize(("name", "kwargs", "inputs", "dimensions", "tokens"), [
    ("with_content", {}, "This is a test for embeddings", 1536, 6),
    ("with_batch_input", {}, [f"This is the {n} test string for embeddings" for n in ("first", "second", "third")],
     1536, 24),
    ("with_dimensions", {"dimensions": 512}, "This is a test for embeddings with dimensions", 512, 8),
], ids=["single", "batch", "dimensions"])
def test_embeddings(is_async: bool, name: str, kwargs: dict[str, Any], inputs: Any, dimensions: int, tokens: int,
                    replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    cassette = replay.load_cassette(f"openai/otel-contrib__test_embeddings_{name}.yaml")
    instrument()

    result = run(openai_client, is_async, sdk_call("embeddings.create", model=MODEL, input=inputs, **kwargs))

    # The application gets the recorded vectors, untouched.
    assert [item.embedding for item in result.data] == _recorded_vectors(cassette)
    assert len(result.data[0].embedding) == dimensions
    span = otel.span()
    assert (span.name, span.kind, span.status.status_code) == (f"embeddings {MODEL}", SpanKind.CLIENT, StatusCode.UNSET)
    assert span_attributes(span) == {
        "gen_ai.operation.name": "embeddings",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": MODEL,
        "gen_ai.response.model": MODEL,
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.embeddings.dimension.count": dimensions,
        "gen_ai.usage.input_tokens": tokens,
    }
    # The SDK asks for base64 on the wire by itself; the application asked for no format, so none is reported.
    assert replay.last_request.json["encoding_format"] == "base64"
    points = otel.metrics()["gen_ai.client.token.usage"]
    assert [(p.attributes["gen_ai.token.type"], p.sum) for p in points] == [("input", tokens)]
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["gen_ai.operation.name"] == "embeddings"


@ASYNC
def test_encoding_format_base64(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    cassette = replay.load_cassette("openai/otel-contrib__test_embeddings_with_encoding_format.yaml")
    instrument()

    result = run(openai_client, is_async, sdk_call(
        "embeddings.create", model=MODEL, input="This is a test for embeddings with encoding format",
        encoding_format="base64"))

    (vector,) = _recorded_vectors(cassette)
    assert isinstance(vector, str) and result.data[0].embedding == vector
    attrs = span_attributes(otel.span())
    assert attrs["gen_ai.request.encoding_formats"] == ["base64"]
    # 1536 float32 values, counted from the base64 text.
    assert attrs["gen_ai.embeddings.dimension.count"] == 1536
    assert attrs["gen_ai.usage.input_tokens"] == 9 and "gen_ai.usage.output_tokens" not in attrs


def test_encoding_format_float(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/otel-contrib__test_embeddings_with_content.yaml")
    instrument()

    result = openai_client().embeddings.create(model=MODEL, input="x", encoding_format="float")

    attrs = span_attributes(otel.span())
    assert attrs["gen_ai.request.encoding_formats"] == ["float"]
    assert attrs["gen_ai.embeddings.dimension.count"] == len(result.data[0].embedding) == 1536


def test_no_content_and_no_event(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/otel-contrib__test_embeddings_with_content.yaml")
    instrument(capture_content="SPAN_AND_EVENT")

    openai_client().embeddings.create(model=MODEL, input="secret text")

    # Embeddings carry no content attributes, and the details event is for inference only.
    assert not [k for k in span_attributes(otel.span()) if k.startswith(("gen_ai.input", "gen_ai.output"))]
    assert "secret text" not in json.dumps(span_attributes(otel.span()))
    assert otel.logs() == []


@ASYNC
def test_model_not_found(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/otel-contrib__test_embeddings_model_not_found.yaml")
    instrument()

    with pytest.raises(openai.NotFoundError) as caught:
        run(openai_client, is_async, sdk_call("embeddings.create", model="non-existent-embedding-model",
                                              input="This is a test for embeddings with bad model"))

    assert caught.value.status_code == 404 and caught.value.code == "model_not_found"
    span = otel.span()
    assert span.name == "embeddings non-existent-embedding-model"
    assert span.status.status_code == StatusCode.ERROR
    attrs = span_attributes(span)
    assert attrs["error.type"] == "openai.NotFoundError"
    assert not {"gen_ai.usage.input_tokens", "gen_ai.embeddings.dimension.count", "gen_ai.response.model"} & set(attrs)
    assert "gen_ai.client.token.usage" not in otel.metrics()
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == "openai.NotFoundError"


@ASYNC
def test_empty_and_odd_results(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/embeddings", body={"object": "list", "data": [], "model": MODEL, "usage": None})
    replay.add("POST", "/v1/embeddings", body={"object": "list", "data": [{"object": "embedding", "index": 0,
                                                                           "embedding": []}]})
    instrument()

    empty = run(openai_client, is_async, sdk_call("embeddings.create", model=MODEL, input=[], encoding_format="float"))
    no_model = run(openai_client, is_async, sdk_call("embeddings.create", model=MODEL, input="x",
                                                     encoding_format="float"))

    assert empty.data == [] and no_model.data[0].embedding == []
    first, second = (span_attributes(s) for s in otel.spans())
    assert "gen_ai.embeddings.dimension.count" not in first and "gen_ai.usage.input_tokens" not in first
    assert second["gen_ai.embeddings.dimension.count"] == 0 and "gen_ai.response.model" not in second


@ASYNC
def test_sdk_post_parser_error(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    # Without an explicit encoding_format the SDK decodes base64 itself, and rejects an empty result.
    replay.add("POST", "/v1/embeddings", body={"object": "list", "data": [], "model": MODEL})
    instrument()

    with pytest.raises(ValueError, match="No embedding data received"):
        run(openai_client, is_async, sdk_call("embeddings.create", model=MODEL, input="x"))

    span = otel.span()
    assert span.status.status_code == StatusCode.ERROR and span.attributes["error.type"] == "ValueError"
