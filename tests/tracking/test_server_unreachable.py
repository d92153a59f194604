"""A traceglass server that is not there, refuses, or answers an error: one line, a prompt exit.

The app never sees an exception; each failure is one line on the `traceglass` logger naming the
server and the reason (never the token), not the exporter's retry messages; at exit the last
batches get one attempt, not the exporter's 10 s of retries. While the app runs, the exporter's
retries stay: a server restarted within a few seconds loses no span.
"""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.replay import ReplayServer
from tests.tracking._helpers import SUBPROCESS_TIMEOUT, clean_env, run_script, serve_openai
from traceglass import _server_export
from traceglass._destinations import exporter_identity

TOKEN = "do-not-print-me"

# Every signal: three traced calls and a chat completion (a span, its metrics and, with
# SPAN_AND_EVENT, its inference-details event), all sent when the app exits.
APP = """
    import os
    import time

    import openai
    import traceglass

    traceglass.set_tracking_uri(os.environ["SERVER"])
    traceglass.set_experiment("x")
    traceglass.openai.autolog(capture_content="SPAN_AND_EVENT")

    @traceglass.trace
    def double(x):
        return x * 2

    results = [double(i) for i in range(3)]
    client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])
    print(results, reply.choices[0].message.content)
    print("done at", time.time(), flush=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_app(tmp_path: Path, replay: ReplayServer, server: str, **env: str) -> tuple[list[str], float]:
    """Run APP against `server`: (the lines of its stderr, seconds from its last line to its exit)."""
    serve_openai(replay)
    result = run_script(tmp_path, APP, clean_env(HOME=str(tmp_path / "user"), SERVER=server,
                                                 APP_OPENAI_BASE_URL=replay.url("/v1"), **env))
    exited = time.time()
    assert "[0, 2, 4] Hi there!" in result.stdout  # the app ran, and got its results
    done = float(result.stdout.split("done at ")[1])
    return result.stderr.splitlines(), exited - done


# -- (a) nothing listens ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_server_that_is_not_running_is_one_line_and_a_prompt_exit(
    tmp_path: Path, replay: ReplayServer, unused_port: int
) -> None:
    server = f"http://127.0.0.1:{unused_port}"

    lines, exit_delay = _run_app(tmp_path, replay, server)

    assert lines == [
        f"traceglass: could not send 4 spans to the traceglass server at {server} (connection refused); they "
        "were not recorded. Is `traceglass server` running there?"
    ]  # the metrics and the event met the same refusal: DEBUG only
    assert exit_delay < 2.0  # was 20 s and more: 10 s of retries per signal


# -- (b) a server that answers an error ------------------------------------------------------------


class _Answering:
    """An HTTP server answering every request with one status; it records the paths asked."""

    def __init__(self, status: int) -> None:
        self.paths: list[str] = []
        self.authorizations: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.paths.append(self.path)
                outer.authorizations.append(self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@pytest.fixture
def answering() -> Iterator[type[_Answering]]:
    servers: list[_Answering] = []

    class Tracked(_Answering):
        def __init__(self, status: int) -> None:
            super().__init__(status)
            servers.append(self)

    yield Tracked
    for server in servers:
        server.close()


@pytest.mark.slow
@pytest.mark.parametrize(("status", "token", "reason"), [
    (401, TOKEN, "it answered HTTP 401 Unauthorized: the token in TRACEGLASS_AUTH_TOKEN is not the server's); "
                 "they were not recorded. Set TRACEGLASS_AUTH_TOKEN to the token the server was started with."),
    (401, None, "it answered HTTP 401 Unauthorized: it requires a token); they were not recorded. "
                "Set TRACEGLASS_AUTH_TOKEN to the token the server was started with."),
    (404, None, "it answered HTTP 404 Not Found); they were not recorded. Is that the address of a traceglass "
                "server?"),
    (503, None, "it answered HTTP 503 Service Unavailable: it is busy or stopping); they were not recorded."),
], ids=["401-wrong-token", "401-no-token", "404", "503"])
def test_a_server_answering_an_error_is_one_line_and_a_prompt_exit(
    tmp_path: Path, replay: ReplayServer, answering: type[_Answering], status: int, token: str | None, reason: str
) -> None:
    server = answering(status)

    lines, exit_delay = _run_app(tmp_path, replay, server.url, **({"TRACEGLASS_AUTH_TOKEN": token} if token else {}))

    assert lines == [f"traceglass: could not send 4 spans to the traceglass server at {server.url} ({reason}"]
    assert exit_delay < 2.0
    assert server.paths.count("/v1/traces") == 1  # at exit, one attempt: 503 is not retried for seconds
    assert {"/v1/metrics", "/v1/logs"} <= set(server.paths)
    if token:
        assert set(server.authorizations) == {f"Bearer {token}"}
        assert all(token not in line for line in lines)


# -- (c) a server restarted while the app runs ----------------------------------------------------


class _Receiver:
    """OTLP/HTTP spans on a fixed port, which can be stopped and started again (a restart)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.names: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        names = self.names

        class Handler(BaseHTTPRequestHandler):  # HTTP/1.0: each connection closes after its answer
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest.FromString(body)
                    names.extend(span.name for resource in request.resource_spans
                                 for scope in resource.scope_spans for span in scope.spans)
                payload = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def wait_for(self, count: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while len(self.names) < count and time.monotonic() < deadline:
            time.sleep(0.05)


RESTART_APP = """
    import os
    import sys

    import traceglass

    traceglass.set_tracking_uri(os.environ["SERVER"])
    traceglass.set_experiment("restart")

    @traceglass.trace
    def step(i):
        return i

    step(0)
    print("first", flush=True)
    sys.stdin.readline()  # the server is down now
    step(1)
    step(2)
    print("second", flush=True)
    sys.stdin.readline()  # the spans arrived: exit
"""


@pytest.mark.slow
def test_a_server_restarted_while_the_app_runs_loses_no_span(tmp_path: Path) -> None:
    receiver = _Receiver(_free_port())
    receiver.start()
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(RESTART_APP), encoding="utf-8")
    env = clean_env(HOME=str(tmp_path / "user"), SERVER=f"http://127.0.0.1:{receiver.port}",
                    OTEL_BSP_SCHEDULE_DELAY="100")
    app = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert app.stdin is not None and app.stdout is not None
    try:
        assert app.stdout.readline() == "first\n"
        receiver.wait_for(1, 10)
        assert receiver.names == ["step"]

        receiver.stop()
        app.stdin.write("go on\n")
        app.stdin.flush()
        assert app.stdout.readline() == "second\n"
        time.sleep(2)  # the exporter's first attempts are refused; its retries go on
        receiver.start()
        receiver.wait_for(3, 12)

        app.stdin.write("exit\n")
        app.stdin.flush()
        _, stderr = app.communicate(timeout=SUBPROCESS_TIMEOUT)
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
        receiver.stop()

    assert app.returncode == 0
    assert receiver.names == ["step", "step", "step"]  # each once, none lost
    assert stderr == ""  # retries that end well say nothing


# -- the reasons, in process ------------------------------------------------------------------------


def _spans(count: int) -> list[ReadableSpan]:
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("test")
    spans = []
    for i in range(count):
        span = tracer.start_span(f"span {i}")
        span.end()
        spans.append(span)  # type: ignore[arg-type]
    return spans  # type: ignore[return-value]


def _send_once(base: str, count: int = 2) -> SpanExportResult:
    """Export `count` spans to `base` through a finished exporter (one attempt, as at exit)."""
    exporter = _server_export.span_exporter(base)
    exporter.finish()  # type: ignore[attr-defined]
    try:
        return exporter.export(_spans(count))
    finally:
        exporter.shutdown()


def _traceglass_lines(caplog: pytest.LogCaptureFixture, level: int = logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "traceglass" and r.levelno >= level]


def test_an_unknown_host_is_named(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        assert _send_once("http://no-such-host.invalid:5000") == SpanExportResult.FAILURE

    assert _traceglass_lines(caplog) == [
        "traceglass: could not send 2 spans to the traceglass server at http://no-such-host.invalid:5000 (cannot "
        "resolve the host name no-such-host.invalid); they were not recorded. Is the host name right?"
    ]
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING]


def test_https_to_a_plain_http_port_is_named(caplog: pytest.LogCaptureFixture, answering: type[_Answering]) -> None:
    server = answering(200)
    base = server.url.replace("http://", "https://")

    with caplog.at_level(logging.WARNING):
        assert _send_once(base) == SpanExportResult.FAILURE

    [line] = _traceglass_lines(caplog)
    assert f"at {base} (TLS: wrong version number)" in line
    assert line.endswith("Does the server speak https on that port?")


@pytest.fixture
def self_signed_https(tmp_path: Path) -> Iterator[str]:
    """The address of an https server whose certificate nobody signed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    server = _Answering(200)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server._httpd.socket = context.wrap_socket(server._httpd.socket, server_side=True)
    try:
        yield server.url.replace("http://", "https://")
    finally:
        server.close()


def test_a_certificate_that_does_not_verify_is_named(
    caplog: pytest.LogCaptureFixture, self_signed_https: str
) -> None:
    with caplog.at_level(logging.WARNING):
        assert _send_once(self_signed_https) == SpanExportResult.FAILURE

    [line] = _traceglass_lines(caplog)
    assert f"at {self_signed_https} (TLS: self-signed certificate); they were not recorded." in line
    assert "OTEL_EXPORTER_OTLP_CERTIFICATE" in line


def test_one_warning_per_outage_and_a_line_when_the_server_is_back(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, unused_port: int
) -> None:
    # While the app runs: the exporter's own retries, within its timeout (short here).
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0.3")
    base = f"http://127.0.0.1:{unused_port}"
    exporter = _server_export.span_exporter(base)
    receiver = _Receiver(unused_port)
    try:
        with caplog.at_level(logging.DEBUG):
            assert exporter.export(_spans(2)) == SpanExportResult.FAILURE
            assert exporter.export(_spans(3)) == SpanExportResult.FAILURE
            receiver.start()
            assert exporter.export(_spans(1)) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
        receiver.stop()

    refused = (f"to the traceglass server at {base} (connection refused); they were not recorded. Is `traceglass "
               "server` running there?")
    assert _traceglass_lines(caplog) == [f"traceglass: could not send 2 spans {refused}"]
    assert f"traceglass: could not send 3 spans {refused}" in _traceglass_lines(caplog, logging.DEBUG)
    assert _traceglass_lines(caplog, logging.INFO)[-1] == (
        f"traceglass: the traceglass server at {base} accepts telemetry again; 5 spans could not be sent before "
        "that and were not recorded.")
    # The exporter's own retry messages went to DEBUG, under traceglass.
    assert not [r for r in caplog.records if r.name.startswith("opentelemetry") and r.levelno >= logging.WARNING]
    assert any("says: Failed to export spans batch" in line for line in _traceglass_lines(caplog, logging.DEBUG))


def test_other_exporters_keep_their_own_messages(caplog: pytest.LogCaptureFixture, unused_port: int) -> None:
    """An exporter traceglass did not build (e.g. from OTEL_* settings) logs as it always does."""
    _server_export.span_exporter(f"http://127.0.0.1:{unused_port}").shutdown()  # the log filter is in place
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{unused_port}/v1/traces", timeout=0.3)
    try:
        with caplog.at_level(logging.WARNING):
            assert exporter.export(_spans(1)) == SpanExportResult.FAILURE
    finally:
        exporter.shutdown()

    assert [r.getMessage() for r in caplog.records if r.name.startswith("opentelemetry.exporter")] == [
        "Failed to export spans batch due to timeout, max retries or shutdown."]
    assert _traceglass_lines(caplog) == []


def test_a_servers_exporter_is_the_sdks_otlp_exporter_for_deduplication() -> None:
    ours = _server_export.span_exporter("http://127.0.0.1:5999")
    theirs = OTLPSpanExporter(endpoint="http://127.0.0.1:5999/v1/traces")
    try:
        assert isinstance(ours, OTLPSpanExporter)
        assert exporter_identity(ours) == exporter_identity(theirs)
    finally:
        ours.shutdown()
        theirs.shutdown()


def test_the_exporter_still_has_the_shutdown_event_exit_relies_on() -> None:
    """finish() stops the exporter's retries through its client's shutdown event (as shutdown()
    does): without it exit would wait out the retries again."""
    for build in (_server_export.span_exporter, _server_export.metric_exporter, _server_export.log_exporter):
        exporter = build("http://127.0.0.1:5999")
        try:
            [event] = exporter._retry_stops()  # type: ignore[attr-defined]
            assert not event.is_set()
            exporter.finish()  # type: ignore[attr-defined]
            assert event.is_set()
        finally:
            exporter.shutdown()
