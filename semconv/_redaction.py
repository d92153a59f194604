"""The application's redactor: what traceglass records as content passes through it first.

Content reaches span attributes and events through two encoders only, `to_json` (messages,
system instructions, tool definitions) and `value_to_json` (inputs and outputs of steps and
`@trace`d functions, tool-call arguments and results). Both hand their plain data to
`redact_strings` before encoding, so every string of it goes through the redactor, in every
capture mode and for every instrumentor. A redactor that fails never lets the text it was given
through: the text is replaced by FAILED.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from ._guard import report_failure

__all__ = ["FAILED", "redact_strings", "set_redactor"]

FAILED = "[REDACTION FAILED]"
_redactor: Callable[[str], str] | None = None


def set_redactor(redactor: Callable[[str], str] | None) -> None:
    """Pass every text recorded as content from now on through `redactor` (None: record it as
    it is). Raises TypeError for anything else than a callable or None."""
    global _redactor
    if redactor is not None and not callable(redactor):
        raise TypeError(f"set_redactor() takes a function of one str returning a str, or None; "
                        f"got {type(redactor).__name__}")
    _redactor = redactor


def redact_strings(value: Any, keep: Collection[str] = ()) -> Any:
    """`value` (plain JSON data) with each string redacted, except the values of dict keys in
    `keep` (identifiers: a role, a tool call id) when they are strings."""
    redactor = _redactor
    if redactor is None:
        return value
    return _walk(value, redactor, keep)


def _walk(value: Any, redactor: Callable[[str], str], keep: Collection[str]) -> Any:
    if isinstance(value, str):
        return _apply(redactor, value)
    if isinstance(value, dict):
        return {key: item if key in keep and isinstance(item, str) else _walk(item, redactor, keep)
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(item, redactor, keep) for item in value]
    return value


def _apply(redactor: Callable[[str], str], text: str) -> str:
    try:
        result = redactor(text)
        if not isinstance(result, str):
            raise TypeError(f"the redactor returned {type(result).__name__}, not str")
        return result
    except Exception:
        report_failure("the redactor given to set_redactor()")
        return FAILED
