"""Store fixtures: every test that takes `store_url` (or `store`) runs on SQLite and on PostgreSQL.

PostgreSQL comes from the session's throwaway server (tests/conftest.py): each test gets its own
copy of a migrated template database, dropped afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from traceglass.collector.store import Store

from tests.postgres import postgres_database_url, require_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a migrated store, empty and private to the test, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/traceglass.db"
        return
    server = require_postgres(request.getfixturevalue("_postgres"))
    template = request.getfixturevalue("_postgres_template")
    yield from postgres_database_url(server, template)


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty database (no schema yet), on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store')}/new/dir/traceglass.db"
        return
    yield from postgres_database_url(require_postgres(request.getfixturevalue("_postgres")), template=None)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()
