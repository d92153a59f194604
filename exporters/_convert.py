"""OpenTelemetry SDK spans -> the store's SpanRecord (the same shape the server decodes OTLP into)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanContext
from traceglass.collector.store import EventRecord, LinkRecord, SpanRecord

__all__ = ["span_to_record"]

# OTLP Span.flags: bits 0-7 are the W3C trace flags; bit 8 says whether bit 9 (parent is remote)
# is known. Set as the OTLP exporter sets them, so spans stored locally and spans received over
# OTLP look alike.
_HAS_IS_REMOTE = 0x100
_IS_REMOTE = 0x200


def span_to_record(span: ReadableSpan) -> SpanRecord:
    """One finished SDK span as a SpanRecord: hex ids, kind and status by name, events, links,
    resource, instrumentation scope (schema URL included) and dropped counts."""
    context = span.get_span_context()
    if context is None:
        raise ValueError(f"span {span.name!r} has no span context")
    parent = span.parent
    scope = span.instrumentation_scope
    resource = span.resource
    return SpanRecord(
        trace_id=_trace_id(context.trace_id),
        span_id=_span_id(context.span_id),
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or span.start_time or 0,
        parent_span_id=_span_id(parent.span_id) if parent is not None else None,
        kind=span.kind.name,
        status_code=span.status.status_code.name,
        status_message=span.status.description or None,
        attributes=_attributes(span.attributes),
        events=[
            EventRecord(
                name=event.name,
                time_ns=event.timestamp,
                attributes=_attributes(event.attributes),
                dropped_attributes_count=getattr(event, "dropped_attributes", 0),
            )
            for event in span.events
        ],
        links=[
            LinkRecord(
                trace_id=_trace_id(link.context.trace_id),
                span_id=_span_id(link.context.span_id),
                trace_state=_trace_state(link.context),
                attributes=_attributes(link.attributes),
                dropped_attributes_count=link.dropped_attributes,
                flags=_flags(link.context, link.context),
            )
            for link in span.links
        ],
        resource_attributes=_resource_attributes(resource) if resource is not None else {},
        resource_schema_url=(resource.schema_url or None) if resource is not None else None,
        scope_name=scope.name if scope is not None else None,
        scope_version=(scope.version or None) if scope is not None else None,
        scope_schema_url=(scope.schema_url or None) if scope is not None else None,
        scope_attributes=_attributes(scope.attributes) if scope is not None and scope.attributes else None,
        trace_state=_trace_state(context),
        flags=_flags(context, parent),
        dropped_attributes_count=span.dropped_attributes,
        dropped_events_count=span.dropped_events,
        dropped_links_count=span.dropped_links,
    )


# Every span of a provider shares one Resource: convert its attributes once, and hand the store
# the same dict for each span, which it then digests once per batch. Entries keep their Resource
# alive, so an id is never reused while cached; a process has a handful of resources.
_RESOURCES: dict[int, tuple[Resource, dict[str, Any]]] = {}
_MAX_RESOURCES = 64


def _resource_attributes(resource: Resource) -> dict[str, Any]:
    cached = _RESOURCES.get(id(resource))
    if cached is not None and cached[0] is resource:
        return cached[1]
    attributes = _attributes(resource.attributes)
    if len(_RESOURCES) >= _MAX_RESOURCES:
        _RESOURCES.clear()
    _RESOURCES[id(resource)] = (resource, attributes)
    return attributes


def _trace_id(value: int) -> str:
    return format(value, "032x")


def _span_id(value: int) -> str:
    return format(value, "016x")


def _trace_state(context: SpanContext) -> str | None:
    state = context.trace_state
    return state.to_header() or None if state else None


def _flags(context: SpanContext, parent: SpanContext | None) -> int:
    flags = int(context.trace_flags) | _HAS_IS_REMOTE
    if parent is not None and parent.is_remote:
        flags |= _IS_REMOTE
    return flags


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    # SDK attribute sequences are tuples; lists are what an OTLP decoder yields.
    if not attributes:
        return {}
    return {key: list(value) if isinstance(value, tuple) else value for key, value in attributes.items()}
