"""`traceglass traces export` and `traceglass experiments` with odd input: an export that matches
nothing, ids no store can hold."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import traceglass
from tests.replay import ReplayServer
from tests.tracking._helpers import chat
from traceglass.cli import main


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture
def recorded(openai_client: Callable[..., Any], replay: ReplayServer, default_store_url: str) -> str:
    traceglass.openai.autolog()
    traceglass.set_experiment("edges")
    chat(openai_client, replay, "a question")
    traceglass._pipeline.flush()
    traceglass.set_experiment(None)
    return default_store_url


def test_an_export_that_matches_nothing_still_writes_its_file(recorded: str, tmp_path: Path) -> None:
    fresh, stale = tmp_path / "fresh.jsonl", tmp_path / "stale.jsonl"
    stale.write_text('{"from": "an earlier export"}\n', encoding="utf-8")
    nothing = "trace.status = 'ERROR'"

    for target in (fresh, stale):
        result = _run("traces", "export", "--filter", nothing, "-o", str(target))
        assert result.exit_code == 0, result.output
        assert f"0 trace(s) written to {target}" in result.stderr
        assert target.read_text(encoding="utf-8") == ""  # created, or emptied: what it says


def test_a_failed_export_leaves_an_existing_file_alone(recorded: str, tmp_path: Path) -> None:
    target = tmp_path / "keep.jsonl"
    target.write_text("earlier\n", encoding="utf-8")

    result = _run("traces", "export", "--filter", "trace.status = ", "-o", str(target))

    assert result.exit_code == 2
    assert target.read_text(encoding="utf-8") == "earlier\n"


@pytest.mark.parametrize("experiment_id", ["99999999999999999999999", "9223372036854775808", "-9223372036854775809"])
@pytest.mark.parametrize("command", [["rename", "--", "{id}", "new-name"], ["delete", "--yes", "--", "{id}"]])
def test_an_id_no_store_can_hold_is_not_found(recorded: str, experiment_id: str, command: list[str]) -> None:
    result = _run("experiments", *(arg.replace("{id}", experiment_id) for arg in command))

    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == f"Error: No experiment with id {experiment_id}"
    assert [e.name for e in traceglass._tracking.open_store(recorded).list_experiments()] == ["edges"]
