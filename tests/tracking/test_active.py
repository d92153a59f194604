"""get_last_active_trace_id() and get_current_active_span(): tag the trace of the call just made."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import traceglass
from tests.replay import ReplayServer
from tests.tracking._helpers import chat


def test_the_last_trace_is_the_call_just_made_and_can_be_tagged(
    openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    traceglass.openai.autolog()
    traceglass.set_experiment("active")
    assert traceglass.get_last_active_trace_id() is None

    chat(openai_client, replay, "first")
    first = traceglass.get_last_active_trace_id()
    chat(openai_client, replay, "second")
    second = traceglass.get_last_active_trace_id()

    assert first is not None and second is not None and first != second
    traceglass.set_trace_tag(second, "reviewed", "yes")
    trace = traceglass.get_trace(second)
    assert trace is not None
    assert [span.name for span in trace.spans] == ["chat gpt-4o-mini"]
    assert trace.info.tags == {"reviewed": "yes"}
    assert "second" in (trace.info.request_preview or "")


def test_a_trace_counts_once_its_root_span_ends(openai_client: Callable[..., Any], replay: ReplayServer) -> None:
    traceglass.openai.autolog()
    chat(openai_client, replay, "before")
    before = traceglass.get_last_active_trace_id()

    @traceglass.trace
    def answer(question: str) -> str:
        chat(openai_client, replay, question)  # a child: its trace is not finished yet
        assert traceglass.get_last_active_trace_id() == before
        span = traceglass.get_current_active_span()
        assert span is not None
        span.set_attribute("app.step", "answering")
        return span.trace_id

    inner_trace_id = answer("nested")

    assert traceglass.get_last_active_trace_id() == inner_trace_id != before
    trace = traceglass.get_trace(inner_trace_id)
    assert trace is not None
    root = next(span for span in trace.spans if span.parent_span_id is None)
    assert (root.name.rsplit(".", 1)[-1], root.attributes["app.step"]) == ("answer", "answering")
    assert len(trace.spans) == 2


def test_thread_local_is_the_last_trace_of_the_calling_thread(
    openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    traceglass.openai.autolog()
    seen: dict[str, str | None] = {}

    def worker() -> None:
        seen["before"] = traceglass.get_last_active_trace_id(thread_local=True)
        with traceglass.start_span("in a thread") as span:
            seen["own"] = span.trace_id
        seen["after"] = traceglass.get_last_active_trace_id(thread_local=True)

    chat(openai_client, replay, "main thread")
    main_trace = traceglass.get_last_active_trace_id(thread_local=True)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()

    assert seen["before"] is None
    assert seen["after"] == seen["own"] != main_trace
    assert traceglass.get_last_active_trace_id(thread_local=True) == main_trace
    assert traceglass.get_last_active_trace_id() == seen["own"]


def test_no_current_span_outside_any_span() -> None:
    traceglass.set_experiment("active")
    assert traceglass.get_current_active_span() is None
    with traceglass.start_span("outer") as outer:
        current = traceglass.get_current_active_span()
        assert current is not None and current.span_id == outer.span_id
    assert traceglass.get_current_active_span() is None
