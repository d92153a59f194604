"""Shared fixtures: replay server, in-memory OpenTelemetry providers, SDK clients, instrumentation.

Everything is function scoped except the replay server's socket, which is started once per session
and reset before every test. No fixture sets the global OpenTelemetry providers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from traceglass.collector.store import Store

from tests.otel_capture import OTelCapture
from tests.postgres import (
    PostgresServer,
    PostgresUnavailable,
    postgres_database_url,
    postgres_server,
    require_postgres,
)
from tests.replay import ReplayServer

# Settings a developer may have exported that would change what the instrumentation records.
_ENV_PREFIXES = ("OTEL_INSTRUMENTATION_GENAI_",)
_ENV_NAMES = ("OTEL_SEMCONV_STABILITY_OPT_IN",)


@pytest.fixture(scope="session")
def _session_traceglass_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("traceglass-home"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, _session_traceglass_home: str) -> None:
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES) or name in _ENV_NAMES:
            monkeypatch.delenv(name)
    # A span of the manual API with nothing set up records into the default store: never the
    # developer's own (tests that look at the default store set their own home).
    monkeypatch.setenv("TRACEGLASS_HOME", _session_traceglass_home)
    # httpx honours HTTP(S)_PROXY for every host, loopback included; keep our traffic direct.
    for var in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(var)
        monkeypatch.setenv(var, f"{current},127.0.0.1" if current else "127.0.0.1")


@pytest.fixture(scope="session")
def _replay_server() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        yield server


@pytest.fixture
def replay(_replay_server: ReplayServer) -> Iterator[ReplayServer]:
    """The replay server, emptied for this test.

    A request that matched no registered response fails the test at teardown (it got a 501, which
    could otherwise pass for a provider error). Clear ``replay.unmatched`` if that was intended.
    """
    _replay_server.reset()
    yield _replay_server
    unmatched = [f"{r.method} {r.path}" for r in _replay_server.unmatched]
    _replay_server.reset()
    if unmatched:
        pytest.fail(f"requests with no registered replay response: {unmatched}")


@pytest.fixture
def otel() -> Iterator[OTelCapture]:
    capture = OTelCapture()
    yield capture
    capture.shutdown()


def _client_factory(
    replay: ReplayServer, build: Callable[[bool, dict[str, Any]], Any], default_async: bool
) -> Iterator[Callable[..., Any]]:
    """Yield ``make_client(is_async=default_async, **kw)``; closes the sync clients afterwards.

    Async clients are not closed here: their pooled connections belong to the event loop that used
    them, which is gone by teardown. Create them inside the coroutine and use ``async with``.
    """
    sync_clients: list[Any] = []

    def make_client(is_async: bool = default_async, **kw: Any) -> Any:
        client = build(is_async, kw)
        if not is_async:
            sync_clients.append(client)
        return client

    yield make_client
    for client in sync_clients:
        client.close()


def _openai(replay: ReplayServer) -> Callable[[bool, dict[str, Any]], Any]:
    def build(is_async: bool, kw: dict[str, Any]) -> Any:
        import openai

        # max_retries=0: a replayed error must surface once, not after backoff sleeps.
        options = {"base_url": replay.url("/v1"), "api_key": "test-key", "max_retries": 0, **kw}
        return openai.AsyncOpenAI(**options) if is_async else openai.OpenAI(**options)

    return build


@pytest.fixture
def openai_client(replay: ReplayServer) -> Iterator[Callable[..., Any]]:
    """``make_client(is_async=False, **kw)`` -> openai.OpenAI (or AsyncOpenAI) aimed at the replay server."""
    yield from _client_factory(replay, _openai(replay), default_async=False)


@pytest.fixture
def async_openai_client(replay: ReplayServer) -> Iterator[Callable[..., Any]]:
    """Same as ``openai_client`` but ``is_async`` defaults to True."""
    yield from _client_factory(replay, _openai(replay), default_async=True)


@pytest.fixture
def anthropic_client(replay: ReplayServer) -> Iterator[Callable[..., Any]]:
    """``make_client(is_async=False, **kw)`` -> anthropic.Anthropic / AsyncAnthropic (paths /v1/...)."""

    def build(is_async: bool, kw: dict[str, Any]) -> Any:
        import anthropic

        options = {"base_url": replay.url(""), "api_key": "test-key", "max_retries": 0, **kw}
        return anthropic.AsyncAnthropic(**options) if is_async else anthropic.Anthropic(**options)

    yield from _client_factory(replay, build, default_async=False)


@pytest.fixture
def ollama_client(replay: ReplayServer) -> Iterator[Callable[..., Any]]:
    """``make_client(is_async=False, **kw)`` -> ollama.Client / AsyncClient (paths /api/...)."""

    def build(is_async: bool, kw: dict[str, Any]) -> Any:
        import ollama

        options = {"host": replay.url(""), **kw}
        return ollama.AsyncClient(**options) if is_async else ollama.Client(**options)

    yield from _client_factory(replay, build, default_async=False)


@pytest.fixture
def instrument(otel: OTelCapture) -> Iterator[Callable[..., Any]]:
    """``instrument(instrumentor_cls=None, capture_content="SPAN_ONLY", **kw)`` -> the instrumentor.

    Defaults to traceglass's OpenAIInstrumentor, wired to the ``otel`` providers; uninstrumented at
    teardown. ``capture_content=None`` leaves the argument out (to test env/default handling).
    """
    active: list[Any] = []

    def _instrument(
        instrumentor_cls: type[Any] | None = None, capture_content: str | None = "SPAN_ONLY", **kw: Any
    ) -> Any:
        if instrumentor_cls is None:
            # Imported lazily so this conftest loads even before the package exists or if it is broken.
            from traceglass.instrumentors.openai import OpenAIInstrumentor

            instrumentor_cls = OpenAIInstrumentor
        instrumentor = instrumentor_cls()
        # BaseInstrumentor is a per-class singleton: a leak from an earlier test would make
        # instrument() a silent no-op bound to that test's providers.
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
        options: dict[str, Any] = {
            "tracer_provider": otel.tracer_provider,
            "meter_provider": otel.meter_provider,
            "logger_provider": otel.logger_provider,
            # Otherwise a dependency conflict is only logged and the test sees no telemetry.
            "raise_exception_on_conflict": True,
        }
        if capture_content is not None:
            options["capture_content"] = capture_content
        options.update(kw)
        instrumentor.instrument(**options)
        active.append(instrumentor)
        return instrumentor

    yield _instrument
    for instrumentor in reversed(active):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


# --- PostgreSQL: a throwaway server started once per session (tests/postgres.py). When its
# binaries are missing, the tests that need it fail saying how to install them: they are part of
# the suite, not optional.

_TEMPLATE = "traceglass_template"


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresServer | PostgresUnavailable]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as error:
        yield error  # reported by each test that needs the server, as a failure


@pytest.fixture(scope="session")
def _postgres_template(_postgres: PostgresServer | PostgresUnavailable) -> str:
    server = require_postgres(_postgres)
    server.admin(f"CREATE DATABASE {_TEMPLATE}")
    Store.open(server.url(_TEMPLATE)).close()
    return _TEMPLATE


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest, _postgres: PostgresServer | PostgresUnavailable) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database (dropped after the test)."""
    yield from postgres_database_url(require_postgres(_postgres), template=None)


@pytest.fixture
def postgres_store_url(_postgres: PostgresServer | PostgresUnavailable, _postgres_template: str) -> Iterator[str]:
    """URL of a migrated, empty PostgreSQL store private to the test (dropped afterwards)."""
    yield from postgres_database_url(require_postgres(_postgres), template=_postgres_template)
