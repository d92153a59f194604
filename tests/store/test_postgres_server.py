"""The throwaway PostgreSQL server the store tests run on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import postgres


def test_missing_binaries_are_reported(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(postgres, "_SEARCH_ROOT", tmp_path)
    monkeypatch.delenv("TRACEGLASS_TEST_PG_BIN", raising=False)
    with pytest.raises(postgres.PostgresUnavailable, match="apt-get install postgresql"):
        postgres.find_bin_dir()


def test_newest_version_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for version in ("9.6", "15", "13"):
        bin_dir = tmp_path / version / "bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / "initdb").touch()
        (bin_dir / "pg_ctl").touch()
    monkeypatch.setattr(postgres, "_SEARCH_ROOT", tmp_path)
    monkeypatch.delenv("TRACEGLASS_TEST_PG_BIN", raising=False)
    assert postgres.find_bin_dir() == tmp_path / "15" / "bin"


def test_the_server_runs(store_url: str, backend: str) -> None:
    if backend == "postgresql":
        assert store_url.startswith("postgresql://postgres@127.0.0.1:")
