"""traceglass.set_redactor(): what is recorded as content passes through the application's redactor."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest

import traceglass
from tests.instrumentors.openai._helpers import DETAILS_EVENT, INPUT, OUTPUT, cassette, content

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
LOCATION = re.compile(r"Seattle|San Francisco")


@pytest.fixture(autouse=True)
def no_redactor_afterwards() -> Iterator[None]:
    yield
    traceglass.set_redactor(None)


def mask(text: str) -> str:
    return LOCATION.sub("[CITY]", EMAIL.sub("[EMAIL]", text))


def test_messages_tool_calls_and_results_are_redacted_ids_and_roles_are_not(replay: Any, otel: Any, instrument: Any,
                                                                          openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_tool_calls_with_content"))
    instrument(capture_content="SPAN_AND_EVENT")
    seen: list[str] = []

    def redact(text: str) -> str:
        seen.append(text)
        return mask(text)

    traceglass.set_redactor(redact)
    client = openai_client()
    messages: list[Any] = [
        {"role": "system", "content": "Reply to ana@example.com."},
        {"role": "user", "content": "What's the weather in Seattle and San Francisco today?"},
    ]
    first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[{
        "type": "function", "function": {"name": "get_current_weather", "parameters": {
            "type": "object", "properties": {"location": {"type": "string"}}}}}])
    calls = first.choices[0].message.tool_calls
    client.chat.completions.create(model="gpt-4o-mini", messages=[
        *messages, first.choices[0].message,
        {"role": "tool", "content": "Seattle: 50 degrees", "tool_call_id": calls[0].id},
        {"role": "tool", "content": "San Francisco: 70 degrees", "tool_call_id": calls[1].id}])

    # The application gets the provider's answer as it was.
    assert calls[0].function.arguments == '{"location": "Seattle, WA"}'
    asking, answering = otel.spans()
    assert content(asking, INPUT) == [
        {"role": "system", "parts": [{"type": "text", "content": "Reply to [EMAIL]."}]},
        {"role": "user", "parts": [{"type": "text", "content": "What's the weather in [CITY] and [CITY] today?"}]},
    ]
    assert content(asking, OUTPUT)[0]["parts"] == [
        {"type": "tool_call", "id": call.id, "name": "get_current_weather",
         "arguments": {"location": f"[CITY], {state}"}}
        for call, state in zip(calls, ("WA", "CA"), strict=True)
    ]
    assert content(answering, INPUT)[-2:] == [
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": call.id, "response": f"[CITY]: {degrees}"}]}
        for call, degrees in zip(calls, ("50 degrees", "70 degrees"), strict=True)
    ]
    # Identifiers and the structure's own words never reach the redactor; the event carries the same content.
    assert not {calls[0].id, "assistant", "tool_call", "user", "stop"} & set(seen)
    [event, _] = [record for record in otel.logs() if record.log_record.event_name == DETAILS_EVENT]
    assert "Seattle" not in str(event.log_record.attributes) and "[CITY]" in str(event.log_record.attributes)


def test_a_failing_redactor_records_a_marker_never_the_text(replay: Any, otel: Any, instrument: Any,
                                                              openai_client: Any,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    instrument()

    def broken(text: str) -> str:
        raise RuntimeError("regex service down")

    traceglass.set_redactor(broken)
    with caplog.at_level(logging.WARNING, logger="traceglass"):
        reply = openai_client().chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say this is a test"}])

    assert reply.choices[0].message.content  # the call itself is untouched
    [span] = otel.spans()
    assert content(span, INPUT) == [{"role": "user", "parts": [{"type": "text", "content": "[REDACTION FAILED]"}]}]
    assert content(span, OUTPUT)[0]["parts"] == [{"type": "text", "content": "[REDACTION FAILED]"}]
    assert "Say this is a test" not in str(span.attributes)
    warnings = [r for r in caplog.records if "redactor" in r.getMessage()]
    assert len(warnings) == 1 and "regex service down" in (warnings[0].exc_text or "")


def test_only_a_function_or_none_is_taken() -> None:
    with pytest.raises(TypeError, match="takes a function of one str"):
        traceglass.set_redactor("[EMAIL]")  # type: ignore[arg-type]
