"""An OTLP request body -> the protobuf message it encodes, within the size limits.

One decoder for both transports and both encodings: OTLP/HTTP bodies (binary protobuf or
OTLP/JSON, optionally gzip or deflate compressed) and OTLP/gRPC messages (protobuf, already
decompressed by gRPC). Anything that is not a well-formed request of the signal's type raises
`PayloadError` with the HTTP status to answer (400 malformed, 413 too large, 415 unsupported).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = [
    "JSON",
    "PROTOBUF",
    "SIGNALS",
    "Limits",
    "Payload",
    "PayloadError",
    "decode",
    "decompress",
    "encoding_of",
    "response_type",
]

PROTOBUF = "protobuf"
JSON = "json"
SIGNALS = ("traces", "metrics", "logs")

_REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
_RESPONSE_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceResponse,
    "metrics": ExportMetricsServiceResponse,
    "logs": ExportLogsServiceResponse,
}
_MEDIA_TYPES = {"application/x-protobuf": PROTOBUF, "application/protobuf": PROTOBUF, "application/json": JSON}
# zlib window bits: 16+ reads a gzip header, a plain value a zlib (HTTP "deflate") header.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
_CHUNK = 256 * 1024
# OTLP/JSON writes these ids as hex; protobuf's JSON mapping expects base64 for bytes fields.
_ID_FIELDS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class PayloadError(Exception):
    """A request body the server will not accept; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclasses.dataclass(frozen=True)
class Limits:
    max_request_size: int  # bytes as received
    max_decompressed_size: int  # bytes after decompression


@dataclasses.dataclass(frozen=True)
class Payload:
    """A decoded request: the message, and its protobuf bytes (what forwarding sends on)."""

    signal: str
    message: Any
    protobuf: bytes


def encoding_of(content_type: str | None) -> str:
    """PROTOBUF or JSON for a Content-Type header; PayloadError(415) for anything else."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise PayloadError(415, f"Unsupported Content-Type {content_type!r}: OTLP/HTTP accepts "
                                "application/x-protobuf and application/json.")
    return _MEDIA_TYPES[media_type]


def response_type(signal: str) -> type[Message]:
    return _RESPONSE_TYPES[signal]


def decompress(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """`body` decoded per Content-Encoding (none, identity, gzip, deflate), never inflating more
    than `limit` bytes: a small body that would inflate past it (a "zip bomb") is refused after
    at most `limit` bytes have been produced."""
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in _WBITS:
        raise PayloadError(415, f"Unsupported Content-Encoding {content_encoding!r}: use gzip, deflate or none.")
    out = bytearray()
    pending = body
    while True:  # gzip allows several members one after another
        inflater = zlib.decompressobj(_WBITS[encoding])
        try:
            while not inflater.eof:
                # Ask for at most one byte beyond the limit: enough to know it is exceeded.
                chunk = inflater.decompress(pending, min(_CHUNK, limit + 1 - len(out)))
                out += chunk
                if len(out) > limit:
                    raise PayloadError(413, f"The request inflates to more than {limit} bytes, the maximum "
                                            "decompressed size.")
                pending = inflater.unconsumed_tail
                if not chunk and not pending:  # input used up and nothing more buffered
                    break
        except zlib.error as exc:
            raise PayloadError(400, f"The body is not valid {encoding} data: {exc}") from None
        if not inflater.eof:
            raise PayloadError(400, f"The {encoding} data is truncated.")
        pending = inflater.unused_data
        if not pending or encoding == "deflate":
            break
    if pending:
        raise PayloadError(400, f"Unexpected bytes after the end of the {encoding} data.")
    return bytes(out)


def decode(signal: str, body: bytes, encoding: str) -> Payload:
    """The Export<Signal>ServiceRequest in `body` (already decompressed)."""
    request_type = _REQUEST_TYPES[signal]
    if encoding == PROTOBUF:
        message = request_type()
        try:
            message.ParseFromString(body)
        except Exception as exc:  # DecodeError, or a recursion limit on hostile nesting
            raise PayloadError(400, f"The body is not a valid {request_type.__name__} protobuf message: "
                                    f"{exc or type(exc).__name__}") from None
        return Payload(signal, message, body)
    return _decode_json(signal, request_type, body)


def _decode_json(signal: str, request_type: type[Message], body: bytes) -> Payload:
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PayloadError(400, f"The body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError(400, f"The body must be a JSON object (an OTLP {request_type.__name__}).")
    try:
        message = json_format.ParseDict(_ids_to_base64(document), request_type(), ignore_unknown_fields=True)
        protobuf = message.SerializeToString()
    except PayloadError:
        raise
    except (json_format.ParseError, ValueError, TypeError, RecursionError) as exc:
        raise PayloadError(400, f"The body is not a valid OTLP/JSON {request_type.__name__}: {exc}") from None
    return Payload(signal, message, protobuf)


def _ids_to_base64(node: Any, depth: int = 0) -> Any:
    if depth > 64:
        raise PayloadError(400, "The JSON document is nested too deeply for an OTLP request.")
    if isinstance(node, dict):
        return {key: _id_value(key, value) if key in _ID_FIELDS else _ids_to_base64(value, depth + 1)
                for key, value in node.items()}
    if isinstance(node, list):
        return [_ids_to_base64(item, depth + 1) for item in node]
    return node


def _id_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value  # let the protobuf parser report the type error
    try:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    except ValueError:
        raise PayloadError(400, f"{key} must be a hex string (OTLP/JSON encodes ids as hex), "
                                f"not {value[:64]!r}") from None
