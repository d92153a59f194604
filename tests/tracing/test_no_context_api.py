"""start_span_no_context() and LiveSpan.end(): callback-style code, spans not made current."""

from __future__ import annotations

import threading

import pytest
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

import traceglass
from tests.tracing.conftest import by_name, inputs, outputs, parent_id


def test_root_and_children_link_without_becoming_current(tracing):
    root = traceglass.start_span_no_context("run", span_type="CHAIN", inputs={"q": "hi"})
    assert trace.get_current_span() is trace.INVALID_SPAN  # not made current
    child = traceglass.start_span_no_context("llm", parent=root, span_type="CHAT_MODEL")
    grandchild = traceglass.start_span_no_context("tool", parent=child.span, span_type="TOOL")
    grandchild.end(outputs="42")
    child.end(outputs={"text": "ok"}, status="OK")
    root.end(outputs="final")
    spans = by_name(tracing)
    assert spans["run"].parent is None
    assert parent_id(spans["llm"]) == spans["run"].context.span_id
    assert parent_id(spans["tool"]) == spans["llm"].context.span_id
    assert len({s.context.trace_id for s in spans.values()}) == 1
    assert inputs(spans["run"]) == {"q": "hi"} and outputs(spans["run"]) == "final"
    assert spans["llm"].status.status_code is StatusCode.OK
    assert spans["llm"].attributes["gen_ai.operation.name"] == "chat"


def test_parent_none_starts_a_new_trace_even_inside_a_span(tracing):
    with traceglass.start_span("current") as current:
        detached = traceglass.start_span_no_context("detached")
        detached.end()
    spans = by_name(tracing)
    assert spans["detached"].parent is None
    assert spans["detached"].context.trace_id != current.span.get_span_context().trace_id


def test_end_from_another_thread_with_exception(tracing):
    span = traceglass.start_span_no_context("async_callback")
    error = ConnectionError("lost")
    worker = threading.Thread(target=lambda: span.end(exception=error))
    worker.start()
    worker.join()
    finished = tracing.span()
    assert finished.status.status_code is StatusCode.ERROR
    assert finished.attributes["error.type"] == "ConnectionError"
    assert finished.events[0].name == "exception"


@pytest.mark.parametrize("status", ["ERROR", StatusCode.ERROR, Status(StatusCode.ERROR, "why")])
def test_status_forms(tracing, status):
    traceglass.start_span_no_context("s").end(status=status)
    assert tracing.span().status.status_code is StatusCode.ERROR


def test_end_twice_is_a_noop(tracing):
    span = traceglass.start_span_no_context("s")
    span.end(outputs=1)
    span.end(outputs=2)
    assert outputs(tracing.span()) == 1


def test_children_started_in_a_with_block_under_a_no_context_parent(tracing):
    parent = traceglass.start_span_no_context("parent")
    with trace.use_span(parent.span, end_on_exit=False), traceglass.start_span("child"):
        pass
    parent.end()
    spans = by_name(tracing)
    assert parent_id(spans["child"]) == spans["parent"].context.span_id
