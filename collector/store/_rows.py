"""SpanRecord -> the rows the store writes: pure functions, no database.

Runs on every span written, so it is written for speed: one pass over the attributes, JSON
serialised once with compact separators, values looked up by key rather than by scanning.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from traceglass.semconv import SPAN_TYPE_OPERATIONS, nan_to_null
from traceglass.semconv import names as N

from . import _openinference
from ._cost import span_cost, token_count
from ._records import SpanRecord

__all__ = [
    "CONTENT_KEYS",
    "ENTRY_VALUE_BYTES",
    "INDEXED_VALUE_LENGTH",
    "PREVIEW_LENGTH",
    "SPAN_COLUMNS",
    "TEXT_LENGTH",
    "UNINDEXED_KEYS",
    "SpanRows",
    "dumps",
    "entry_value",
    "experiment_name",
    "genai_view",
    "resource_key",
    "span_rows",
    "usage_and_cost",
]

INDEXED_VALUE_LENGTH = 256  # longest attribute value (string form) copied into span_attributes
PREVIEW_LENGTH = 1000  # request/response previews on the trace row
TEXT_LENGTH = 8192  # spans.content_text: what trace.text searches
_KEY_LENGTH = 256  # span_attributes.key, trace_tags.key, trace_metadata.key
# trace_tags.value, trace_metadata.value, in UTF-8 bytes: PostgreSQL's (key, value) index holds
# at most ~2,700 bytes an entry, and a longer value would make it refuse the whole batch.
ENTRY_VALUE_BYTES = 1500
_SHORT_TEXT = 256  # traces.session_id, user_id

# Attributes holding the content of a span (prompts, completions, tool calls, documents): their
# values, after the span name, make up the span's searchable text. They are not copied into
# span_attributes: nearly every value is unique, and each would cost the attribute index a random
# page write; a filter on one reads the span's own attributes (see _query).
CONTENT_KEYS = (
    N.SPAN_INPUTS,
    N.SPAN_OUTPUTS,
    N.SYSTEM_INSTRUCTIONS,
    N.INPUT_MESSAGES,
    N.OUTPUT_MESSAGES,
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.retrieval.query.text",
    "gen_ai.retrieval.documents",
    _openinference.INPUT_VALUE,  # OpenInference's inputs and outputs
    _openinference.OUTPUT_VALUE,
)
UNINDEXED_KEYS = frozenset(CONTENT_KEYS)  # not copied into span_attributes
_METADATA_PREFIX = N.TRACE_METADATA_PREFIX
_METADATA_PREFIX_LENGTH = len(_METADATA_PREFIX)
_TAG_PREFIX = N.TRACE_TAG_PREFIX
_TAG_PREFIX_LENGTH = len(_TAG_PREFIX)
_TRACE_VALUE_PREFIX = "traceglass.trace."  # what both prefixes start with: one test for most keys
_TAGS = N.TRACE_TAGS
_LEGACY_INPUT_TOKENS = "gen_ai.usage.prompt_tokens"
_LEGACY_OUTPUT_TOKENS = "gen_ai.usage.completion_tokens"
_REQUEST_KEYS = (N.SPAN_INPUTS, N.INPUT_MESSAGES, _openinference.INPUT_VALUE)
_RESPONSE_KEYS = (N.SPAN_OUTPUTS, N.OUTPUT_MESSAGES, _openinference.OUTPUT_VALUE)

# gen_ai.operation.name -> span type, for spans without traceglass.span.type: the inverse of the
# one table in semconv, plus the operations that table does not produce.
_OPERATION_TYPES = {operation: span_type for span_type, operation in SPAN_TYPE_OPERATIONS.items()}
_OPERATION_TYPES[N.GENERATE_CONTENT] = "CHAT_MODEL"

# Order of the values in a spans row (after the id, which is assigned at insert time).
SPAN_COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
    "status_message",
    "span_type",
    "experiment_id",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "attributes",
    "events",
    "links",
    "resource_id",
    "scope_name",
    "scope_version",
    "scope_schema_url",
    "scope_attributes",
    "trace_state",
    "flags",
    "dropped_attributes_count",
    "dropped_events_count",
    "dropped_links_count",
    "content_text",
)


def _json_default(value: Any) -> Any:
    # Attribute values are str/bool/int/float or sequences of those; anything else (a sequence
    # type json does not know, a stray object) is kept in a readable form rather than failing.
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default)


def dumps(value: Any) -> str:
    """A stored JSON document: strict JSON, which SQLite's and PostgreSQL's JSON functions read
    (NaN and infinities are null). orjson: about seven times faster than json on a span's
    attributes, on the path of every span stored."""
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except TypeError:  # an int beyond 64 bits, a lone surrogate, a key that is not a string
        return _encoder.encode(nan_to_null(value))


def _as_dict(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    if mapping is None:
        return {}
    return mapping if type(mapping) is dict else dict(mapping)


def experiment_name(record: SpanRecord, default: str) -> str:
    """The span's experiment: its attribute, else its resource's, else `default`."""
    name = record.attributes.get(N.EXPERIMENT) or record.resource_attributes.get(N.EXPERIMENT) or default
    return str(name)[: N.EXPERIMENT_NAME_LENGTH]


def resource_key(attributes: Mapping[str, Any], schema_url: str | None) -> tuple[str, str]:
    """(digest, attributes JSON) of a resource: the digest identifies it across processes."""
    document = json.dumps(_as_dict(attributes), sort_keys=True, separators=(",", ":"), default=_json_default)
    digest = hashlib.sha256(f"{document}\n{schema_url or ''}".encode("utf-8", "surrogatepass")).hexdigest()
    return digest, document


def entry_value(text: str) -> str:
    """A tag or metadata value as stored: cut to ENTRY_VALUE_BYTES of UTF-8 (whole characters)."""
    if len(text) * 4 <= ENTRY_VALUE_BYTES:  # short enough in any script: no encoding needed
        return text
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= ENTRY_VALUE_BYTES:
        return text
    return encoded[:ENTRY_VALUE_BYTES].decode("utf-8", "ignore")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple)):
        return dumps(list(value))
    return str(value)


# A string attribute written as a decimal number ('12', '-0.5', '1e400', '3.') is indexed as that
# number too; words such as 'inf', 'NaN' or '1_000', which float() would also accept, are not.
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_NUMBER_START = frozenset("0123456789+-.")
_match_decimal = _DECIMAL.fullmatch


def _number(value: Any) -> float | None:
    """span_attributes.value_number of a scalar value: NaN is NULL (it compares with nothing),
    infinities stay (1e400 is larger than every finite number)."""
    kind = type(value)
    if kind is float:
        return value if value == value else None
    if kind is int:
        try:
            return float(value)
        except OverflowError:
            return float("inf") if value > 0 else float("-inf")
    if kind is str and value and value[0] in _NUMBER_START and _match_decimal(value):
        return float(value)
    return None


# The database's integers: OTLP times are unsigned 64-bit, its counts and flags unsigned 32-bit.
_INT64_MAX = 2**63 - 1
_INT32_MAX = 2**31 - 1


def _time(value: int) -> int:
    return min(max(value, 0), _INT64_MAX)


def _count(value: int) -> int:
    return min(max(value, 0), _INT32_MAX)


# JSON written with ASCII escapes (Python's json.dumps by default, as other instrumentations
# write their messages): "\u05e9\u05dc\u05d5\u05dd" must be found by searching for what it says.
_UNICODE_ESCAPE = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u([0-9a-f]{4})", re.IGNORECASE)


def _unescape(match: re.Match[str]) -> str:
    high, low, single = match.groups()
    if single is None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    code = int(single, 16)
    return match.group() if 0xD800 <= code <= 0xDFFF else chr(code)  # a lone surrogate stays escaped


def _unescaped(text: str) -> str:
    """`text` (the searchable text of a span) with JSON's \\uXXXX escapes read as characters."""
    return _UNICODE_ESCAPE.sub(_unescape, text)


def genai_view(attrs: dict[str, Any]) -> dict[str, Any]:
    """What the derived columns read: a span's attributes, or an OpenInference span's in GenAI terms."""
    kind = attrs.get(_openinference.KIND)
    return attrs if kind is None else _openinference.as_genai(attrs, kind)


def usage_and_cost(view: Mapping[str, Any], start_ns: int) -> tuple[int | None, int | None, float | None]:
    """(input tokens, output tokens, cost in USD) of a span, from its `genai_view`."""
    get = view.get
    input_tokens = token_count(get(N.USAGE_INPUT_TOKENS))
    if input_tokens is None:  # the conventions' earlier name, which older instrumentations write
        input_tokens = token_count(get(_LEGACY_INPUT_TOKENS))
    output_tokens = token_count(get(N.USAGE_OUTPUT_TOKENS))
    if output_tokens is None:
        output_tokens = token_count(get(_LEGACY_OUTPUT_TOKENS))
    if input_tokens is None and output_tokens is None:
        return None, None, None
    return input_tokens, output_tokens, span_cost(view, start_ns, input_tokens, output_tokens)


class SpanRows:
    """Everything the store writes for one span, minus the ids it assigns at insert time."""

    __slots__ = ("attributes", "metadata", "request", "response", "row", "session", "tags", "user")

    def __init__(self, record: SpanRecord, experiment_id: int, resource_id: int | None) -> None:
        attrs = _as_dict(record.attributes)
        derived = genai_view(attrs)
        get = derived.get

        indexed: list[tuple[str, str, float | None]] = []
        tags: list[tuple[str, str]] = []  # (key, value): a tag named in traceglass.trace.tags has the value ""
        metadata: list[tuple[str, str]] = []
        for key, value in attrs.items():
            kind = type(value)
            if len(key) > _KEY_LENGTH or key in UNINDEXED_KEYS:  # still stored in spans.attributes
                continue
            if kind is str:
                if len(value) <= INDEXED_VALUE_LENGTH:
                    number = None
                    if value and value[0] in _NUMBER_START and _match_decimal(value):
                        number = float(value)
                    indexed.append((key, value, number))
            elif kind is bool:
                indexed.append((key, "true" if value else "false", None))
            elif kind is float:
                indexed.append((key, str(value), value if value == value else None))  # NaN: no number
            elif kind is int:
                indexed.append((key, str(value), _number(value)))
            elif kind is bytes:  # stored as its text (see _json_default), and so filtered
                text = _text(value)
                if len(text) <= INDEXED_VALUE_LENGTH:
                    indexed.append((key, text, None))
            elif key == _TAGS:
                if isinstance(value, (list, tuple)):
                    tags.extend((str(tag)[:_KEY_LENGTH], "") for tag in value)
                continue
            if key.startswith(_TRACE_VALUE_PREFIX) and value is not None:
                text = entry_value(value if kind is str else _text(value))
                if key.startswith(_METADATA_PREFIX):
                    metadata.append((key[_METADATA_PREFIX_LENGTH:][:_KEY_LENGTH], text))
                elif key.startswith(_TAG_PREFIX):
                    tags.append((key[_TAG_PREFIX_LENGTH:][:_KEY_LENGTH], text))
        tag_value = get(_TAGS)
        if isinstance(tag_value, str):  # a single tag given as a string
            tags.append((tag_value[:_KEY_LENGTH], ""))
        if derived is not attrs:  # an OpenInference span
            more_tags, more_metadata = _openinference.tags_and_metadata(attrs)
            tags.extend((tag[:_KEY_LENGTH], "") for tag in more_tags)
            metadata.extend((str(key)[:_KEY_LENGTH], entry_value(_text(value))) for key, value in more_metadata.items()
                            if value is not None)

        parts = [record.name]
        for key in CONTENT_KEYS:
            value = get(key)
            if value is not None:
                parts.append(_text(value))
        content = "\n".join(parts)
        if "\\u" in content:
            content = _unescaped(content)
        if len(content) > TEXT_LENGTH:
            content = content[:TEXT_LENGTH]
        # trace.text ignores case, and SQLite's LIKE folds ASCII letters only: text with other
        # letters is kept in lower case (ASCII text as it is: isascii() is free, lower() is not).
        if not content.isascii():
            content = content.lower()

        span_type = get(N.SPAN_TYPE)
        if span_type is None:
            span_type = _OPERATION_TYPES.get(get(N.OPERATION_NAME))  # type: ignore[arg-type]
        elif not isinstance(span_type, str):
            span_type = str(span_type)
        if span_type is not None and len(span_type) > 64:
            span_type = span_type[:64]

        scope_attributes = record.scope_attributes
        parent = record.parent_span_id or None  # OTLP writes a root's parent as ""
        start, end = record.start_ns, record.end_ns
        if not (0 <= start <= _INT64_MAX and 0 <= end <= _INT64_MAX):
            start, end = _time(start), _time(end)
        input_tokens, output_tokens, cost = usage_and_cost(derived, start)
        flags = record.flags
        attributes_dropped = record.dropped_attributes_count
        events_dropped = record.dropped_events_count
        links_dropped = record.dropped_links_count
        if not 0 <= ((flags or 0) | attributes_dropped | events_dropped | links_dropped) <= _INT32_MAX:
            flags = None if flags is None else flags & _INT32_MAX  # the low bits are the ones defined
            attributes_dropped = _count(attributes_dropped)
            events_dropped = _count(events_dropped)
            links_dropped = _count(links_dropped)
        self.row = (
            record.trace_id,
            record.span_id,
            parent,
            record.name,
            record.kind,
            start,
            end,
            record.status_code,
            record.status_message,
            span_type,
            experiment_id,
            input_tokens,
            output_tokens,
            cost,
            dumps(attrs),
            _events_json(record) if record.events else "[]",
            _links_json(record) if record.links else "[]",
            resource_id,
            record.scope_name,
            record.scope_version,
            record.scope_schema_url,
            None if scope_attributes is None else dumps(_as_dict(scope_attributes)),
            record.trace_state,
            flags,
            attributes_dropped,
            events_dropped,
            links_dropped,
            content,
        )
        self.attributes = indexed
        self.tags = tags
        self.metadata = metadata
        self.request = _preview(get, _REQUEST_KEYS) if parent is None else None
        self.response = _preview(get, _RESPONSE_KEYS) if parent is None else None
        self.session = _short(get(N.SESSION_ID))
        self.user = _short(get(N.USER_ID))


def _preview(get: Any, keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = get(key)
        if value is not None:
            return _text(value)[:PREVIEW_LENGTH]
    return None


def _short(value: Any) -> str | None:
    if value is None:
        return None
    return _text(value)[:_SHORT_TEXT]


def _events_json(record: SpanRecord) -> str:
    return dumps(
        [
            {
                "name": event.name,
                "time_ns": event.time_ns,
                "attributes": _as_dict(event.attributes),
                "dropped_attributes_count": event.dropped_attributes_count,
            }
            for event in record.events
        ]
    )


def _links_json(record: SpanRecord) -> str:
    return dumps(
        [
            {
                "trace_id": link.trace_id,
                "span_id": link.span_id,
                "trace_state": link.trace_state,
                "attributes": _as_dict(link.attributes),
                "dropped_attributes_count": link.dropped_attributes_count,
                "flags": link.flags,
            }
            for link in record.links
        ]
    )


def span_rows(record: SpanRecord, experiment_id: int, resource_id: int | None) -> SpanRows:
    return SpanRows(record, experiment_id, resource_id)
