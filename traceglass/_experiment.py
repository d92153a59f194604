"""Experiments: the name that groups the traces of one piece of work.

`set_experiment(name)` (or TRACEGLASS_EXPERIMENT) names the experiment of the spans started from
then on. `ExperimentSpanProcessor` stamps that name on each span as it starts, so one process can
switch experiments between traces; a span that already carries `traceglass.experiment` keeps
it. Spans with no experiment are filed under "Default" by the store.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from traceglass import semconv
from traceglass._env import TrackingEnv, sdk_disabled

if TYPE_CHECKING:
    from traceglass.collector.store import Experiment

__all__ = ["ExperimentSpanProcessor", "get_experiment_name", "set_experiment"]

_log = logging.getLogger("traceglass")
_UNRESOLVED = object()
_name: object = _UNRESOLVED  # str | None once resolved
_lock = threading.Lock()


def set_experiment(name: str | None) -> Experiment | None:
    """Record the spans started from now on under experiment `name` (None: back to
    TRACEGLASS_EXPERIMENT, else "Default").

    Sets up the trace pipeline if nothing has yet. With a store destination the experiment is
    created at once and returned (its `experiment_id` can be given to `search_traces()`); with
    a server or OpenTelemetry destination it is created when its first span arrives, and None is
    returned. A failure to reach the store is logged and None returned: the app keeps running.
    With OTEL_SDK_DISABLED=true nothing is recorded, no store is touched, and None is returned.
    Raises ValueError for an empty or non-string name, one longer than 256 characters, or one
    with a NUL character.
    """
    global _name
    if name is not None:
        _check_name(name)
    with _lock:
        _name = name.strip() if name is not None else TrackingEnv.resolve().experiment
        current = _name
    from traceglass import _pipeline, _tracking

    _pipeline.ensure()
    if current is None or sdk_disabled():
        return None
    destination = _tracking.resolve_destination()
    if destination.kind != "store" or destination.url is None:
        return None
    try:
        store = _tracking.open_store(destination.url)
    except Exception as exc:
        _tracking.warn_store_unavailable(exc)
        return None
    try:
        return store.get_or_create_experiment(current)
    except Exception:
        semconv.report_failure("set_experiment")
        return None


def _check_name(name: object) -> None:
    # What a store refuses is refused here, whatever the destination.
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"set_experiment(): the experiment name must be a non-empty string, got {name!r}")
    if len(name.strip()) > semconv.names.EXPERIMENT_NAME_LENGTH:
        raise ValueError(f"set_experiment(): the experiment name is longer than "
                         f"{semconv.names.EXPERIMENT_NAME_LENGTH} characters")
    if "\x00" in name:
        raise ValueError("set_experiment(): the experiment name contains a NUL character")


def get_experiment_name() -> str | None:
    """The experiment of the spans started now: set_experiment()'s, else TRACEGLASS_EXPERIMENT."""
    name = _name
    if name is _UNRESOLVED:
        with _lock:
            if _name is _UNRESOLVED:
                _resolve_from_env()
            name = _name
    return name  # type: ignore[return-value]


def _resolve_from_env() -> None:
    global _name
    _name = TrackingEnv.resolve().experiment


def _reset() -> None:
    """Forget set_experiment(); the environment is read again on next use."""
    global _name
    with _lock:
        _name = _UNRESOLVED


class ExperimentSpanProcessor(SpanProcessor):
    """Stamps `traceglass.experiment` on each span at start, unless the span already has one."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        try:
            name = get_experiment_name()
            if name is not None and span.attributes.get(semconv.names.EXPERIMENT) is None:
                span.set_attribute(semconv.names.EXPERIMENT, name)
        except Exception:
            semconv.report_failure("ExperimentSpanProcessor.on_start")

    def on_end(self, span: ReadableSpan) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
