"""value_to_json: a traced function's inputs and output as JSON, whatever they hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from traceglass.semconv._values import value_to_json


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


class Counted:
    """Counts how often it is turned into text."""

    calls = 0

    def __str__(self) -> str:
        Counted.calls += 1
        return "row"


@pytest.mark.parametrize("limit", [64, 1000, 65536])
def test_a_huge_input_is_converted_only_as_far_as_the_cap_reaches(limit: int) -> None:
    Counted.calls = 0
    rows = [Counted() for _ in range(1_000_000)]

    text = value_to_json({"rows": rows}, limit)

    assert len(text) <= limit
    _strict(text)
    assert Counted.calls <= limit + 1  # not a million: nothing past the cap is looked at


def test_without_a_cap_everything_is_converted() -> None:
    Counted.calls = 0
    assert _strict(value_to_json([Counted() for _ in range(5000)])) == ["row"] * 5000
    assert Counted.calls == 5000


def test_numbers_json_cannot_hold_become_null() -> None:
    text = value_to_json({"score": float("nan"), "bounds": [float("-inf"), 1.5, float("inf")]})
    assert _strict(text) == {"score": None, "bounds": [None, 1.5, None]}
