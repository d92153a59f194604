"""traceglass.openai: `traceglass.openai.autolog()` traces every OpenAI call."""

from __future__ import annotations

from traceglass._autolog import AUTOLOG_DOC, autolog_provider
from traceglass._env import CaptureMode

__all__ = ["autolog"]


def autolog(
    disable: bool = False,
    log_traces: bool = True,
    capture_content: str | bool | CaptureMode | None = None,
) -> None:
    autolog_provider("openai", disable=disable, log_traces=log_traces, capture_content=capture_content)


autolog.__doc__ = AUTOLOG_DOC.format(provider="openai", title="OpenAI", package="openai")
