"""Reading traces back: get_trace, search_traces pages, tags, deleting, JSON export."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, func, select, text
from traceglass.collector.store import FilterError, Store, StoreError, Trace, TracePage
from traceglass.collector.store._store import attribute_rows_of
from traceglass.collector.store._tables import span_attributes, spans, trace_tags
from traceglass.semconv import names as N

from .spans import span, span_id, trace_id


def _write_traces(store: Store, count: int) -> None:
    records = []
    for n in range(1, count + 1):
        records += [
            span(n, 1, name=f"root-{n}", start_ms=n * 100, end_ms=n * 100 + n, attributes={N.TRACE_TAGS: ["t"]}),
            span(n, 2, 1, start_ms=n * 100 + 1, end_ms=n * 100 + 2,
                 attributes={N.SPAN_INPUTS: f"question {n}", "step": n}),
        ]
    store.write_spans(records)


def test_get_trace(store: Store) -> None:
    store.write_spans([span(1, 3, 1, start_ms=5), span(1, 1, start_ms=0, end_ms=20), span(1, 2, 1, start_ms=1)])
    found = store.get_trace(trace_id(1))
    assert isinstance(found, Trace)
    assert [s.span_id for s in found.spans] == [span_id(1), span_id(2), span_id(3)]  # by start time
    assert found.info.span_count == 3 and found.info.experiment_name == "Default"
    exported = found.to_dict()
    assert json.loads(json.dumps(exported)) == exported
    assert exported["info"]["trace_id"] == trace_id(1) and len(exported["spans"]) == 3
    assert store.get_trace(trace_id(99)) is None


def test_search_newest_first_with_pages(store: Store) -> None:
    _write_traces(store, 5)
    page = store.search_traces(max_results=2)
    assert isinstance(page, TracePage)
    assert [info.name for info in page.traces] == ["root-5", "root-4"]
    assert page.traces[0].tags == {"t": ""} and page.traces[0].experiment_name == "Default"
    seen = [info.name for info in page.traces]
    while page.next_page_token:
        page = store.search_traces(max_results=2, page_token=page.next_page_token)
        seen += [info.name for info in page.traces]
    assert seen == [f"root-{n}" for n in range(5, 0, -1)]
    assert json.loads(json.dumps(page.to_dict()))["next_page_token"] is None


def test_search_filters_and_order(store: Store) -> None:
    _write_traces(store, 3)
    store.set_trace_tag(trace_id(2), "reviewed", "yes")
    assert [i.name for i in store.search_traces(filter_string="tag.reviewed = 'yes'").traces] == ["root-2"]
    ordered = store.search_traces(order_by=["execution_time_ms ASC"]).traces
    assert [i.name for i in ordered] == ["root-1", "root-2", "root-3"]
    assert [i.name for i in store.search_traces(filter_string="trace.text LIKE '%question 3%'").traces] == ["root-3"]
    default = store.get_experiment_by_name("Default")
    assert default is not None
    assert len(store.search_traces([default.experiment_id]).traces) == 3
    assert store.search_traces([default.experiment_id + 1]).traces == []


def test_search_errors(store: Store) -> None:
    with pytest.raises(FilterError):
        store.search_traces(filter_string="trace.status ===")
    with pytest.raises(ValueError, match="max_results"):
        store.search_traces(max_results=0)
    with pytest.raises(ValueError):
        store.search_traces(page_token="not a token!")


def test_set_and_delete_tags(store: Store) -> None:
    store.write_spans([span(1, 1, attributes={N.TRACE_TAGS: ["from-span"]})])
    store.set_trace_tag(trace_id(1), "k", "v1")
    store.set_trace_tag(trace_id(1), "k", "v2")
    store.set_trace_tag(trace_id(1), "from-span", "edited")
    found = store.get_trace(trace_id(1))
    assert found is not None and found.info.tags == {"k": "v2", "from-span": "edited"}
    # A span re-stating a tag does not undo the user's edit.
    store.write_spans([span(1, 2, 1, attributes={N.TRACE_TAGS: ["from-span"]})])
    store.delete_trace_tag(trace_id(1), "k")
    store.delete_trace_tag(trace_id(1), "never-set")
    found = store.get_trace(trace_id(1))
    assert found is not None and found.info.tags == {"from-span": "edited"}
    with pytest.raises(StoreError, match="No trace"):
        store.set_trace_tag(trace_id(99), "k", "v")
    with pytest.raises(ValueError, match="tag key"):
        store.set_trace_tag(trace_id(1), "", "v")
    # Refused on both databases alike: PostgreSQL's text cannot hold NUL.
    with pytest.raises(ValueError, match="tag key contains a NUL"):
        store.set_trace_tag(trace_id(1), "k\x00", "v")
    with pytest.raises(ValueError, match="tag value contains a NUL"):
        store.set_trace_tag(trace_id(1), "k", "v\x00")


def test_delete_traces(store: Store, backend: str) -> None:
    _write_traces(store, 3)
    assert store.delete_traces([trace_id(1), trace_id(2), trace_id(99)]) == 2
    assert store.get_trace(trace_id(1)) is None
    assert store.get_trace(trace_id(3)) is not None
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(spans)).scalar() == 2
        assert set(conn.execute(select(span_attributes.c.trace_id)).scalars()) == {trace_id(3)}
        assert set(conn.execute(select(trace_tags.c.trace_id)).scalars()) == {trace_id(3)}
        if backend == "sqlite":  # the full-text index forgets deleted spans
            conn.execute(text("INSERT INTO span_text(span_text) VALUES ('integrity-check')"))
    assert [i.name for i in store.search_traces(filter_string="trace.text LIKE '%question%'").traces] == ["root-3"]
    # Deleted traces can be written again.
    _write_traces(store, 2)
    assert len(store.search_traces().traces) == 3


def test_delete_traces_in_several_buckets_of_span_ids(store: Store) -> None:
    """The attribute index starts with (key, span bucket): a delete finds the rows of spans in
    different buckets (8,192 span ids each), and no other."""
    store.write_spans([span(n, 1, attributes={"n": n, "k": f"v{n % 7}"}) for n in range(1, 8195)])
    assert store.delete_traces([trace_id(1), trace_id(8194)]) == 2
    with store.engine.connect() as conn:
        counts = dict(conn.execute(select(span_attributes.c.key, func.count()).group_by(span_attributes.c.key)).all())
        assert counts == {"n": 8192, "k": 8192}
        left = set(conn.execute(select(span_attributes.c.trace_id)).scalars())
    assert trace_id(1) not in left and trace_id(8194) not in left and len(left) == 8192
    found = [[t.trace_id for t in store.search_traces(filter_string=f"span.attributes.n = {n}").traces]
             for n in (8193, 8194)]
    assert found == [[trace_id(8193)], []]


def test_sqlite_delete_seeks_the_attribute_index(store: Store) -> None:
    """With no index of attribute rows by span, a delete must still not read the whole table."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plans")
    statement = delete(span_attributes).where(attribute_rows_of(spans.c.trace_id.in_([trace_id(1)]), "sqlite"))
    compiled = statement.compile(dialect=store.engine.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    with store.engine.connect() as conn:
        plan = "\n".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params))
    index = "ix_span_attributes_key_bucket_value_span_pk_trace_id"
    assert f"SEARCH span_attributes USING INDEX {index} (key=? AND <expr>=?)" in plan
    assert "SCAN span_attributes" not in plan
