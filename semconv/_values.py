"""JSON of arbitrary Python values (a traced function's inputs and output), with the size cap.

Anything JSON cannot hold becomes plain data first: pydantic models via model_dump, dataclasses
field by field, sets and tuples as lists, bytes as base64, NaN and infinities as null (JSON has
no such numbers), anything else as str(). Never raises on odd input: a value that cannot be
converted is recorded as its str().

With a cap, conversion stops after `limit + 1` items (list elements and dict entries, all levels
together): each takes at least one character, so more could not fit. A million-item input then
costs what a cap's worth does, not a walk of the whole value in the caller's thread.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from typing import Any

from . import _names, _redaction
from ._messages import _encode, _shrink

__all__ = ["value_to_json"]

_MAX_DEPTH = 32


def value_to_json(value: Any, limit: int = 0) -> str:
    """Compact JSON of `value`, at most `limit` characters (0: no cap); always valid JSON."""
    plain = _redaction.redact_strings(_plain(value, 0, set(), [limit + 1 if limit else -1]))
    text = _encode(plain)  # the messages' encoder: orjson, json for what it refuses
    if not limit or len(text) <= limit:
        return text
    if isinstance(plain, list):
        return _shrink(plain, limit)
    shrunk = _shrink([plain], limit + 2)  # cut strings inside the one item; "[" and "]" removed
    if shrunk.startswith("[") and len(shrunk) > 2:
        return shrunk[1:-1]
    # The structure alone does not fit: keep the start of the text, as a JSON string.
    marker = _names.TRUNCATION_MARKER
    cut = max(0, limit - len(marker) - 2)
    while cut and len(_encode(text[:cut] + marker)) > limit:
        cut = max(0, cut - max(1, cut // 8))
    return _encode(text[:cut] + marker)


def _plain(value: Any, depth: int, seen: set[int], budget: list[int]) -> Any:
    """`value` as plain JSON data; `budget[0]` items may still be converted (negative: no end)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= _MAX_DEPTH:
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    key = id(value)
    if key in seen:
        return "<cycle>"
    seen.add(key)
    try:
        if isinstance(value, dict):
            entries = {}
            for k, v in value.items():
                if not budget[0]:
                    break
                budget[0] -= 1
                entries[_key(k)] = _plain(v, depth + 1, seen, budget)
            return entries
        if isinstance(value, (list, tuple, set, frozenset)):
            items = []
            for v in value:
                if not budget[0]:
                    break
                budget[0] -= 1
                items.append(_plain(v, depth + 1, seen, budget))
            return items
        dump = getattr(value, "model_dump", None)
        if callable(dump) and not isinstance(value, type):
            return _plain(dump(mode="json"), depth + 1, seen, budget)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            fields = {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
            return _plain(fields, depth + 1, seen, budget)
        return str(value)
    except Exception:
        return _fallback(value)
    finally:
        seen.discard(key)


def _key(key: Any) -> str:
    return key if isinstance(key, str) else _fallback(key)


def _fallback(value: Any) -> str:
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__qualname__}>"
