"""traceglass.semconv: the GenAI semantic conventions, and the one place that applies them.

Instrumentors build an `Invocation`, hand it to `Telemetry.start()`, and finish the returned
handle; everything that knows an attribute name, a metric or the message JSON lives here.
"""

from . import _names as names
from ._guard import guarded, report_failure
from ._invocation import Invocation, Usage
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
    to_json,
)
from ._stream import Accumulator, AsyncStream, SyncStream
from ._telemetry import InvocationHandle, Telemetry, current_invocation, error_type
from ._wrapping import Adapter, async_wrapper, sync_wrapper

__all__ = [
    "Accumulator",
    "Adapter",
    "AsyncStream",
    "BlobPart",
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
    "report_failure",
    "sync_wrapper",
    "to_json",
]
