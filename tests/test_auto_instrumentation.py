"""Zero-code instrumentation: an unmodified openai script run under ``opentelemetry-instrument``.

The script knows nothing of traceglass or OpenTelemetry. ``opentelemetry-instrument`` (with the
opentelemetry-distro configurator) must find our ``opentelemetry_instrumentor`` entry point through the
installed distribution's metadata, pass its ``instruments-any`` dependency check, instrument openai and
export over OTLP/HTTP. Two loopback servers stand in for the outside world: the replay server plays
OpenAI, and a small OTLP/HTTP receiver in this file decodes what the exporter sends.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from tests.replay import ReplayServer

pytestmark = pytest.mark.slow

ENTRY_POINT = "traceglass_openai"
SCOPE = "traceglass.instrumentors.openai"
MODEL = "gpt-4o-mini"
SUBPROCESS_TIMEOUT = 20.0

APP = textwrap.dedent(
    """
    import os

    import openai
    from openai.resources.chat.completions import Completions

    # Not instrumentation code: tells the test whether an instrumentor wrapped the SDK at all.
    print("create is a", type(vars(Completions)["create"]).__name__)
    client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0, timeout=10)
    messages = [{"role": "user", "content": "Say hi"}]
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    assert reply.choices[0].message.content == "Hi there!", reply
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hi there!", text
    client.close()
    print("app done")
    """
)

COMPLETION = {
    "id": "chatcmpl-auto-1",
    "object": "chat.completion",
    "created": 1767225600,
    "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_auto",
    "service_tier": "default",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi there!", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 9,
        "completion_tokens": 3,
        "total_tokens": 12,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
}


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-auto-2",
        "object": "chat.completion.chunk",
        "created": 1767225601,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_auto",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        "usage": None,
    }


STREAM_EVENTS = [
    _chunk({"role": "assistant", "content": "", "refusal": None}),
    _chunk({"content": "Hi"}),
    _chunk({"content": " there!"}),
    _chunk({}, "stop"),
    {
        "id": "chatcmpl-auto-2",
        "object": "chat.completion.chunk",
        "created": 1767225601,
        "model": "gpt-4o-mini-2024-07-18",
        "system_fingerprint": "fp_auto",
        "choices": [],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    },
]


# -- OTLP/HTTP receiver ----------------------------------------------------------------------------


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {pair.key: _value(pair.value) for pair in pairs}


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    scope: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int


@dataclass(frozen=True)
class ReceivedPoint:
    metric: str
    scope: str
    attributes: dict[str, Any]
    count: int
    sum: float


class OtlpReceiver:
    """Accepts OTLP/HTTP protobuf on /v1/traces, /v1/metrics and /v1/logs on 127.0.0.1:<random port>."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.points: list[ReceivedPoint] = []
        self.paths: list[str] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()
        handler = type("_BoundOtlpHandler", (_OtlpHandler,), {"receiver": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def receive(self, path: str, body: bytes) -> bytes:
        with self._lock:
            self.paths.append(path)
            if path == "/v1/traces":
                traces = ExportTraceServiceRequest.FromString(body)
                for resource_spans in traces.resource_spans:
                    resource = _attributes(resource_spans.resource.attributes)
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            self.spans.append(
                                ReceivedSpan(
                                    name=span.name,
                                    scope=scope_spans.scope.name,
                                    kind=span.kind,
                                    attributes=_attributes(span.attributes),
                                    resource=resource,
                                    status_code=span.status.code,
                                )
                            )
                return ExportTraceServiceResponse().SerializeToString()
            if path == "/v1/metrics":
                metrics = ExportMetricsServiceRequest.FromString(body)
                for resource_metrics in metrics.resource_metrics:
                    for scope_metrics in resource_metrics.scope_metrics:
                        for metric in scope_metrics.metrics:
                            if metric.WhichOneof("data") != "histogram":
                                continue
                            for point in metric.histogram.data_points:
                                self.points.append(
                                    ReceivedPoint(
                                        metric=metric.name,
                                        scope=scope_metrics.scope.name,
                                        attributes=_attributes(point.attributes),
                                        count=point.count,
                                        sum=point.sum,
                                    )
                                )
                return ExportMetricsServiceResponse().SerializeToString()
            return b""  # /v1/logs: accepted and ignored (an empty message is a valid response)


class _OtlpHandler(BaseHTTPRequestHandler):
    receiver: OtlpReceiver  # set on the per-server subclass
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        encoding = self.headers.get("Content-Encoding", "").lower()
        try:
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            payload = self.receiver.receive(self.path, body)
            status = 200
        except Exception as exc:  # surfaced by the test through receiver.errors
            self.receiver.errors.append(f"{self.path}: {exc!r}")
            payload, status = b"", 400
        self.send_response(status)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


# -- running the app -------------------------------------------------------------------------------


def _instrument_command() -> list[str]:
    """``opentelemetry-instrument`` of the interpreter running the tests (not whatever PATH finds first)."""
    script = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    if script is not None:
        return [script]
    # Same console-script entry point, for layouts that keep scripts elsewhere.
    return [
        sys.executable,
        "-c",
        "import sys; from opentelemetry.instrumentation.auto_instrumentation import run; "
        "sys.argv[0] = 'opentelemetry-instrument'; run()",
    ]


def _run_app(
    tmp_path: Path, replay: ReplayServer, receiver: OtlpReceiver, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    app = tmp_path / "app.py"
    app.write_text(APP, encoding="utf-8")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("OTEL_", "TRACEGLASS_")) and name not in ("PYTHONPATH", "PYTHONSTARTUP")
    }
    env.update(
        APP_OPENAI_BASE_URL=replay.base_url,
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        OTEL_SERVICE_NAME="auto-test",
        OTEL_TRACES_EXPORTER="otlp",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_LOGS_EXPORTER="none",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_OTLP_TIMEOUT="5",
        OTEL_BSP_SCHEDULE_DELAY="50",
        OTEL_METRIC_EXPORT_INTERVAL="60000",  # metrics are flushed once, at shutdown
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra_env)
    command = [*_instrument_command(), sys.executable, str(app)]
    try:
        result = subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"opentelemetry-instrument did not finish in {SUBPROCESS_TIMEOUT}s; stderr:\n{exc.stderr}")
    assert result.returncode == 0, f"app failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    assert "app done" in result.stdout, result.stdout
    assert not receiver.errors, receiver.errors
    return result


def _serve_two_chat_completions(replay: ReplayServer) -> None:
    # One route, answered in order: the plain call first, then the streamed one.
    replay.add("POST", "/v1/chat/completions", body=COMPLETION, headers={"x-request-id": "req_auto_1"})
    replay.add_sse("/v1/chat/completions", STREAM_EVENTS, headers={"x-request-id": "req_auto_2"})


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as otlp:
        yield otlp


@pytest.fixture(autouse=True)
def _entry_point_installed() -> None:
    names = {
        ep.name
        for ep in importlib.metadata.entry_points(group="opentelemetry_instrumentor")
        if ep.value.startswith("traceglass.")
    }
    assert ENTRY_POINT in names, (
        f"traceglass entry points in this environment: {sorted(names)}; the installed metadata is stale, "
        "re-run `pip install -e . --no-deps`"
    )
    # Without a configurator (opentelemetry-distro) opentelemetry-instrument instruments but exports nothing.
    configurators = [ep.name for ep in importlib.metadata.entry_points(group="opentelemetry_configurator")]
    assert configurators, "no opentelemetry_configurator entry point: install opentelemetry-distro (test extra)"


# -- tests -----------------------------------------------------------------------------------------


def test_opentelemetry_instrument_traces_openai_without_code_changes(
    tmp_path: Path, replay: ReplayServer, receiver: OtlpReceiver
) -> None:
    _serve_two_chat_completions(replay)

    result = _run_app(tmp_path, replay, receiver)

    assert "create is a FunctionWrapper" in result.stdout, result.stdout
    assert [r.json.get("stream", False) for r in replay.requests] == [False, True]
    ours = [span for span in receiver.spans if span.scope == SCOPE]
    assert [span.name for span in ours] == [f"chat {MODEL}"] * 2, (receiver.spans, result.stderr)
    genai = [span for span in receiver.spans if "gen_ai.operation.name" in span.attributes]
    assert genai == ours, "GenAI spans from another instrumentation: the entry point names collide?"

    plain, streamed = sorted(ours, key=lambda span: bool(span.attributes.get("gen_ai.request.stream")))
    for span, response_id in ((plain, "chatcmpl-auto-1"), (streamed, "chatcmpl-auto-2")):
        attrs = span.attributes
        assert span.kind == ProtoSpan.SPAN_KIND_CLIENT
        assert span.status_code != 2, attrs  # not ERROR
        assert span.resource["service.name"] == "auto-test"
        assert span.resource["telemetry.sdk.language"] == "python"
        assert attrs["gen_ai.operation.name"] == "chat"
        assert attrs["gen_ai.provider.name"] == "openai"
        assert attrs["gen_ai.request.model"] == MODEL
        assert attrs["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
        assert attrs["gen_ai.response.id"] == response_id
        assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
        assert attrs["server.address"] == "127.0.0.1"
        assert attrs["server.port"] == replay.port
        assert attrs["gen_ai.usage.input_tokens"] == 9
        assert attrs["gen_ai.usage.output_tokens"] == 3
        # SPAN_ONLY from the environment reached the instrumentor: content is on the span.
        input_messages = json.loads(attrs["gen_ai.input.messages"])
        assert input_messages[0]["role"] == "user"
        assert input_messages[0]["parts"][0]["content"] == "Say hi"
        output_messages = json.loads(attrs["gen_ai.output.messages"])
        assert output_messages[0]["parts"][0]["content"] == "Hi there!"
    assert streamed.attributes["gen_ai.request.stream"] is True
    assert not plain.attributes.get("gen_ai.request.stream")

    # Metrics went through the same pipeline (flushed at interpreter exit).
    points = [point for point in receiver.points if point.scope == SCOPE]
    durations = [p for p in points if p.metric == "gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 2, receiver.points
    assert all(p.attributes["gen_ai.operation.name"] == "chat" for p in durations)
    tokens = [p for p in points if p.metric == "gen_ai.client.token.usage"]
    by_type = {p.attributes["gen_ai.token.type"]: (p.count, p.sum) for p in tokens}
    assert by_type == {"input": (2, 18), "output": (2, 6)}, tokens


def test_disabled_instrumentations_switches_it_off(
    tmp_path: Path, replay: ReplayServer, receiver: OtlpReceiver
) -> None:
    _serve_two_chat_completions(replay)

    result = _run_app(tmp_path, replay, receiver, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=f"requests, {ENTRY_POINT}")

    assert "create is a function" in result.stdout, result.stdout  # skipped, not merely silent
    assert len(replay.requests) == 2  # the app itself ran
    assert [span for span in receiver.spans if span.scope == SCOPE] == [], result.stderr
    assert [span for span in receiver.spans if "gen_ai.operation.name" in span.attributes] == []
    assert [point for point in receiver.points if point.metric.startswith("gen_ai.")] == []
