"""Fixtures for the tracking experience: autolog(), experiments, destinations, search_traces().

These tests use the process-wide OpenTelemetry providers, as autolog() does. Every test starts
and ends with them unset and with traceglass's pipeline undone: the processors it added are
flushed and stopped, the providers it created shut down, the instrumentors uninstrumented. The
environment is emptied of OTEL_* and TRACEGLASS_* variables, and HOME / TRACEGLASS_HOME point
into the test's tmp_path, so nothing reaches the developer's ~/.traceglass.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import _logs, metrics, trace
from opentelemetry.util._once import Once

import traceglass
from traceglass import _pipeline
from traceglass._autolog import PROVIDERS


def reset_opentelemetry_globals() -> None:
    """Unset the global providers. OpenTelemetry allows setting each only once per process, so
    tests that exercise "first use sets the global provider" must reset these private guards.
    The proxy providers are replaced too: the proxies they handed out earlier would otherwise
    come alive with the next test's provider (an instrumentor's queued metrics included)."""
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None
    trace._PROXY_TRACER_PROVIDER = trace.ProxyTracerProvider()
    metrics_internal = metrics._internal  # type: ignore[attr-defined]
    metrics_internal._METER_PROVIDER_SET_ONCE = Once()
    metrics_internal._METER_PROVIDER = None
    metrics_internal._PROXY_METER_PROVIDER = metrics_internal._ProxyMeterProvider()
    logs_internal = _logs._internal  # type: ignore[attr-defined]
    logs_internal._LOGGER_PROVIDER_SET_ONCE = Once()
    logs_internal._LOGGER_PROVIDER = None
    logs_internal._PROXY_LOGGER_PROVIDER = logs_internal.ProxyLoggerProvider()


def _undo() -> None:
    for provider in PROVIDERS.values():
        instrumentor = provider.load()()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    _pipeline._reset()
    reset_opentelemetry_globals()
    traceglass.configure()  # a fresh tracer for the manual API (its proxy bound the old provider)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TRACEGLASS_HOME for this test (the default store is home / "traceglass.db")."""
    for name in list(os.environ):
        if name.startswith(("OTEL_", "TRACEGLASS_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    traceglass_home = tmp_path / "traceglass-home"
    monkeypatch.setenv("TRACEGLASS_HOME", str(traceglass_home))
    _undo()
    yield traceglass_home
    _undo()


@pytest.fixture
def default_store_url(home: Path) -> str:
    return f"sqlite:///{(home / 'traceglass.db').resolve()}"


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
