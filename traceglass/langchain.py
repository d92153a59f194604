"""traceglass.langchain: `traceglass.langchain.autolog()` traces every LangChain and LangGraph run."""

from __future__ import annotations

from traceglass._autolog import AUTOLOG_DOC, autolog_provider
from traceglass._env import CaptureMode

__all__ = ["autolog"]


def autolog(
    disable: bool = False,
    log_traces: bool = True,
    capture_content: str | bool | CaptureMode | None = None,
) -> None:
    autolog_provider("langchain", disable=disable, log_traces=log_traces, capture_content=capture_content)


autolog.__doc__ = AUTOLOG_DOC.format(provider="langchain", title="LangChain and LangGraph", package="langchain-core")
