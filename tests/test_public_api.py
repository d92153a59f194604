"""The public API of `traceglass`, pinned: a change here is a change users see."""

from __future__ import annotations

import inspect

import traceglass


def test_all_is_pinned():
    assert sorted(traceglass.__all__) == [
        "LiveSpan",
        "SpanType",
        "__version__",
        "configure",
        "propagate_context_to_threads",
        "start_span",
        "start_span_no_context",
        "trace",
        "update_current_trace",
    ]
    for name in traceglass.__all__:
        assert hasattr(traceglass, name), name


def test_signatures():
    def params(func):
        return list(inspect.signature(func).parameters)

    assert params(traceglass.trace) == ["func", "name", "span_type", "attributes"]
    assert params(traceglass.start_span) == ["name", "span_type", "attributes"]
    assert params(traceglass.start_span_no_context) == ["name", "parent", "span_type", "inputs", "attributes"]
    assert params(traceglass.update_current_trace) == ["tags", "metadata", "session_id", "user_id"]
    assert params(traceglass.configure) == [
        "tracer_provider", "capture_content", "max_content_length", "propagate_context_to_threads",
    ]
    assert params(traceglass.LiveSpan.end) == ["self", "outputs", "status", "exception"]
