"""Real instrumented OpenAI SDK calls (replayed over loopback HTTP) and the Prometheus names their
metrics take. Shared by the dashboard checks and the Prometheus scrape tests, so both look at
what traceglass really emits rather than at a list written by hand."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import openai
import pytest
from traceglass.instrumentors.openai import OpenAIInstrumentor

from tests.replay import ReplayServer

USER = [{"role": "user", "content": "Say this is a test"}]
# One of each kind of call a dashboard shows: a plain chat, a streamed chat (time to first chunk),
# and a failed call (error.type).
CASSETTES = (
    "openai/otel-contrib__test_chat_completion_with_content.yaml",
    "openai/otel-contrib__test_chat_completion_streaming.yaml",
    "openai/otel-contrib__test_chat_completion_404.yaml",
)
FIRST_CHUNK_DELAY = 0.05


def make_calls(replay: ReplayServer, **providers: Any) -> None:
    """The three calls, instrumented with traceglass's OpenAIInstrumentor wired to ``providers``
    (tracer_provider=, meter_provider=, logger_provider=); uninstrumented afterwards."""
    for name in CASSETTES:
        replay.load_cassette(name, first_chunk_delay=FIRST_CHUNK_DELAY)
    instrumentor = OpenAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(capture_content="SPAN_ONLY", raise_exception_on_conflict=True, **providers)
    try:
        with openai.OpenAI(base_url=replay.url("/v1"), api_key="test-key", max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=USER)
            stream = client.chat.completions.create(model="gpt-4", messages=USER, stream=True,
                                                    stream_options={"include_usage": True})
            for _ in stream:
                pass
            with pytest.raises(openai.NotFoundError):
                client.chat.completions.create(model="this-model-does-not-exist", messages=USER)
    finally:
        instrumentor.uninstrument()


# --- OpenTelemetry -> Prometheus names ----------------------------------------------------------
# As the OpenTelemetry specification's Prometheus compatibility section says, and both the
# Collector's prometheus exporter and opentelemetry-exporter-prometheus do: invalid characters
# become "_", the unit becomes a suffix ("s" -> "seconds"; "{token}"-style annotations are
# dropped), monotonic sums end in "_total", histograms become _bucket/_sum/_count series.

_UNIT_SUFFIXES = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": ""}


def prometheus_name(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9:]+", "_", name)


def prometheus_label(key: str) -> str:
    return re.sub(r"[^a-zA-Z0-9]+", "_", key)


def unit_suffix(unit: str) -> str:
    unit = re.sub(r"\{.*?\}", "", unit)
    return _UNIT_SUFFIXES.get(unit, prometheus_name(unit).strip("_"))


@dataclasses.dataclass(frozen=True)
class Family:
    """One OpenTelemetry metric as Prometheus stores it."""

    otel_name: str
    unit: str
    kind: str  # "histogram", "counter" or "gauge"
    labels: frozenset[str]  # Prometheus label names of its data points' attributes

    @property
    def base(self) -> str:
        name = prometheus_name(self.otel_name)
        suffix = unit_suffix(self.unit)
        if suffix and not name.endswith(f"_{suffix}"):
            name = f"{name}_{suffix}"
        return name

    @property
    def series(self) -> frozenset[str]:
        if self.kind == "histogram":
            return frozenset(f"{self.base}_{part}" for part in ("bucket", "sum", "count"))
        if self.kind == "counter":
            return frozenset({f"{self.base}_total"})
        return frozenset({self.base})


def families(metrics: list[Any]) -> dict[str, Family]:
    """{OpenTelemetry name: Family} of SDK metrics (opentelemetry.sdk.metrics.export.Metric) that
    have data points."""
    from opentelemetry.sdk.metrics.export import Histogram, Sum

    result: dict[str, Family] = {}
    for metric in metrics:
        points = list(metric.data.data_points)
        if not points:
            continue
        if isinstance(metric.data, Histogram):
            kind = "histogram"
        elif isinstance(metric.data, Sum) and metric.data.is_monotonic:
            kind = "counter"
        else:
            kind = "gauge"
        labels = frozenset(prometheus_label(key) for point in points for key in point.attributes)
        result[metric.name] = Family(metric.name, metric.unit or "", kind, labels)
    return result
