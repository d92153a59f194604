"""The manual API on its own: a `@trace`'d function is recorded with no autolog() and no setup, as
users of MLflow's `@mlflow.trace` expect; an application's own OpenTelemetry setup is left alone."""

from __future__ import annotations

from pathlib import Path

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import traceglass
from tests.tracking._helpers import clean_env, read_store, run_script


def test_a_traced_function_alone_is_recorded_in_the_local_store(tmp_path: Path) -> None:
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"))
    script = """
        import traceglass

        @traceglass.trace
        def answer(question):
            with traceglass.start_span("lookup"):
                return "42"

        answer("meaning of life")
        [found] = traceglass.search_traces(return_type="list")
        print(found.name, found.span_count, found.trace_id == traceglass.get_last_active_trace_id())
    """

    result = run_script(tmp_path, script, env)

    assert result.stdout.split() == ["answer", "2", "True"]
    [stored] = read_store(f"sqlite:///{tmp_path / 'tg' / 'traceglass.db'}")
    assert sorted(span.name for span in stored.spans) == ["answer", "lookup"]


def test_the_tracking_uri_is_where_a_traced_function_alone_goes(tmp_path: Path) -> None:
    store = tmp_path / "chosen.db"
    traceglass.set_tracking_uri(f"sqlite:///{store}")

    @traceglass.trace
    def step() -> int:
        return 1

    step()

    [found] = traceglass.search_traces(return_type="list")  # flushes first
    assert found.name == "test_the_tracking_uri_is_where_a_traced_function_alone_goes.<locals>.step"
    assert [t.info.trace_id for t in read_store(f"sqlite:///{store}")] == [found.trace_id]


def test_an_application_s_own_provider_is_used_as_it_is(home: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    try:
        with traceglass.start_span("mine"):
            pass

        assert [span.name for span in exporter.get_finished_spans()] == ["mine"]
        assert [type(p).__name__ for p in provider._active_span_processor._span_processors] == [
            "SimpleSpanProcessor"]  # nothing of traceglass's added: the app did not ask for it
        assert not (home / "traceglass.db").exists()
    finally:
        provider.shutdown()


def test_a_provider_given_to_configure_is_used_as_it_is(home: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traceglass.configure(tracer_provider=provider)

    with traceglass.start_span("configured"):
        pass

    assert [span.name for span in exporter.get_finished_spans()] == ["configured"]
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)  # no global installed
    assert not (home / "traceglass.db").exists()
