"""Provider calls made by the application's own code inside LangChain runs (a RunnableLambda's
function, a LangGraph node) nest under that run, also in batches, without leaking a context."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableLambda
from opentelemetry import trace
from traceglass.instrumentors.langchain import LangChainInstrumentor
from traceglass.instrumentors.openai import OpenAIInstrumentor

from tests.instrumentors.langchain._helpers import CHAT_CALL, CHAT_ID, attrs, inference_spans, tree

CHAT = "chat gpt-3.5-turbo"
ORDERS = ["provider_first", "langchain_first"]


def _instrument(instrument: Any, order: str) -> None:
    if order == "provider_first":
        instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    if order == "langchain_first":
        instrument(OpenAIInstrumentor)


def _ask(client: Any) -> Any:
    def ask(question: str) -> str:
        completion = client.chat.completions.create(model="gpt-3.5-turbo",
                                                    messages=[{"role": "user", "content": question}])
        return completion.choices[0].message.content

    return ask


@pytest.mark.parametrize("order", ORDERS)
def test_a_provider_call_inside_a_runnable_lambda_nests_under_it(replay: Any, otel: Any, instrument: Any,
                                                                  openai_client: Any, order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)
    chain = RunnableLambda(lambda q: q.strip()) | RunnableLambda(_ask(openai_client()))

    assert chain.invoke(" Capital of France? ") == "The capital of France is Paris."

    assert tree(otel) == [("RunnableSequence", [("RunnableLambda", []), ("ask", [(CHAT, [])])])]
    [chat] = inference_spans(otel)
    assert attrs(chat)["gen_ai.response.id"] == CHAT_ID


@pytest.mark.parametrize("order", ORDERS)
def test_a_batch_gives_each_call_its_own_run_and_leaks_no_context(replay: Any, otel: Any, instrument: Any,
                                                                  openai_client: Any, order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)

    assert RunnableLambda(_ask(openai_client())).batch(["one?", "two?", "three?"]) == [
        "The capital of France is Paris."] * 3

    assert tree(otel) == [("ask", [(CHAT, [])])] * 3
    with otel.tracer_provider.get_tracer("app").start_as_current_span("after"):
        pass
    [after] = [s for s in otel.spans() if s.name == "after"]
    assert after.parent is None  # nothing of the batch stayed current
    assert trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.parametrize("order", ORDERS)
def test_async_runnable_code_nests_too(replay: Any, otel: Any, instrument: Any, async_openai_client: Any,
                                       order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)
    client = async_openai_client()

    async def ask(question: str) -> str:
        completion = await client.chat.completions.create(model="gpt-3.5-turbo",
                                                          messages=[{"role": "user", "content": question}])
        return completion.choices[0].message.content

    assert asyncio.run(RunnableLambda(ask).ainvoke("Capital of France?")) == "The capital of France is Paris."
    assert tree(otel) == [("ask", [(CHAT, [])])]


class _State(TypedDict):
    question: str
    answer: str


def test_a_provider_call_inside_a_langgraph_node_nests_under_the_node(replay: Any, otel: Any, instrument: Any,
                                                                        openai_client: Any) -> None:
    from langgraph.graph import END, START, StateGraph

    _instrument(instrument, "provider_first")
    replay.load_cassette(CHAT_CALL)
    ask = _ask(openai_client())

    def answer(state: _State) -> dict[str, str]:
        return {"answer": ask(state["question"])}

    graph = StateGraph(_State)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)

    assert graph.compile(name="QA").invoke({"question": "Capital of France?"})["answer"] == (
        "The capital of France is Paris.")
    assert tree(otel) == [("QA", [("answer", [(CHAT, [])])])]


def test_uninstrument_restores_every_wrapped_function(otel: Any, instrument: Any) -> None:
    import langchain_core.callbacks.base as callbacks
    import langchain_core.language_models.chat_models as chat_models
    import langchain_core.language_models.llms as llms
    import langchain_core.runnables.config as config
    import langgraph._internal._runnable as graph_runnable

    def wrappable() -> list[Any]:
        return [callbacks.BaseCallbackManager.__init__, chat_models.BaseChatModel._generate_with_cache,
                chat_models.BaseChatModel._agenerate_with_cache, chat_models.BaseChatModel.agenerate,
                chat_models.BaseChatModel.astream, llms.BaseLLM._generate_helper, llms.BaseLLM._agenerate_helper,
                llms.BaseLLM.agenerate, llms.BaseLLM.astream, config._set_config_context,
                graph_runnable._set_config_context]

    originals = wrappable()
    instrumentor = instrument(LangChainInstrumentor)
    assert all(now is not before for now, before in zip(wrappable(), originals, strict=True))
    instrumentor.uninstrument()

    assert wrappable() == originals
    assert RunnableLambda(lambda q: q).invoke("x") == "x"
    assert otel.spans() == []
