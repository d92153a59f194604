"""Canned provider replies, calls through the real SDK clients, and readers of a store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from traceglass.collector.store import Store, Trace

from tests.replay import ReplayServer
from tests.test_auto_instrumentation import COMPLETION

MODEL = "gpt-4o-mini"
SUBPROCESS_TIMEOUT = 60.0

ANTHROPIC_MESSAGE = {
    "id": "msg_tracking_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-haiku-4-5-20250929",
    "content": [{"type": "text", "text": "Hi from Claude!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 11, "output_tokens": 4},
}

OLLAMA_CHAT = {
    "model": "llama3.2",
    "created_at": "2026-01-01T00:00:00Z",
    "message": {"role": "assistant", "content": "Hi from Ollama!"},
    "done": True,
    "done_reason": "stop",
    "total_duration": 1000000,
    "load_duration": 1000,
    "prompt_eval_count": 7,
    "prompt_eval_duration": 1000,
    "eval_count": 5,
    "eval_duration": 1000,
}


def serve_openai(replay: ReplayServer) -> None:
    replay.add("POST", "/v1/chat/completions", body=COMPLETION)


def chat(openai_client: Callable[..., Any], replay: ReplayServer, text: str = "Say hi") -> Any:
    """One chat completion through a real openai client (the replay server answers)."""
    serve_openai(replay)
    client = openai_client()
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])


def read_store(url: str) -> list[Trace]:
    """Every trace in the store at `url`, oldest first, read with a store of its own."""
    store = Store.open(url)
    try:
        infos = store.search_traces(order_by=["timestamp_ms ASC"], max_results=1000).traces
        traces = [store.get_trace(info.trace_id) for info in infos]
        return [trace for trace in traces if trace is not None]
    finally:
        store.close()


def published_price(provider_id: str, model: str, input_tokens: int, output_tokens: int, start_ns: int) -> float:
    """What genai-prices says such a call cost at that time, in USD."""
    from datetime import datetime, timezone

    import genai_prices

    when = datetime.fromtimestamp(start_ns / 1e9, tz=timezone.utc)
    usage = genai_prices.Usage(input_tokens=input_tokens, output_tokens=output_tokens)
    return float(genai_prices.calc_price(usage, model_ref=model, provider_id=provider_id,
                                         genai_request_timestamp=when).total_price)


def span_names(traces: list[Trace]) -> list[str]:
    return [span.name for trace in traces for span in trace.spans]


def clean_env(**extra: str) -> dict[str, str]:
    """The test process's environment without OpenTelemetry or traceglass settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "TRACEGLASS_")) and name not in ("PYTHONPATH", "PYTHONSTARTUP")
    }
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_script(
    tmp_path: Path, source: str, env: dict[str, str], command: list[str] | None = None, name: str = "app.py"
) -> subprocess.CompletedProcess[str]:
    """Run `source` in a fresh interpreter (optionally under `command`, e.g. opentelemetry-instrument)."""
    script = tmp_path / name
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    try:
        result = subprocess.run(
            [*(command or []), sys.executable, str(script)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{name} did not finish in {SUBPROCESS_TIMEOUT}s; stderr:\n{exc.stderr}")
    assert result.returncode == 0, f"{name} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result
