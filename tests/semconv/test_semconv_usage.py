"""Usage.normalized: the conventions' token arithmetic, and tolerance of odd provider values."""

from __future__ import annotations

from typing import Any

import pytest
from semconv_kit import Pipelines, text_invocation
from traceglass.semconv import Usage


def _fields(usage: Usage) -> tuple[int | None, ...]:
    return (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens,
            usage.cache_write_input_tokens, usage.reasoning_output_tokens)


def test_counts_that_already_include_details_are_kept() -> None:
    # OpenAI: prompt_tokens include cached ones, completion_tokens include reasoning ones.
    usage = Usage.normalized(100, 40, cache_read=30, reasoning=12)
    assert _fields(usage) == (100, 40, 30, None, 12)


def test_cached_tokens_are_added_when_the_provider_excludes_them() -> None:
    # Anthropic: input_tokens excludes cache reads and writes.
    usage = Usage.normalized(50, 10, cache_read=30, cache_write=20, input_excludes_cache=True)
    assert _fields(usage) == (100, 10, 30, 20, None)


def test_reasoning_tokens_are_added_when_the_provider_excludes_them() -> None:
    usage = Usage.normalized(5, 10, reasoning=7, output_excludes_reasoning=True)
    assert _fields(usage) == (5, 17, None, None, 7)


def test_missing_details_add_nothing() -> None:
    usage = Usage.normalized(50, 10, input_excludes_cache=True, output_excludes_reasoning=True)
    assert _fields(usage) == (50, 10, None, None, None)


def test_missing_total_is_not_invented_from_details() -> None:
    usage = Usage.normalized(None, None, cache_read=30, reasoning=4,
                             input_excludes_cache=True, output_excludes_reasoning=True)
    assert _fields(usage) == (None, None, 30, None, 4)


@pytest.mark.parametrize("bad", [None, -1, -100, True, False, "many", "", "1e3", [3], {"n": 1},
                                 float("nan"), float("inf"), -0.5e9, 2**63, object()])
def test_bad_counts_are_dropped(bad: Any) -> None:
    usage = Usage.normalized(bad, bad, cache_read=bad, cache_write=bad, reasoning=bad)
    assert _fields(usage) == (None, None, None, None, None)


@pytest.mark.parametrize("bad", [None, -5, True, "abc", float("inf")])
def test_a_bad_detail_neither_raises_nor_skews_the_total(bad: Any) -> None:
    usage = Usage.normalized(50, 10, cache_read=bad, cache_write=3, reasoning=bad,
                             input_excludes_cache=True, output_excludes_reasoning=True)
    assert _fields(usage) == (53, 10, None, 3, None)


def test_zero_is_a_count() -> None:
    assert _fields(Usage.normalized(0, 0, cache_read=0, cache_write=0, reasoning=0)) == (0, 0, 0, 0, 0)


def test_integral_floats_become_ints() -> None:
    usage = Usage.normalized(12.0, 3.0)
    assert _fields(usage)[:2] == (12, 3)
    assert all(type(value) is int for value in _fields(usage)[:2])


def test_normalized_usage_reaches_span_and_metrics(kit: Pipelines) -> None:
    inv = text_invocation(usage=Usage.normalized(50, 10, cache_read=30, cache_write=20, reasoning=4,
                                                 input_excludes_cache=True, output_excludes_reasoning=True))
    kit.telemetry().start(inv).finish()
    attributes = kit.span().attributes or {}
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 14
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attributes["gen_ai.usage.cache_write.input_tokens"] == 20
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 4
    sums = {p.attributes["gen_ai.token.type"]: p.sum for p in kit.points("gen_ai.client.token.usage")}
    assert sums == {"input": 100, "output": 14}


def test_partial_usage_records_only_known_counts(kit: Pipelines) -> None:
    kit.telemetry().start(text_invocation(usage=Usage.normalized(None, "n/a", cache_read=-1))).finish()
    attributes = kit.span().attributes or {}
    assert not [key for key in attributes if key.startswith("gen_ai.usage.")]
    assert kit.points("gen_ai.client.token.usage") == []
