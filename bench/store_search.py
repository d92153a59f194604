"""search_traces latency of the trace store at 1M spans (100,000 traces x 10 spans), beside MLflow's.

    python bench/store_search.py                                  # SQLite, full scale
    python bench/store_search.py --backend postgresql             # a throwaway PostgreSQL 15 server
    python bench/store_search.py --scale 0.05 --repeats 5         # 5,000 traces: a quick look
    python bench/store_search.py --mlflow-python /tmp/bench-venvs/mlflow-store/bin/python

The store is filled once with Store.write_spans (batches of --batch-spans) from the synthetic traces
of bench/_store_data.py and kept under /tmp/bench-cache/ (a SQLite file, or a database of the
benchmark's PostgreSQL server), so reruns only search. Each query runs once untimed (the cold run is
reported) and then --repeats times; the table shows the median. Queries: a list page of one
experiment (100 newest, the default order) and of all experiments; a span-attribute filter on a
rare and on a common model; full text (trace.text LIKE '%phrase%') for a rare phrase, a common one
and one found nowhere. Each goes through Store.search_traces and, for the same numbers with the
public API's overhead (flush, experiment lookup, list conversion), traceglass.search_traces.

With --mlflow-python, the same traces are loaded into MLflow's SqlAlchemyStore (in MLflow's own
environment: bench/_mlflow_store.py; slow, so cached too) and searched with the equivalent MLflow
filter strings.

Targets: list page <= 50 ms, span-attribute filter <= 200 ms, full text <= 500 ms (medians).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _store_data as data

CACHE = Path("/tmp/bench-cache")
HERE = Path(__file__).resolve().parent
TARGET_MS = {"list": 50.0, "attr": 200.0, "text": 500.0}
MODEL = "span.attributes.`gen_ai.request.model`"


def queries() -> list[dict[str, Any]]:
    """label, kind (target), experiment (a name or '*' for all), traceglass filter, MLflow label."""
    return [
        {"label": "list page (1 experiment)", "kind": "list", "exp": data.LIST_EXPERIMENT, "filter": None},
        {"label": "list page (all experiments)", "kind": "list", "exp": "*", "filter": None},
        {"label": f"span attr = rare ({data.RARE_MODEL})", "kind": "attr", "exp": "*",
         "filter": f"{MODEL} = '{data.RARE_MODEL}'"},
        {"label": f"span attr = common ({data.COMMON_MODEL})", "kind": "attr", "exp": "*",
         "filter": f"{MODEL} = '{data.COMMON_MODEL}'"},
        {"label": "span attr = rare, 1 experiment", "kind": "attr", "exp": data.LIST_EXPERIMENT,
         "filter": f"{MODEL} = '{data.RARE_MODEL}'"},
        {"label": f"text rare '{data.RARE_PHRASE}'", "kind": "text", "exp": "*",
         "filter": f"trace.text LIKE '%{data.RARE_PHRASE}%'"},
        {"label": f"text common '{data.COMMON_PHRASE}'", "kind": "text", "exp": "*",
         "filter": f"trace.text LIKE '%{data.COMMON_PHRASE}%'"},
        {"label": "text no match", "kind": "text", "exp": "*", "filter": f"trace.text LIKE '%{data.MISSING_PHRASE}%'"},
        {"label": "status = ERROR", "kind": "list", "exp": "*", "filter": "trace.status = 'ERROR'"},
    ]


# ----------------------------------------------------------------------------- loading

def load(store: Any, n_traces: int, batch_spans: int) -> dict:
    """Fill `store` with traces 0..n_traces-1; returns timings (write_spans only, and overall)."""
    write_s = 0.0
    written = 0
    batch: list = []
    t_all = time.perf_counter()
    cpu0 = time.process_time()
    for n, tr in enumerate(data.iter_traces(n_traces, 10)):
        batch.extend(data.to_span_records(tr))
        if len(batch) >= batch_spans:
            t = time.perf_counter()
            written += store.write_spans(batch)
            write_s += time.perf_counter() - t
            batch = []
        if (n + 1) % 10000 == 0:
            print(f"  load: {n + 1:,} traces, {written:,} spans, {time.perf_counter() - t_all:,.0f} s, "
                  f"{written / write_s:,.0f} spans/s in write_spans", file=sys.stderr, flush=True)
    if batch:
        t = time.perf_counter()
        written += store.write_spans(batch)
        write_s += time.perf_counter() - t
    return {"spans": written, "traces": n_traces, "write_spans_s": write_s, "total_s": time.perf_counter() - t_all,
            "cpu_s": time.process_time() - cpu0, "spans_per_s": written / write_s, "batch_spans": batch_spans}


def sqlite_store(n_traces: int, batch_spans: int, rebuild: bool) -> tuple[Any, dict | None, str]:
    from traceglass.collector.store import Store

    path = CACHE / f"traceglass-sqlite-{n_traces}x10.db"
    if rebuild:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    loaded = None
    if not path.exists():
        partial = Path(f"{path}.partial")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        print(f"loading {n_traces * 10:,} spans into {partial} ...", file=sys.stderr, flush=True)
        store = Store.open(f"sqlite:///{partial}")
        loaded = load(store, n_traces, batch_spans)
        with store.engine.connect() as conn:  # fold the WAL in, so the renamed file is complete
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        store.close()
        partial.rename(path)
        (CACHE / f"{path.name}.load.json").write_text(json.dumps(loaded))
    elif (CACHE / f"{path.name}.load.json").exists():
        loaded = json.loads((CACHE / f"{path.name}.load.json").read_text())
    url = f"sqlite:///{path}"
    return Store.open(url), loaded, url


def postgres_store(n_traces: int, batch_spans: int, rebuild: bool, server: Any) -> tuple[Any, dict | None, str]:
    from traceglass.collector.store import Store

    name = f"traceglass_{n_traces}x10"
    marker = CACHE / f"pg-{name}.load.json"
    if rebuild or not marker.exists():
        marker.unlink(missing_ok=True)
        server.create_database(name, drop=True)
        print(f"loading {n_traces * 10:,} spans into PostgreSQL database {name} ...", file=sys.stderr, flush=True)
        store = Store.open(server.url(name))
        loaded = load(store, n_traces, batch_spans)
        store.close()
        server.psql("VACUUM ANALYZE", name)
        marker.write_text(json.dumps(loaded))
    url = server.url(name)
    return Store.open(url), json.loads(marker.read_text()), url


# ----------------------------------------------------------------------------- timing

def timed(fn: Any, repeats: int) -> dict:
    t = time.perf_counter()
    first = fn()
    cold = time.perf_counter() - t
    times, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.thread_time() - c)
    # CPU time of this thread: on SQLite the whole query (it runs in-process), so the latency on an
    # idle machine even when other processes compete for the cores; on PostgreSQL the client's share only.
    return {"cold_ms": cold * 1e3, "median_ms": statistics.median(times) * 1e3, "min_ms": min(times) * 1e3,
            "max_ms": max(times) * 1e3, "cpu_ms": statistics.median(cpu) * 1e3, "results": first}


def search_all(store: Any, url: str, repeats: int, public: bool) -> dict:
    import traceglass

    exp_ids = {e.name: e.experiment_id for e in store.list_experiments()}
    if public:
        traceglass.set_tracking_uri(url)
    out = {}
    for q in queries():
        ids = None if q["exp"] == "*" else [exp_ids[q["exp"]]]
        flt = q["filter"]
        r = timed(lambda ids=ids, flt=flt: len(store.search_traces(ids, flt, max_results=100).traces), repeats)
        if public:
            # One experiment by name, as a user would; all of them by naming none (no experiment is
            # set in this process, so that searches every experiment).
            kw = {} if ids is None else {"experiment_names": [q["exp"]]}
            p = timed(lambda kw=kw, flt=flt: len(traceglass.search_traces(
                **kw, filter_string=flt, max_results=100, return_type="list")), repeats)
            r["public_median_ms"] = p["median_ms"]
        r["target_ms"] = TARGET_MS[q["kind"]] if q["kind"] != "list" or q["filter"] is None else None
        out[q["label"]] = {**q, **r}
        print(f"  {q['label']}: median {r['median_ms']:,.1f} ms (cold {r['cold_ms']:,.1f}), {r['results']} results",
              file=sys.stderr, flush=True)
    return out


def explain(store: Any, backend: str) -> dict[str, str]:
    """The database's plan for each filter query (EXPLAIN QUERY PLAN / EXPLAIN)."""
    from traceglass.collector.store import _query
    from traceglass.collector.store._filter import parse_filter

    exp_ids = {e.name: e.experiment_id for e in store.list_experiments()}
    plans = {}
    with store.engine.connect() as conn:
        for q in queries():
            ids = None if q["exp"] == "*" else [exp_ids[q["exp"]]]
            stmt = _query.search_statement(ids, parse_filter(q["filter"]), None, None, 101, backend)
            sql = str(stmt.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if backend == "sqlite" else "EXPLAIN "
            rows = conn.exec_driver_sql(prefix + sql).fetchall()
            plans[q["label"]] = "\n".join(str(r[-1]) for r in rows)
    return plans


# ----------------------------------------------------------------------------- MLflow

def mlflow_side(python: str, backend: str, n_traces: int, repeats: int, server: Any) -> dict:
    script = str(HERE / "_mlflow_store.py")
    if backend == "sqlite":
        path = CACHE / f"mlflow-sqlite-{n_traces}x10.db"
        uri, partial_uri = f"sqlite:///{path}", f"sqlite:///{path}.partial"
        ready = path.exists()
    else:
        name = f"mlflow_{n_traces}x10"
        uri, partial_uri = server.url(name).replace("postgresql://", "postgresql+psycopg2://"), None
        ready = (CACHE / f"pg-{name}.load.json").exists()
    marker = CACHE / (f"{path.name}.load.json" if backend == "sqlite" else f"pg-{name}.load.json")
    if not ready:
        print(f"loading {n_traces * 10:,} spans into MLflow ({backend}); this takes a while ...", file=sys.stderr,
              flush=True)
        if backend == "sqlite":
            Path(f"{path}.partial").unlink(missing_ok=True)
            target = partial_uri
        else:
            server.create_database(name, drop=True)
            target = uri
        out = subprocess.run([python, script, "load", "--uri", target, "--traces", str(n_traces)],
                             check=True, capture_output=True, text=True)
        marker.write_text(out.stdout.strip().splitlines()[-1])
        if backend == "sqlite":
            Path(f"{path}.partial").rename(path)
    out = subprocess.run([python, script, "search", "--uri", uri, "--repeats", str(repeats + 1)], check=True,
                         capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["load"] = json.loads(marker.read_text()).get("load") if marker.exists() else None
    return res


# ----------------------------------------------------------------------------- report

def _ms(v: float | None) -> str:
    return "—" if v is None else (f"{v:,.1f}" if v < 100 else f"{v:,.0f}")


def render(res: dict) -> str:
    meta = res["meta"]
    L = [f"## Trace store search: {meta['spans']:,} spans ({meta['traces']:,} traces x 10), {meta['backend']} "
         f"({meta['date']})", "",
         f"{meta['python']}, {meta['machine']}; traceglass store at {meta['url']}"
         + (f", {meta['db_mb']:,.0f} MB on disk" if meta.get("db_mb") else "") + ".",
         f"Median of {meta['repeats']} runs after one untimed (cold) run; max_results=100, default order "
         "(timestamp_ms DESC).", ""]
    ml = res.get("mlflow")
    hdr = ["query", "filter", "Store.search_traces ms", "(CPU ms)", "traceglass.search_traces ms", "cold ms",
           "results", "target ms", ""]
    if ml:
        hdr[7:7] = [f"MLflow {ml['mlflow']} ms", "MLflow results"]
    L += ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for label, r in res["search"].items():
        target = r.get("target_ms")
        ok = "" if target is None else ("PASS" if r["median_ms"] <= target else "FAIL")
        row = [label, f"`{r['filter']}`" if r["filter"] else "—", _ms(r["median_ms"]), _ms(r.get("cpu_ms")),
               _ms(r.get("public_median_ms")), _ms(r["cold_ms"]), str(r["results"]), _ms(target), ok]
        if ml:
            m = ml["search"].get(label)
            row[7:7] = ["n/a", "n/a"] if m is None else (
                [f"error: {m['error']}", "—"] if m["error"] else [_ms(m["median_ms"]), str(m["results"])])
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    ld = res.get("load")
    if ld:
        L.append(f"Loading: {ld['spans']:,} spans with Store.write_spans (batches of {ld['batch_spans']:,}): "
                 f"{ld['write_spans_s']:,.0f} s in write_spans, {ld['spans_per_s']:,.0f} spans/s.")
    if ml:
        L.append("")
        L.append("MLflow filter strings: the same, except that span attributes are also asked with "
                 "`LIKE '%model%'` (MLflow's `=` on span.attributes matches nothing: it compares the whole "
                 "span JSON to a pattern) and text with `trace.text LIKE`.")
        extra = {k: v for k, v in ml["search"].items() if k not in res["search"]}
        for label, m in extra.items():
            L.append(f"- MLflow {label} (`{m['filter']}`): " + (
                f"error {m['error']}" if m["error"] else f"{_ms(m['median_ms'])} ms, {m['results']} results"))
        if ml.get("load"):
            lo = ml["load"]
            L.append(f"- MLflow load: {lo['spans']:,} spans with SqlAlchemyStore.log_spans (batches of "
                     f"~{lo['batch_spans']:,} spans): {lo['log_spans_s']:,.0f} s in log_spans, "
                     f"{lo['spans_per_s']:,.0f} spans/s.")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 traces x 10 spans")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch-spans", type=int, default=5000)
    ap.add_argument("--rebuild", action="store_true", help="reload the cached store")
    ap.add_argument("--no-public", action="store_true", help="skip traceglass.search_traces")
    ap.add_argument("--explain", action="store_true", help="print the query plans")
    ap.add_argument("--mlflow-python", help="python of an environment with mlflow: compare with MLflow's store")
    ap.add_argument("--mlflow-json", help="reuse the output of `_mlflow_store.py search` (its last line) instead "
                    "of running MLflow's side again")
    ap.add_argument("--keep-server", action="store_true", help="leave the PostgreSQL server running")
    ap.add_argument("--json", help="write all results here")
    args = ap.parse_args(argv)
    n_traces = max(1, round(100_000 * args.scale))
    CACHE.mkdir(parents=True, exist_ok=True)
    server = None
    if args.backend == "postgresql" or (args.mlflow_python and args.backend == "postgresql"):
        from _pg_server import PgServer, wait_ready

        server = PgServer().start()
        wait_ready(server)
    try:
        if args.backend == "sqlite":
            store, loaded, url = sqlite_store(n_traces, args.batch_spans, args.rebuild)
            db_mb = sum(Path(p).stat().st_size for p in (url[10:],) if Path(p).exists()) / 1e6
        else:
            store, loaded, url = postgres_store(n_traces, args.batch_spans, args.rebuild, server)
            name = url.rsplit("/", 1)[1]
            db_mb = int(server.psql(f"SELECT pg_database_size('{name}')")) / 1e6
        print("searching ...", file=sys.stderr, flush=True)
        res: dict[str, Any] = {
            "meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                     "python": f"Python {platform.python_version()}",
                     "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "backend": args.backend,
                     "url": url, "db_mb": db_mb, "traces": n_traces, "spans": n_traces * 10,
                     "repeats": args.repeats},
            "load": loaded,
            "search": search_all(store, url, args.repeats, not args.no_public)}
        if args.explain:
            res["plans"] = explain(store, args.backend)
            for label, plan in res["plans"].items():
                print(f"--- {label}\n{plan}", file=sys.stderr)
        store.close()
        if args.mlflow_json:
            res["mlflow"] = json.loads(Path(args.mlflow_json).read_text().strip().splitlines()[-1])
            marker = CACHE / f"mlflow-sqlite-{n_traces}x10.db.load.json"
            if args.backend == "sqlite" and marker.exists():
                res["mlflow"]["load"] = json.loads(marker.read_text()).get("load")
        elif args.mlflow_python:
            res["mlflow"] = mlflow_side(args.mlflow_python, args.backend, n_traces, args.repeats, server)
    finally:
        if server is not None and not args.keep_server:
            server.stop_if_started()
    print(render(res))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
