"""Experiments: create, read, list with counts, rename, delete with their traces."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from traceglass.collector.store import Experiment, Store, StoreError
from traceglass.collector.store._tables import span_attributes, spans, trace_metadata, trace_tags, traces
from traceglass.semconv import names as N

from .spans import T0, span, trace_id


def test_create_and_get(store: Store) -> None:
    created = store.create_experiment("alpha")
    assert isinstance(created, Experiment) and created.name == "alpha" and created.created_ms > 0
    assert store.get_experiment(created.experiment_id) == created
    assert store.get_experiment_by_name("alpha") == created
    assert store.get_experiment(10_000) is None
    assert store.get_experiment_by_name("missing") is None
    with pytest.raises(StoreError, match="already exists"):
        store.create_experiment("alpha")


def test_get_or_create(store: Store) -> None:
    first = store.get_or_create_experiment("beta")
    assert store.get_or_create_experiment("beta") == first
    store.write_spans([span(1, 1, attributes={N.EXPERIMENT: "beta"})])
    assert store.get_or_create_experiment("beta").trace_count == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 257, "nul\x00name"])
def test_bad_names(store: Store, name: str) -> None:
    with pytest.raises(ValueError, match="experiment name"):
        store.create_experiment(name)


def test_list_with_counts(store: Store) -> None:
    store.create_experiment("empty")
    store.write_spans([span(1, 1, start_ms=5), span(2, 1, start_ms=50)], default_experiment="busy")
    listed = {experiment.name: experiment for experiment in store.list_experiments()}
    assert listed["empty"].trace_count == 0 and listed["empty"].last_activity_ms is None
    assert listed["busy"].trace_count == 2
    assert listed["busy"].last_activity_ms == T0 // 1_000_000 + 50
    assert listed["busy"].to_dict()["trace_count"] == 2


def test_experiment_names_maps_names_to_ids(store: Store) -> None:
    assert store.experiment_names() == {}
    first = store.create_experiment("first")
    second = store.create_experiment("second")
    assert store.experiment_names() == {"first": first.experiment_id, "second": second.experiment_id}


def test_rename(store: Store) -> None:
    experiment = store.create_experiment("old")
    store.create_experiment("taken")
    renamed = store.rename_experiment(experiment.experiment_id, "new")
    assert renamed.name == "new" and renamed.experiment_id == experiment.experiment_id
    with pytest.raises(StoreError, match="already exists"):
        store.rename_experiment(experiment.experiment_id, "taken")
    with pytest.raises(StoreError, match="No experiment"):
        store.rename_experiment(10_000, "other")
    # Spans naming the old experiment create it anew; the renamed one keeps its traces.
    store.write_spans([span(1, 1, attributes={N.EXPERIMENT: "old"})])
    assert store.get_experiment_by_name("old") is not None
    store.write_spans([span(2, 1, attributes={N.EXPERIMENT: "new"})])
    assert store.get_experiment(experiment.experiment_id).trace_count == 1  # type: ignore[union-attr]


def test_delete_cascades_to_traces(store: Store) -> None:
    attributes = {N.EXPERIMENT: "doomed", N.TRACE_TAGS: ["t"], N.TRACE_METADATA_PREFIX + "k": "v", "a": 1}
    store.write_spans([span(1, 1, attributes=attributes), span(1, 2, 1, attributes={"a": 2})])
    store.write_spans([span(2, 1, attributes={N.EXPERIMENT: "kept", "a": 3})])
    # A span of the doomed experiment in a trace of another one goes too, with its attributes.
    store.write_spans([span(2, 2, 1, attributes={N.EXPERIMENT: "doomed", "b": 4})])
    doomed = store.get_experiment_by_name("doomed")
    assert doomed is not None
    store.delete_experiment(doomed.experiment_id)
    assert store.get_experiment_by_name("doomed") is None
    assert store.get_trace(trace_id(1)) is None
    assert store.get_trace(trace_id(2)) is not None
    with store.engine.connect() as conn:
        for table in (spans, traces):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 1, table.name
        assert set(conn.execute(select(span_attributes.c.trace_id)).scalars()) == {trace_id(2)}
        assert "b" not in set(conn.execute(select(span_attributes.c.key)).scalars())
        for table in (trace_tags, trace_metadata):
            assert conn.execute(select(func.count()).select_from(table)).scalar() == 0, table.name
    with pytest.raises(StoreError, match="No experiment"):
        store.delete_experiment(doomed.experiment_id)
    # The name can be used again, and spans for it are written into the new experiment.
    store.write_spans([span(3, 1, attributes={N.EXPERIMENT: "doomed"})])
    info = store.get_trace(trace_id(3))
    assert info is not None and info.info.experiment_name == "doomed"


def test_deleted_by_another_store(store_url: str) -> None:
    with Store.open(store_url) as writer, Store.open(store_url) as admin:
        writer.write_spans([span(1, 1)], default_experiment="shared")
        experiment = admin.get_experiment_by_name("shared")
        assert experiment is not None
        admin.delete_experiment(experiment.experiment_id)
        # The writer's cached id is stale: the batch still lands, in a re-created experiment.
        assert writer.write_spans([span(2, 1)], default_experiment="shared") == 1
        found = writer.get_trace(trace_id(2))
        assert found is not None and found.info.experiment_name == "shared"
