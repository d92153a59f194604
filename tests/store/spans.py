"""Building SpanRecords for store tests: a span with realistic defaults, overridable by keyword."""

from __future__ import annotations

from typing import Any

from traceglass.collector.store import SpanRecord

T0 = 1_700_000_000_000_000_000  # ns


def trace_id(n: int) -> str:
    return f"{n:032x}"


def span_id(n: int) -> str:
    return f"{n:016x}"


def span(
    trace: int, span: int, parent: int | None = None, *, start_ms: int = 0, end_ms: int = 10, **kw: Any
) -> SpanRecord:
    """Span `span` of trace `trace`, starting `start_ms` after T0."""
    values: dict[str, Any] = {
        "trace_id": trace_id(trace),
        "span_id": span_id(span),
        "parent_span_id": None if parent is None else span_id(parent),
        "name": f"span-{span}",
        "start_ns": T0 + start_ms * 1_000_000,
        "end_ns": T0 + end_ms * 1_000_000,
        "resource_attributes": {"service.name": "tests"},
        "scope_name": "tests",
    }
    values.update(kw)
    return SpanRecord(**values)
