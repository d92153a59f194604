"""Store fixtures: every test that takes `store_url` (or `store`) runs on SQLite and on PostgreSQL.

PostgreSQL comes from a throwaway server started once per test session (tests/postgres.py). A
template database is migrated once; each test gets its own copy (CREATE DATABASE ... TEMPLATE),
dropped afterwards. When the server binaries are missing the PostgreSQL tests fail, saying how
to install them: they are part of the suite, not optional.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from traceglass.collector.store import Store

from tests.postgres import PostgresServer, PostgresUnavailable, postgres_server

_TEMPLATE = "traceglass_template"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresServer | PostgresUnavailable]:
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as error:
        yield error  # reported by each test that needs the server, as a failure


def _server(postgres: PostgresServer | PostgresUnavailable) -> PostgresServer:
    if isinstance(postgres, PostgresUnavailable):
        pytest.fail(str(postgres), pytrace=False)
    return postgres


@pytest.fixture(scope="session")
def _postgres_template(_postgres: PostgresServer | PostgresUnavailable) -> str:
    server = _server(_postgres)
    server.admin(f"CREATE DATABASE {_TEMPLATE}")
    Store.open(server.url(_TEMPLATE)).close()
    return _TEMPLATE


@pytest.fixture
def postgres_database(request: pytest.FixtureRequest, _postgres: PostgresServer | PostgresUnavailable) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database (dropped after the test)."""
    yield from _database(_server(_postgres), template=None)


def _database(server: PostgresServer, template: str | None) -> Iterator[str]:
    name = f"test_{next(_numbers)}"
    server.admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield server.url(name)
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a migrated store, empty and private to the test, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/traceglass.db"
        return
    server = _server(request.getfixturevalue("_postgres"))
    template = request.getfixturevalue("_postgres_template")
    yield from _database(server, template)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty database (no schema yet), on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/new/dir/traceglass.db"
        return
    yield from _database(_server(request.getfixturevalue("_postgres")), template=None)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()
