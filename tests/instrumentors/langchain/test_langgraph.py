"""LangGraph StateGraph (with a subgraph) and async streaming over a real ChatOpenAI (replay server)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any, TypedDict

import httpx
import pytest
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from traceglass.instrumentors.langchain import LangChainInstrumentor
from traceglass.instrumentors.openai import OpenAIInstrumentor

from tests.instrumentors.langchain._helpers import (
    CHAT_CALL,
    CHAT_ID,
    DURATION,
    SPAN_TYPE,
    STREAM,
    STREAM_ID,
    attrs,
    chat_model,
    inference_spans,
    tree,
)

CHAT = "chat gpt-3.5-turbo"


class State(TypedDict):
    question: str
    answer: str


def _graph(replay: Any) -> Any:
    model = chat_model(replay)

    def prepare(state: State) -> dict[str, Any]:
        return {"question": state["question"].strip()}

    def call_model(state: State) -> dict[str, Any]:
        return {"answer": model.invoke(state["question"]).content}

    def polish(state: State) -> dict[str, Any]:
        return {"answer": state["answer"] + "!"}

    sub = StateGraph(State)
    sub.add_node("polish", polish)
    sub.add_edge(START, "polish")
    sub.add_edge("polish", END)

    graph = StateGraph(State)
    graph.add_node("prepare", prepare)
    graph.add_node("call_model", call_model)
    graph.add_node("finish", sub.compile(name="Finisher"))
    graph.add_edge(START, "prepare")
    graph.add_edge("prepare", "call_model")
    graph.add_edge("call_model", "finish")
    graph.add_edge("finish", END)
    return graph.compile(name="QA")


@pytest.mark.parametrize("order", ["langchain_only", "provider_first", "langchain_first"])
def test_graph_nodes_and_model_nest_under_the_graph(replay: Any, otel: Any, instrument: Any, order: str) -> None:
    if order == "provider_first":
        instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    if order == "langchain_first":
        instrument(OpenAIInstrumentor)
    replay.load_cassette(CHAT_CALL)

    result = _graph(replay).invoke({"question": " Capital of France? "})

    assert result["answer"] == "The capital of France is Paris.!"
    assert tree(otel) == [("QA", [
        ("prepare", []),
        ("call_model", [(CHAT, [])]),
        ("finish", [("Finisher", [("polish", [])])]),
    ])]
    by_name = {s.name: attrs(s) for s in otel.spans()}
    root = by_name["QA"]
    assert root[SPAN_TYPE] == "WORKFLOW" and root["gen_ai.operation.name"] == "invoke_workflow"
    assert root["gen_ai.workflow.name"] == "QA"
    assert by_name["Finisher"][SPAN_TYPE] == "WORKFLOW"
    assert by_name["prepare"][SPAN_TYPE] == "CHAIN"
    [chat] = inference_spans(otel)
    assert attrs(chat)["gen_ai.response.id"] == CHAT_ID
    assert otel.metrics()[DURATION][0].count == 1


@pytest.mark.parametrize("order", ["langchain_only", "provider_first"])
def test_thread_id_is_the_conversation_id(replay: Any, otel: Any, instrument: Any, order: str) -> None:
    if order == "provider_first":
        instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    replay.load_cassette(CHAT_CALL)

    _graph(replay).invoke({"question": "Capital of France?"}, config={"configurable": {"thread_id": "thread-42"}})

    # LangGraph's thread is the conversation: conditionally required on the inference and
    # workflow spans when the library has one.
    by_name = {s.name: attrs(s) for s in otel.spans()}
    [chat] = inference_spans(otel)
    assert attrs(chat)["gen_ai.conversation.id"] == "thread-42"
    assert by_name["QA"]["gen_ai.conversation.id"] == "thread-42"
    assert by_name["Finisher"]["gen_ai.conversation.id"] == "thread-42"


@tool
def get_weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


def _completion(message: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    return {"id": f"chatcmpl-{finish_reason}", "object": "chat.completion", "created": 1751120168,
            "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "message": message, "finish_reason":
                                                            finish_reason}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}}


@pytest.mark.parametrize("order", ["langchain_only", "provider_first", "langchain_first"])
@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
def test_tool_calling_agent_loop_is_an_agent_span(replay: Any, otel: Any, instrument: Any, order: str) -> None:
    from langgraph.prebuilt import create_react_agent

    if order == "provider_first":
        instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    if order == "langchain_first":
        instrument(OpenAIInstrumentor)
    call = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
    replay.add("POST", "/v1/chat/completions",
               body=_completion({"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"))
    replay.add("POST", "/v1/chat/completions",
               body=_completion({"role": "assistant", "content": "It is sunny in Paris."}, "stop"))
    agent = create_react_agent(chat_model(replay, model="gpt-4o-mini"), [get_weather], name="weather_agent")

    result = agent.invoke({"messages": [("user", "Weather in Paris?")]})

    assert result["messages"][-1].content == "It is sunny in Paris."
    [root] = [t for t in tree(otel)]
    assert root[0] == "weather_agent"
    assert [name for name, _ in root[1]] == ["agent", "tools", "agent"]
    assert root[1][1] == ("tools", [("get_weather", [])])
    by_name = {s.name: attrs(s) for s in otel.spans()}
    agent_span = by_name["weather_agent"]
    assert agent_span[SPAN_TYPE] == "AGENT" and agent_span["gen_ai.operation.name"] == "invoke_agent"
    assert agent_span["gen_ai.agent.name"] == "weather_agent" and "gen_ai.workflow.name" not in agent_span
    tool_span = by_name["get_weather"]
    assert tool_span["gen_ai.operation.name"] == "execute_tool" and tool_span["gen_ai.tool.call.id"] == "call_1"
    # The agent running the tool is conditionally required on execute_tool spans.
    assert tool_span["gen_ai.agent.name"] == "weather_agent"
    chats = inference_spans(otel)
    assert [attrs(c)["gen_ai.response.finish_reasons"] for c in chats] == [("tool_call",), ("stop",)]
    assert all(attrs(c)["gen_ai.usage.input_tokens"] == 50 for c in chats)
    assert otel.metrics()[DURATION][0].count == 2


def _stream_chain(replay: Any, **kw: Any) -> Any:
    prompt = ChatPromptTemplate.from_messages([("user", "{question}")])
    return prompt | chat_model(replay, model="gpt-4", **kw) | StrOutputParser()


@pytest.mark.parametrize("order", ["langchain_only", "provider_first", "langchain_first"])
def test_async_stream_has_the_same_tree(replay: Any, otel: Any, instrument: Any, order: str) -> None:
    if order == "provider_first":
        instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    if order == "langchain_first":
        instrument(OpenAIInstrumentor)
    replay.load_cassette(STREAM)

    async def main() -> str:
        # A client of this event loop, closed with it (langchain-openai caches its default one).
        async with httpx.AsyncClient() as client:
            chain = _stream_chain(replay, http_async_client=client)
            return "".join([chunk async for chunk in chain.astream({"question": "Tell me a joke"})])

    text = asyncio.run(main())

    assert text
    assert tree(otel) == [("RunnableSequence", [("ChatPromptTemplate", []), ("chat gpt-4", []),
                                                ("StrOutputParser", [])])]
    [chat] = inference_spans(otel)
    a = attrs(chat)
    assert a["gen_ai.response.finish_reasons"] == ("stop",) and a["gen_ai.response.model"] == "gpt-4-0613"
    assert a["gen_ai.request.stream"] is True
    assert "gen_ai.response.time_to_first_chunk" in a
    if order != "langchain_only":  # LangChain's streamed message carries no response id; openai's chunks do
        assert a["gen_ai.response.id"] == STREAM_ID and a["server.address"] == "127.0.0.1"
    assert otel.metrics()[DURATION][0].count == 1


def test_abandoned_stream_leaves_no_open_span(replay: Any, otel: Any, instrument: Any) -> None:
    instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    replay.load_cassette(STREAM)

    stream = _stream_chain(replay).stream({"question": "Tell me a joke"})
    next(stream)
    stream.close()
    del stream
    gc.collect()

    names = sorted(s.name for s in otel.spans())
    assert names == ["ChatPromptTemplate", "RunnableSequence", "StrOutputParser", "chat gpt-4"]
    [chat] = inference_spans(otel)
    # A stream cut short: a finish reason was expected and none came.
    assert attrs(chat)["gen_ai.response.finish_reasons"] == ("error",)
    handler = LangChainInstrumentor()._handler
    assert handler._runs == {}
