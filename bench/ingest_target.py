"""The traceglass server as a target of the OTLP ingest benchmark harness (`ingest.py`), beside
Arize Phoenix and the MLflow tracking server.

    INGEST_EXTRA_TARGETS=/path/to/traceglass/bench/ingest_target.py \\
    INGEST_PYTHON_TRACEGLASS=$(which python) INGEST_PYTHON_TRACEGLASS_PG=$(which python) \\
        ./run_all.sh traceglass traceglass-pg phoenix mlflow limits

Two targets: `traceglass` (the default SQLite store) and `traceglass-pg` (a PostgreSQL server
started inside the run's directory from the Debian binaries, as the test suite does). The store is
counted in its own database; `verify` reads three traces back through the query API.
INGEST_TRACEGLASS_ARGS adds options to the server command line (`--queue-size 16384`).
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import time
import urllib.parse

from ingest import SqliteCounter, Target, http_get, http_json  # resolved from the running harness

_SPANS = "SELECT count(*) FROM spans"


class Traceglass(Target):
    name = "traceglass"
    description = ("traceglass server (`traceglass server`, SQLite store in WAL mode, defaults otherwise: "
                   "spans are acknowledged once in its bounded queue, then written in batches of up to 8,192 "
                   "by a writer process)")
    requirements = ["traceglass"]
    protocols = ("http", "http-json", "grpc")
    dists = ("traceglass", "sqlalchemy", "fastapi", "starlette", "uvicorn", "grpcio", "protobuf",
             "opentelemetry-proto")
    run_all_configs = [("http", 1), ("http", 2), ("grpc", 2)]

    def store_url(self, s) -> str:
        return f"sqlite:///{s.path('traceglass.db')}"

    def command(self, s):
        return [s.bin("traceglass"), "server", "--host", "127.0.0.1", "--port", str(s.port("http")),
                "--grpc-port", str(s.port("grpc")), "--otlp-http-port", "0", "--store", self.store_url(s),
                "--log-level", "warning", *shlex.split(os.environ.get("INGEST_TRACEGLASS_ARGS", ""))]

    def env(self, s):
        return {"TRACEGLASS_HOME": s.path("home")}

    def ready(self, s):
        return http_get(f"http://127.0.0.1:{s.port('http')}/health", 2)[0] == 200

    def http_url(self, s):
        return f"http://127.0.0.1:{s.port('http')}/v1/traces"

    def grpc_addr(self, s):
        return f"127.0.0.1:{s.port('grpc')}"

    def count(self, s):
        if "counter" not in s.data:
            s.data["counter"] = SqliteCounter(s.path("traceglass.db"), _SPANS)
        return s.data["counter"]()

    def verify(self, s, expected_spans):
        """Three traces of the store read back through GET /api/v1/traces/{id}: as many spans as
        the database holds for them."""
        st, body = http_json("GET", f"http://127.0.0.1:{s.port('http')}/api/v1/traces?max_results=3", timeout=60)
        if st != 200:
            return {"ok": False, "api": "GET /api/v1/traces", "status": st}
        got = {}
        for info in body.get("traces", []):
            trace_id = info["trace_id"]
            st, trace = http_json("GET", f"http://127.0.0.1:{s.port('http')}/api/v1/traces/"
                                  + urllib.parse.quote(trace_id), timeout=60)
            spans = trace.get("spans") if isinstance(trace, dict) else None
            got[trace_id] = {"status": st, "spans_api": len(spans) if isinstance(spans, list) else None,
                             "span_count": info.get("span_count")}
        ok = bool(got) and all(v["status"] == 200 and v["spans_api"] == v["span_count"] for v in got.values())
        return {"ok": ok, "api": "GET /api/v1/traces/{id} of the 3 newest traces vs their span_count",
                "sampled": got}


class TraceglassPostgres(Traceglass):
    name = "traceglass-pg"
    description = "traceglass server with a PostgreSQL store (a local server started for the run)"
    run_all_configs = [("http", 2)]

    def store_url(self, s) -> str:
        return f"postgresql+psycopg://postgres@/traceglass?host={s.path('pg')}&port={s.port('pg')}"

    def start(self, s):
        _start_postgres(s)
        return super().start(s)

    def stop(self, s):
        try:
            return super().stop(s)
        finally:
            _run_as_postgres([_pg_bin("pg_ctl"), "-D", s.path("pgdata"), "-m", "fast", "-w", "stop"])

    def count(self, s):
        # psql, not a driver: the harness's environment has none.
        done = subprocess.run([_pg_bin("psql"), "-h", s.path("pg"), "-p", str(s.port("pg")), "-U", "postgres",
                               "-d", "traceglass", "-At", "-c", _SPANS], capture_output=True, timeout=30)
        if done.returncode != 0:
            return None
        return int(done.stdout.strip() or 0)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL binaries not found: apt-get install -y postgresql")
    return found[-1]


def _run_as_postgres(command: list[str]) -> None:
    if os.geteuid() == 0:  # initdb refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def _start_postgres(s) -> None:
    data, sockets = s.path("pgdata"), s.path("pg")
    os.makedirs(sockets, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(s.workdir, "postgres")
        shutil.chown(sockets, "postgres")
    _run_as_postgres([_pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
    _run_as_postgres([_pg_bin("pg_ctl"), "-D", data, "-w", "-l", s.path("postgres.log"), "-o",
                      f"-k {sockets} -p {s.port('pg')} -c listen_addresses='' -c fsync=on "
                      "-c synchronous_commit=on -c shared_buffers=256MB", "start"])
    for _ in range(50):
        done = subprocess.run([_pg_bin("createdb"), "-h", sockets, "-p", str(s.port("pg")), "-U", "postgres",
                               "traceglass"], capture_output=True)
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"createdb failed: {done.stderr.decode(errors='replace')}")


TARGETS = [Traceglass(), TraceglassPostgres()]
