"""A shared PostgreSQL store as the tracking URI: recorded, found, and read by the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

import traceglass
from tests.postgres import PostgresServer, PostgresUnavailable, postgres_server
from tests.replay import ReplayServer
from tests.tracking._helpers import chat
from traceglass.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as error:  # part of the suite: fail, saying how to install it
        pytest.fail(str(error), pytrace=False)


def test_postgresql_tracking_uri(
    postgres: PostgresServer, monkeypatch: pytest.MonkeyPatch,
    openai_client: Callable[..., Any], replay: ReplayServer,
) -> None:
    postgres.admin("CREATE DATABASE tracking")
    url = postgres.url("tracking")
    monkeypatch.setenv("TRACEGLASS_TRACKING_URI", url)

    experiment = traceglass.set_experiment("shared")
    traceglass.openai.autolog()
    chat(openai_client, replay, "stored in postgres")
    df = traceglass.search_traces(experiment_names=["shared"], filter_string="trace.text ILIKE '%IN POSTGRES%'")

    assert experiment is not None
    assert list(df["name"]) == ["chat gpt-4o-mini"]
    assert list(df["experiment_id"]) == [experiment.experiment_id]
    result = CliRunner().invoke(main, ["traces", "export", "--tracking-uri", url], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert json.loads(line)["info"]["trace_id"] == df["trace_id"][0]
