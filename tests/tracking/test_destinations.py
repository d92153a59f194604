"""Where traces go: set_tracking_uri() > TRACEGLASS_TRACKING_URI > OTEL_* settings > the default store."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from traceglass.collector.store import StoreError

import traceglass
from tests.replay import ReplayServer
from tests.test_auto_instrumentation import OtlpReceiver
from tests.tracking._helpers import chat, read_store, span_names
from traceglass._tracking import default_store_url, resolve_destination


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as otlp:
        yield otlp


def _otlp_env(monkeypatch: pytest.MonkeyPatch, receiver: OtlpReceiver) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "tracking-test")


def _flush_all() -> None:
    from opentelemetry import metrics

    traceglass._pipeline.flush()
    meter_provider: Any = metrics.get_meter_provider()
    if hasattr(meter_provider, "force_flush"):
        meter_provider.force_flush()


# -- the default ---------------------------------------------------------------------------------


def test_default_store_is_traceglass_home(home: Path) -> None:
    assert traceglass.get_tracking_uri() == f"sqlite:///{(home / 'traceglass.db').resolve()}"


def test_default_store_without_traceglass_home_is_under_the_user_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACEGLASS_HOME")
    assert default_store_url() == f"sqlite:///{(tmp_path / 'user' / '.traceglass' / 'traceglass.db').resolve()}"


def test_nothing_configured_records_into_the_default_store(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    traceglass.openai.autolog()
    chat(openai_client, replay)
    traceglass._pipeline.flush()

    assert span_names(read_store(default_store_url)) == ["chat gpt-4o-mini"]
    assert isinstance(trace.get_tracer_provider(), traceglass._pipeline.SDKTracerProvider)


# -- TRACEGLASS_TRACKING_URI and set_tracking_uri() ----------------------------------------------------


def test_tracking_uri_variable_names_the_store(
    tmp_path: Path, default_store_url: str, monkeypatch: pytest.MonkeyPatch,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", url)

    traceglass.openai.autolog()
    chat(openai_client, replay)
    df = traceglass.search_traces()

    assert traceglass.get_tracking_uri() == url
    assert list(df["name"]) == ["chat gpt-4o-mini"]
    assert span_names(read_store(url)) == ["chat gpt-4o-mini"]
    assert not Path(default_store_url.removeprefix("sqlite:///")).exists()


def test_set_tracking_uri_wins_over_the_variable_and_switches_mid_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    from_env = f"sqlite:///{tmp_path / 'env.db'}"
    first = f"sqlite:///{tmp_path / 'first.db'}"
    second = f"sqlite:///{tmp_path / 'second.db'}"
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", from_env)

    traceglass.set_tracking_uri(first)
    traceglass.openai.autolog()
    chat(openai_client, replay, "one")
    traceglass.set_tracking_uri(second)  # spans ended so far go to `first`, later ones to `second`
    chat(openai_client, replay, "two")
    traceglass._pipeline.flush()

    assert traceglass.get_tracking_uri() == second
    assert len(read_store(first)) == 1
    assert len(read_store(second)) == 1
    assert not (tmp_path / "env.db").exists()
    traceglass.set_tracking_uri(None)
    assert traceglass.get_tracking_uri() == from_env


@pytest.mark.parametrize("uri", ["mysql://localhost/db", "traces.db", "http://", "ftp://host/x"])
def test_set_tracking_uri_rejects_what_it_cannot_use(uri: str) -> None:
    with pytest.raises(ValueError, match="unsupported tracking URI"):
        traceglass.set_tracking_uri(uri)


def test_a_bad_tracking_uri_variable_is_logged_and_ignored(
    monkeypatch: pytest.MonkeyPatch, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", "mysql://nope")
    with caplog.at_level("WARNING", logger="traceglass"):
        assert traceglass.get_tracking_uri() == f"sqlite:///{(home / 'traceglass.db').resolve()}"
    assert "unsupported tracking URI 'mysql://nope'" in caplog.text
    assert "It is ignored: traces go where they would without it." in caplog.text


def test_a_server_address_sends_spans_over_otlp_http(
    receiver: OtlpReceiver, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    # The OTLP receiver stands in for a traceglass server: /v1/traces, /v1/metrics, /v1/logs.
    traceglass.set_tracking_uri(receiver.endpoint + "/")
    traceglass.set_experiment("remote")
    traceglass.openai.autolog()
    traceglass.openai.autolog(capture_content="SPAN_AND_EVENT")  # again, on the same meter provider
    chat(openai_client, replay)
    _flush_all()
    from opentelemetry import _logs

    _logs.get_logger_provider().force_flush()  # type: ignore[attr-defined]

    [span] = receiver.spans
    assert span.name == "chat gpt-4o-mini"
    assert span.attributes["traceglass.experiment"] == "remote"
    durations = [p for p in receiver.points if p.metric == "gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 1  # recorded once, and flushed by the reader
    assert "/v1/logs" in receiver.paths  # the inference-details event
    assert not receiver.errors
    with pytest.raises(StoreError, match="is it a traceglass server"):  # an OTLP receiver has no query API
        traceglass.search_traces()


# -- the OpenTelemetry settings ----------------------------------------------------------------------


def test_otel_settings_win_over_the_default_store(
    default_store_url: str, monkeypatch: pytest.MonkeyPatch, receiver: OtlpReceiver,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    _otlp_env(monkeypatch, receiver)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")

    traceglass.set_experiment("otel")
    traceglass.openai.autolog()
    chat(openai_client, replay)
    _flush_all()

    assert resolve_destination().kind == "otel"
    [span] = receiver.spans
    assert span.attributes["traceglass.experiment"] == "otel"
    assert span.resource["service.name"] == "tracking-test"
    assert span.resource["deployment.environment"] == "test"
    durations = [p for p in receiver.points if p.metric == "gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 1
    assert not Path(default_store_url.removeprefix("sqlite:///")).exists()


def test_otel_traces_exporter_names_the_exporter(
    monkeypatch: pytest.MonkeyPatch, receiver: OtlpReceiver, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp_proto_http")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", receiver.endpoint + "/v1/traces")

    traceglass.openai.autolog()
    chat(openai_client, replay)
    _flush_all()

    assert [span.name for span in receiver.spans] == ["chat gpt-4o-mini"]
    assert receiver.points == []  # no metrics exporter named, no metrics endpoint: none set up


def test_otel_settings_that_name_no_exporter_say_which_one_once_per_signal(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, receiver: OtlpReceiver,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf ")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "jaeger")

    with caplog.at_level("WARNING", logger="traceglass"):
        traceglass.openai.autolog()
        reply = chat(openai_client, replay)
        _flush_all()

    assert reply.choices[0].message.content == "Hi there!"
    assert [span.name for span in receiver.spans] == ["chat gpt-4o-mini"]  # the valid setting still applies
    assert [(record.getMessage(), record.exc_info) for record in caplog.records] == [
        ("traceglass: cannot build the metrics exporter 'otlp': OTEL_EXPORTER_OTLP_METRICS_PROTOCOL is 'http/json'; "
         "expected grpc or http/protobuf. No metrics are exported through it.", None),
        ("traceglass: cannot build the logs exporter 'jaeger': OTEL_LOGS_EXPORTER names 'jaeger', and no installed "
         "package provides an exporter by that name (entry point group opentelemetry_logs_exporter). No logs are "
         "exported through it.", None),
    ]


def test_set_tracking_uri_wins_over_otel_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: OtlpReceiver,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    _otlp_env(monkeypatch, receiver)
    url = f"sqlite:///{tmp_path / 'explicit.db'}"

    traceglass.set_tracking_uri(url)
    traceglass.openai.autolog()
    chat(openai_client, replay)
    _flush_all()

    assert span_names(read_store(url)) == ["chat gpt-4o-mini"]
    assert receiver.spans == []


def test_a_server_gets_the_auth_token(
    monkeypatch: pytest.MonkeyPatch, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    seen: list[tuple[str, str | None]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        monkeypatch.setenv("TRACEGLASS_AUTH_TOKEN", "s3cret")
        traceglass.set_tracking_uri(f"http://127.0.0.1:{server.server_address[1]}")
        traceglass.openai.autolog()
        chat(openai_client, replay)
        _flush_all()
        traceglass._pipeline._reset()  # while the server listens: the exporters' last export succeeds
    finally:
        server.shutdown()
        server.server_close()

    assert ("/v1/traces", "Bearer s3cret") in seen
    assert ("/v1/metrics", "Bearer s3cret") in seen


# -- a store that cannot be opened ---------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "traceglass" and r.levelno >= logging.WARNING]


def test_a_store_that_cannot_be_opened_is_one_line_and_the_app_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    blocker = tmp_path / "a-file"  # its "directory" cannot be created
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'traces.db'}"
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", url)

    with caplog.at_level("DEBUG", logger="traceglass"):
        assert traceglass.set_experiment("unwritable") is None
        traceglass.openai.autolog()
        reply = chat(openai_client, replay)
        chat(openai_client, replay)
        traceglass._pipeline.flush()

    assert reply.choices[0].message.content == "Hi there!"
    [warning] = _warnings(caplog)  # set_experiment() and the exporter both met it: said once
    assert warning.exc_info is None
    assert warning.getMessage().startswith(f"traceglass: Cannot open the store at {url}: ")
    assert "Traceback" not in caplog.text


def test_a_store_password_never_reaches_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, unused_port: int
) -> None:
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", f"postgresql://tg:s3cret@127.0.0.1:{unused_port}/traces")

    with caplog.at_level("DEBUG", logger="traceglass"):
        traceglass.set_experiment("pg")
        with traceglass.start_span("work"):
            pass
        traceglass._pipeline.flush()

    [warning] = _warnings(caplog)
    assert f"Cannot open the store at postgresql://tg:***@127.0.0.1:{unused_port}/traces" in warning.getMessage()
    assert "s3cret" not in caplog.text


@pytest.mark.slow
def test_a_postgresql_server_that_never_answers_holds_the_app_seconds_not_minutes(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # A listening socket that never accepts: the connection is made (the kernel's backlog) and
    # the database's greeting never comes, as with a host whose firewall drops the traffic.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", f"postgresql://tg@127.0.0.1:{silent.getsockname()[1]}/traces")
    try:
        started = time.monotonic()
        with caplog.at_level("WARNING", logger="traceglass"):
            assert traceglass.set_experiment("pg") is None
        waited = time.monotonic() - started
    finally:
        silent.close()
    assert 5 < waited < 30
    [warning] = _warnings(caplog)
    assert "timeout" in warning.getMessage().lower()
