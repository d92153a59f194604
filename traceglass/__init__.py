"""traceglass: OpenTelemetry-native observability for GenAI applications."""

from __future__ import annotations

import importlib
from typing import Any

from ._active import get_current_active_span, get_last_active_trace_id
from ._autolog import autolog
from ._config import configure, propagate_context_to_threads
from ._experiment import set_experiment
from ._query import delete_trace_tag, delete_traces, get_trace, search_traces, set_trace_tag
from ._spans import LiveSpan, start_span, start_span_no_context
from ._trace import trace
from ._trace_context import update_current_trace
from ._tracking import get_tracking_uri, set_tracking_uri
from ._version import __version__
from .exporters._notebook import disable_notebook_display, enable_notebook_display
from .semconv import SpanType, set_redactor

__all__ = [
    "FilterError",
    "LiveSpan",
    "SpanType",
    "__version__",
    "autolog",
    "configure",
    "delete_trace_tag",
    "delete_traces",
    "disable_notebook_display",
    "enable_notebook_display",
    "get_current_active_span",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "propagate_context_to_threads",
    "search_traces",
    "set_experiment",
    "set_redactor",
    "set_trace_tag",
    "set_tracking_uri",
    "start_span",
    "start_span_no_context",
    "trace",
    "update_current_trace",
]

# traceglass.openai.autolog() and friends work after a bare `import traceglass`; each module is
# imported on first access (none imports its SDK before autolog() is called).
_AUTOLOG_MODULES = frozenset({"openai", "anthropic", "langchain", "ollama"})


def __getattr__(name: str) -> Any:
    if name in _AUTOLOG_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name == "FilterError":  # what search_traces() raises for a bad filter; the store loads on use
        from .collector.store._filter import FilterError

        return FilterError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
