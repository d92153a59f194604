"""set_experiment() / TRACEGLASS_EXPERIMENT and the processor that stamps spans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from traceglass.collector.store import Store

import traceglass
from tests.replay import ReplayServer
from tests.tracking._helpers import chat, read_store


def test_set_experiment_creates_it_at_once(default_store_url: str) -> None:
    experiment = traceglass.set_experiment("created-early")

    assert experiment is not None
    assert experiment.name == "created-early"
    store = Store.open(default_store_url)
    try:
        assert store.get_experiment_by_name("created-early") == experiment
    finally:
        store.close()
    # Found by name before any trace exists, with no result rather than an error.
    assert traceglass.search_traces(experiment_names=["created-early"], return_type="list") == []


def test_switching_experiments_mid_process(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    traceglass.openai.autolog()
    chat(openai_client, replay, "before any")
    traceglass.set_experiment("first")
    chat(openai_client, replay, "one")
    chat(openai_client, replay, "two")
    traceglass.set_experiment("second")
    chat(openai_client, replay, "three")

    first = traceglass.search_traces(experiment_names=["first"])
    second = traceglass.search_traces(experiment_names=["second"], return_type="list")
    default = traceglass.search_traces(experiment_names=["Default"], return_type="list")

    assert len(first) == 2
    assert set(first["experiment"]) == {"first"}
    assert [t.experiment_name for t in second] == ["second"]
    assert "three" in (second[0].request_preview or "")
    assert "before any" in (default[0].request_preview or "")
    # With none named, search_traces() looks in the active experiment (as MLflow does).
    assert [t.trace_id for t in traceglass.search_traces(return_type="list")] == [second[0].trace_id]


def test_the_variable_names_the_experiment(
    monkeypatch: pytest.MonkeyPatch, default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    monkeypatch.setenv("TRACEGLASS_EXPERIMENT", "from-env")
    traceglass.openai.autolog()
    chat(openai_client, replay)
    traceglass.set_experiment("from-code")
    chat(openai_client, replay)
    traceglass.set_experiment(None)  # back to the variable
    chat(openai_client, replay)
    traceglass._pipeline.flush()

    assert [t.info.experiment_name for t in read_store(default_store_url)] == ["from-env", "from-code", "from-env"]


def test_a_span_that_names_its_experiment_keeps_it(
    default_store_url: str, openai_client: Callable[..., Any], replay: ReplayServer
) -> None:
    traceglass.set_experiment("process")
    traceglass.openai.autolog()
    with traceglass.start_span("job", attributes={"traceglass.experiment": "chosen"}):
        chat(openai_client, replay)
    traceglass._pipeline.flush()

    [trace] = read_store(default_store_url)
    assert trace.info.experiment_name == "chosen"
    spans = {span.name: span for span in trace.spans}
    assert spans["job"].attributes["traceglass.experiment"] == "chosen"
    assert spans["chat gpt-4o-mini"].attributes["traceglass.experiment"] == "process"


@pytest.mark.parametrize("bad", ["", "   ", 42])
def test_set_experiment_rejects_a_bad_name(bad: Any) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        traceglass.set_experiment(bad)


def test_set_experiment_rejects_a_name_no_store_holds(default_store_url: str) -> None:
    with pytest.raises(ValueError, match="longer than 256 characters"):
        traceglass.set_experiment("x" * 257)
    with pytest.raises(ValueError, match="contains a NUL character"):
        traceglass.set_experiment("eval\x00")
    assert traceglass.set_experiment("x" * 256) is not None
