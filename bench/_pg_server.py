"""A throwaway PostgreSQL 15 server for the store benchmarks (loopback only, trust auth).

Its data directory is kept under /tmp/bench-cache/ so a loaded database survives between runs;
the server itself is started for a run and stopped after it. PostgreSQL refuses to run as root,
so when we are root every server command runs as the `postgres` user (`runuser -u postgres --`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
ROOT = Path("/tmp/bench-cache/pg")
PORT = int(os.environ.get("BENCH_PG_PORT", "54329"))
# A laptop-sized server: enough cache for the indexes of a 1M-span store; durability settings
# left at their defaults (fsync, synchronous_commit on), so writes cost what they cost in use.
SETTINGS = {"shared_buffers": "2GB", "work_mem": "64MB", "maintenance_work_mem": "512MB",
            "max_wal_size": "8GB", "effective_cache_size": "12GB", "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(ROOT / "sock"), "port": str(PORT)}


def _as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(_as_postgres(cmd), check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


class PgServer:
    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.data = root / "data"
        self.started = False  # by this object: only then does stop_if_started() stop it

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{PORT}/{database}"

    def start(self) -> PgServer:
        (self.root / "sock").mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.root / "sock", "postgres", "postgres")
        if not (self.data / "PG_VERSION").exists():
            _run([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8"])
        if self.running():  # another run's server: share it, leave it running
            return self
        opts = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        _run([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", opts,
              "-w", "-t", "60", "start"])
        self.started = True
        return self

    def running(self) -> bool:
        return subprocess.run(_as_postgres([str(BIN / "pg_ctl"), "-D", str(self.data), "status"]),
                              capture_output=True).returncode == 0

    def stop(self) -> None:
        if self.running():
            _run([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def stop_if_started(self) -> None:
        if self.started:
            self.stop()

    def psql(self, sql: str, database: str = "postgres") -> str:
        out = _run([str(BIN / "psql"), "-h", "127.0.0.1", "-p", str(PORT), "-U", "postgres", "-d", database,
                    "-At", "-c", sql])
        return out.stdout.strip()

    def database_exists(self, name: str) -> bool:
        return self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"

    def create_database(self, name: str, drop: bool = False) -> None:
        if drop:
            self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not self.database_exists(name):
            self.psql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def rename_database(self, old: str, new: str) -> None:
        self.psql(f'ALTER DATABASE "{old}" RENAME TO "{new}"')


def wait_ready(server: PgServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            server.psql("SELECT 1")
            return
        except subprocess.CalledProcessError:
            time.sleep(0.2)
    raise RuntimeError("PostgreSQL did not become ready")
