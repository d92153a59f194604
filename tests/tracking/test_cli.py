"""`traceglass traces search` and `traceglass traces export`."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.exc import OperationalError

import traceglass
from tests.pricing import PRICED
from tests.replay import ReplayServer
from tests.tracking._helpers import chat, clean_env
from traceglass._tracking import open_store
from traceglass.cli import main


@pytest.fixture
def recorded(openai_client: Callable[..., Any], replay: ReplayServer, default_store_url: str) -> str:
    """Two traces in "cli-a", one in "cli-b"; returns the store URL."""
    traceglass.openai.autolog()
    traceglass.set_experiment("cli-a")
    chat(openai_client, replay, "first question")
    chat(openai_client, replay, "second question")
    traceglass.set_experiment("cli-b")
    chat(openai_client, replay, "third question")
    traceglass._pipeline.flush()
    traceglass.set_experiment(None)
    return default_store_url


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_search_table(recorded: str) -> None:
    result = _run("traces", "search", "--experiment", "cli-a")

    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split()[:4] == ["TRACE", "ID", "EXPERIMENT", "START"]
    assert len(rows) == 2
    assert all("cli-a" in row and "chat gpt-4o-mini" in row and " OK " in row for row in rows)
    assert "second question" in rows[0]  # newest first
    # gpt-4o-mini, 9 tokens in and 3 out: $0.00000315, shown as the web UI shows it.
    if PRICED:
        cost = header.index("COST $")
        assert [row[cost:].split()[0] for row in rows] == ["0.0000031", "0.0000031"], rows


def test_the_table_prints_control_characters_as_escapes(default_store_url: str) -> None:
    """A span name or an experiment name sent by anyone can hold terminal escape sequences or
    bidirectional overrides: the table shows them as escapes, never sends them to the terminal."""
    traceglass.set_experiment("\x1b]0;owned\x07exp")
    with traceglass.start_span("\x1b[2J\x1b[31mred\r\nname\u202eevil"):
        pass
    traceglass._pipeline.flush()

    table = _run("traces", "search").stdout
    experiments = _run("experiments", "list").stdout
    for output in (table, experiments):
        assert "\x1b" not in output and "\x07" not in output and "\r" not in output and "\u202e" not in output
    assert "\\x1b[2J\\x1b[31mred\\x0d" in table  # the name column's first 24 characters
    assert "\\x1b]0;owned\\x07exp" in experiments


def test_search_json_with_every_option(recorded: str) -> None:
    result = _run("traces", "search", "-e", "cli-a", "-e", "cli-b", "--filter", "trace.status = 'OK'",
                  "--order-by", "timestamp_ms ASC", "--max-results", "2", "--output", "json",
                  "--tracking-uri", recorded)

    assert result.exit_code == 0, result.output
    page = json.loads(result.stdout)
    assert [t["experiment_name"] for t in page["traces"]] == ["cli-a", "cli-a"]
    assert page["next_page_token"]

    rest = json.loads(_run("traces", "search", "-e", "cli-a", "-e", "cli-b", "--order-by", "timestamp_ms ASC",
                           "--max-results", "2", "--page-token", page["next_page_token"], "--output", "json").stdout)
    assert [t["experiment_name"] for t in rest["traces"]] == ["cli-b"]
    assert rest["next_page_token"] is None


def test_export_json_lines(recorded: str, tmp_path: Path) -> None:
    out = tmp_path / "traces.jsonl"
    result = _run("traces", "export", "--max-results", "1", "--all-pages", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert "3 trace(s) written" in result.stderr
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3
    for line in lines:
        assert set(line) == {"info", "spans"}
        [span] = line["spans"]
        assert span["name"] == "chat gpt-4o-mini"
        assert span["trace_id"] == line["info"]["trace_id"]
        assert span["attributes"]["gen_ai.usage.input_tokens"] == 9

    one_page = _run("traces", "export", "--max-results", "1")
    assert len(one_page.stdout.splitlines()) == 1  # without --all-pages: the first page only


def test_bad_filter_exits_2_with_the_message(recorded: str) -> None:
    result = _run("traces", "search", "--filter", "trace.status = ")

    assert result.exit_code == 2
    assert "Invalid filter at position" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_experiment_exits_2(recorded: str) -> None:
    result = _run("traces", "export", "--experiment", "nope")

    assert result.exit_code == 2
    assert "No experiment named 'nope'. Known experiments:" in result.stderr


def test_an_unreachable_server_says_so(unused_port: int) -> None:
    result = _run("traces", "search", "--tracking-uri", f"http://127.0.0.1:{unused_port}")

    assert result.exit_code == 1
    assert f"Cannot reach the traceglass server at http://127.0.0.1:{unused_port}" in result.stderr


@pytest.mark.parametrize("command", [["traces", "search"], ["traces", "export"], ["experiments", "list"]])
def test_a_store_that_cannot_be_opened_exits_1_with_one_line(tmp_path: Path, command: list[str]) -> None:
    not_a_database = tmp_path / "traces.db"
    not_a_database.write_text("these are not the traces you are looking for\n" * 100)
    url = f"sqlite:///{not_a_database}"

    result = _run(*command, "--tracking-uri", url)

    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: Cannot open the store at {url}: ")
    assert len(result.stderr.splitlines()) == 1


def test_a_database_error_mid_query_exits_1_with_one_line(recorded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def locked(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("SELECT ...", None, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(open_store(recorded), "search_traces", locked)
    result = _run("traces", "search")

    assert result.exit_code == 1
    assert result.stderr == "Error: The store could not answer: database is locked\n"


def test_no_traces() -> None:
    result = _run("traces", "search")
    assert result.exit_code == 0
    assert result.stdout.strip() == "No traces found."


@pytest.mark.slow
def test_console_script(recorded: str, tmp_path: Path) -> None:
    script = shutil.which("traceglass", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-c", "from traceglass.cli import main; main()"]
    result = subprocess.run(
        [*command, "traces", "search", "--output", "json", "--tracking-uri", recorded, "--filter", "trace.x ="],
        env=clean_env(), capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result
    assert result.stderr.startswith("Error: Invalid filter at position"), result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["traces", "search"], ["traces", "export"], ["experiments", "list"],
                                     ["experiments", "delete", "1", "--yes"]])
def test_a_mistyped_store_path_is_an_error_not_an_empty_store(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "tracse.db"
    result = _run(*command, "--tracking-uri", f"sqlite:///{typo}")
    assert result.exit_code == 1
    assert result.stderr == f"Error: No store at {typo}: nothing has been recorded there yet.\n"
    assert not typo.exists()


def test_a_store_path_under_the_home_directory_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _run("experiments", "create", "first", "--tracking-uri", "sqlite:///~/home.db").exit_code == 0
    assert (tmp_path / "home.db").exists()
    result = _run("traces", "search", "--tracking-uri", "sqlite:///~/home.db")
    assert result.exit_code == 0 and result.stdout.strip() == "No traces found."


def test_experiments_create_makes_a_new_store(tmp_path: Path) -> None:
    store = tmp_path / "new.db"
    assert _run("experiments", "create", "first", "--tracking-uri", f"sqlite:///{store}").exit_code == 0
    listed = _run("experiments", "list", "--tracking-uri", f"sqlite:///{store}")
    assert listed.exit_code == 0 and "first" in listed.stdout


def test_reprice_fills_in_costs_of_calls_stored_without_one(recorded: str) -> None:
    from sqlalchemy import update
    from traceglass.collector.store._tables import spans, traces

    store = open_store(recorded)
    with store.engine.begin() as conn:  # as a store upgraded from before costs were recorded
        conn.execute(update(spans).values(cost_usd=None))
        conn.execute(update(traces).values(cost_usd=None))

    result = _run("traces", "reprice", "--tracking-uri", recorded)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"3 model call(s) stored, {3 if PRICED else 0} priced"
    costs = [t.cost_usd for t in store.search_traces().traces]
    assert costs == ([pytest.approx(3.15e-6)] * 3 if PRICED else [None] * 3)


def test_reprice_needs_the_store_not_a_server() -> None:
    result = CliRunner().invoke(main, ["traces", "reprice", "--tracking-uri", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "needs the store itself" in result.output
