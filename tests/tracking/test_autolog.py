"""autolog() options and providers, through the real SDK clients over HTTP."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from traceglass.collector.store import Trace

import traceglass
from tests.pricing import PRICED
from tests.replay import ReplayServer
from tests.test_auto_instrumentation import COMPLETION
from tests.tracking._helpers import (
    ANTHROPIC_MESSAGE,
    OLLAMA_CHAT,
    chat,
    published_price,
    read_store,
    span_names,
)

INPUT = "gen_ai.input.messages"


def _stored(url: str) -> list[Trace]:
    traceglass._pipeline.flush()
    return read_store(url)


# -- options -----------------------------------------------------------------------------------------


def test_disable_stops_tracing_and_restores_the_sdk(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    from openai.resources.chat.completions import Completions
    from wrapt import FunctionWrapper

    traceglass.openai.autolog()
    chat(openai_client, replay, "traced")
    traceglass.openai.autolog(disable=True)
    chat(openai_client, replay, "not traced")

    assert not isinstance(vars(Completions)["create"], FunctionWrapper)
    [trace] = _stored(default_store_url)
    assert "traced" in (trace.info.request_preview or "")


def test_log_traces_false_records_metrics_only(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    metrics.set_meter_provider(meter_provider)
    try:
        traceglass.openai.autolog(log_traces=False)
        chat(openai_client, replay)

        assert _stored(default_store_url) == []
        data = reader.get_metrics_data()
        names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
        assert "gen_ai.client.operation.duration" in names
    finally:
        meter_provider.shutdown()


@pytest.mark.parametrize(
    ("argument", "variable", "captured"),
    [
        (None, None, True),  # autolog's own default: content on
        (None, "NO_CONTENT", False),  # the variable beats the default
        ("SPAN_ONLY", "NO_CONTENT", True),  # the argument beats the variable
        (False, "SPAN_ONLY", False),
        (True, None, True),
    ],
)
def test_capture_content_argument_then_variable_then_on(
    argument: Any, variable: str | None, captured: bool, monkeypatch: pytest.MonkeyPatch,
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    if variable is not None:
        monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", variable)

    @traceglass.trace(name="ask")
    def ask(question: str) -> str:
        return chat(openai_client, replay, question).choices[0].message.content

    traceglass.openai.autolog(capture_content=argument)
    ask("Say hi")

    [trace] = _stored(default_store_url)
    by_name = {span.name: span for span in trace.spans}
    assert (INPUT in by_name["chat gpt-4o-mini"].attributes) is captured
    # The manual API follows autolog's choice, so a trace is all-or-nothing.
    assert ("traceglass.span.inputs" in by_name["ask"].attributes) is captured
    if captured:
        assert json.loads(by_name["ask"].attributes["traceglass.span.inputs"]) == {"question": "Say hi"}


def test_autolog_skips_missing_sdks_quietly(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "ollama", None)  # as if not installed
    with caplog.at_level("WARNING", logger="traceglass"):
        traceglass.autolog()
    assert caplog.text == ""
    from traceglass.instrumentors.ollama import OllamaInstrumentor
    from traceglass.instrumentors.openai import OpenAIInstrumentor

    assert OpenAIInstrumentor().is_instrumented_by_opentelemetry
    assert not OllamaInstrumentor().is_instrumented_by_opentelemetry

    with caplog.at_level("WARNING", logger="traceglass"):
        traceglass.ollama.autolog()  # asked for by name: say why nothing happens
    assert "pip install ollama" in caplog.text


def test_a_bad_variable_is_reported_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, default_store_url: str,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    monkeypatch.setenv("TRACEGLASS_MAX_CONTENT_LENGTH", "lots")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT", "perhaps")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "everything")

    with caplog.at_level("WARNING", logger="traceglass"):
        traceglass.autolog()  # every installed SDK's instrumentor reads the variables
        traceglass.openai.autolog()
        chat(openai_client, replay)

    assert [record.getMessage() for record in caplog.records] == [
        "traceglass: OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT has value 'everything'; expected one of "
        "NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT. Capturing no content.",
        "traceglass: OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT has value 'perhaps'; not a valid bool. Using False.",
        "traceglass: TRACEGLASS_MAX_CONTENT_LENGTH has value 'lots'; not an integer. Using 65536.",
    ]
    [trace] = _stored(default_store_url)
    assert INPUT not in trace.spans[0].attributes  # the bad value means no content, as it says


# -- every provider ---------------------------------------------------------------------------------


def test_anthropic(default_store_url: str, anthropic_client: Callable[..., Any], replay: ReplayServer) -> None:
    replay.add("POST", "/v1/messages", body=ANTHROPIC_MESSAGE)
    traceglass.set_experiment("claude")
    traceglass.anthropic.autolog()

    anthropic_client().messages.create(
        model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": "Hello"}]
    )

    [trace] = _stored(default_store_url)
    assert trace.info.experiment_name == "claude"
    assert trace.info.name == "chat claude-haiku-4-5"
    assert (trace.info.input_tokens, trace.info.output_tokens) == (11, 4)
    assert "Hi from Claude!" in (trace.info.response_preview or "")
    assert span_names([trace]) == ["chat claude-haiku-4-5"]  # the SDK's own span is replaced
    # Priced by the model that answered, at the time of the call.
    if PRICED:
        expected = published_price("anthropic", "claude-haiku-4-5-20250929", 11, 4, trace.spans[0].start_ns)
        assert trace.info.cost_usd == trace.spans[0].cost_usd == pytest.approx(expected) != 0


def test_ollama(default_store_url: str, ollama_client: Callable[..., Any], replay: ReplayServer) -> None:
    replay.add("POST", "/api/chat", body=OLLAMA_CHAT)
    traceglass.ollama.autolog()

    ollama_client().chat(model="llama3.2", messages=[{"role": "user", "content": "Hello"}])

    [trace] = _stored(default_store_url)
    assert trace.info.name == "chat llama3.2"
    assert trace.info.experiment_name == "Default"
    assert trace.info.total_tokens == 12
    assert "Hi from Ollama!" in (trace.info.response_preview or "")
    assert trace.info.cost_usd is None  # a local model: no price, rather than a guess


def test_langchain_with_every_provider_on(default_store_url: str, replay: ReplayServer) -> None:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    replay.add("POST", "/v1/chat/completions", body=COMPLETION)
    traceglass.set_experiment("chains")
    traceglass.autolog()
    model = ChatOpenAI(model="gpt-4o-mini", base_url=replay.url("/v1"), api_key="k", max_retries=0)
    chain = ChatPromptTemplate.from_messages([("user", "Say {what}")]) | model | StrOutputParser()

    assert chain.invoke({"what": "hi"}) == "Hi there!"

    [trace] = _stored(default_store_url)
    assert trace.info.name == "RunnableSequence"
    assert trace.info.experiment_name == "chains"
    names = sorted(span_names([trace]))
    # One inference span for the model call: LangChain's, with the OpenAI call merged in.
    assert names == sorted(["RunnableSequence", "ChatPromptTemplate", "chat gpt-4o-mini", "StrOutputParser"])
    assert trace.info.total_tokens == 12
    # The one model call is priced once, not once for LangChain's span and once for OpenAI's.
    if PRICED:
        [model_call] = [span for span in trace.spans if span.cost_usd is not None]
        expected = published_price("openai", "gpt-4o-mini-2024-07-18", 9, 3, model_call.start_ns)
        assert trace.info.cost_usd == pytest.approx(expected) != 0
