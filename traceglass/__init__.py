"""traceglass: OpenTelemetry-native observability for GenAI applications."""

from ._config import configure, propagate_context_to_threads
from ._spans import LiveSpan, start_span, start_span_no_context
from ._trace import trace
from ._trace_context import update_current_trace
from ._version import __version__
from .semconv import SpanType

__all__ = [
    "LiveSpan",
    "SpanType",
    "__version__",
    "configure",
    "propagate_context_to_threads",
    "start_span",
    "start_span_no_context",
    "trace",
    "update_current_trace",
]
