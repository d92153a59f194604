"""traceglass's OTLP output in a real MLflow tracking server (`mlflow server`, its /v1/traces
ingest), read back through MLflow's REST API: each trace shows the model, the token usage and the
input and output messages, as MLflow's own UI would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.interop.backends import CALLS, USER_TEXT, executable, free_port, http_status, poll, send_traces, server
from tests.replay import ReplayServer

pytestmark = pytest.mark.slow


def _api(base: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def mlflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a fresh `mlflow server` (SQLite store in a temporary directory)."""
    command = executable("TRACEGLASS_TEST_MLFLOW", "mlflow")
    workdir = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # MLflow prices token usage from a catalog it fetches on first use; "" uses the bundled one
    # (no internet here), rather than stalling each export in retries.
    env = {"MLFLOW_MODEL_CATALOG_URI": ""}
    with server([command, "server", "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
                 "--default-artifact-root", (workdir / "artifacts").as_uri(), "--host", "127.0.0.1",
                 "--port", str(port)], workdir, lambda: http_status(f"{base}/health") == 200, env):
        yield base


@pytest.fixture(scope="module")
def traces(mlflow: str, _replay_server: ReplayServer) -> dict[str, dict[str, Any]]:
    """{call name: MLflow trace (traces/get)} of CALLS, exported into a new MLflow experiment."""
    experiment_id = _api(mlflow, "/api/2.0/mlflow/experiments/create", {"name": "traceglass-interop"})["experiment_id"]
    _replay_server.reset()
    # MLflow files OTLP spans under the experiment this header names.
    trace_ids = send_traces(_replay_server, f"{mlflow}/v1/traces", headers={"x-mlflow-experiment-id": experiment_id})
    _replay_server.reset()
    result = {}
    for name, trace_id in trace_ids.items():
        # MLflow's trace id is "tr-" and the OpenTelemetry trace id in hex.
        result[name] = poll(lambda trace_id=trace_id: _get_trace(mlflow, f"tr-{trace_id}"))
        assert result[name], f"MLflow has no trace tr-{trace_id}"
        assert result[name]["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"] == experiment_id
    return result


def _get_trace(base: str, trace_id: str) -> dict[str, Any] | None:
    try:
        return _api(base, f"/api/3.0/mlflow/traces/get?trace_id={trace_id}")["trace"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _value(any_value: dict[str, Any]) -> Any:
    """An OTLP/JSON AnyValue as Python (MLflow's trace API returns spans in OTLP form)."""
    [(kind, value)] = any_value.items()
    if kind == "array_value":
        return [_value(item) for item in value.get("values", [])]
    if kind == "kvlist_value":
        return {item["key"]: _value(item["value"]) for item in value.get("values", [])}
    if kind == "int_value":
        return int(value)
    return value


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    return {item["key"]: _value(item["value"]) for item in span["attributes"]}


@pytest.mark.parametrize("name", list(CALLS))
def test_trace_shows_model_usage_and_messages(traces: dict[str, dict[str, Any]], name: str) -> None:
    call, trace = CALLS[name], traces[name]
    [span] = trace["spans"]
    attributes = _attributes(span)
    assert span["name"] == f"chat {call['model']}"
    # MLflow reads the GenAI conventions into its own span model: an LLM chat span, its model
    # and provider, inputs and outputs (the message JSON), token usage.
    assert attributes["mlflow.spanType"] == "CHAT_MODEL"
    assert attributes["mlflow.llm.model"] == call["response_model"]
    assert attributes["mlflow.llm.provider"] == "openai"
    assert attributes["mlflow.spanInputs"] == [{"role": "user", "parts": [{"type": "text", "content": USER_TEXT}]}]
    [output] = attributes["mlflow.spanOutputs"]
    assert output["role"] == "assistant"
    assert output["parts"] == [{"type": "text", "content": call["answer"]}]
    usage = {"input_tokens": call["input_tokens"], "output_tokens": call["output_tokens"],
             "total_tokens": call["input_tokens"] + call["output_tokens"]}
    assert attributes["mlflow.chat.tokenUsage"].items() >= usage.items()

    # The trace list (search, previews, totals) sees the same.
    info = trace["trace_info"]
    assert info["state"] == "OK"
    assert json.loads(info["trace_metadata"]["mlflow.trace.tokenUsage"]).items() >= usage.items()
    assert USER_TEXT in info["request_preview"]
    assert call["answer"] in json.loads(info["response_preview"])[0]["parts"][0]["content"]


def test_search_finds_the_traces_by_experiment(mlflow: str, traces: dict[str, dict[str, Any]]) -> None:
    experiment_id = traces["chat"]["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"]
    found = _api(mlflow, "/api/3.0/mlflow/traces/search", {"locations": [
        {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": experiment_id}}]})["traces"]
    assert {t["trace_id"] for t in found} == {t["trace_info"]["trace_id"] for t in traces.values()}

