"""ChatAnthropic (langchain-anthropic) with the Anthropic and LangChain instrumentors both on: the
provider's call merges into the LangChain inference span, whichever is instrumented first."""

from __future__ import annotations

from typing import Any

import pytest
from traceglass.instrumentors.anthropic import AnthropicInstrumentor
from traceglass.instrumentors.langchain import LangChainInstrumentor

from tests.instrumentors.langchain._helpers import DURATION, SPAN_TYPE, attrs, inference_spans, tree

pytest.importorskip("langchain_anthropic")

CASSETTE = "langchain/openllmetry__test_anthropic.yaml"
MSG_ID = "msg_017fMG9SRDFTBhcD1ibtN1nK"
JOKE = "Why can't a bicycle stand up by itself? Because it's two-tired!"


def _instrument(instrument: Any, order: str) -> None:
    first, second = (AnthropicInstrumentor, LangChainInstrumentor)
    if order == "langchain_first":
        first, second = second, first
    instrument(first)
    instrument(second)


@pytest.mark.parametrize("order", ["provider_first", "langchain_first"])
def test_chat_anthropic_is_one_inference_span_with_provider_details(replay: Any, otel: Any, instrument: Any,
                                                                     order: str) -> None:
    from langchain_anthropic import ChatAnthropic

    _instrument(instrument, order)
    replay.load_cassette(CASSETTE)
    model = ChatAnthropic(model="claude-2.1", base_url=replay.url(""), api_key="test-key", max_retries=0,
                          max_tokens=1024)

    reply = model.invoke([("system", "You are a helpful assistant"), ("user", "tell me a short joke")])

    assert reply.content == JOKE
    assert tree(otel) == [("chat claude-2.1", [])]
    [chat] = inference_spans(otel)
    a = attrs(chat)
    assert a[SPAN_TYPE] == "CHAT_MODEL"
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "anthropic"
    assert a["gen_ai.request.model"] == "claude-2.1" and a["gen_ai.response.model"] == "claude-2.1"
    assert a["gen_ai.request.max_tokens"] == 1024
    assert a["gen_ai.response.id"] == MSG_ID
    assert a["gen_ai.response.finish_reasons"] == ("stop",)  # end_turn, normalised
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (19, 22)
    assert a["server.address"] == "127.0.0.1" and a["server.port"] == replay.port
    # usage counted once: one duration point, one token point per direction
    [point] = otel.metrics()[DURATION]
    assert point.count == 1
    tokens = otel.metrics()["gen_ai.client.token.usage"]
    assert sorted((p.count, p.sum) for p in tokens) == [(1, 19), (1, 22)]


@pytest.mark.parametrize(("stop_reason", "expected"), [("refusal", "content_filter"),
                                                       ("model_context_window_exceeded", "length")])
def test_stop_reasons_map_as_with_the_anthropic_instrumentor(replay: Any, otel: Any, instrument: Any,
                                                              stop_reason: str, expected: str) -> None:
    from langchain_anthropic import ChatAnthropic

    instrument(LangChainInstrumentor)  # LangChain alone: the finish reason comes from LangChain's message
    replay.add("POST", "/v1/messages", body={
        "id": MSG_ID, "type": "message", "role": "assistant", "model": "claude-2.1",
        "content": [{"type": "text", "text": "No."}], "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 19, "output_tokens": 2}})
    model = ChatAnthropic(model="claude-2.1", base_url=replay.url(""), api_key="test-key", max_retries=0,
                          max_tokens=1024)

    model.invoke("tell me a short joke")

    [chat] = inference_spans(otel)
    assert attrs(chat)["gen_ai.response.finish_reasons"] == (expected,)
