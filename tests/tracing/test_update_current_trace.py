"""update_current_trace(): tags/metadata on the current span; session/user ids on later spans too."""

from __future__ import annotations

import logging

import traceglass
from tests.tracing.conftest import by_name


def test_sets_attributes_on_current_span(tracing):
    with traceglass.start_span("root"):
        traceglass.update_current_trace(tags=["a", "b"], metadata={"env": "prod", "n": 3},
                                        session_id="s-1", user_id="u-1")
        traceglass.update_current_trace(tags=["b", "c"])
    attrs = tracing.span().attributes
    assert list(attrs["traceglass.trace.tags"]) == ["a", "b", "c"]
    assert attrs["traceglass.trace.metadata.env"] == "prod"
    assert attrs["traceglass.trace.metadata.n"] == "3"
    assert attrs["session.id"] == "s-1" and attrs["gen_ai.conversation.id"] == "s-1"
    assert attrs["user.id"] == "u-1"


def test_later_spans_in_the_context_carry_session_and_user(tracing):
    @traceglass.trace
    def child():
        return 1

    @traceglass.trace
    def handler():
        traceglass.update_current_trace(session_id="s-2", user_id="u-2", tags=["t"])
        child()
        with traceglass.start_span("block"):
            pass
        traceglass.start_span_no_context("callback").end()

    handler()
    with traceglass.start_span("after"):  # the handler's context has ended: no ids
        pass
    spans = by_name(tracing)
    for name in (child.__qualname__, "block", "callback"):
        assert spans[name].attributes["session.id"] == "s-2", name
        assert spans[name].attributes["user.id"] == "u-2"
        assert spans[name].attributes["gen_ai.conversation.id"] == "s-2"
        assert "traceglass.trace.tags" not in spans[name].attributes
    assert "session.id" not in spans["after"].attributes


def test_instrumentor_spans_carry_the_ids(tracing):
    from traceglass.semconv import Invocation, Telemetry

    from traceglass._env import Settings

    telemetry = Telemetry("test", "0", Settings(), tracer_provider=tracing.tracer_provider)
    with traceglass.start_span("agent"):
        traceglass.update_current_trace(session_id="s-3", user_id="u-3")
        telemetry.start(Invocation(operation="chat", provider="openai", request_model="m")).finish()
        telemetry.start(Invocation(operation="chat", provider="openai", conversation_id="own")).finish()
    chat, chat_own, _agent = tracing.spans()
    assert chat.attributes["session.id"] == "s-3" and chat.attributes["user.id"] == "u-3"
    assert chat.attributes["gen_ai.conversation.id"] == "s-3"
    assert chat_own.attributes["gen_ai.conversation.id"] == "own"  # the call's own id wins
    assert chat_own.attributes["session.id"] == "s-3"


def test_no_current_span_is_a_noop(tracing, caplog):
    with caplog.at_level(logging.DEBUG, logger="traceglass"):
        traceglass.update_current_trace(session_id="s", tags=["x"])
    assert "no current span" in caplog.text
    with traceglass.start_span("later"):
        pass
    assert "session.id" not in tracing.span().attributes


def test_bad_input_never_raises(tracing):
    class Bad:
        def __str__(self):
            raise RuntimeError("no str")

    with traceglass.start_span("root"):
        traceglass.update_current_trace(metadata={"k": Bad()})
    assert tracing.span().name == "root"


def test_a_tag_that_is_not_a_list_is_one_tag_and_the_rest_is_kept(tracing):
    with traceglass.start_span("root"):
        traceglass.update_current_trace(tags=5, metadata={"run": 7}, session_id="s-9")
    attrs = tracing.span().attributes
    assert list(attrs["traceglass.trace.tags"]) == ["5"]
    assert attrs["traceglass.trace.metadata.run"] == "7" and attrs["session.id"] == "s-9"


def test_tags_given_as_a_mapping_keep_their_values(tracing):
    with traceglass.start_span("root"):
        traceglass.update_current_trace(tags={"env": "prod", "attempt": 2}, user="u-7")
        traceglass.update_current_trace(tags=["checked"])
    attrs = tracing.span().attributes
    assert attrs["traceglass.trace.tag.env"] == "prod"
    assert attrs["traceglass.trace.tag.attempt"] == "2"
    assert list(attrs["traceglass.trace.tags"]) == ["checked"]
    assert attrs["user.id"] == "u-7"
