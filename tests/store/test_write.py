"""write_spans: every OTLP field round-trips, batches are idempotent, writers run concurrently."""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from traceglass.collector.store import EventRecord, LinkRecord, SpanRecord, Store, StoredSpan
from traceglass.collector.store._tables import resources, span_attributes, spans, traces

from .spans import T0, span, span_id, trace_id

_ATTRIBUTES = {
    "str": "value",
    "empty": "",
    "unicode": "héllo ✓ 你好 🎉",
    "bool_true": True,
    "bool_false": False,
    "int": 42,
    "negative": -7,
    "big_int": 2**62,
    "float": 3.25,
    "str_list": ["a", "b"],
    "int_list": [1, 2, 3],
    "float_list": [0.5, 1.5],
    "bool_list": [True, False],
    "empty_list": [],
}


def _full_record() -> SpanRecord:
    return SpanRecord(
        trace_id=trace_id(1),
        span_id=span_id(2),
        parent_span_id=span_id(1),
        name="chat gpt-4o-mini",
        start_ns=T0 + 123,
        end_ns=T0 + 456_789,
        kind="CLIENT",
        status_code="ERROR",
        status_message="boom",
        attributes=_ATTRIBUTES,
        events=[
            EventRecord("exception", T0 + 200, {"exception.type": "ValueError", "n": 1}, dropped_attributes_count=2),
            EventRecord("empty", T0 + 300),
        ],
        links=[
            LinkRecord(trace_id(9), span_id(9), "k=v", {"link.attr": 1.5}, dropped_attributes_count=1, flags=1),
            LinkRecord(trace_id(8), span_id(8)),
        ],
        resource_attributes={"service.name": "svc", "host.name": "h", "process.pid": 12},
        resource_schema_url="https://opentelemetry.io/schemas/1.24.0",
        scope_name="traceglass",
        scope_version="0.1.0",
        scope_schema_url="https://opentelemetry.io/schemas/1.25.0",
        scope_attributes={"scope.attr": True},
        trace_state="vendor=value",
        flags=1,
        dropped_attributes_count=3,
        dropped_events_count=4,
        dropped_links_count=5,
    )


def _stored(store: Store, trace: int, span: int) -> StoredSpan:
    found = store.get_trace(trace_id(trace))
    assert found is not None
    return next(s for s in found.spans if s.span_id == span_id(span))


def test_every_field_round_trips(store: Store) -> None:
    record = _full_record()
    assert store.write_spans([record]) == 1
    stored = _stored(store, 1, 2)
    for name in SpanRecord.__dataclass_fields__:
        if name in ("events", "links"):
            continue
        assert getattr(stored, name) == getattr(record, name), name
    assert stored.events == list(record.events)
    assert stored.links == list(record.links)
    assert type(stored.attributes["int"]) is int and type(stored.attributes["float"]) is float
    assert stored.attributes["bool_true"] is True
    assert stored.span_type is None
    assert json.loads(json.dumps(stored.to_dict())) == stored.to_dict()


def test_minimal_span_round_trips(store: Store) -> None:
    record = SpanRecord(trace_id(3), span_id(3), "root", T0, T0 + 1)
    store.write_spans([record])
    stored = _stored(store, 3, 3)
    assert (stored.resource_attributes, stored.resource_schema_url, stored.scope_attributes) == ({}, None, None)
    assert (stored.events, stored.links, stored.kind, stored.status_code) == ([], [], "INTERNAL", "UNSET")


def test_resources_are_stored_once(store: Store) -> None:
    batch = [span(1, n, None if n == 1 else 1, resource_attributes={"service.name": "a"}) for n in range(1, 6)]
    store.write_spans(batch)
    store.write_spans([span(2, 1, resource_attributes={"service.name": "a"})])
    store.write_spans([span(3, 1, resource_attributes={"service.name": "b"})])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(resources)).scalar() == 2
    assert _stored(store, 2, 1).resource_attributes == {"service.name": "a"}
    assert _stored(store, 3, 1).resource_attributes == {"service.name": "b"}


def test_the_same_batch_twice_is_stored_once(store: Store) -> None:
    batch = [
        span(1, 1, attributes={"gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 1}),
        span(1, 2, 1, attributes={"gen_ai.usage.input_tokens": 5, "traceglass.trace.tags": ["x"]}),
    ]
    assert store.write_spans(batch) == 2
    assert store.write_spans(batch) == 0
    assert store.write_spans([batch[1], span(1, 3, 1)]) == 1  # a re-sent span among new ones
    found = store.get_trace(trace_id(1))
    assert found is not None
    assert [s.span_id for s in found.spans] == [span_id(1), span_id(2), span_id(3)]
    assert (found.info.span_count, found.info.input_tokens, found.info.output_tokens) == (3, 15, 1)
    assert found.info.tags == {"x": ""}
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(spans)).scalar() == 3
        attribute_rows = (
            select(func.count())
            .select_from(span_attributes)
            .where(span_attributes.c.key == "gen_ai.usage.input_tokens")
        )
        assert conn.execute(attribute_rows).scalar() == 2


def test_attribute_rows_are_one_per_trace_key_and_value_in_index_order(store: Store) -> None:
    """What the writer inserts: a trace's spans repeating a value (model, provider) give one row,
    the first span's; rows come by key, then value, the order of the attribute index."""
    batch = [
        span(2, 1, attributes={"model": "b", "tokens": 7, "flag": True}),
        span(1, 1, attributes={"model": "b", "tokens": 7}),
        span(2, 2, 1, attributes={"model": "b", "tokens": "7", "flag": True}),  # "7" is the value 7
        span(2, 3, 1, attributes={"model": "a", "tokens": 7.0}),
    ]
    one, two = trace_id(1), trace_id(2)
    assert store.prepare_spans(batch).attribute_rows() == [
        (0, two, "flag", "true", None),
        (3, two, "model", "a", None),
        (0, two, "model", "b", None),
        (1, one, "model", "b", None),
        (0, two, "tokens", "7", 7.0),
        (1, one, "tokens", "7", 7.0),
        (3, two, "tokens", "7.0", 7.0),
    ]


def test_duplicates_within_a_batch(store: Store) -> None:
    first = span(1, 1, name="first")
    assert store.write_spans([first, span(1, 1, name="second"), first]) == 1
    assert _stored(store, 1, 1).name == "first"


def test_empty_batch(store: Store) -> None:
    assert store.write_spans([]) == 0


def test_a_one_megabyte_attribute_is_kept_whole(store: Store) -> None:
    big = "".join(chr(0x41 + i % 26) for i in range(1 << 20)) + " é✓"
    store.write_spans([span(1, 1, attributes={"traceglass.span.inputs": big, "gen_ai.output.messages": [big]})])
    stored = _stored(store, 1, 1)
    assert stored.attributes["traceglass.span.inputs"] == big
    assert stored.attributes["gen_ai.output.messages"] == [big]
    found = store.get_trace(trace_id(1))
    assert found is not None and found.info.request_preview == big[:1000]
    with store.engine.connect() as conn:
        content = conn.execute(select(spans.c.content_text)).scalar()
        assert content.startswith("span-1\n" + big[:100]) and len(content) == 8192
        # Long values are not copied into the attribute index.
        keys = set(conn.execute(select(span_attributes.c.key)).scalars())
        assert "traceglass.span.inputs" not in keys


def test_nul_and_lone_surrogates_do_not_lose_the_batch(store: Store) -> None:
    batch = [
        span(1, 1, name="nul\x00name", attributes={"k": "a\x00b", "session.id": "s\x00"}),
        span(1, 2, 1, attributes={"bad": "x\ud800y"}),
    ]
    assert store.write_spans(batch) == 2
    found = store.get_trace(trace_id(1))
    assert found is not None and len(found.spans) == 2


def test_a_batch_prepared_in_another_process(store: Store) -> None:
    """A server's writer process gets the batch pickled: the same spans, attribute rows and trace
    values are stored, a span already stored is skipped, and a NUL is no reason to lose it."""
    store.write_spans([span(2, 1, attributes={"gen_ai.request.model": "m"})])
    batch = [
        span(1, 1, name="nul\x00name", attributes={"gen_ai.request.model": "m", "k": "a\x00b", "session.id": "s1"}),
        span(1, 2, 1, attributes={"gen_ai.usage.input_tokens": 12}),
        span(2, 1, attributes={"gen_ai.request.model": "m"}),
        span(2, 2, 1, attributes={"gen_ai.usage.input_tokens": 3}),
    ]
    prepared = pickle.loads(pickle.dumps(store.prepare_spans(batch)))
    assert store.write_prepared(prepared) == 3

    def found(filter_string: str) -> list[str]:
        return sorted(t.trace_id for t in store.search_traces(filter_string=filter_string).traces)

    assert found("span.attributes.`gen_ai.request.model` = 'm'") == [trace_id(1), trace_id(2)]
    assert found("span.attributes.`gen_ai.usage.input_tokens` > 10") == [trace_id(1)]
    trace = store.get_trace(trace_id(1))
    assert trace is not None and len(trace.spans) == 2 and trace.info.session_id == "s1"
    assert len(store.get_trace(trace_id(2)).spans) == 2  # type: ignore[union-attr]


def test_concurrent_writers(store_url: str) -> None:
    stores = [Store.open(store_url), Store.open(store_url)]
    errors: list[BaseException] = []
    written = [0, 0]

    def writer(index: int) -> None:
        try:
            for batch in range(10):
                records = []
                for trace in range(10):
                    # Both writers send the same traces: half of their spans overlap.
                    n = batch * 10 + trace
                    records += [span(n, 1), span(n, 2 + index, 1), span(n, 10, 1)]
                written[index] += stores[index].write_spans(records)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(written) == 100 * 4
    with stores[0].engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(spans)).scalar() == 400
        counts = set(conn.execute(select(traces.c.span_count)).scalars())
        assert counts == {4}
        assert conn.execute(select(func.count()).select_from(traces)).scalar() == 100
    for opened in stores:
        opened.close()


def test_one_store_shared_by_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        try:
            for n in range(20):
                store.write_spans([span(index * 100 + n, 1), span(index * 100 + n, 2, 1)])
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM traces WHERE span_count = 2")).scalar() == 80


def test_stored_spans_can_be_written_again(store: Store, tmp_path: object) -> None:
    store.write_spans([_full_record(), span(1, 1, name="root")])
    original = store.get_trace(trace_id(1))
    assert original is not None
    with Store.open(f"sqlite:///{tmp_path}/copy.db") as copy:
        assert copy.write_spans(original.spans) == 2
        copied = copy.get_trace(trace_id(1))
    assert copied is not None
    assert [s.to_dict() for s in copied.spans] == [s.to_dict() for s in original.spans]
    assert copied.info.to_dict() | {"experiment_id": 0} == original.info.to_dict() | {"experiment_id": 0}


def test_values_orjson_refuses_are_stored_as_strict_json_too(store: Store) -> None:
    """An int beyond 64 bits sends the document through json instead; NaN is still null there."""
    attributes = {"big": 2**70, "scores": (float("nan"), 1.5), "limit": float("inf")}
    store.write_spans([span(1, 1, attributes=attributes)])
    found = store.get_trace(trace_id(1))
    assert found is not None
    stored = found.spans[0].attributes
    assert stored["big"] == 2**70 and stored["scores"] == [None, 1.5] and stored["limit"] is None


def test_committed_batches_reach_the_database_file_without_the_writer_checkpointing(tmp_path: Path) -> None:
    """A batch far below SQLite's own checkpoint threshold is copied from the write-ahead log into
    the database file by the store's checkpoint thread, soon after its commit."""
    path = tmp_path / "store.db"
    with Store.open(f"sqlite:///{path}") as store:
        assert store.write_spans([span(n, 1) for n in range(1, 51)]) == 50
        deadline = time.monotonic() + 10
        while _spans_in_file_alone(path, tmp_path / "copy.db") != 50 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _spans_in_file_alone(path, tmp_path / "copy.db") == 50
        threads = [t.name for t in threading.enumerate()]
        assert "traceglass-checkpoint" in threads
    assert "traceglass-checkpoint" not in [t.name for t in threading.enumerate()]  # closed with the store


def _spans_in_file_alone(path: Path, copy: Path) -> int:
    # The database file without its log: what a checkpoint has copied.
    shutil.copyfile(path, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM spans").fetchone()[0]
    except sqlite3.OperationalError:  # not even the schema copied yet
        return -1
    finally:
        connection.close()
        copy.unlink()


def test_a_store_file_deleted_while_in_use_is_created_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The file removed by hand (with its WAL) while the app runs: the next batch goes into a new
    store at the same path, which a new process reads, instead of into the deleted file."""
    path = tmp_path / "traceglass.db"
    with Store.open(f"sqlite:///{path}") as store:
        store.write_spans([span(1, 1)])
        for file in tmp_path.glob("traceglass.db*"):
            file.unlink()

        with caplog.at_level("WARNING", logger="traceglass"):
            assert store.write_spans([span(2, 1)]) == 1
            assert store.write_spans([span(3, 1)]) == 1
        assert [r.getMessage() for r in caplog.records if r.name == "traceglass"] == [
            f"traceglass: the store file {path} was deleted or replaced while in use; spans are recorded in the "
            "store now there (a new one if it was deleted)."
        ]
        assert sorted(t.trace_id for t in store.search_traces().traces) == [trace_id(2), trace_id(3)]

    with Store.open(f"sqlite:///{path}") as reader:
        assert reader.get_trace(trace_id(2)) is not None and reader.get_trace(trace_id(1)) is None


def test_a_store_file_replaced_while_in_use_is_the_one_read(tmp_path: Path) -> None:
    path, other = tmp_path / "traceglass.db", tmp_path / "restored.db"
    with Store.open(f"sqlite:///{other}") as backup:
        backup.write_spans([span(7, 1)], default_experiment="restored")
    with Store.open(f"sqlite:///{path}") as store:
        store.write_spans([span(1, 1)])
        for suffix in ("", "-wal", "-shm"):
            (tmp_path / f"traceglass.db{suffix}").unlink(missing_ok=True)
        other.rename(path)

        assert store.get_trace(trace_id(7)) is not None
        assert store.write_spans([span(8, 1)], default_experiment="restored") == 1
        assert sorted(t.trace_id for t in store.search_traces().traces) == [trace_id(7), trace_id(8)]
        assert {e.name for e in store.list_experiments()} >= {"restored"}
