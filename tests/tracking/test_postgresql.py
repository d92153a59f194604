"""A shared PostgreSQL store as the tracking URI: recorded, found, and read by the CLI."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import traceglass
from tests.postgres import PostgresServer, PostgresUnavailable, postgres_server
from tests.replay import ReplayServer
from tests.tracking._helpers import chat, clean_env, read_store, run_script, serve_openai, span_names
from traceglass.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as error:  # part of the suite: fail, saying how to install it
        pytest.fail(str(error), pytrace=False)


def test_postgresql_tracking_uri(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    postgres.admin("CREATE DATABASE tracking")
    url = postgres.url("tracking")
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", url)

    experiment = traceglass.set_experiment("shared")
    traceglass.openai.autolog()
    chat(openai_client, replay, "stored in postgres")
    df = traceglass.search_traces(experiment_names=["shared"], filter_string="trace.text ILIKE '%IN POSTGRES%'")

    assert experiment is not None
    assert list(df["name"]) == ["chat gpt-4o-mini"]
    assert list(df["experiment_id"]) == [experiment.experiment_id]
    result = CliRunner().invoke(main, ["traces", "export", "--tracking-uri", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert json.loads(line)["info"]["trace_id"] == df["trace_id"][0]


def test_forked_children_record_into_postgresql_too(
    postgres: PostgresServer, tmp_path: Path, replay: ReplayServer
) -> None:
    """Children forked after the store was opened write through connections of their own: the
    parent's, shared, would interleave two processes' transactions on one socket."""
    postgres.admin("CREATE DATABASE forked")
    url = postgres.url("forked")
    serve_openai(replay)
    script = """
        import os, sys
        import openai
        import traceglass

        traceglass.set_experiment("forked")
        traceglass.openai.autolog()

        def calls(count):
            client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
            for _ in range(count):
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
                traceglass.search_traces(return_type="list")  # writes the span now, through the pool

        calls(1)
        children = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                calls(10)
                sys.exit(0)
            children.append(pid)
        calls(10)
        assert all(os.waitpid(pid, 0)[1] == 0 for pid in children)
    """

    result = run_script(tmp_path, script, clean_env(TRACEGLASS_TRACKING_URI=url, HOME=str(tmp_path),
                                                    APP_OPENAI_BASE_URL=replay.url("/v1")))

    assert "Traceback" not in result.stderr, result.stderr
    assert len(read_store(url)) == 41


class _Gate:
    """A local port that refuses connections until opened, then forwards them to `target`: a
    PostgreSQL server that is not up yet when the app starts."""

    def __init__(self, target: PostgresServer) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None

    def open(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.target.host, self.target.port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_spans_recorded_before_the_server_is_up_are_written_once_it_is(postgres: PostgresServer) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from traceglass.exporters import LocalStoreSpanExporter

    postgres.admin("CREATE DATABASE not_up_yet")
    gate = _Gate(postgres)
    url = f"postgresql://{postgres.user}@127.0.0.1:{gate.port}/not_up_yet"
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(LocalStoreSpanExporter(url)))
    tracer = provider.get_tracer("test")
    try:
        tracer.start_span("before").end()  # the connection is refused: kept
        gate.open()
        tracer.start_span("after").end()
    finally:
        provider.shutdown()
        gate.close()

    assert sorted(span_names(read_store(postgres.url("not_up_yet")))) == ["after", "before"]
