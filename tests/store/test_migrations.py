"""Alembic migrations: the schema on both backends, re-opening, concurrent first opens."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Index, inspect, text
from sqlalchemy.schema import CreateIndex
from traceglass.collector.store import Store, StoreError
from traceglass.collector.store._engine import make_engine
from traceglass.collector.store._migrate import alembic_config, head_revision
from traceglass.collector.store._tables import metadata

from tests.pricing import PRICED

_TABLES = {"experiments", "resources", "traces", "trace_tags", "trace_metadata", "spans", "span_attributes"}


def _version(store: Store) -> str | None:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


# Reflection skips indexes on expressions (the attribute indexes' span bucket); they are checked
# from the database's own definition instead.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based index")
def test_open_creates_the_schema_of_the_tables_module(empty_url: str, backend: str) -> None:
    with Store.open(empty_url) as store:
        assert _version(store) == head_revision()
        with store.engine.connect() as conn:
            names = set(inspect(conn).get_table_names())
            assert _TABLES <= names
            # The migration is written out by hand: it must match _tables.py exactly.
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
            # The full-text index is not in _tables.py (FTS5 tables on SQLite, a GIN index on PostgreSQL).
            elsewhere = {i.name for t in metadata.sorted_tables for i in t.indexes if not _created_on(i, backend)}
            assert [
                d for d in diff
                if not d[1].name.startswith(("span_text", "ix_spans_content_text_trgm"))
                and not (d[0] == "add_index" and d[1].name in elsewhere)
            ] == []
            for table in metadata.sorted_tables:
                stored = _index_definitions(conn, backend, table.name)
                for index in table.indexes:
                    if not _created_on(index, backend):
                        assert index.name not in stored
                        continue
                    assert index.name in stored
                    expected = str(CreateIndex(index).compile(dialect=conn.dialect))
                    assert _squeezed(expected.split(" ON ", 1)[1]) == _squeezed(stored[index.name].split(" ON ", 1)[1])


def _created_on(index: Index, backend: str) -> bool:
    # Autogenerate ignores Index.ddl_if(dialect=...): an index kept for one database only.
    condition = index._ddl_if
    return condition is None or condition.dialect in (None, backend)


def _index_definitions(conn: Connection, backend: str, table: str) -> dict[str, str]:
    if backend == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t"
    return dict(conn.execute(text(query), {"t": table}).all())


def _squeezed(definition: str) -> str:
    # PostgreSQL spells an index back its own way: "public." names, "USING btree", more brackets.
    definition = definition.replace("public.", "").replace("USING btree ", "").replace("span_attributes.", "")
    return "".join(c for c in definition if c not in " ()\"").lower()


def test_full_text_index(empty_url: str, backend: str) -> None:
    with Store.open(empty_url) as store, store.engine.connect() as conn:
        if backend == "sqlite":
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = 'span_text'")).scalar()
            assert "fts5" in sql and "unicode61" in sql and "content='spans'" in sql
            triggers = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            assert {"spans_text_delete", "spans_text_update"} <= triggers
        else:
            assert conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() == 1
            index = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_spans_content_text_trgm'")
            ).scalar()
            assert "gin" in index and "gin_trgm_ops" in index


def test_head_constant_is_the_newest_revision() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == head_revision()


def test_a_new_store_logs_one_line_not_each_revision(empty_url: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    with caplog.at_level(logging.INFO):
        Store.open(empty_url).close()
    lines = [(record.name, record.getMessage()) for record in caplog.records if record.levelno >= logging.INFO]
    [(name, message)] = lines
    assert name == "traceglass"
    assert message.startswith("traceglass: created the schema of the store ")
    assert message.endswith(f"(revision {head_revision()})")
    assert logging.getLogger("alembic").level == logging.NOTSET  # left as it was


def test_reopen_is_a_no_op(empty_url: str) -> None:
    Store.open(empty_url).close()
    started = time.perf_counter()
    with Store.open(empty_url) as store:
        elapsed = time.perf_counter() - started
        assert _version(store) == head_revision()
    assert elapsed < 2.0  # one query of alembic_version, no migration run


def test_concurrent_first_opens(empty_url: str) -> None:
    errors: list[BaseException] = []
    stores: list[Store] = []

    def open_store() -> None:
        try:
            stores.append(Store.open(empty_url))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert len(stores) == 3


def test_a_newer_schema_is_refused(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    with pytest.raises(StoreError, match="from_the_future"):
        Store.open(store_url)


def _another_applications_database(backend: str, empty_url: str, tmp_path: Path, *statements: str) -> str:
    """A database (a SQLite file, or an empty PostgreSQL database) where `statements` ran."""
    if backend == "sqlite":
        path = tmp_path / "other-app.db"
        with contextlib.closing(sqlite3.connect(path)) as other:
            for statement in statements:
                other.execute(statement)
            other.commit()
        return f"sqlite:///{path}"
    engine = make_engine(empty_url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    engine.dispose()
    return empty_url


def _sqlite_file_untouched(url: str, tables: list[str]) -> None:
    """Still in its own journal mode (the store's first connection would switch it to WAL), with
    only its own tables."""
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert [name for (name,) in other.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == tables


def test_a_database_of_another_application_is_refused_untouched(empty_url: str, backend: str, tmp_path: Path) -> None:
    """Tables but no store revision: not a store, and nothing is added to it."""
    url = _another_applications_database(backend, empty_url, tmp_path,
                                         "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")

    with pytest.raises(StoreError, match=r"is not a traceglass store: it holds other tables \(users\)"):
        Store.open(url)
    if backend == "sqlite":
        _sqlite_file_untouched(url, ["users"])


def test_a_database_with_another_applications_alembic_revision_is_refused(
    empty_url: str, backend: str, tmp_path: Path
) -> None:
    """MLflow's databases have an alembic_version table too: its revision is not the store's."""
    url = _another_applications_database(
        backend, empty_url, tmp_path, "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
        "INSERT INTO alembic_version VALUES ('1b5f0d9ad7c1')")

    with pytest.raises(StoreError, match=r"its schema is another application's .*'1b5f0d9ad7c1'"):
        Store.open(url)
    if backend == "sqlite":
        _sqlite_file_untouched(url, ["experiments", "alembic_version"])


def test_sqlite_pragmas_on_every_connection(tmp_path: object) -> None:
    with Store.open(f"sqlite:///{tmp_path}/a/b/traceglass.db") as store:
        for _ in range(2):
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
            store.engine.dispose()  # the next connection is a new one


def test_postgresql_urls_use_psycopg(store_url: str, backend: str) -> None:
    with Store.open(store_url) as store:
        expected = "pysqlite" if backend == "sqlite" else "psycopg"
        assert store.engine.dialect.driver == expected


@pytest.mark.parametrize("url", ["mysql://localhost/db", "not a url", "http://localhost:5000"])
def test_unsupported_urls(url: str) -> None:
    with pytest.raises(StoreError, match="store URL"):
        Store.open(url)


def test_in_memory_sqlite_store() -> None:
    with Store.open("sqlite://") as store:
        assert _version(store) == head_revision()
        assert store.get_or_create_experiment("scratch").name == "scratch"


def test_downgrade_and_upgrade_again(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
        assert not set(inspect(conn).get_table_names()) & _TABLES
    with Store.open(store_url) as store:
        assert _version(store) == head_revision()
        assert store.write_spans([]) == 0
        assert store.get_or_create_experiment("again").name == "again"


def test_0004_keeps_content_searchable_across_downgrade_and_upgrade(store_url: str) -> None:
    """0004 drops content attributes from span_attributes; 0003 gets them back from the spans."""
    from traceglass.collector.store import SpanRecord

    record = SpanRecord(
        trace_id="a" * 32, span_id="b" * 16, name="chat", start_ns=1, end_ns=2,
        attributes={"gen_ai.input.messages": "hello there", "gen_ai.request.model": "m"},
    )
    keys = "SELECT key FROM span_attributes ORDER BY key"
    with Store.open(store_url) as store:
        store.write_spans([record])
        with store.engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0003")
            assert list(conn.execute(text(keys)).scalars()) == ["gen_ai.input.messages", "gen_ai.request.model"]
    with Store.open(store_url) as store:
        assert _version(store) == head_revision()
        with store.engine.connect() as conn:
            assert list(conn.execute(text(keys)).scalars()) == ["gen_ai.request.model"]
        found = store.search_traces(filter_string="span.attributes.`gen_ai.input.messages` = 'hello there'")
        assert [t.trace_id for t in found.traces] == ["a" * 32]


def test_0005_bucketed_attribute_indexes_across_downgrade_and_upgrade(store_url: str) -> None:
    """Attribute filters find the same traces on the indexes of 0004 and on the bucketed ones."""
    from traceglass.collector.store import SpanRecord

    records = [
        SpanRecord(trace_id=f"{i:032x}", span_id="b" * 16, name="chat", start_ns=i, end_ns=i + 1,
                   attributes={"gen_ai.request.model": f"m{i % 3}", "gen_ai.usage.input_tokens": i})
        for i in range(1, 31)
    ]
    filters = ("span.attributes.`gen_ai.request.model` = 'm1'", "span.attributes.`gen_ai.usage.input_tokens` > 20")

    def found(store: Store) -> list[list[str]]:
        return [sorted(t.trace_id for t in store.search_traces(filter_string=f).traces) for f in filters]

    with Store.open(store_url) as store:
        store.write_spans(records)
        expected = found(store)
        assert [len(ids) for ids in expected] == [10, 10]
        with store.engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0004")
        with _cost_columns(store):  # this code reads them; 0007 adds them
            assert found(store) == expected
    with Store.open(store_url) as store:
        assert _version(store) == head_revision()
        assert found(store) == expected


@contextlib.contextmanager
def _cost_columns(store: Store) -> Iterator[None]:
    """The columns of revision 0007, for a while on a store at an older revision."""
    alter = "ALTER TABLE {} {} COLUMN cost_usd" + (" DOUBLE PRECISION" if store.engine.dialect.name == "postgresql"
                                                     else " REAL")
    store.engine.dispose()  # SQLite connections that prepared statements before the downgrade
    with store.engine.begin() as conn:
        for table in ("spans", "traces"):
            conn.execute(text(alter.format(table, "ADD")))
    try:
        yield
    finally:
        with store.engine.begin() as conn:
            for table in ("spans", "traces"):
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN cost_usd"))


def test_0007_adds_the_cost_columns_and_keeps_earlier_spans_unpriced(store_url: str) -> None:
    from traceglass.collector.store import SpanRecord

    def priced(i: int) -> SpanRecord:
        return SpanRecord(trace_id=f"{i:032x}", span_id="b" * 16, name="chat gpt-4o-mini",
                          start_ns=1_764_000_000 * 10**9, end_ns=1_764_000_001 * 10**9,
                          attributes={"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
                                      "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 100})

    with Store.open(store_url) as store:
        store.write_spans([priced(1)])
        with store.engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0006")
            columns = {table: {c["name"] for c in inspect(conn).get_columns(table)} for table in ("spans", "traces")}
            assert "cost_usd" not in columns["spans"] | columns["traces"]
    with Store.open(store_url) as store:
        assert _version(store) == head_revision()
        store.write_spans([priced(2)])
        costs = {t.trace_id: t.cost_usd for t in store.search_traces(order_by=["trace_id"]).traces}
        assert costs == {f"{1:032x}": None, f"{2:032x}": pytest.approx(0.00021) if PRICED else None}


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_0006_drops_the_span_index_of_attribute_rows_on_sqlite_only(store_url: str, backend: str) -> None:
    from traceglass.collector.store import SpanRecord

    def span_indexes(store: Store) -> list[str]:
        with store.engine.connect() as conn:
            return [i["name"] for i in inspect(conn).get_indexes("span_attributes") if i["column_names"] == ["span_pk"]]

    records = [SpanRecord(trace_id=f"{i:032x}", span_id="b" * 16, name="chat", start_ns=i, end_ns=i + 1,
                          attributes={"gen_ai.request.model": "m"}) for i in (1, 2)]
    with Store.open(store_url) as store:
        assert span_indexes(store) == ([] if backend == "sqlite" else ["ix_span_attributes_span_pk"])
        store.write_spans(records)
        with store.engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "0005")
        assert span_indexes(store) == ["ix_span_attributes_span_pk"]
    with Store.open(store_url) as store:
        assert span_indexes(store) == ([] if backend == "sqlite" else ["ix_span_attributes_span_pk"])
        assert store.delete_traces([records[0].trace_id]) == 1
        found = store.search_traces(filter_string="span.attributes.`gen_ai.request.model` = 'm'").traces
        assert [t.trace_id for t in found] == [records[1].trace_id]


def test_new_sqlite_stores_use_16_kib_pages_and_old_ones_keep_theirs(tmp_path: Path) -> None:
    from traceglass.collector.store import SpanRecord

    record = SpanRecord(trace_id="c" * 32, span_id="d" * 16, name="chat", start_ns=1, end_ns=2)
    old = tmp_path / "old.db"
    with sqlite3.connect(old) as conn:  # a store file made with SQLite's default page size
        conn.execute("PRAGMA page_size=4096")
        conn.execute("CREATE TABLE unrelated (x)")  # written: the page size is fixed
        conn.execute("DROP TABLE unrelated")  # and empty again (a file with tables is not a store)
    for path, page_size in ((tmp_path / "new.db", 16384), (old, 4096)):
        with Store.open(f"sqlite:///{path}") as store:
            assert store.write_spans([record]) == 1
            with store.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA page_size").scalar() == page_size
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert store.get_trace("c" * 32) is not None
