"""`traceglass demo` end to end: a real process records into a local store or a running server,
and the stored traces are checked."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path

import pytest
from traceglass.collector.server import Server
from traceglass.collector.store import Store, Trace

from tests.demo.conftest import RunDemo, cli_command, cli_env
from tests.server._helpers import written
from traceglass.demo._run import DEFAULT_SERVER, probe

pytestmark = pytest.mark.slow

EXPECTED_ROOTS = ["chat gpt-4o-mini", "chat gpt-4o-mini", "travel-agent", "RunnableSequence",
                  "chat claude-sonnet-4-5", "chat gpt-4o"]


def _traces(store: Store, experiment: str = "demo") -> list[Trace]:
    found = store.get_experiment_by_name(experiment)
    assert found is not None, store.experiment_names()
    page = store.search_traces([found.experiment_id], order_by=["timestamp_ms ASC"], max_results=100)
    traces = [store.get_trace(info.trace_id) for info in page.traces]
    assert all(traces)
    return traces  # type: ignore[return-value]


def _check_demo_traces(traces: list[Trace]) -> None:
    assert [trace.info.name for trace in traces] == EXPECTED_ROOTS
    assert {trace.info.experiment_name for trace in traces} == {"demo"}
    by_name = {trace.info.name: trace for trace in traces}

    # Every model call carries the usage the replay reported; the agent's second call hit the cache.
    model_spans = [span for trace in traces for span in trace.spans
                   if span.attributes.get("gen_ai.operation.name") == "chat" and span.status_code != "ERROR"]
    assert len(model_spans) == 6
    assert all(span.attributes["gen_ai.usage.input_tokens"] > 0 for span in model_spans)
    assert all(span.attributes["gen_ai.usage.output_tokens"] > 0 for span in model_spans)
    assert all(trace.info.total_tokens for trace in traces[:-1])

    stream = traces[1].spans[0]
    assert 0 < stream.attributes["gen_ai.response.time_to_first_chunk"] < 5
    assert "haiku" in stream.attributes["gen_ai.input.messages"]

    agent = by_name["travel-agent"]
    root = agent.spans[0]
    assert root.parent_span_id is None
    assert [span.name for span in agent.spans] == ["travel-agent", "chat gpt-4o-mini", "get_weather",
                                                     "chat gpt-4o-mini"]
    assert all(span.parent_span_id == root.span_id for span in agent.spans[1:])
    assert list(agent.spans[1].attributes["gen_ai.response.finish_reasons"]) == ["tool_call"]
    assert agent.spans[2].attributes["gen_ai.tool.name"] == "get_weather"
    assert agent.spans[3].attributes["gen_ai.usage.cache_read.input_tokens"] == 1152
    assert agent.info.session_id and agent.info.user_id == "demo-user"

    chain = by_name["RunnableSequence"]
    assert {"ChatPromptTemplate", "chat gpt-4o-mini", "StrOutputParser"} <= {span.name for span in chain.spans}

    assert by_name["chat claude-sonnet-4-5"].spans[0].attributes["gen_ai.provider.name"] == "anthropic"

    error = traces[-1]
    assert error.info.status == "ERROR"
    assert error.spans[0].attributes["error.type"] == "openai.RateLimitError"
    assert [trace.info.status for trace in traces[:-1]] == ["OK"] * 5


# As if `pip install traceglass[openai,langchain]` had been run (no anthropic, no langchain-openai),
# and one step broke.
_FEWER_SDKS_AND_A_BROKEN_STEP = """
import sys
for name in ("anthropic", "langchain_openai"):
    sys.modules[name] = None  # importlib.util.find_spec() answers None, import raises ImportError
from traceglass.demo import _steps
def broken(replay):
    raise ConnectionError("replay refused the connection")
_steps.STEPS = (_steps.STEPS[0], _steps.Step("streamed answer", broken), *_steps.STEPS[2:])
"""


def test_records_into_the_local_store_when_no_server_runs(run_demo: RunDemo, home: Path) -> None:
    if probe(DEFAULT_SERVER) == "ok":
        pytest.skip(f"a traceglass server is running at {DEFAULT_SERVER}; the demo would record there")
    first = run_demo()
    assert first.returncode == 0, first.stdout + first.stderr
    store_url = f"sqlite:///{(home / 'traceglass.db').resolve()}"
    assert f"into the local store {store_url}" in first.stdout
    assert "6 traces recorded in experiment 'demo'." in first.stdout
    assert "traceglass traces search -e demo\n" in first.stdout  # the default store: no --tracking-uri needed

    store = Store.open(store_url)
    try:
        _check_demo_traces(_traces(store))
    finally:
        store.close()

    # Again, with fewer SDKs and a step that fails: the others still run, new traces join the experiment.
    second = run_demo(prelude=_FEWER_SDKS_AND_A_BROKEN_STEP)
    assert second.returncode == 1, second.stdout + second.stderr
    lines = second.stdout.splitlines()
    assert "  skip  Anthropic message    needs anthropic: pip install anthropic" in lines, second.stdout
    assert "  FAIL  streamed answer      ConnectionError: replay refused the connection" in lines
    assert "4 traces recorded in experiment 'demo'." in second.stdout

    store = Store.open(store_url)
    try:
        traces = _traces(store)
        assert [trace.info.name for trace in traces[6:]] == ["chat gpt-4o-mini", "travel-agent", "RunnableSequence",
                                                              "chat gpt-4o"]
        assert len({trace.info.trace_id for trace in traces}) == 10
        # Without langchain-openai the chain's model is the demo's own chat model over the OpenAI
        # client: one chat span, in the chain, carrying the provider call's usage.
        chain = traces[8].spans
        assert [span.name for span in chain] == ["RunnableSequence", "ChatPromptTemplate", "chat gpt-4o-mini",
                                                 "StrOutputParser"]
        assert chain[2].parent_span_id == chain[0].span_id
        assert chain[2].attributes["gen_ai.usage.output_tokens"] == 16
    finally:
        store.close()


def test_records_into_a_running_server(run_demo: RunDemo, server: Server) -> None:
    address = f"http://127.0.0.1:{server.ports['http']}"
    result = run_demo("--tracking-uri", address, "--experiment", "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"into the traceglass server at {address}." in result.stdout
    assert f"traceglass traces search -e demo --tracking-uri {address}" in result.stdout
    _check_demo_traces(_traces(written(server)))


def test_ui_demo_starts_the_server_and_records_into_it(home: Path, tmp_path: Path, unused_port: int) -> None:
    store_url = f"sqlite:///{tmp_path / 'ui.db'}"
    command = cli_command("ui", "--demo", "--no-browser", "--port", str(unused_port), "--grpc-port", "0",
                          "--otlp-http-port", "0", "--store", store_url, "--log-level", "warning")
    process = subprocess.Popen(command, env=cli_env(home), cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    output: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while not any("traces recorded in experiment" in line for line in output):
            assert time.monotonic() < deadline and process.poll() is None, "".join(output)
            try:
                output.append(lines.get(timeout=0.5))
            except queue.Empty:
                pass
    finally:
        process.terminate()  # SIGTERM: the server writes what it acknowledged, then exits
        process.wait(30)
    address = f"http://127.0.0.1:{unused_port}"
    assert any(f"into the traceglass server at {address}." in line for line in output), "".join(output)
    store = Store.open(store_url)
    try:
        assert [trace.info.name for trace in _traces(store)] == EXPECTED_ROOTS
    finally:
        store.close()


def test_recording_address_of_a_server_listening_everywhere() -> None:
    from traceglass.demo._launch import _address

    assert _address("0.0.0.0", 5000) == "http://127.0.0.1:5000"
    assert _address("::", 5001) == "http://[::1]:5001"
    assert _address("192.168.1.20", 5000) == "http://192.168.1.20:5000"


def test_an_explicit_server_that_does_not_answer_is_an_error(run_demo: RunDemo, unused_port: int) -> None:
    result = run_demo("--tracking-uri", f"http://127.0.0.1:{unused_port}")
    assert result.returncode == 1
    assert f"no traceglass server answers at http://127.0.0.1:{unused_port}" in result.stderr
    assert "traceglass ui" in result.stderr


def test_the_replay_answers_like_the_providers() -> None:
    """The replay's bodies, without any SDK: the shapes the instrumentations read."""
    from traceglass.demo._replies import answer

    chat = json.loads(answer("chat", "chat/completions", {"model": "gpt-4o-mini"}).body)
    assert chat["id"].startswith("chatcmpl-") and chat["model"] == "gpt-4o-mini-2024-07-18"
    assert chat["choices"][0]["finish_reason"] == "stop"
    assert chat["usage"]["total_tokens"] == chat["usage"]["prompt_tokens"] + chat["usage"]["completion_tokens"]
    again = json.loads(answer("chat", "chat/completions", {"model": "gpt-4o-mini"}).body)
    assert again["id"] != chat["id"]  # fresh ids per response, as a provider sends

    stream = answer("stream", "chat/completions", {"stream": True, "stream_options": {"include_usage": True}})
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.events[-1] == b"data: [DONE]\n\n"
    assert json.loads(stream.events[-2].removeprefix(b"data: "))["usage"]["completion_tokens"] > 0

    tool_turn = json.loads(answer("agent", "chat/completions", {"messages": [{"role": "user"}]}).body)
    assert tool_turn["choices"][0]["finish_reason"] == "tool_calls"
    final = json.loads(answer("agent", "chat/completions", {"messages": [
        {"role": "user"}, {"role": "assistant"}, {"role": "tool"}]}).body)
    assert final["choices"][0]["finish_reason"] == "stop"
    assert final["usage"]["prompt_tokens_details"]["cached_tokens"] > 0

    message = json.loads(answer("anthropic", "messages", {"model": "claude-sonnet-4-5"}).body)
    assert message["id"].startswith("msg_01") and message["stop_reason"] == "end_turn"

    limited = answer("error", "chat/completions", {})
    assert limited.status == 429 and json.loads(limited.body)["error"]["code"] == "rate_limit_exceeded"
    assert answer("nowhere", "chat/completions", {}).status == 404
