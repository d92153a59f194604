"""LCEL chains over a real ChatOpenAI (replay server): the run tree, the one inference span, tools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import ToolException, tool
from opentelemetry.trace import StatusCode
from traceglass.instrumentors.langchain import LangChainInstrumentor
from traceglass.instrumentors.openai import OpenAIInstrumentor
from traceglass.semconv import error_type

from tests.instrumentors.langchain._helpers import (
    CHAT_CALL,
    CHAT_ID,
    DURATION,
    SPAN_TYPE,
    TOOL_CALLS,
    attrs,
    chat_model,
    inference_spans,
    tree,
)

CHAT = "chat gpt-3.5-turbo"
CHAIN_TREE = ("RunnableSequence", [("ChatPromptTemplate", []), (CHAT, []), ("StrOutputParser", [])])
ORDERS = ["langchain_only", "provider_first", "langchain_first"]


def _instrument(instrument: Any, order: str, **kw: Any) -> None:
    if order == "provider_first":
        instrument(OpenAIInstrumentor, **kw)
    instrument(LangChainInstrumentor, **kw)
    if order == "langchain_first":
        instrument(OpenAIInstrumentor, **kw)


def _chain(replay: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([("system", "Answer briefly."), ("user", "{question}")])
    return prompt | chat_model(replay, temperature=0.2, seed=42) | StrOutputParser()


@pytest.mark.parametrize("order", ORDERS)
def test_prompt_model_parser_is_one_tree_with_one_inference_span(replay: Any, otel: Any, instrument: Any,
                                                                  order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)

    assert _chain(replay).invoke({"question": "Capital of France?"}) == "The capital of France is Paris."

    assert tree(otel) == [CHAIN_TREE]
    [chat] = inference_spans(otel)
    a = attrs(chat)
    assert a[SPAN_TYPE] == "CHAT_MODEL"
    assert a["gen_ai.operation.name"] == "chat" and a["gen_ai.provider.name"] == "openai"
    assert a["gen_ai.request.model"] == "gpt-3.5-turbo" and a["gen_ai.response.model"] == "gpt-3.5-turbo-0125"
    assert a["gen_ai.request.temperature"] == 0.2 and a["gen_ai.request.seed"] == 42
    assert a["gen_ai.response.id"] == CHAT_ID
    assert a["gen_ai.response.finish_reasons"] == ("stop",)
    assert (a["gen_ai.usage.input_tokens"], a["gen_ai.usage.output_tokens"]) == (24, 7)
    assert json.loads(a["gen_ai.input.messages"]) == [
        {"role": "system", "parts": [{"type": "text", "content": "Answer briefly."}]},
        {"role": "user", "parts": [{"type": "text", "content": "Capital of France?"}]},
    ]
    assert json.loads(a["gen_ai.output.messages"])[0]["parts"] == [
        {"type": "text", "content": "The capital of France is Paris."}]
    if order != "langchain_only":  # the provider's details, merged into the one span
        assert a["server.address"] == "127.0.0.1" and a["server.port"] == replay.port
        assert a["openai.api.type"] == "chat_completions"
    [point] = otel.metrics()[DURATION]
    assert point.count == 1
    tokens = otel.metrics()["gen_ai.client.token.usage"]
    assert sorted(p.sum for p in tokens) == [7, 24]

    by_name = {s.name: attrs(s) for s in otel.spans()}
    assert by_name["RunnableSequence"][SPAN_TYPE] == "CHAIN"
    assert by_name["StrOutputParser"][SPAN_TYPE] == "PARSER"
    assert json.loads(by_name["RunnableSequence"]["traceglass.span.inputs"]) == {"question": "Capital of France?"}
    assert json.loads(by_name["StrOutputParser"]["traceglass.span.outputs"]) == "The capital of France is Paris."


@pytest.mark.parametrize("order", ORDERS)
def test_output_type_and_reasoning_level_bound_to_the_model(replay: Any, otel: Any, instrument: Any,
                                                            order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)
    model = chat_model(replay, reasoning_effort="low", model_kwargs={"response_format": {"type": "json_object"}})

    model.invoke("Capital of France?")

    [chat] = inference_spans(otel)
    a = attrs(chat)
    # gen_ai.output.type is conditionally required when the request sets an output format.
    assert a["gen_ai.output.type"] == "json"
    assert a["gen_ai.request.reasoning.level"] == "low"


def test_no_content_without_capture(replay: Any, otel: Any, instrument: Any) -> None:
    _instrument(instrument, "provider_first", capture_content="NO_CONTENT")
    replay.load_cassette(CHAT_CALL)
    _chain(replay).invoke({"question": "Capital of France?"})
    assert tree(otel) == [CHAIN_TREE]
    for span in otel.spans():
        assert not [k for k in attrs(span) if k.startswith(("traceglass.span.in", "traceglass.span.out",
                                                             "gen_ai.input", "gen_ai.output"))]


def test_batch_gives_one_tree_per_input(replay: Any, otel: Any, instrument: Any) -> None:
    _instrument(instrument, "langchain_first")
    replay.load_cassette(CHAT_CALL)  # the last interaction repeats
    _chain(replay).batch([{"question": "a"}, {"question": "b"}])
    assert tree(otel) == [CHAIN_TREE, CHAIN_TREE]
    assert len(inference_spans(otel)) == 2
    assert otel.metrics()[DURATION][0].count == 2


@pytest.mark.parametrize("order", ["provider_first", "langchain_first"])
@pytest.mark.parametrize("is_async", [False, True], ids=["generate", "agenerate"])
# langchain-openai warns about the recorded response's usage details (null), not about traceglass
@pytest.mark.filterwarnings("ignore:Unexpected type for token usage:UserWarning")
def test_generate_over_several_prompts_gives_one_inference_span_per_prompt(
    replay: Any, otel: Any, instrument: Any, order: str, is_async: bool
) -> None:
    import asyncio

    import httpx
    from langchain_core.messages import HumanMessage

    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)  # the last interaction repeats
    prompts = [[HumanMessage("first")], [HumanMessage("second")]]

    async def agenerate() -> Any:
        # A client of this event loop, closed with it (langchain-openai caches its default one).
        async with httpx.AsyncClient() as client:
            return await chat_model(replay, http_async_client=client).agenerate(prompts)

    result = asyncio.run(agenerate()) if is_async else chat_model(replay).generate(prompts)

    assert len(result.generations) == 2
    assert tree(otel) == [(CHAT, []), (CHAT, [])]
    spans = inference_spans(otel)
    # each LangChain run carries its own prompt and the provider's details of its own call
    assert sorted(json.loads(attrs(s)["gen_ai.input.messages"])[0]["parts"][0]["content"] for s in spans) == [
        "first", "second"]
    assert [attrs(s)["gen_ai.response.id"] for s in spans] == [CHAT_ID, CHAT_ID]
    assert all(attrs(s)["server.address"] == "127.0.0.1" for s in spans)
    assert otel.metrics()[DURATION][0].count == 2


@pytest.mark.parametrize("order", ["provider_first", "langchain_first"])
def test_responses_api_model_call_is_one_inference_span(replay: Any, otel: Any, instrument: Any, order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette("openai/openllmetry__test_responses_with_input_history.yaml")
    model = chat_model(replay, model="gpt-4.1-nano", use_responses_api=True)

    answer = model.invoke("Come up with an adjective in English. Respond with just one word.")

    assert answer.text
    [span] = otel.spans()
    a = attrs(span)
    assert span.name == "chat gpt-4.1-nano"
    assert a["gen_ai.response.id"].startswith("resp_685ff928")
    assert a["gen_ai.response.model"] == "gpt-4.1-nano-2025-04-14"
    assert a["gen_ai.usage.input_tokens"] > 0 and a["gen_ai.usage.output_tokens"] > 0
    assert json.loads(a["gen_ai.output.messages"])[0]["parts"][0]["content"] == answer.text
    assert otel.metrics()[DURATION][0].count == 1


@tool
def food_analysis(name: str, healthy: bool, calories: int, taste_profile: list[str]) -> str:
    """Analyse a food."""
    return f"{name}: {calories} kcal"


@pytest.mark.parametrize("order", ["langchain_only", "provider_first"])
def test_tool_called_by_the_chain_is_an_execute_tool_span(replay: Any, otel: Any, instrument: Any,
                                                          order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(TOOL_CALLS)
    chain = chat_model(replay).bind_tools([food_analysis]) | (lambda msg: food_analysis.invoke(msg.tool_calls[0]))

    result = chain.invoke("Analyse an avocado")

    assert result.content == "avocado: 240 kcal"
    assert tree(otel) == [("RunnableSequence", [(CHAT, []), ("RunnableLambda", [("food_analysis", [])])])]
    [chat] = inference_spans(otel)
    assert attrs(chat)["gen_ai.response.finish_reasons"] == ("tool_call",)
    definitions = json.loads(attrs(chat)["gen_ai.tool.definitions"])
    assert definitions == [{"type": "function", "name": "food_analysis"}]
    [span] = [s for s in otel.spans() if s.name == "food_analysis"]
    a = attrs(span)
    assert a["gen_ai.operation.name"] == "execute_tool" and a[SPAN_TYPE] == "TOOL"
    assert a["gen_ai.tool.name"] == "food_analysis" and a["gen_ai.tool.call.id"] == "call_eZXHC28rALvooYh4VGZgVQ9t"
    assert json.loads(a["gen_ai.tool.call.arguments"])["calories"] == 240
    assert json.loads(a["gen_ai.tool.call.result"]) == "avocado: 240 kcal"


@tool
def nutrition(name: str) -> dict[str, Any]:
    """Nutrition facts of a food."""
    return {"name": name, "calories": 240}


def test_tool_result_serialized_by_langchain_is_recorded_as_an_object(replay: Any, otel: Any,
                                                                      instrument: Any) -> None:
    _instrument(instrument, "langchain_only")

    # Called with a tool call, as an agent calls it: LangChain returns a ToolMessage whose content
    # is the result serialized to JSON text.
    message = nutrition.invoke({"name": "nutrition", "args": {"name": "avocado"}, "id": "call_1",
                                "type": "tool_call"})

    assert json.loads(message.content) == {"name": "avocado", "calories": 240}
    [span] = otel.spans()
    # An object, as gen_ai.tool.call.result expects; not a JSON string inside the JSON.
    assert json.loads(attrs(span)["gen_ai.tool.call.result"]) == {"name": "avocado", "calories": 240}


@tool
def flaky_lookup(name: str) -> str:
    """Look a food up in a database that is down."""
    raise ToolException(f"the food database is unavailable for {name}")


flaky_lookup.handle_tool_error = True


def test_a_tool_error_langchain_handled_is_still_a_failed_tool_call(otel: Any, instrument: Any) -> None:
    _instrument(instrument, "langchain_only")

    # handle_tool_error: the exception becomes the tool's result, which the model reads.
    message = flaky_lookup.invoke({"name": "flaky_lookup", "args": {"name": "avocado"}, "id": "call_9",
                                   "type": "tool_call"})

    assert (message.status, message.content) == ("error", "the food database is unavailable for avocado")
    [span] = otel.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "the food database is unavailable for avocado"
    a = attrs(span)
    assert (a["error.type"], a["gen_ai.tool.call.id"]) == ("tool_error", "call_9")
    assert json.loads(a["gen_ai.tool.call.result"]) == "the food database is unavailable for avocado"


def test_failed_model_call_marks_the_span_and_its_parents(replay: Any, otel: Any, instrument: Any) -> None:
    _instrument(instrument, "provider_first")
    replay.add("POST", "/v1/chat/completions", 500, {"error": {"message": "boom", "type": "server_error"}})
    with pytest.raises(Exception, match="boom") as raised:
        _chain(replay).invoke({"question": "x"})
    expected = error_type(raised.value)  # what LangChain raised (langchain-openai wraps openai's error)
    assert tree(otel) == [("RunnableSequence", [("ChatPromptTemplate", []), (CHAT, [])])]
    for span in otel.spans():
        if span.name != "ChatPromptTemplate":
            assert span.status.status_code is StatusCode.ERROR
            assert attrs(span)["error.type"] == expected
    [point] = otel.metrics()[DURATION]
    assert point.attributes["error.type"] == expected
