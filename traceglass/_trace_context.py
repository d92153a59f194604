"""`update_current_trace()`: tags, metadata, session and user of the trace being recorded."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from traceglass import semconv

__all__ = ["update_current_trace"]

_log = logging.getLogger("traceglass")
_N = semconv.names


def update_current_trace(
    tags: Mapping[str, Any] | Iterable[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    *,
    user: str | None = None,
) -> None:
    """Annotate the current span, and the spans started after it in the same context.

    On the current span: tags given as a mapping (MLflow's form) as
    `traceglass.trace.tag.<key>` (str(value)), tags given as names as `traceglass.trace.tags`
    (string[], added to the names set earlier on it; their value is ""),
    `traceglass.trace.metadata.<key>` (str(value)), `session.id` and `gen_ai.conversation.id`
    (both the session id), `user.id`. `user` is MLflow's name for `user_id`.

    The session/user/conversation ids also go into the OpenTelemetry context (a context key, not
    baggage: they are not sent to other services), for as long as the current span's context is
    active: every span traceglass starts later in it, manual spans and instrumented LLM calls
    alike, carries them from its start. An LLM call's own conversation id wins over the session.

    With no current span nothing is recorded and the context is left alone: a no-op, logged at
    DEBUG. With a current span that does not record (sampled out), only the context is updated.
    """
    try:
        _update(tags, metadata, session_id, user if user_id is None else user_id)
    except Exception:
        semconv.report_failure("update_current_trace")


def _update(
    tags: Mapping[str, Any] | Iterable[str] | None,
    metadata: Mapping[str, Any] | None,
    session_id: str | None,
    user_id: str | None,
) -> None:
    span = trace.get_current_span()
    if not span.get_span_context().is_valid:
        _log.debug("traceglass: update_current_trace() called with no current span; ignored")
        return
    propagated: dict[str, Any] = {}
    if session_id is not None:
        propagated[_N.SESSION_ID] = str(session_id)
        propagated[_N.CONVERSATION_ID] = str(session_id)
    if user_id is not None:
        propagated[_N.USER_ID] = str(user_id)
    if propagated:
        # Reset when the enclosing span's context is detached (the @trace / with block ends).
        otel_context.attach(semconv.with_trace_attributes(propagated))
    if not span.is_recording():
        return
    attributes = dict(propagated)
    if isinstance(tags, Mapping):
        attributes.update(_entries(_N.TRACE_TAG_PREFIX, tags))
    elif tags is not None:
        one = isinstance(tags, str) or not isinstance(tags, Iterable)  # tags="beta", tags=5: one tag
        new = [str(tag) for tag in ([tags] if one else tags)]
        existing = getattr(span, "attributes", None) or {}
        previous = list(existing.get(_N.TRACE_TAGS, ()))
        attributes[_N.TRACE_TAGS] = previous + [tag for tag in dict.fromkeys(new) if tag not in previous]
    attributes.update(_entries(_N.TRACE_METADATA_PREFIX, metadata or {}))
    span.set_attributes(attributes)


def _entries(prefix: str, values: Mapping[str, Any]) -> dict[str, str]:
    """Tags or metadata as span attributes: `prefix` + key, the value as text."""
    return {prefix + str(key): value if isinstance(value, str) else str(value) for key, value in values.items()}
