"""Fixtures of the semconv core tests (helpers: semconv_kit.py; the official model: semconv_spec.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import traceglass.semconv._guard as guard
from semconv_kit import Pipelines

from traceglass._env import MAX_CONTENT_LENGTH


@pytest.fixture(autouse=True)
def _fresh_guard_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard logs the first failure of each site at WARNING, then DEBUG, process-wide: start clean.
    monkeypatch.setattr(guard, "_reported", set())
    # tests/conftest.py clears OTEL_INSTRUMENTATION_GENAI_*; this one is ours.
    monkeypatch.delenv(MAX_CONTENT_LENGTH, raising=False)


@pytest.fixture
def kit() -> Iterator[Pipelines]:
    pipelines = Pipelines()
    yield pipelines
    pipelines.shutdown()


@pytest.fixture
def tg_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog recording the `traceglass` logger from DEBUG up."""
    caplog.set_level(logging.DEBUG, logger="traceglass")
    return caplog
