"""traceglass.semconv: the GenAI semantic conventions, and the one place that applies them.

Instrumentors build an `Invocation`, hand it to `Telemetry.start()`, and finish the returned
handle; everything that knows an attribute name, a metric or the message JSON lives here.
"""

from . import _names as names
from ._guard import guarded, report_failure
from ._invocation import FetchInvocation, Invocation, Usage
from ._messages import (
    BlobPart,
    FilePart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolCallResponsePart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    ToolDefinition,
    UriPart,
    nan_to_null,
    to_json,
)
from ._redaction import set_redactor
from ._span_types import OTHER_PROVIDER, SPAN_TYPE_OPERATIONS, SpanType, span_type_attributes
from ._steps import StepHandle
from ._stream import Accumulator, AsyncStream, SyncStream, stream_or_finish
from ._telemetry import InvocationHandle, Telemetry, current_invocation, error_type
from ._trace_context import trace_attributes, with_trace_attributes
from ._values import value_to_json
from ._wrapping import Adapter, async_wrapper, sync_wrapper

__all__ = [
    "OTHER_PROVIDER",
    "SPAN_TYPE_OPERATIONS",
    "Accumulator",
    "Adapter",
    "AsyncStream",
    "BlobPart",
    "FetchInvocation",
    "FilePart",
    "FunctionToolDefinition",
    "GenericToolDefinition",
    "InputMessage",
    "Invocation",
    "InvocationHandle",
    "MessagePart",
    "OutputMessage",
    "ReasoningPart",
    "ServerToolCallPart",
    "ServerToolCallResponsePart",
    "SpanType",
    "StepHandle",
    "SyncStream",
    "Telemetry",
    "TextPart",
    "ToolCallRequestPart",
    "ToolCallResponsePart",
    "ToolDefinition",
    "UriPart",
    "Usage",
    "async_wrapper",
    "current_invocation",
    "error_type",
    "guarded",
    "names",
    "nan_to_null",
    "report_failure",
    "set_redactor",
    "span_type_attributes",
    "stream_or_finish",
    "sync_wrapper",
    "to_json",
    "trace_attributes",
    "value_to_json",
    "with_trace_attributes",
]
