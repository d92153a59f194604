"""Bad values of traceglass's variables: one clear warning, and the app runs on with the default."""

from __future__ import annotations

import logging

import pytest

import traceglass
from tests.tracking._helpers import read_store
from traceglass._env import CaptureMode, Settings


def test_an_experiment_variable_no_store_can_hold_is_one_warning_and_ignored(
    default_store_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TRACEGLASS_EXPERIMENT", "x" * 300)
    caplog.set_level(logging.DEBUG, logger="traceglass")

    assert traceglass.set_experiment(None) is None
    with traceglass.start_span("work"):
        pass
    traceglass.set_experiment(None)
    traceglass._pipeline.flush()

    warnings = [r for r in caplog.records if r.name == "traceglass" and r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "TRACEGLASS_EXPERIMENT" in warnings[0].getMessage() and "256" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # a setting to fix, not a traceback
    (trace,) = read_store(default_store_url)
    assert trace.info.experiment_name == "Default"


@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_variable_reads_as_unset(
    blank: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("TRACEGLASS_MAX_CONTENT_LENGTH", "TRACEGLASS_FULL_TOOL_DEFINITIONS",
                 "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT", "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"):
        monkeypatch.setenv(name, blank)
    caplog.set_level(logging.DEBUG, logger="traceglass")

    traceglass.configure()
    traceglass.openai.autolog()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert traceglass._config.current().settings == Settings(capture=CaptureMode.SPAN_ONLY)  # autolog's default
