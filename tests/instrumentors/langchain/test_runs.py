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
