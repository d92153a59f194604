"""Real backend servers for the interoperability tests, and traceglass's OTLP output to send them.

Each backend runs from its own installation (scripts/interop builds them), found through an
environment variable naming its executable, else on PATH. A backend that cannot be found skips
its tests with the command that sets it up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traceglass.instrumentors.openai import OpenAIInstrumentor

from tests.replay import ReplayServer

SETUP = "./scripts/interop (it installs the backends and runs these tests)"
# A server gets this long to answer its health check; both need ~20-40 s on a busy 2-core machine.
STARTUP_TIMEOUT = 180.0
# Nothing inherited may redirect or alter a server, and nothing may phone home (no internet here).
_STRIPPED_ENV = ("OTEL_", "PHOENIX_", "MLFLOW_", "TRACEGLASS_", "PYTHONWARNINGS")
_QUIET_ENV = {"DO_NOT_TRACK": "1", "MLFLOW_DISABLE_TELEMETRY": "true", "PHOENIX_TELEMETRY_ENABLED": "false",
              "SCARF_NO_ANALYTICS": "true"}

USER_TEXT = "Say this is a test"
# What the two replayed calls answer (tests/cassettes/openai/otel-contrib__test_chat_completion_*).
CALLS = {
    "chat": {"cassette": "openai/otel-contrib__test_chat_completion_with_content.yaml", "model": "gpt-4o-mini",
             "response_model": "gpt-4o-mini-2024-07-18", "stream": False, "answer": "This is a test.",
             "input_tokens": 12, "output_tokens": 5},
    "stream": {"cassette": "openai/otel-contrib__test_chat_completion_streaming.yaml", "model": "gpt-4",
               "response_model": "gpt-4-0613", "stream": True, "answer": '"This is a test."',
               "input_tokens": 12, "output_tokens": 5},
}


def executable(variable: str, name: str) -> str:
    """The backend's executable: $variable, else `name` on PATH; skips the test when neither."""
    path = os.environ.get(variable) or shutil.which(name)
    if not path:
        pytest.skip(f"{name} not installed: set {variable}=/path/to/{name} or run {SETUP}")
    if not os.access(path, os.X_OK):
        pytest.fail(f"{variable}={path} is not an executable")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


@contextlib.contextmanager
def server(command: list[str], workdir: Path, ready: Callable[[], bool], env: dict[str, str]) -> Iterator[None]:
    """Run a backend server until the block ends; fails with its log if it does not become ready."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED_ENV)}
    clean.update(_QUIET_ENV, TMPDIR=str(workdir), **env)
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        # Its own process group: MLflow's server runs several worker processes, all ended with it.
        process = subprocess.Popen(command, cwd=workdir, env=clean, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{command[0]} did not start (exit code {process.poll()}):\n{_tail(log_path)}")
            time.sleep(0.5)
        yield
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def send_traces(replay: ReplayServer, endpoint: str, headers: dict[str, str] | None = None,
                resource: dict[str, Any] | None = None) -> dict[str, str]:
    """Run every call of CALLS through traceglass's OpenAI instrumentor (content captured on spans)
    and export the spans with the standard OTLP/HTTP exporter, as an app would. Returns
    {call name: trace id (32 hex digits)}."""
    provider = TracerProvider(resource=Resource.create({"service.name": "interop-app", **(resource or {})}),
                              shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers=headers)))
    sent = InMemorySpanExporter()  # to learn the trace ids
    provider.add_span_processor(SimpleSpanProcessor(sent))
    instrumentor = OpenAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(tracer_provider=provider, capture_content="SPAN_ONLY", raise_exception_on_conflict=True)
    trace_ids = {}
    try:
        with openai.OpenAI(base_url=replay.url("/v1"), api_key="test-key", max_retries=0) as client:
            for name, call in CALLS.items():
                replay.load_cassette(call["cassette"])
                messages = [{"role": "user", "content": USER_TEXT}]
                if call["stream"]:
                    stream = client.chat.completions.create(model=call["model"], messages=messages, stream=True,
                                                            stream_options={"include_usage": True})
                    for _ in stream:
                        pass
                else:
                    client.chat.completions.create(model=call["model"], messages=messages)
                [span] = sent.get_finished_spans()
                trace_ids[name] = format(span.context.trace_id, "032x")
                sent.clear()
    finally:
        instrumentor.uninstrument()
        provider.shutdown()  # flushes the batch to the backend
    return trace_ids


def poll(read: Callable[[], Any], timeout: float = 30.0) -> Any:
    """read() until it returns something truthy: backends may store after answering the export."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)
