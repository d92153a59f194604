"""The public API of `traceglass`, pinned: a change here is a change users see."""

from __future__ import annotations

import inspect

import traceglass


def test_all_is_pinned():
    assert sorted(traceglass.__all__) == [
        "FilterError",
        "LiveSpan",
        "SpanType",
        "__version__",
        "autolog",
        "configure",
        "delete_trace_tag",
        "delete_traces",
        "disable_notebook_display",
        "enable_notebook_display",
        "get_current_active_span",
        "get_last_active_trace_id",
        "get_trace",
        "get_tracking_uri",
        "propagate_context_to_threads",
        "search_traces",
        "set_experiment",
        "set_redactor",
        "set_trace_tag",
        "set_tracking_uri",
        "start_span",
        "start_span_no_context",
        "trace",
        "update_current_trace",
    ]
    for name in traceglass.__all__:
        assert hasattr(traceglass, name), name


def test_autolog_modules_after_a_bare_import():
    for provider in ("openai", "anthropic", "langchain", "ollama"):
        module = getattr(traceglass, provider)
        assert module.__name__ == f"traceglass.{provider}"
        assert module.__all__ == ["autolog"]


def test_signatures():
    def params(func):
        return list(inspect.signature(func).parameters)

    assert params(traceglass.trace) == ["func", "name", "span_type", "attributes"]
    assert params(traceglass.start_span) == ["name", "span_type", "attributes"]
    assert params(traceglass.start_span_no_context) == ["name", "parent", "span_type", "inputs", "attributes"]
    assert params(traceglass.update_current_trace) == ["tags", "metadata", "session_id", "user_id", "user"]
    assert params(traceglass.configure) == [
        "tracer_provider", "capture_content", "max_content_length", "propagate_context_to_threads",
    ]
    assert params(traceglass.LiveSpan.end) == ["self", "outputs", "status", "exception"]
    autolog_params = ["disable", "log_traces", "capture_content"]
    assert params(traceglass.autolog) == autolog_params
    for provider in ("openai", "anthropic", "langchain", "ollama"):
        assert params(getattr(traceglass, provider).autolog) == autolog_params
    assert params(traceglass.set_tracking_uri) == ["uri"]
    assert params(traceglass.get_tracking_uri) == []
    assert params(traceglass.set_experiment) == ["name"]
    assert params(traceglass.search_traces) == [
        "experiment_ids", "experiment_names", "filter_string", "order_by", "max_results", "page_token", "return_type",
    ]
    assert inspect.signature(traceglass.search_traces).parameters["max_results"].default is None  # as in MLflow
    assert params(traceglass.get_trace) == ["trace_id"]
    assert params(traceglass.set_trace_tag) == ["trace_id", "key", "value"]
    assert params(traceglass.delete_trace_tag) == ["trace_id", "key"]
