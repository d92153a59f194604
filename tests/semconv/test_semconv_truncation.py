"""The content size cap: TRACEGLASS_MAX_CONTENT_LENGTH / Settings(max_content_length=N)."""

from __future__ import annotations

import json
import logging

import pytest
import traceglass.semconv._names as N
from semconv_kit import Pipelines, rich_invocation, text_invocation
from semconv_spec import CONTENT_KEYS, plain, schema_errors
from traceglass.semconv import InputMessage, OutputMessage, TextPart, ToolCallRequestPart, to_json

from traceglass._env import MAX_CONTENT_LENGTH, CaptureMode, Settings

MARKER = "…[truncated]"


def _span_content(kit: Pipelines, settings: Settings, invocation: object) -> dict[str, str]:
    kit.telemetry(settings).start(invocation).finish()  # type: ignore[arg-type]
    attributes = kit.span().attributes or {}
    return {key: str(attributes[key]) for key in CONTENT_KEYS if key in attributes}


def test_marker_constant() -> None:
    assert N.TRUNCATION_MARKER == MARKER


@pytest.mark.parametrize("limit", [200, 500, 1000])
def test_long_message_is_cut_to_valid_json_with_the_marker(kit: Pipelines, limit: int) -> None:
    settings = Settings(capture=CaptureMode.SPAN_ONLY, max_content_length=limit)
    content = _span_content(kit, settings, text_invocation("x" * 20_000))
    value = content[N.INPUT_MESSAGES]
    assert len(value) <= limit
    assert MARKER in value
    (message,) = json.loads(value)
    assert message["role"] == "user"
    (part,) = message["parts"]
    assert part["type"] == "text" and part["content"].startswith("xxxx") and part["content"].endswith(MARKER)
    assert schema_errors(N.INPUT_MESSAGES, value) == []
    # The short output message is untouched.
    assert json.loads(content[N.OUTPUT_MESSAGES])[0]["parts"][0]["content"] == "ok"


def test_env_var_sets_the_cap(kit: Pipelines, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_CONTENT_LENGTH, "300")
    settings = Settings.resolve(capture_content="SPAN_ONLY")
    assert settings.max_content_length == 300
    value = _span_content(kit, settings, text_invocation("y" * 5000))[N.INPUT_MESSAGES]
    assert len(value) <= 300 and MARKER in value
    json.loads(value)


def test_argument_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MAX_CONTENT_LENGTH, "300")
    assert Settings.resolve(max_content_length=1000).max_content_length == 1000


def test_default_cap_is_64k(kit: Pipelines) -> None:
    settings = Settings.resolve(capture_content="SPAN_ONLY")
    assert settings.max_content_length == 65536
    value = _span_content(kit, settings, text_invocation("z" * 100_000))[N.INPUT_MESSAGES]
    # The cap is a ceiling: text is cut by halving, so as little as about half of it may be used.
    assert 16_384 < len(value) <= 65536 and MARKER in value
    json.loads(value)


@pytest.mark.parametrize("raw", ["0", "-5"])
def test_zero_or_negative_env_value_means_no_cap(kit: Pipelines, monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(MAX_CONTENT_LENGTH, raw)
    settings = Settings.resolve(capture_content="SPAN_ONLY")
    assert settings.max_content_length == 0
    value = _span_content(kit, settings, text_invocation("w" * 100_000))[N.INPUT_MESSAGES]
    assert MARKER not in value and len(value) > 100_000


def test_bad_env_value_keeps_the_default_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tg_log: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(MAX_CONTENT_LENGTH, "lots")
    assert Settings.resolve().max_content_length == 65536
    warnings = [r for r in tg_log.records if r.name == "traceglass" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and MAX_CONTENT_LENGTH in warnings[0].getMessage()


def test_huge_message_list_drops_trailing_items(kit: Pipelines) -> None:
    messages = [InputMessage("user", [TextPart(f"message number {i}")]) for i in range(3000)]
    invocation = text_invocation()
    invocation.input_messages = messages
    value = _span_content(kit, Settings(capture=CaptureMode.SPAN_ONLY, max_content_length=2000), invocation)[
        N.INPUT_MESSAGES]
    assert len(value) <= 2000
    kept = json.loads(value)
    assert 0 < len(kept) < 3000
    # A prefix of the original list, in order (texts themselves may be cut too).
    for i, message in enumerate(kept):
        original = f"message number {i}"
        text = message["parts"][0]["content"]
        assert text == original or (text.endswith(MARKER) and original.startswith(text.removesuffix(MARKER)))
    assert schema_errors(N.INPUT_MESSAGES, value) == []


def test_dropping_items_is_not_quadratic() -> None:
    import time

    messages = [InputMessage("user", [TextPart(f"message number {i} " * 5)]) for i in range(5_000)]
    started = time.perf_counter()
    text = to_json(messages, 65536)
    assert len(text) <= 65536 and json.loads(text)
    assert time.perf_counter() - started < 5  # was ~20 s, minutes for 10k, when each dropped item re-encoded the list


def test_every_content_attribute_is_capped(kit: Pipelines) -> None:
    big = "b" * 3000
    invocation = rich_invocation()
    invocation.system_instructions = [TextPart(big)]
    invocation.input_messages[1].parts[0] = TextPart(big)
    invocation.output_messages[0].parts[1] = TextPart(big)
    invocation.tool_definitions[0].description = big
    settings = Settings(capture=CaptureMode.SPAN_ONLY, max_content_length=1500, full_tool_definitions=True)
    content = _span_content(kit, settings, invocation)
    assert set(content) == set(CONTENT_KEYS)
    for key, value in content.items():
        assert len(value) <= 1500, key
        assert MARKER in value, key
        assert schema_errors(key, value) == [], key


@pytest.mark.parametrize("limit", [2, 16, 64, 100, 250, 400, 700, 1000, 1016, 1017, 4000])
def test_to_json_never_exceeds_the_limit_and_stays_valid(limit: int) -> None:
    items = rich_invocation().input_messages
    full = to_json(items)
    assert len(full) == 1017  # the sweep below crosses the uncut size
    text = to_json(items, limit)
    assert len(text) <= limit
    assert schema_errors(N.INPUT_MESSAGES, text) == []
    if limit >= len(full):
        assert text == full


def test_no_cap_when_limit_is_zero() -> None:
    items = [InputMessage("user", [TextPart("q" * 200_000)])]
    assert json.loads(to_json(items, 0))[0]["parts"][0]["content"] == "q" * 200_000


def test_the_cap_holds_on_the_event_too(kit: Pipelines) -> None:
    settings = Settings(capture=CaptureMode.EVENT_ONLY, emit_event=True, max_content_length=300)
    kit.telemetry(settings).start(text_invocation("e" * 10_000)).finish()
    (record,) = kit.logs()
    value = (record.log_record.attributes or {})[N.INPUT_MESSAGES]
    assert not isinstance(value, str)  # still structured
    assert schema_errors(N.INPUT_MESSAGES, value) == []
    text = plain(value)[0]["parts"][0]["content"]
    assert text.endswith(MARKER) and len(text) < 300


def test_content_json_is_strict_json_even_where_orjson_gives_up() -> None:
    # An int beyond 64 bits sends the encoder to json; a NaN beside it must not come out as NaN,
    # which no JSON parser but Python's accepts.
    arguments = {"big": 2**70, "ratio": float("nan"), "limit": [float("inf"), 1.5]}
    text = to_json([OutputMessage("assistant", [ToolCallRequestPart("f", "call_1", arguments)], "tool_call")])

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    parsed = json.loads(text, parse_constant=refuse)
    assert parsed[0]["parts"][0]["arguments"] == {"big": 2**70, "ratio": None, "limit": [None, 1.5]}
