"""The ``otel`` and ``instrument`` fixtures, checked without traceglass."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from typing import Any

import pytest
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from tests.otel_capture import OTelCapture


class _RecordingInstrumentor(BaseInstrumentor):
    """Stands in for a traceglass instrumentor: remembers what it was given."""

    received: dict[str, Any] | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return ("openai >= 1.40",)

    def _instrument(self, **kwargs: Any) -> None:
        type(self).received = kwargs

    def _uninstrument(self, **kwargs: Any) -> None:
        type(self).received = None


def test_otel_captures_spans_metrics_and_logs(otel: OTelCapture) -> None:
    tracer = otel.tracer_provider.get_tracer("t")
    with tracer.start_as_current_span("chat gpt-4o", attributes={"gen_ai.operation.name": "chat"}):
        otel.logger_provider.get_logger("t").emit(event_name="gen_ai.choice", body={"index": 0})
    histogram = otel.meter_provider.get_meter("t").create_histogram(
        "gen_ai.client.operation.duration", unit="s"
    )
    histogram.record(0.25, {"gen_ai.operation.name": "chat"})

    assert otel.span().name == "chat gpt-4o"
    (point,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert (point.count, point.sum, dict(point.attributes)) == (1, 0.25, {"gen_ai.operation.name": "chat"})
    assert otel.metric("gen_ai.client.operation.duration").unit == "s"
    (log,) = otel.logs()
    assert log.log_record.event_name == "gen_ai.choice"
    assert log.log_record.span_id == otel.span().context.span_id


def test_span_requires_exactly_one(otel: OTelCapture) -> None:
    with pytest.raises(AssertionError, match="exactly 1"):
        otel.span()


def test_instrument_wires_the_test_providers(otel: OTelCapture, instrument: Callable[..., Any]) -> None:
    instrumentor = instrument(_RecordingInstrumentor, extra=1)

    assert instrumentor.is_instrumented_by_opentelemetry
    assert _RecordingInstrumentor.received == {
        "tracer_provider": otel.tracer_provider,
        "meter_provider": otel.meter_provider,
        "logger_provider": otel.logger_provider,
        "capture_content": "SPAN_ONLY",
        "extra": 1,
    }


def test_instrument_was_undone_and_env_is_clean(instrument: Callable[..., Any]) -> None:
    # Runs after the previous test: its teardown must have uninstrumented the singleton.
    assert not _RecordingInstrumentor().is_instrumented_by_opentelemetry
    assert not [name for name in os.environ if name.startswith("OTEL_INSTRUMENTATION_GENAI_")]
    instrument(_RecordingInstrumentor, capture_content=None)
    assert _RecordingInstrumentor.received is not None
    assert "capture_content" not in _RecordingInstrumentor.received
