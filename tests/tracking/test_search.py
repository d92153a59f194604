"""search_traces(), get_trace() and trace tags, in the process that recorded the traces."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from traceglass.collector.store import FilterError, StoreError, TraceInfo

import traceglass
from tests.replay import ReplayServer
from tests.tracking._helpers import chat
from traceglass._query import DATAFRAME_COLUMNS, TraceList


@pytest.fixture
def three_traces(openai_client: Callable[..., Any], replay: ReplayServer) -> list[str]:
    """Three traces in experiment "search" ("q1", "q2", "q3", oldest first) and one in "other"."""
    traceglass.openai.autolog()
    traceglass.set_experiment("search")
    for text in ("q1", "q2", "q3"):
        with traceglass.start_span(f"ask {text}"):
            traceglass.update_current_trace(tags=["nightly"], session_id=f"s-{text}")
            chat(openai_client, replay, text)
    traceglass.set_experiment("other")
    chat(openai_client, replay, "elsewhere")
    return ["q1", "q2", "q3"]


def test_pandas_one_row_per_trace_newest_first(three_traces: list[str]) -> None:
    df = traceglass.search_traces(experiment_names=["search"])  # no flush call needed before

    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(DATAFRAME_COLUMNS)
    assert list(df["name"]) == ["ask q3", "ask q2", "ask q1"]
    assert set(df["experiment"]) == {"search"}
    assert set(df["status"]) == {"OK"}
    assert list(df["session_id"]) == ["s-q3", "s-q2", "s-q1"]
    assert list(df["total_tokens"]) == [12, 12, 12]
    assert df["total_tokens"].dtype == "Int64"
    assert str(df["request_time"].dt.tz) == "UTC"
    assert all(tags == {"nightly": ""} for tags in df["tags"])
    assert df.attrs["next_page_token"] is None


def test_list_pages_and_order(three_traces: list[str]) -> None:
    first = traceglass.search_traces(experiment_names=["search"], max_results=2, order_by=["timestamp_ms ASC"],
                                     return_type="list")
    assert isinstance(first, TraceList)
    assert all(isinstance(info, TraceInfo) for info in first)
    assert [info.name for info in first] == ["ask q1", "ask q2"]
    assert first.next_page_token

    rest = traceglass.search_traces(experiment_names=["search"], max_results=2, order_by=["timestamp_ms ASC"],
                                    page_token=first.next_page_token, return_type="list")
    assert [info.name for info in rest] == ["ask q3"]
    assert rest.next_page_token is None


def test_max_results_none_is_every_trace_as_in_mlflow(three_traces: list[str]) -> None:
    everything = traceglass.search_traces(experiment_names=["search"], max_results=None, return_type="list")
    assert [info.name for info in everything] == ["ask q3", "ask q2", "ask q1"]
    assert everything.next_page_token is None


def test_every_trace_by_default_as_in_mlflow() -> None:
    """No page size given: every matching trace, not a first page a migrating user would take for
    all of them."""
    traceglass.set_experiment("many")
    for n in range(150):
        with traceglass.start_span(f"step {n}"):
            pass
    df = traceglass.search_traces(experiment_names=["many"])
    assert len(df) == 150 and df.attrs["next_page_token"] is None
    assert len(traceglass.search_traces(experiment_names=["many"], max_results=100)) == 100


def test_ids_names_and_everything(three_traces: list[str]) -> None:
    search_id = traceglass.search_traces(experiment_names=["search"], return_type="list")[0].experiment_id
    by_id = traceglass.search_traces(experiment_ids=[search_id], return_type="list")
    both = traceglass.search_traces(experiment_ids=[str(search_id)], experiment_names=["other"], return_type="list")
    traceglass.set_experiment(None)
    everything = traceglass.search_traces(return_type="list")

    assert len(by_id) == 3
    assert len(both) == 4
    assert len(everything) == 4


def test_ids_and_names_taken_from_a_dataframe(three_traces: list[str]) -> None:
    df = traceglass.search_traces(experiment_names=["search", "other"])
    by_ids = traceglass.search_traces(experiment_ids=df["experiment_id"].unique(), return_type="list")
    by_names = traceglass.search_traces(experiment_names=df["experiment"].drop_duplicates(), return_type="list")
    assert len(by_ids) == len(by_names) == 4
    for not_an_id in (1.5, True):
        with pytest.raises(ValueError, match="experiment ids are integers"):
            traceglass.search_traces(experiment_ids=[not_an_id])


def test_filters(three_traces: list[str]) -> None:
    def names(filter_string: str) -> list[str]:
        found = traceglass.search_traces(experiment_names=["search"], filter_string=filter_string)
        return sorted(found["name"])

    assert names("trace.name = 'ask q2'") == ["ask q2"]
    assert names("trace.text ILIKE '%q3%'") == ["ask q3"]
    assert names("span.attributes.`gen_ai.request.model` = 'gpt-4o-mini' AND tag.nightly = ''") == [
        "ask q1", "ask q2", "ask q3",
    ]
    with pytest.raises(FilterError, match="Invalid filter at position"):
        traceglass.search_traces(filter_string="trace.name = ")


def test_unknown_experiment_names_the_known_ones(three_traces: list[str]) -> None:
    with pytest.raises(ValueError, match=r"No experiment named 'serach'\. Known experiments: .*'search'"):
        traceglass.search_traces(experiment_names=["serach"])
    with pytest.raises(ValueError, match="No experiment with id 999"):
        traceglass.search_traces(experiment_ids=[999])


def test_get_trace_and_tags(three_traces: list[str]) -> None:
    [info] = traceglass.search_traces(filter_string="trace.name = 'ask q1'", experiment_names=["search"],
                                      return_type="list")

    trace = traceglass.get_trace(info.trace_id)
    assert trace is not None
    assert [span.name for span in trace.spans] == ["ask q1", "chat gpt-4o-mini"]
    assert trace.spans[1].parent_span_id == trace.spans[0].span_id
    assert trace.to_dict()["info"]["trace_id"] == info.trace_id
    assert traceglass.get_trace("0" * 32) is None

    traceglass.set_trace_tag(info.trace_id, "reviewed", "yes")
    found = traceglass.search_traces(experiment_names=["search"], filter_string="tag.reviewed = 'yes'")
    assert list(found["trace_id"]) == [info.trace_id]
    assert found["tags"][0] == {"nightly": "", "reviewed": "yes"}
    traceglass.delete_trace_tag(info.trace_id, "reviewed")
    assert traceglass.get_trace(info.trace_id).info.tags == {"nightly": ""}  # type: ignore[union-attr]
    with pytest.raises(StoreError):
        traceglass.set_trace_tag("f" * 32, "k", "v")


def test_tags_with_values_as_mlflow_sets_them(openai_client: Callable[..., Any], replay: ReplayServer) -> None:
    """update_current_trace(tags={...}) as in MLflow: each tag keeps its value, a later span
    naming the tag without one leaves it, and `user=` is MLflow's name for the user id."""
    traceglass.openai.autolog()
    with traceglass.start_span("agent"):
        traceglass.update_current_trace(tags={"env": "prod", "attempt": 2}, user="alice")
        with traceglass.start_span("step"):
            traceglass.update_current_trace(tags=["env", "checked"])
        chat(openai_client, replay)

    [row] = traceglass.search_traces(filter_string="tag.env = 'prod' AND tag.attempt = '2'", return_type="list")
    assert row.tags == {"env": "prod", "attempt": "2", "checked": ""}
    assert row.user_id == "alice"
    traceglass.set_trace_tag(row.trace_id, "env", "staging")
    assert traceglass.get_trace(row.trace_id).info.tags["env"] == "staging"  # type: ignore[union-attr]


def test_a_trace_just_recorded_is_found(openai_client: Callable[..., Any], replay: ReplayServer) -> None:
    traceglass.openai.autolog()
    for n in range(3):
        chat(openai_client, replay, f"call {n}")
        assert len(traceglass.search_traces(return_type="list")) == n + 1


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(ValueError, match="return_type must be 'pandas' or 'list'"):
        traceglass.search_traces(return_type="polars")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_results must be a positive integer"):
        traceglass.search_traces(max_results=0)
    with pytest.raises(TypeError, match="take a list"):
        traceglass.search_traces(experiment_names="quickstart")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="take a list"):
        traceglass.search_traces(experiment_ids=1)  # type: ignore[arg-type]


def test_without_pandas_the_error_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # as if not installed
    with pytest.raises(ImportError, match=r"pip install 'traceglass\[pandas\]', or .*return_type='list'"):
        traceglass.search_traces()
    assert traceglass.search_traces(return_type="list") == []


def test_an_unreachable_server_tracking_uri_says_so(unused_port: int) -> None:
    # Searching a running server is tested in test_remote.py.
    traceglass.set_tracking_uri(f"http://127.0.0.1:{unused_port}")
    for call in (lambda: traceglass.search_traces(), lambda: traceglass.get_trace("0" * 32)):
        with pytest.raises(StoreError, match="Cannot reach the traceglass server"):
            call()


def test_delete_traces_deletes_what_a_search_found(three_traces: list[str]) -> None:
    found = traceglass.search_traces(experiment_names=["search"], filter_string="trace.name = 'ask q1'")
    assert len(found) == 1

    assert traceglass.delete_traces(found["trace_id"]) == 1

    assert traceglass.get_trace(found["trace_id"].iloc[0]) is None
    assert list(traceglass.search_traces(experiment_names=["search"])["name"]) == ["ask q3", "ask q2"]
