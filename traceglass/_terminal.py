"""Text from the store made safe to print on a terminal: span names, previews and experiment
names come from anyone who can send spans, and an escape sequence in one would clear the
screen, retitle the window or reorder what the table shows."""

from __future__ import annotations

__all__ = ["printable"]

# C0 and C1 control characters, DEL, and the bidirectional formatting characters, each written
# as its escape. Other format characters (the zero-width joiner of emoji sequences) stay.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))}
_ESCAPES.update({code: f"\\u{code:04x}" for code in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                                     *range(0x2066, 0x206A))})


def printable(text: str) -> str:
    """`text` with control and bidirectional formatting characters written as escapes."""
    return text.translate(_ESCAPES)
