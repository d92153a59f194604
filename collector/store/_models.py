"""What the store returns: experiments, trace summaries, whole traces, pages of search results.

Every model has `to_dict()` giving plain JSON-able data (the form `traceglass traces export`
writes and the query API serves).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ._records import EventRecord, LinkRecord, SpanRecord

__all__ = ["TRACE_COLUMNS", "Experiment", "StoredSpan", "Trace", "TraceInfo", "TracePage"]

# The columns of `traces`, in TraceInfo's field order.
TRACE_COLUMNS = (
    "trace_id",
    "experiment_id",
    "timestamp_ms",
    "end_ms",
    "execution_time_ms",
    "status",
    "name",
    "request_preview",
    "response_preview",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "span_count",
)


def _plain(value: Any) -> Any:
    # Attribute values read back from JSON are already lists; tuples come from records built in code.
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


@dataclass(slots=True)
class Experiment:
    experiment_id: int
    name: str
    created_ms: int
    trace_count: int = 0
    last_activity_ms: int | None = None  # start of its newest trace

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(slots=True)
class TraceInfo:
    """A trace's summary: the `traces` row, its experiment's name, its tags and metadata."""

    trace_id: str
    experiment_id: int
    timestamp_ms: int  # start of its earliest span
    end_ms: int | None
    execution_time_ms: int | None  # the root span's duration (latest end - earliest start without root)
    status: str  # OK | ERROR | IN_PROGRESS (root span not received yet)
    name: str | None  # the root span's name
    request_preview: str | None
    response_preview: str | None
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    cost_usd: float | None  # sum of its model calls' costs in USD; None when none was priced
    session_id: str | None
    user_id: str | None
    span_count: int
    experiment_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in (*TRACE_COLUMNS, "experiment_name")} | {
            "tags": dict(self.tags),
            "metadata": dict(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceInfo:
        """The inverse of `to_dict()` (how a query API client rebuilds a search result)."""
        return cls(*(data.get(name) for name in TRACE_COLUMNS), experiment_name=data.get("experiment_name"),
                   tags=dict(data.get("tags") or {}), metadata=dict(data.get("metadata") or {}))


@dataclass(slots=True)
class StoredSpan(SpanRecord):
    """A span as stored: the record it was written from (attributes, events and links parsed
    back) plus the span type the store derived. Being a SpanRecord, it can be written to another
    store as is."""

    span_type: str | None = None
    cost_usd: float | None = None  # what this model call cost in USD; None when not priced

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("events", "links")}
        data["attributes"] = _plain(data["attributes"])
        data["resource_attributes"] = _plain(data["resource_attributes"])
        if data["scope_attributes"] is not None:
            data["scope_attributes"] = _plain(data["scope_attributes"])
        data["events"] = [_plain(dataclasses.asdict(event)) for event in self.events]
        data["links"] = [_plain(dataclasses.asdict(link)) for link in self.links]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StoredSpan:
        """The inverse of `to_dict()`."""
        names = {f.name for f in dataclasses.fields(cls)} - {"events", "links"}
        return cls(**{name: value for name, value in data.items() if name in names},
                   events=[event_from_dict(event) for event in data.get("events") or ()],
                   links=[link_from_dict(link) for link in data.get("links") or ()])


@dataclass(slots=True)
class Trace:
    info: TraceInfo
    spans: list[StoredSpan]  # by start time

    def to_dict(self) -> dict[str, Any]:
        return {"info": self.info.to_dict(), "spans": [span.to_dict() for span in self.spans]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        """The inverse of `to_dict()`."""
        return cls(TraceInfo.from_dict(data["info"]), [StoredSpan.from_dict(span) for span in data["spans"]])


@dataclass(slots=True)
class TracePage:
    traces: list[TraceInfo]
    next_page_token: str | None = None  # pass back as page_token for the next page; None on the last

    def to_dict(self) -> dict[str, Any]:
        return {"traces": [info.to_dict() for info in self.traces], "next_page_token": self.next_page_token}


def event_from_dict(data: dict[str, Any]) -> EventRecord:
    return EventRecord(
        data["name"], data["time_ns"], data.get("attributes") or {}, data.get("dropped_attributes_count", 0)
    )


def link_from_dict(data: dict[str, Any]) -> LinkRecord:
    return LinkRecord(
        data["trace_id"],
        data["span_id"],
        data.get("trace_state"),
        data.get("attributes") or {},
        data.get("dropped_attributes_count", 0),
        data.get("flags"),
    )
