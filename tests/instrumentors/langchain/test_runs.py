"""Run kinds besides chat models and chains: a retriever, a text LLM (on_llm_start), nested LangGraph subgraphs."""

from __future__ import annotations

import json
from typing import Any, TypedDict

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM
from langchain_core.retrievers import BaseRetriever
from langgraph.graph import END, START, StateGraph
from opentelemetry.trace import StatusCode
from traceglass.instrumentors.langchain import LangChainInstrumentor

from tests.instrumentors.langchain._helpers import SPAN_TYPE, attrs, inference_spans, tree

OUTPUTS = "traceglass.span.outputs"
INPUTS = "traceglass.span.inputs"
QUERY = "gen_ai.retrieval.query.text"


class KeywordRetriever(BaseRetriever):
    """Returns the documents whose text contains a word of the query."""

    docs: list[Document]

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        words = set(query.lower().split())
        return [d for d in self.docs if words & set(d.page_content.lower().split())]


DOCS = [Document(page_content="paris is the capital of france", metadata={"id": "d1"}),
        Document(page_content="berlin is the capital of germany", metadata={"id": "d2"})]


@pytest.mark.parametrize("capture", ["SPAN_ONLY", "NO_CONTENT"])
def test_retriever_is_a_retrieval_span_with_documents_as_outputs(otel: Any, instrument: Any, capture: str) -> None:
    instrument(LangChainInstrumentor, capture_content=capture)

    found = KeywordRetriever(docs=DOCS).invoke("france")

    assert [d.metadata["id"] for d in found] == ["d1"]
    assert tree(otel) == [("KeywordRetriever", [])]
    [span] = otel.spans()
    a = attrs(span)
    assert a[SPAN_TYPE] == "RETRIEVER" and a["gen_ai.operation.name"] == "retrieval"
    if capture == "SPAN_ONLY":
        assert a[QUERY] == "france"
        assert "paris is the capital of france" in a[OUTPUTS] and "berlin" not in a[OUTPUTS]
        assert "d1" in a[OUTPUTS]
    else:
        assert QUERY not in a and OUTPUTS not in a and INPUTS not in a


def test_long_retrieval_query_is_capped_with_the_marker(otel: Any, instrument: Any) -> None:
    instrument(LangChainInstrumentor, max_content_length=40)

    KeywordRetriever(docs=DOCS).invoke("france " * 20)

    [span] = otel.spans()
    query = attrs(span)[QUERY]
    assert len(query) == 40 and query.endswith("…[truncated]") and query.startswith("france france")


def test_text_llm_is_a_text_completion_span(otel: Any, instrument: Any) -> None:
    instrument(LangChainInstrumentor)

    assert FakeListLLM(responses=["forty-two"]).invoke("What is the answer?") == "forty-two"

    [span] = otel.spans()
    assert inference_spans(otel) == [span]
    a = attrs(span)
    assert a[SPAN_TYPE] == "LLM" or a[SPAN_TYPE] == "CHAT_MODEL"
    assert a["gen_ai.operation.name"] == "text_completion"
    assert span.name.startswith("text_completion")
    assert "What is the answer?" in a["gen_ai.input.messages"]
    assert "forty-two" in a["gen_ai.output.messages"]


class State(TypedDict):
    text: str


def _append(suffix: str) -> Any:
    def node(state: State) -> dict[str, Any]:
        return {"text": state["text"] + suffix}
    return node


def _linear(name: str, *nodes: tuple[str, Any]) -> Any:
    graph = StateGraph(State)
    previous = START
    for node_name, node in nodes:
        graph.add_node(node_name, node)
        graph.add_edge(previous, node_name)
        previous = node_name
    graph.add_edge(previous, END)
    return graph.compile(name=name)


def test_subgraphs_nest_as_workflow_spans(otel: Any, instrument: Any) -> None:
    instrument(LangChainInstrumentor)
    inner = _linear("Inner", ("c", _append("c")))
    middle = _linear("Middle", ("b", _append("b")), ("inner", inner))
    outer = _linear("Outer", ("a", _append("a")), ("middle", middle))

    assert outer.invoke({"text": ""})["text"] == "abc"

    assert tree(otel) == [("Outer", [
        ("a", []),
        ("middle", [("Middle", [("b", []), ("inner", [("Inner", [("c", [])])])])]),
    ])]
    by_name = {s.name: attrs(s) for s in otel.spans()}
    for workflow in ("Outer", "Middle", "Inner"):
        a = by_name[workflow]
        assert a[SPAN_TYPE] == "WORKFLOW" and a["gen_ai.operation.name"] == "invoke_workflow"
        assert a["gen_ai.workflow.name"] == workflow
    assert by_name["b"][SPAN_TYPE] == "CHAIN"
    assert json.loads(by_name["Inner"][OUTPUTS]) == {"text": "abc"}


def _ask_for_approval(state: State) -> dict[str, Any]:
    from langgraph.types import interrupt

    return {"text": state["text"] + interrupt("approve?")}


@pytest.mark.parametrize("is_async", [False, True], ids=["invoke", "ainvoke"])
def test_an_interrupt_and_its_resume_are_not_errors(otel: Any, instrument: Any, is_async: bool) -> None:
    import asyncio

    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.types import Command

    instrument(LangChainInstrumentor)
    review = _linear("Review", ("ask", _ask_for_approval))
    graph = StateGraph(State)
    graph.add_node("review", review)
    graph.add_edge(START, "review")
    graph.add_edge("review", END)
    app = graph.compile(checkpointer=InMemorySaver(), name="Outer")
    config = {"configurable": {"thread_id": "t-1"}}

    def run(value: Any) -> Any:
        return asyncio.run(app.ainvoke(value, config)) if is_async else app.invoke(value, config)

    paused = run({"text": "draft"})

    # interrupt() pauses the graph for input: the caller gets a result, no run failed.
    assert paused["__interrupt__"][0].value == "approve?"
    assert tree(otel) == [("Outer", [("review", [("Review", [("ask", [])])])])]
    for span in otel.spans():
        assert span.status.status_code is StatusCode.UNSET, span.name
        assert "error.type" not in attrs(span)
    otel.clear()

    assert run(Command(resume=" ok"))["text"] == "draft ok"
    assert tree(otel) == [("Outer", [("review", [("Review", [("ask", [])])])])]
    assert all(span.status.status_code is StatusCode.UNSET for span in otel.spans())


def test_a_command_to_the_parent_graph_is_not_an_error(otel: Any, instrument: Any) -> None:
    from langgraph.types import Command

    instrument(LangChainInstrumentor)

    def hand_over(state: State) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="finish", update={"text": state["text"] + "b"})

    inner = StateGraph(State)
    inner.add_node("hand_over", hand_over)
    inner.add_edge(START, "hand_over")
    outer = StateGraph(State)
    outer.add_node("inner", inner.compile(name="Inner"))
    outer.add_node("finish", _append("c"))
    outer.add_edge(START, "inner")
    outer.add_edge("finish", END)

    assert outer.compile(name="Outer").invoke({"text": "a"})["text"] == "abc"

    assert tree(otel) == [("Outer", [("inner", [("Inner", [("hand_over", [])])]), ("finish", [])])]
    for span in otel.spans():
        assert span.status.status_code is StatusCode.UNSET, span.name


def test_a_failing_node_is_still_an_error(otel: Any, instrument: Any) -> None:
    instrument(LangChainInstrumentor)
    error = ValueError("bad state")

    def fail(state: State) -> dict[str, Any]:
        raise error

    with pytest.raises(ValueError) as raised:
        _linear("Outer", ("fail", fail)).invoke({"text": ""})

    assert raised.value is error  # the application's exception, unchanged
    for span in otel.spans():
        assert span.status.status_code is StatusCode.ERROR and attrs(span)["error.type"] == "ValueError"
