"""The pipeline autolog() sets up: created once, added to an existing provider, never doubled."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traceglass.exporters import LocalStoreSpanExporter

import traceglass
from tests.replay import ReplayServer
from tests.test_auto_instrumentation import OtlpReceiver, _instrument_command
from tests.tracking._helpers import chat, clean_env, read_store, run_script, serve_openai, span_names
from traceglass._active import LastTraceSpanProcessor
from traceglass._experiment import ExperimentSpanProcessor
from traceglass._pipeline import DestinationSpanProcessor


@pytest.fixture
def app_provider() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """The application's own SDK provider, made global before traceglass is used."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    yield provider, exporter
    provider.shutdown()


def _processors(provider: TracerProvider) -> tuple[Any, ...]:
    return provider._active_span_processor._span_processors


def test_first_use_creates_and_installs_a_provider_once() -> None:
    traceglass.set_experiment("a")
    provider = trace.get_tracer_provider()
    traceglass.openai.autolog()
    traceglass.anthropic.autolog()
    traceglass.set_experiment("b")

    assert trace.get_tracer_provider() is provider
    assert isinstance(provider, TracerProvider)
    kinds = [type(p) for p in _processors(provider)]
    assert kinds == [ExperimentSpanProcessor, LastTraceSpanProcessor, DestinationSpanProcessor]


def test_an_existing_provider_gets_our_processors_not_a_replacement(
    app_provider: tuple[TracerProvider, InMemorySpanExporter], default_store_url: str,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    provider, exporter = app_provider
    traceglass.set_experiment("mine")
    traceglass.openai.autolog()
    traceglass.openai.autolog()  # twice: nothing more is added
    chat(openai_client, replay)
    chat(openai_client, replay)
    traceglass._pipeline.flush()

    assert trace.get_tracer_provider() is provider
    assert [type(p) for p in _processors(provider)] == [
        SimpleSpanProcessor, ExperimentSpanProcessor, LastTraceSpanProcessor, DestinationSpanProcessor,
    ]
    # The app's exporter sees each call once, stamped with the experiment...
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini"] * 2
    assert {s.attributes["traceglass.experiment"] for s in spans} == {"mine"}
    # ...and so does the store.
    assert span_names(read_store(default_store_url)) == ["chat gpt-4o-mini"] * 2


def test_a_provider_already_exporting_to_the_store_gets_no_second_exporter(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(LocalStoreSpanExporter()))  # the default store
    trace.set_tracer_provider(provider)
    try:
        traceglass.openai.autolog()
        chat(openai_client, replay)

        [_, _, _, ours] = _processors(provider)
        assert ours._delegates == ()  # the store is the provider's own destination already
        assert span_names(read_store(default_store_url)) == ["chat gpt-4o-mini"]
    finally:
        provider.shutdown()


def test_a_provider_exporting_where_otel_says_gets_no_second_exporter(
    monkeypatch: pytest.MonkeyPatch, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    """As under opentelemetry-instrument: the provider already exports over OTLP to the endpoint
    the environment names; the receiver must get each span once."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    with OtlpReceiver() as receiver:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
        provider = TracerProvider(shutdown_on_exit=False)
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        try:
            traceglass.set_experiment("otel")
            traceglass.openai.autolog()
            chat(openai_client, replay)
            traceglass._pipeline.flush()
        finally:
            provider.shutdown()
            traceglass._pipeline._reset()  # while the receiver listens (metrics are exported at shutdown)

        assert [s.name for s in receiver.spans] == ["chat gpt-4o-mini"]
        assert receiver.spans[0].attributes["traceglass.experiment"] == "otel"


def test_autolog_twice_wraps_the_sdk_once(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    from openai.resources.chat.completions import Completions
    from wrapt import FunctionWrapper

    traceglass.openai.autolog()
    traceglass.openai.autolog(capture_content=False)
    traceglass.autolog()

    create = vars(Completions)["create"]
    assert isinstance(create, FunctionWrapper)
    assert not isinstance(create.__wrapped__, FunctionWrapper)
    chat(openai_client, replay)
    traceglass._pipeline.flush()
    assert span_names(read_store(default_store_url)) == ["chat gpt-4o-mini"]


def test_setup_failure_is_logged_and_the_app_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_client: Callable[..., Any], replay: ReplayServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    traceglass.set_tracking_uri(f"sqlite:///{blocker / 'traceglass.db'}")  # cannot be created

    with caplog.at_level("WARNING", logger="traceglass"):
        assert traceglass.set_experiment("x") is None
        traceglass.openai.autolog()
        reply = chat(openai_client, replay)
        traceglass._pipeline.flush()

    assert reply.choices[0].message.content == "Hi there!"
    assert "The application is not affected" in caplog.text


# -- opentelemetry-instrument with the traceglass exporter --------------------------------------------


@pytest.mark.slow
def test_opentelemetry_instrument_with_the_traceglass_exporter_records_locally(
    tmp_path: Path, replay: ReplayServer
) -> None:
    names = {ep.name for ep in importlib.metadata.entry_points(group="opentelemetry_traces_exporter")}
    assert "traceglass" in names, "stale metadata: re-run `pip install -e . --no-deps`"
    serve_openai(replay)
    app = """
        import os
        import openai

        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        if os.environ.get("ALSO_AUTOLOG"):
            import traceglass

            traceglass.openai.autolog()  # on top of opentelemetry-instrument: no second exporter
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "again"}])
    """
    for also in ("", "1"):
        home = tmp_path / f"tg{also}"
        env = clean_env(
            HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(home), TRACEGLASS_EXPERIMENT="zero-code",
            APP_OPENAI_BASE_URL=replay.url("/v1"), ALSO_AUTOLOG=also, OTEL_TRACES_EXPORTER="traceglass",
            OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none", OTEL_SERVICE_NAME="zero-code-app",
            OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT="SPAN_ONLY",
        )

        result = run_script(tmp_path, app, env, command=_instrument_command())

        traces = read_store(f"sqlite:///{home / 'traceglass.db'}")
        assert span_names(traces) == ["chat gpt-4o-mini"] * (2 if also else 1), result.stderr
        assert {t.info.experiment_name for t in traces} == {"zero-code"}
        assert {t.spans[0].resource_attributes["service.name"] for t in traces} == {"zero-code-app"}
        assert "Traceback" not in result.stderr, result.stderr


@pytest.mark.slow
def test_autolog_under_opentelemetry_instrument_exports_each_span_once(tmp_path: Path, replay: ReplayServer) -> None:
    serve_openai(replay)
    app = """
        import os
        import openai
        import traceglass

        traceglass.set_experiment("instrumented")
        traceglass.openai.autolog()
        traceglass.autolog()
        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    """
    with OtlpReceiver() as receiver:
        env = clean_env(
            HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"), APP_OPENAI_BASE_URL=replay.url("/v1"),
            OTEL_TRACES_EXPORTER="otlp", OTEL_METRICS_EXPORTER="otlp", OTEL_LOGS_EXPORTER="none",
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_METRIC_EXPORT_INTERVAL="60000", OTEL_SERVICE_NAME="instrumented-app",
        )

        result = run_script(tmp_path, app, env, command=_instrument_command())

    [span] = [s for s in receiver.spans if s.name == "chat gpt-4o-mini"]
    assert span.attributes["traceglass.experiment"] == "instrumented"
    assert "gen_ai.input.messages" in span.attributes  # autolog's content default
    assert span.resource["service.name"] == "instrumented-app"
    durations = [p for p in receiver.points if p.metric == "gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 1, result.stderr
    assert not (tmp_path / "tg").exists()  # the OTEL settings chose the destination: no local store


def test_a_script_sends_its_metrics_once_at_exit(tmp_path: Path, replay: ReplayServer) -> None:
    """autolog() exporting where the OTEL settings say: the metric reader's own shutdown sends the
    last points, so exit sends them once (twice used to double the exporter's retries against an
    endpoint that is down, and the points a backend received)."""
    serve_openai(replay)
    app = """
        import os
        import openai
        import traceglass

        traceglass.openai.autolog()
        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    """
    with OtlpReceiver() as receiver:
        env = clean_env(
            HOME=str(tmp_path / "user"), APP_OPENAI_BASE_URL=replay.url("/v1"),
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_METRIC_EXPORT_INTERVAL="60000",
        )

        result = run_script(tmp_path, app, env)

    assert receiver.paths.count("/v1/metrics") == 1, result.stderr
    durations = [p for p in receiver.points if p.metric == "gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 1
    assert [s.name for s in receiver.spans] == ["chat gpt-4o-mini"]


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_multiprocessing_child_sends_its_metrics(tmp_path: Path, replay: ReplayServer, start_method: str) -> None:
    """A forked child ends without the SDK's exit hooks; a spawned one runs them. Both send the
    metric points of their calls once."""
    serve_openai(replay)
    app = """
        import multiprocessing
        import os
        import openai
        import traceglass

        def call():
            traceglass.openai.autolog()
            client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

        if __name__ == "__main__":
            child = multiprocessing.get_context(os.environ["START_METHOD"]).Process(target=call)
            child.start()
            child.join()
            assert child.exitcode == 0
            call()
    """
    with OtlpReceiver() as receiver:
        env = clean_env(
            HOME=str(tmp_path / "user"), APP_OPENAI_BASE_URL=replay.url("/v1"), START_METHOD=start_method,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf", OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_METRIC_EXPORT_INTERVAL="60000",
        )

        result = run_script(tmp_path, app, env)

    durations = [p for p in receiver.points if p.metric == "gen_ai.client.operation.duration"]
    assert sum(p.count for p in durations) == 2, (receiver.paths, result.stderr)
    assert receiver.paths.count("/v1/metrics") == 2
