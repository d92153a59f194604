"""Telemetry side of bench/overhead.py: the sink the SDK providers export to, and the switch
that instruments (or not) one provider's client at a time against it.

Sink: TracerProvider + BatchSpanProcessor(counting no-op exporter), MeterProvider +
InMemoryMetricReader, LoggerProvider + BatchLogRecordProcessor(counting no-op exporter), all
three also set as the global providers (the anthropic SDK's own tracing looks at the global one:
see _workload_anthropic.py).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

CAPTURE = "SPAN_ONLY"
FLOOR_SCOPE = "bench.floor"  # the tracer and meter of _floor.py
# provider -> (module, class) of its traceglass instrumentor
INSTRUMENTORS = {
    "openai": ("traceglass.instrumentors.openai", "OpenAIInstrumentor"),
    "anthropic": ("traceglass.instrumentors.anthropic", "AnthropicInstrumentor"),
    "ollama": ("traceglass.instrumentors.ollama", "OllamaInstrumentor"),
}
INSTALL_HINT = "pip install -e '.[openai,anthropic,ollama]'   (from the repository root)"


class Sink:
    """SDK providers wired to exporters that only count (and, while ``keep`` is set, keep spans)."""

    def __init__(self) -> None:
        from opentelemetry import _logs, metrics, trace
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import (
            BatchLogRecordProcessor,
            LogRecordExporter,
            LogRecordExportResult,
        )
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

        sink = self
        self.spans = self.logs = 0
        self.keep = False
        self.kept: list[Any] = []

        class CountingSpanExporter(SpanExporter):
            def export(self, spans):
                sink.spans += len(spans)
                if sink.keep:
                    sink.kept.extend(spans)
                return SpanExportResult.SUCCESS

        class CountingLogExporter(LogRecordExporter):
            def export(self, batch):
                sink.logs += len(batch)
                return LogRecordExportResult.SUCCESS

            def shutdown(self):
                pass

            def force_flush(self, timeout_millis: int = 30000) -> bool:
                return True

        resource = Resource.create({"service.name": "traceglass-bench"})
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(CountingSpanExporter()))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader])
        self.logger_provider = LoggerProvider(resource=resource)
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(CountingLogExporter()))
        trace.set_tracer_provider(self.tracer_provider)
        metrics.set_meter_provider(self.meter_provider)
        _logs.set_logger_provider(self.logger_provider)

    def flush(self) -> None:
        self.tracer_provider.force_flush()
        self.logger_provider.force_flush()
        # A metric collection, as a periodic reader or a scrape does: instrumentations that batch
        # measurements until the next collection (traceglass does) hold nothing afterwards.
        self.reader.get_metrics_data()

    def metric_names(self) -> list[str]:
        """The metrics recorded, except the floor's (--floor records the same names itself)."""
        data = self.reader.get_metrics_data()
        rms = data.resource_metrics if data else []
        return sorted({m.name for rm in rms for sm in rm.scope_metrics if sm.scope.name != FLOOR_SCOPE
                       for m in sm.metrics})


class Instrumentation:
    """instrument()/uninstrument() traceglass's instrumentors against the sink, idempotently:
    at most one provider instrumented at a time."""

    def __init__(self, sink: Sink, providers: list[str]) -> None:
        self.sink = sink
        self.inst = {p: getattr(importlib.import_module(INSTRUMENTORS[p][0]), INSTRUMENTORS[p][1])()
                     for p in providers}
        self.on = dict.fromkeys(providers, False)

    def set(self, provider: str, on: bool) -> None:
        """Instrument ``provider`` iff ``on``; every other provider uninstrumented."""
        for p, inst in self.inst.items():
            want = on and p == provider
            if want and not self.on[p]:
                sink = self.sink
                inst.instrument(tracer_provider=sink.tracer_provider, meter_provider=sink.meter_provider,
                                logger_provider=sink.logger_provider, capture_content=CAPTURE)
                if getattr(inst, "_is_instrumented_by_opentelemetry", True) is False:
                    raise RuntimeError(f"{type(inst).__name__}().instrument() did not instrument "
                                       "(dependency conflict?)")
            elif not want and self.on[p]:
                inst.uninstrument()
            self.on[p] = want


def load_instrumentation(sink: Sink, providers: list[str]) -> Instrumentation | None:
    """None when traceglass (or one of its instrumentors) is not installed; any other error propagates."""
    try:
        return Instrumentation(sink, providers)
    except ImportError as e:
        ours = ("traceglass", "traceglass.instrumentors", *(INSTRUMENTORS[p][0] for p in providers))
        if not (isinstance(e, ModuleNotFoundError) and e.name in ours):
            traceback.print_exc()
            raise  # traceglass is there but its import is broken: show that, do not hide it
        print(f"\n*** traceglass's instrumentors are not importable ({type(e).__name__}: {e}).\n"
              f"*** Install them first: {INSTALL_HINT}\n"
              "*** Measuring the uninstrumented clients only: no overhead figures, no verdict.\n",
              file=sys.stderr, flush=True)
        return None
