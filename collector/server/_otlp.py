"""OTLP messages -> the store's records: pure functions, no I/O.

`span_records` turns an ExportTraceServiceRequest into SpanRecords (ids as lowercase hex, enums
as the names the store uses, attribute values as plain Python values). Spans whose ids are not
valid OTLP ids are rejected and counted, as OTLP's partial success reports them.
`item_count` counts what a request holds (spans, metric data points, log records): the unit of
the ingest queue's capacity.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterable
from sys import intern
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from traceglass.collector.store import EventRecord, LinkRecord, SpanRecord

__all__ = ["SpanBatch", "attributes", "item_count", "span_records"]

_KINDS = {
    Span.SPAN_KIND_UNSPECIFIED: "INTERNAL",  # the specification lets receivers assume INTERNAL
    Span.SPAN_KIND_INTERNAL: "INTERNAL",
    Span.SPAN_KIND_SERVER: "SERVER",
    Span.SPAN_KIND_CLIENT: "CLIENT",
    Span.SPAN_KIND_PRODUCER: "PRODUCER",
    Span.SPAN_KIND_CONSUMER: "CONSUMER",
}
_STATUS = {Status.STATUS_CODE_UNSET: "UNSET", Status.STATUS_CODE_OK: "OK", Status.STATUS_CODE_ERROR: "ERROR"}
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


@dataclasses.dataclass(frozen=True)
class SpanBatch:
    records: list[SpanRecord]
    rejected: int = 0
    error: str = ""  # why spans were rejected (the first reason met)


def span_records(request: Any) -> SpanBatch:
    """The spans of an ExportTraceServiceRequest, with the count and reason of those rejected."""
    records: list[SpanRecord] = []
    rejected = 0
    error = ""
    for resource_spans in request.resource_spans:
        resource = resource_spans.resource
        resource_attributes = attributes(resource.attributes)
        resource_schema_url = resource_spans.schema_url or None
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_fields = _scope_fields(scope, scope_spans.schema_url)
            for span in scope_spans.spans:
                problem = _invalid_ids(span)
                if problem:
                    rejected += 1
                    error = error or problem
                    continue
                records.append(_record(span, resource_attributes, resource_schema_url, scope_fields))
    return SpanBatch(records, rejected, error)


def _invalid_ids(span: Any) -> str:
    if len(span.trace_id) != 16 or span.trace_id == _ZERO_TRACE:
        return f"invalid trace id {span.trace_id.hex()!r}: expected 16 bytes, not all zero"
    if len(span.span_id) != 8 or span.span_id == _ZERO_SPAN:
        return f"invalid span id {span.span_id.hex()!r}: expected 8 bytes, not all zero"
    if span.parent_span_id and len(span.parent_span_id) != 8:
        return f"invalid parent span id {span.parent_span_id.hex()!r}: expected 8 bytes"
    return ""


def _scope_fields(scope: InstrumentationScope, schema_url: str) -> dict[str, Any]:
    return {
        "scope_name": scope.name or None,
        "scope_version": scope.version or None,
        "scope_schema_url": schema_url or None,
        "scope_attributes": attributes(scope.attributes) or None,
    }


def _record(span: Any, resource_attributes: dict[str, Any], resource_schema_url: str | None,
            scope_fields: dict[str, Any]) -> SpanRecord:
    parent = span.parent_span_id
    return SpanRecord(
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=parent.hex() if parent and parent != _ZERO_SPAN else None,
        name=span.name,
        start_ns=span.start_time_unix_nano,
        end_ns=span.end_time_unix_nano,
        kind=_KINDS.get(span.kind, "INTERNAL"),
        status_code=_STATUS.get(span.status.code, "UNSET"),
        status_message=span.status.message or None,
        attributes=attributes(span.attributes),
        events=[
            EventRecord(event.name, event.time_unix_nano, attributes(event.attributes),
                        event.dropped_attributes_count)
            for event in span.events
        ],
        links=[
            LinkRecord(link.trace_id.hex(), link.span_id.hex(), link.trace_state or None, attributes(link.attributes),
                       link.dropped_attributes_count, link.flags or None)
            for link in span.links
        ],
        resource_attributes=resource_attributes,
        resource_schema_url=resource_schema_url,
        trace_state=span.trace_state or None,
        flags=span.flags or None,
        dropped_attributes_count=span.dropped_attributes_count,
        dropped_events_count=span.dropped_events_count,
        dropped_links_count=span.dropped_links_count,
        **scope_fields,
    )


def attributes(key_values: Iterable[KeyValue]) -> dict[str, Any]:
    """OTLP key-values as a dict of plain values; keys without a value are left out."""
    result: dict[str, Any] = {}
    for kv in key_values:
        value = _value(kv.value)
        if value is not None:
            # Interned: every span repeats the same few keys, and the batch pickled for the
            # writer process then carries each key once.
            result[intern(kv.key)] = value
    return result


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_value(item) for item in value.array_value.values]
    if which == "kvlist_value":
        # The store keeps scalars and arrays; a map (rare on spans) is kept as its JSON text.
        return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")  # as OTLP/JSON writes bytes
    return getattr(value, which)


def _plain(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in value.kvlist_value.values}
    if which == "array_value":
        return [_plain(item) for item in value.array_value.values]
    return _value(value)


def item_count(signal: str, request: Any) -> int:
    """Spans, metric data points or log records in a request."""
    if signal == "traces":
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal == "logs":
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return sum(_data_points(metric) for rm in request.resource_metrics for sm in rm.scope_metrics
               for metric in sm.metrics)


def _data_points(metric: Any) -> int:
    which = metric.WhichOneof("data")
    return len(getattr(metric, which).data_points) if which else 0
