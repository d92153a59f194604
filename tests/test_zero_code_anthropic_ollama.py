"""Zero-code instrumentation of anthropic and ollama: an unmodified script run under ``opentelemetry-instrument``.

anthropic 2.x traces itself whenever a global tracer provider is set, which ``opentelemetry-instrument``
always does: the script must still get exactly one span per model call, traceglass's, and the SDK's
own spans back when ``traceglass_anthropic`` is disabled. A script that also calls
``traceglass.autolog()`` must not double anything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.instrumentors.anthropic._helpers import message_body
from tests.replay import ReplayServer
from tests.test_auto_instrumentation import OtlpReceiver, _instrument_command, receiver

__all__ = ["receiver"]

pytestmark = pytest.mark.slow

SUBPROCESS_TIMEOUT = 30.0
ANTHROPIC_SCOPE = "traceglass.instrumentors.anthropic"
OLLAMA_SCOPE = "traceglass.instrumentors.ollama"
SDK_SCOPE = "com.anthropic.sdk.python"

APP = textwrap.dedent(
    """
    import os

    import anthropic
    import ollama
    from ollama import chat

    base = os.environ["APP_BASE_URL"]
    hi = [{"role": "user", "content": "Say hi"}]
    client = anthropic.Anthropic(base_url=base, api_key="k", max_retries=0)
    assert client.messages.create(model="claude-app", max_tokens=8, messages=hi).content[0].text == "Hello!"
    assert chat(model="llama-app", messages=hi).message.content == "Hi"  # the module function
    if os.environ.get("APP_AUTOLOG"):
        import traceglass

        traceglass.autolog()
        client.messages.create(model="claude-app", max_tokens=8, messages=hi)
        chat(model="llama-app", messages=hi)
    client.close()
    print("app done")
    """
)

OLLAMA_ANSWER = {"model": "llama-app", "message": {"role": "assistant", "content": "Hi"}, "done": True,
                 "done_reason": "stop", "prompt_eval_count": 7, "eval_count": 2}


def _run(tmp_path: Path, replay: ReplayServer, receiver: OtlpReceiver, calls: int, **extra_env: str) -> str:
    for _ in range(calls):
        replay.add("POST", "/v1/messages", body=message_body())
        replay.add("POST", "/api/chat", body=OLLAMA_ANSWER)
    app = tmp_path / "app.py"
    app.write_text(APP, encoding="utf-8")
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("OTEL_", "TRACEGLASS_", "ANTHROPIC_", "OLLAMA_"))
           and name not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env.update(
        APP_BASE_URL=replay.url(""),
        OLLAMA_HOST=replay.url(""),  # read by the module-level client, at import
        HOME=str(tmp_path),  # autolog's local store, if any, stays in the test's directory
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        OTEL_SERVICE_NAME="zero-code-test",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_OTLP_TIMEOUT="5",
        OTEL_BSP_SCHEDULE_DELAY="50",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    try:
        done = subprocess.run([*_instrument_command(), sys.executable, str(app)], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"opentelemetry-instrument did not finish in {SUBPROCESS_TIMEOUT}s; stderr:\n{exc.stderr}")
    assert done.returncode == 0 and "app done" in done.stdout, f"{done.stdout}\n{done.stderr}"
    assert not receiver.errors, receiver.errors
    assert len(replay.requests) == 2 * calls
    return done.stderr


def _spans(receiver: OtlpReceiver) -> list[tuple[str, str]]:
    return sorted((span.scope, span.name) for span in receiver.spans)


def test_one_span_per_call_although_the_sdk_traces_itself(tmp_path: Path, replay: ReplayServer,
                                                          receiver: OtlpReceiver) -> None:
    stderr = _run(tmp_path, replay, receiver, 1, OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY")

    assert _spans(receiver) == [(ANTHROPIC_SCOPE, "chat claude-app"), (OLLAMA_SCOPE, "chat llama-app")], stderr
    for span in receiver.spans:
        assert span.resource["service.name"] == "zero-code-test"
        assert span.attributes["server.port"] == replay.port
        assert '"content":"Say hi"' in span.attributes["gen_ai.input.messages"]
    # traceglass's span is the one the SDK's trace context names.
    assert all("traceparent" in request.headers for request in replay.requests if request.path == "/v1/messages")


@pytest.mark.parametrize(("disabled", "expected"), [
    ("traceglass_anthropic", [(OLLAMA_SCOPE, "chat llama-app"), (SDK_SCOPE, "anthropic.messages.create")]),
    ("traceglass_ollama", [(ANTHROPIC_SCOPE, "chat claude-app")]),
    ("traceglass_anthropic,traceglass_ollama", [(SDK_SCOPE, "anthropic.messages.create")]),
], ids=["anthropic", "ollama", "both"])
def test_each_instrumentor_disabled_by_its_entry_point_name(disabled: str, expected: list[tuple[str, str]],
                                                            tmp_path: Path, replay: ReplayServer,
                                                            receiver: OtlpReceiver) -> None:
    stderr = _run(tmp_path, replay, receiver, 1, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=disabled)

    # A disabled traceglass_anthropic leaves the SDK's own span: still one span per call.
    assert _spans(receiver) == sorted(expected), stderr


def test_autolog_under_opentelemetry_instrument_doubles_nothing(tmp_path: Path, replay: ReplayServer,
                                                                receiver: OtlpReceiver) -> None:
    stderr = _run(tmp_path, replay, receiver, 2, APP_AUTOLOG="1")

    assert _spans(receiver) == [(ANTHROPIC_SCOPE, "chat claude-app")] * 2 + [(OLLAMA_SCOPE, "chat llama-app")] * 2, \
        stderr
