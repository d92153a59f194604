"""Message content: JSON-schema validity, capture modes and their environment variables, the details event."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
import traceglass.semconv._names as N
from jsonschema import Draft202012Validator
from opentelemetry._logs import SeverityNumber
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.trace import ReadableSpan
from semconv_kit import Pipelines, embeddings_invocation, rich_invocation, text_invocation
from semconv_spec import CONTENT_KEYS, load_schema, plain, schema_errors
from traceglass.semconv import with_trace_attributes

from traceglass._env import CAPTURE_MESSAGE_CONTENT, EMIT_EVENT, CaptureMode, Settings

DETAILS_EVENT = "gen_ai.client.inference.operation.details"


def _call(
    kit: Pipelines, settings: Settings | None = None, **resolve: Any
) -> tuple[ReadableSpan, list[ReadableLogRecord]]:
    kit.telemetry(settings, **resolve).start(rich_invocation()).finish()
    return kit.span(), kit.logs()


def _content_on_span(span: ReadableSpan) -> set[str]:
    return set(CONTENT_KEYS) & set(span.attributes or {})


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "traceglass" and r.levelno == logging.WARNING]


# --- JSON content -----------------------------------------------------------------------------------


def test_span_content_is_valid_against_the_schemas(kit: Pipelines) -> None:
    span, logs = _call(kit, capture_content="SPAN_ONLY")
    assert logs == []
    attributes = span.attributes or {}
    assert _content_on_span(span) == set(CONTENT_KEYS)
    for key in CONTENT_KEYS:
        assert isinstance(attributes[key], str)
        assert schema_errors(key, attributes[key]) == []


def test_span_content_keeps_every_part_in_order(kit: Pipelines) -> None:
    span, _ = _call(kit, capture_content="SPAN_ONLY")
    attributes = span.attributes or {}
    raw = attributes[N.INPUT_MESSAGES]
    assert isinstance(raw, str)
    messages = json.loads(raw)
    assert raw == json.dumps(messages, separators=(",", ":"), ensure_ascii=False)  # compact, not \u-escaped
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool"]
    assert messages[1]["name"] == "alice"
    assert [p["type"] for p in messages[1]["parts"]] == ["text", "blob", "uri", "file"]
    blob = messages[1]["parts"][1]
    assert base64.b64decode(blob["content"]) == b"\x89PNG\r\n\x1a\n"
    assert blob["modality"] == "image" and blob["mime_type"] == "image/png"
    assert messages[2]["parts"][1] == {"type": "tool_call", "name": "get_weather", "id": "call_1",
                                       "arguments": {"location": "Paris"}}
    assert messages[3]["parts"] == [{"type": "tool_call_response", "response": "rainy, 57°F", "id": "call_1"}]
    output = json.loads(str(attributes[N.OUTPUT_MESSAGES]))
    assert [m["finish_reason"] for m in output] == ["stop", "tool_call"]  # one per choice, in order
    assert [p["type"] for p in output[0]["parts"]] == ["reasoning", "text"]
    # By default, tool definitions carry only their required properties (the conventions
    # advise against the large optional ones).
    tools = json.loads(str(attributes[N.TOOL_DEFINITIONS]))
    assert tools == [{"type": "function", "name": "get_weather"}, {"type": "web_search", "name": "web_search"}]
    assert json.loads(str(attributes[N.SYSTEM_INSTRUCTIONS])) == [{"type": "text", "content": "You are a weather bot."}]


@pytest.mark.parametrize("how", ["argument", "env"])
def test_full_tool_definitions_on_request(kit: Pipelines, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    if how == "env":
        monkeypatch.setenv("TRACEGLASS_FULL_TOOL_DEFINITIONS", "true")
        telemetry = kit.telemetry(capture_content="SPAN_ONLY")
    else:
        telemetry = kit.telemetry(capture_content="SPAN_ONLY", full_tool_definitions=True)
    telemetry.start(rich_invocation()).finish()
    tools = json.loads(str(kit.span().attributes[N.TOOL_DEFINITIONS]))
    assert tools[0]["name"] == "get_weather" and tools[0]["parameters"]["required"] == ["location"]
    assert tools[1] == {"type": "web_search", "name": "web_search"}


def test_missing_finish_reason_is_written_as_error(kit: Pipelines) -> None:
    inv = text_invocation()
    inv.output_messages[0].finish_reason = None
    kit.telemetry(capture_content="SPAN_ONLY").start(inv).finish()
    output = (kit.span().attributes or {})[N.OUTPUT_MESSAGES]
    assert json.loads(str(output))[0]["finish_reason"] == "error"
    assert schema_errors(N.OUTPUT_MESSAGES, output) == []


def test_part_check_catches_what_the_schema_alone_lets_through() -> None:
    broken = [{"role": "user", "parts": [{"type": "text"}]}]  # a text part without content
    assert Draft202012Validator(load_schema("gen-ai-input-messages.json")).is_valid(broken)  # GenericPart
    assert schema_errors(N.INPUT_MESSAGES, json.dumps(broken)) != []


def test_event_content_is_structured_and_valid(kit: Pipelines) -> None:
    span, logs = _call(kit, capture_content="EVENT_ONLY")
    assert _content_on_span(span) == set()
    (record,) = logs
    attributes = record.log_record.attributes or {}
    for key in CONTENT_KEYS:
        value = attributes[key]
        assert not isinstance(value, str), f"{key} must be structured on the event"
        assert schema_errors(key, value) == []
    messages = plain(attributes[N.INPUT_MESSAGES])
    assert messages[2]["parts"][1]["arguments"] == {"location": "Paris"}
    assert record.log_record.body is None


# --- capture modes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "on_span", "event", "on_event"), [
    ("NO_CONTENT", False, False, False),
    ("SPAN_ONLY", True, False, False),
    ("EVENT_ONLY", False, True, True),
    ("SPAN_AND_EVENT", True, True, True),
])
def test_capture_modes(kit: Pipelines, mode: str, on_span: bool, event: bool, on_event: bool) -> None:
    span, logs = _call(kit, capture_content=mode)
    assert _content_on_span(span) == (set(CONTENT_KEYS) if on_span else set())
    assert len(logs) == int(event)
    if logs:
        assert (set(CONTENT_KEYS) <= set(logs[0].log_record.attributes or {})) is on_event


def test_span_and_event_content_agree(kit: Pipelines) -> None:
    span, (record,) = _call(kit, capture_content="SPAN_AND_EVENT")
    for key in CONTENT_KEYS:
        assert json.loads(str((span.attributes or {})[key])) == plain((record.log_record.attributes or {})[key])


def test_default_is_no_content(kit: Pipelines) -> None:
    assert Settings.resolve() == Settings(CaptureMode.NO_CONTENT, emit_event=False)
    span, logs = _call(kit)
    assert _content_on_span(span) == set() and logs == []


@pytest.mark.parametrize("value", ["span_and_event", " Span_And_Event "])
def test_env_var_is_honoured_case_insensitively(kit: Pipelines, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(CAPTURE_MESSAGE_CONTENT, value)
    span, logs = _call(kit)
    assert _content_on_span(span) == set(CONTENT_KEYS)
    assert len(logs) == 1


def test_argument_wins_over_env(kit: Pipelines, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CAPTURE_MESSAGE_CONTENT, "SPAN_AND_EVENT")
    span, logs = _call(kit, capture_content="NO_CONTENT")
    assert _content_on_span(span) == set() and logs == []
    assert Settings.resolve(capture_content=CaptureMode.EVENT_ONLY).capture is CaptureMode.EVENT_ONLY


@pytest.mark.parametrize(("value", "mode"), [
    (True, CaptureMode.SPAN_ONLY), (False, CaptureMode.NO_CONTENT),
    ("true", CaptureMode.SPAN_ONLY), ("0", CaptureMode.NO_CONTENT), ("", CaptureMode.NO_CONTENT),
])
def test_legacy_boolean_values(value: str | bool, mode: CaptureMode, tg_log: pytest.LogCaptureFixture) -> None:
    assert Settings.resolve(capture_content=value).capture is mode
    assert _warnings(tg_log) == []


def test_bad_env_value_means_no_content_with_a_warning(
    kit: Pipelines, monkeypatch: pytest.MonkeyPatch, tg_log: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(CAPTURE_MESSAGE_CONTENT, "EVERYTHING")
    span, logs = _call(kit)
    assert _content_on_span(span) == set() and logs == []
    (warning,) = _warnings(tg_log)
    assert CAPTURE_MESSAGE_CONTENT in warning.getMessage() and "EVERYTHING" in warning.getMessage()


def test_bad_argument_means_no_content_with_a_warning(tg_log: pytest.LogCaptureFixture) -> None:
    assert Settings.resolve(capture_content="spans").capture is CaptureMode.NO_CONTENT
    assert len(_warnings(tg_log)) == 1


def test_emit_event_false_suppresses_the_event(kit: Pipelines, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(EMIT_EVENT, "false")
    span, logs = _call(kit, capture_content="SPAN_AND_EVENT")
    assert logs == []
    assert _content_on_span(span) == set(CONTENT_KEYS)


def test_emit_event_true_with_span_only_sends_an_event_without_content(
    kit: Pipelines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(EMIT_EVENT, "TRUE")
    span, (record,) = _call(kit, capture_content="SPAN_ONLY")
    assert _content_on_span(span) == set(CONTENT_KEYS)
    assert set(CONTENT_KEYS) & set(record.log_record.attributes or {}) == set()


def test_emit_event_argument_wins_and_bad_env_value_warns(
    monkeypatch: pytest.MonkeyPatch, tg_log: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(EMIT_EVENT, "true")
    assert Settings.resolve(capture_content="EVENT_ONLY", emit_event=False).emit_event is False
    monkeypatch.setenv(EMIT_EVENT, "maybe")
    assert Settings.resolve(capture_content="EVENT_ONLY").emit_event is True  # the mode's default
    assert Settings.resolve(capture_content="SPAN_ONLY").emit_event is False
    assert len(_warnings(tg_log)) == 2


# --- the details event ------------------------------------------------------------------------------


def test_details_event_name_severity_and_span_context(kit: Pipelines) -> None:
    span, (record,) = _call(kit, capture_content="EVENT_ONLY")
    log = record.log_record
    assert log.event_name == DETAILS_EVENT
    assert log.severity_number is SeverityNumber.DEBUG and log.severity_number.value == 5
    assert span.context is not None
    assert (log.trace_id, log.span_id) == (span.context.trace_id, span.context.span_id)
    assert log.trace_flags == span.context.trace_flags


def test_details_event_carries_the_span_attributes(kit: Pipelines) -> None:
    span, (record,) = _call(kit, capture_content="EVENT_ONLY")
    event = dict(record.log_record.attributes or {})
    assert {k: event[k] for k in (span.attributes or {})} == dict(span.attributes or {})
    assert event["gen_ai.response.id"] == "chatcmpl-123"
    assert event["openai.response.system_fingerprint"] == "fp_1"


def test_details_event_of_a_failed_call_has_error_type(kit: Pipelines) -> None:
    handle = kit.telemetry(capture_content="EVENT_ONLY").start(text_invocation())
    handle.fail(ConnectionError("reset"))
    (record,) = kit.logs()
    assert (record.log_record.attributes or {})["error.type"] == "ConnectionError"


def test_no_event_for_embeddings(kit: Pipelines) -> None:
    kit.telemetry(capture_content="SPAN_AND_EVENT").start(embeddings_invocation()).finish()
    assert kit.logs() == []
    assert len(kit.spans()) == 1


def test_details_event_carries_the_conversation_id_of_the_trace(kit: Pipelines) -> None:
    # What update_current_trace(session_id=..., user_id=...) puts in the context.
    context = with_trace_attributes({"session.id": "s-1", N.CONVERSATION_ID: "s-1", "user.id": "u-1"})
    kit.telemetry(capture_content="EVENT_ONLY").start(text_invocation(), context=context).finish()
    span, (record,) = kit.span(), kit.logs()
    assert (span.attributes or {})[N.CONVERSATION_ID] == "s-1"
    event = dict(record.log_record.attributes or {})
    assert event[N.CONVERSATION_ID] == "s-1"
    # session.id and user.id are not attributes of the inference event.
    assert "session.id" not in event and "user.id" not in event
