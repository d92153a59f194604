"""The store's input: one finished span, in a form independent of where it came from (an
OpenTelemetry SDK span in this process, or an OTLP message received by the server)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["EventRecord", "LinkRecord", "SpanRecord"]


@dataclass(slots=True)
class EventRecord:
    name: str
    time_ns: int
    attributes: Mapping[str, Any] = field(default_factory=dict)
    dropped_attributes_count: int = 0


@dataclass(slots=True)
class LinkRecord:
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    trace_state: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    dropped_attributes_count: int = 0
    flags: int | None = None


@dataclass(slots=True)
class SpanRecord:
    """A finished span. Ids are lowercase hex (32 digits for traces, 16 for spans), as OTLP/JSON
    writes them; attribute values are str, bool, int, float or sequences of one of those."""

    trace_id: str
    span_id: str
    name: str
    start_ns: int
    end_ns: int
    parent_span_id: str | None = None
    kind: str = "INTERNAL"  # INTERNAL | SERVER | CLIENT | PRODUCER | CONSUMER
    status_code: str = "UNSET"  # UNSET | OK | ERROR
    status_message: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    events: Sequence[EventRecord] = ()
    links: Sequence[LinkRecord] = ()
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    resource_schema_url: str | None = None
    scope_name: str | None = None
    scope_version: str | None = None
    scope_schema_url: str | None = None
    scope_attributes: Mapping[str, Any] | None = None
    trace_state: str | None = None
    flags: int | None = None
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0
