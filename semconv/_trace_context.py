"""Trace-level attributes (session, user, conversation) carried in the OpenTelemetry context.

`traceglass.update_current_trace()` stores them here; every span traceglass starts afterwards in
that context (manual spans and instrumentors' GenAI spans, via `Telemetry.start`) merges them into
its start attributes. A context key, not W3C baggage: baggage is sent in request headers to every
downstream service (the LLM provider included), and user/session ids must not leave the process
unless the application chooses to propagate them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from opentelemetry.context import Context, create_key, get_value, set_value

__all__ = ["trace_attributes", "with_trace_attributes"]

_TRACE_ATTRIBUTES_KEY = create_key("traceglass-trace-attributes")
_EMPTY: Mapping[str, Any] = MappingProxyType({})


def trace_attributes(context: Context | None = None) -> Mapping[str, Any]:
    """The trace-level attributes in `context` (default: current); empty if none. One lookup."""
    value = get_value(_TRACE_ATTRIBUTES_KEY, context)
    return value if value is not None else _EMPTY  # type: ignore[return-value]


def with_trace_attributes(attributes: Mapping[str, Any], context: Context | None = None) -> Context:
    """A copy of `context` whose trace-level attributes are the old ones updated by `attributes`."""
    merged = {**trace_attributes(context), **attributes}
    return set_value(_TRACE_ATTRIBUTES_KEY, MappingProxyType(merged), context)
