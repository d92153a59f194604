"""In-memory OpenTelemetry SDK pipelines for one test.

The providers are handed to the instrumentor explicitly; nothing here touches the global providers,
which can only be set once per process and would leak telemetry between tests.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter


class OTelCapture:
    """Tracer, meter and logger providers whose output is kept in memory."""

    def __init__(self) -> None:
        self.span_exporter = InMemorySpanExporter()
        self.metric_reader = InMemoryMetricReader()
        self.log_exporter = InMemoryLogRecordExporter()
        # shutdown_on_exit=False: one provider per test must not pile up atexit hooks.
        self.tracer_provider = TracerProvider(shutdown_on_exit=False)
        # Simple (synchronous) processors: data is readable as soon as the span/record ends.
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader], shutdown_on_exit=False)
        self.logger_provider = LoggerProvider(shutdown_on_exit=False)
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, in end order."""
        return list(self.span_exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        """The single finished span; fails if there are zero or several."""
        spans = self.spans()
        assert len(spans) == 1, f"expected exactly 1 finished span, got {[s.name for s in spans]}"
        return spans[0]

    def metric_list(self) -> list[Metric]:
        """All metrics collected now (cumulative temporality, so repeated calls see totals)."""
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return []
        return [
            metric
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        ]

    def metrics(self) -> dict[str, list[Any]]:
        """{metric name: data points}; each point has .attributes and .value or .sum/.count/.bucket_counts."""
        result: dict[str, list[Any]] = {}
        for metric in self.metric_list():
            result.setdefault(metric.name, []).extend(metric.data.data_points)
        return result

    def metric(self, name: str) -> Metric:
        """One metric by name, for asserting its unit/description as well as its points."""
        matches = [metric for metric in self.metric_list() if metric.name == name]
        assert matches, f"no metric {name!r}; have {sorted({m.name for m in self.metric_list()})}"
        return matches[0]

    def logs(self) -> list[ReadableLogRecord]:
        """Emitted log records (events); body/attributes/event_name are on ``.log_record``."""
        return list(self.log_exporter.get_finished_logs())

    def clear(self) -> None:
        self.span_exporter.clear()
        self.log_exporter.clear()

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()
