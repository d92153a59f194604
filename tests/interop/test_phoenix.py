"""traceglass's OTLP output in a real Arize Phoenix server (`phoenix serve`), read back through
Phoenix's GraphQL API (the one its UI uses): each trace shows the model, the token usage and the
input and output messages. Phoenix reads OpenInference attributes and translates the GenAI
conventions into them on ingest."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.backends import CALLS, USER_TEXT, executable, free_port, http_status, poll, send_traces, server
from tests.replay import ReplayServer

pytestmark = pytest.mark.slow

PROJECT = "traceglass-interop"
_SPANS = """
query ($name: String!) { projects(filter: {col: name, value: $name}) { edges { node { name
  spans(first: 50) { edges { node {
    name spanKind statusCode context { traceId } tokenCountPrompt tokenCountCompletion tokenCountTotal
    input { value } output { value } attributes
} } } } } } }
"""


def _graphql(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(f"{base}/graphql", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.load(response)
    assert not answer.get("errors"), answer["errors"]
    return answer["data"]


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a fresh `phoenix serve` (SQLite in a temporary working directory)."""
    command = executable("TRACEGLASS_TEST_PHOENIX", "phoenix")
    workdir = tmp_path_factory.mktemp("phoenix")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"PHOENIX_WORKING_DIR": str(workdir), "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port()),
           "PHOENIX_HOST": "127.0.0.1"}
    with server([command, "serve"], workdir, lambda: http_status(f"{base}/healthz") == 200, env):
        yield base


@pytest.fixture(scope="module")
def spans(phoenix: str, _replay_server: ReplayServer) -> dict[str, dict[str, Any]]:
    """{call name: Phoenix span} of CALLS, exported into a Phoenix project of their own."""
    _replay_server.reset()
    # Phoenix files spans under the project their resource names.
    trace_ids = send_traces(_replay_server, f"{phoenix}/v1/traces", resource={"openinference.project.name": PROJECT})
    _replay_server.reset()

    def stored() -> dict[str, dict[str, Any]]:
        projects = _graphql(phoenix, _SPANS, {"name": PROJECT})["projects"]["edges"]
        nodes = [edge["node"] for project in projects for edge in project["node"]["spans"]["edges"]]
        by_trace = {node["context"]["traceId"]: node for node in nodes}
        return {name: by_trace[trace_id] for name, trace_id in trace_ids.items()} if len(
            by_trace.keys() & set(trace_ids.values())) == len(trace_ids) else {}

    found = poll(stored)  # Phoenix stores after answering the export
    assert found, f"Phoenix stored no spans of the traces {trace_ids} in project {PROJECT}"
    return found


@pytest.mark.parametrize("name", list(CALLS))
def test_trace_shows_model_usage_and_messages(spans: dict[str, dict[str, Any]], name: str) -> None:
    call, span = CALLS[name], spans[name]
    attributes = json.loads(span["attributes"])
    llm = attributes["llm"]
    assert span["name"] == f"chat {call['model']}"
    assert span["spanKind"] == "llm"
    assert span["statusCode"] in {"OK", "UNSET"}
    assert llm["model_name"] == call["model"]
    assert llm["provider"] == "openai"
    assert (span["tokenCountPrompt"], span["tokenCountCompletion"], span["tokenCountTotal"]) == (
        call["input_tokens"], call["output_tokens"], call["input_tokens"] + call["output_tokens"])
    assert llm["input_messages"] == [{"message": {"role": "user", "content": USER_TEXT}}]
    [output] = llm["output_messages"]
    assert output["message"]["role"] == "assistant"
    assert output["message"]["content"] == call["answer"]
    # The GenAI attributes themselves are kept as sent.
    assert attributes["gen_ai"]["usage"]["input_tokens"] == call["input_tokens"]
    assert attributes["gen_ai"]["response"]["model"] == call["response_model"]


def test_known_gap_span_input_and_output_columns(spans: dict[str, dict[str, Any]]) -> None:
    """Phoenix's span table shows a span's input.value and output.value, which the GenAI
    conventions have no attribute for: its translation leaves the input empty and sets the output
    to the response id and model, not the answer. The messages are on the span's LLM view (above).
    README ("Other backends") documents this; when this test fails, Phoenix has closed the gap:
    update README and this test."""
    for name, span in spans.items():
        assert span["input"] is None, name
        assert CALLS[name]["answer"] not in span["output"]["value"], name
