"""Fixtures for the manual tracing API: traceglass.configure() aimed at the test's providers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import traceglass
from tests.otel_capture import OTelCapture


@pytest.fixture
def configure(otel: OTelCapture) -> Iterator[Callable[..., OTelCapture]]:
    """``configure(**kw)`` -> otel: traceglass.configure(tracer_provider=otel's, **kw); undone after."""

    def _configure(**kw: Any) -> OTelCapture:
        traceglass.configure(tracer_provider=otel.tracer_provider, **kw)
        return otel

    yield _configure
    traceglass.configure()


@pytest.fixture
def tracing(configure: Callable[..., OTelCapture]) -> OTelCapture:
    """The otel capture, with content capture on (inputs and outputs recorded)."""
    return configure(capture_content="SPAN_ONLY")


def by_name(otel: OTelCapture) -> dict[str, Any]:
    return {span.name: span for span in otel.spans()}


def inputs(span: Any) -> Any:
    return json.loads(span.attributes["traceglass.span.inputs"])


def outputs(span: Any) -> Any:
    return json.loads(span.attributes["traceglass.span.outputs"])


def parent_id(span: Any) -> int | None:
    return span.parent.span_id if span.parent is not None else None
