"""A throwaway PostgreSQL server for tests, started from the Debian server binaries.

`postgres_server()` (a context manager) runs `initdb` into a temporary directory, starts the
server on 127.0.0.1 on a free port with trust authentication, waits until it accepts
connections and yields a `PostgresServer`; the server is stopped and its files deleted
afterwards. The binaries are looked up under /usr/lib/postgresql/<version>/bin (newest version
first, or $TRACEGLASS_TEST_PG_BIN); when none are installed, `PostgresUnavailable` says how to
install them. The server refuses to run as root, so as root every command runs as the
`postgres` user through runuser.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "PostgresUnavailable", "find_bin_dir", "postgres_server"]

_SEARCH_ROOT = Path("/usr/lib/postgresql")
# A test server: durability only costs time.
_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries are missing or the server could not start."""


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        """Run one statement (CREATE/DROP DATABASE...) outside a transaction, on `postgres`."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql)  # type: ignore[arg-type]


def find_bin_dir() -> Path:
    configured = os.environ.get("TRACEGLASS_TEST_PG_BIN")
    candidates = [Path(configured)] if configured else []
    if _SEARCH_ROOT.is_dir():
        versions = [p for p in _SEARCH_ROOT.iterdir() if p.name.replace(".", "").isdigit()]
        versions.sort(key=lambda p: tuple(int(part) for part in p.name.split(".")), reverse=True)
        candidates += [p / "bin" for p in versions]
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/<version>/bin"
        " (or $TRACEGLASS_TEST_PG_BIN). Install them, e.g. `apt-get install postgresql-15`,"
        " to run the PostgreSQL store tests."
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    as_root = os.geteuid() == 0
    prefix: list[str] = []
    if as_root:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise PostgresUnavailable("running as root needs a `postgres` user to own the test server") from None
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="traceglass-pg-"))
    data, log = root / "data", root / "server.log"
    if as_root:
        os.chown(root, owner.pw_uid, owner.pw_gid)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=False, timeout=120)

    try:
        initdb = run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--no-sync", "--no-instructions")  # fmt: skip
        if initdb.returncode:
            raise PostgresUnavailable(f"initdb failed:\n{initdb.stdout}\n{initdb.stderr}")
        settings = " ".join(f"-c {key}={value}" for key, value in _SERVER_SETTINGS.items())
        for _attempt in range(5):  # the free port may be taken between choosing and binding it
            port = _free_port()
            options = f"-h 127.0.0.1 -p {port} -k {root} {settings}"
            started = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60",
                          "start")  # fmt: skip
            if started.returncode == 0:
                break
        else:
            log_text = log.read_text(errors="replace") if log.exists() else ""
            raise PostgresUnavailable(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{log_text}")
        server = PostgresServer("127.0.0.1", port, "postgres")
        _wait_ready(server)
        try:
            yield server
        finally:
            run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(server: PostgresServer, timeout: float = 30.0) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(server.url(), connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


_database_numbers = itertools.count()


def require_postgres(postgres: PostgresServer | PostgresUnavailable) -> PostgresServer:
    if isinstance(postgres, PostgresUnavailable):
        pytest.fail(str(postgres), pytrace=False)
    return postgres


def postgres_database_url(server: PostgresServer, template: str | None) -> Iterator[str]:
    name = f"test_{next(_database_numbers)}"
    server.admin(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield server.url(name)
    finally:
        server.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

