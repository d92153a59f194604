"""MLflow's own trace store, fed the same synthetic traces (bench/_store_data.py), for comparison.

Runs in a separate environment that has mlflow installed (never traceglass's): bench/store_search.py
and bench/store_write.py call it as `<mlflow python> bench/_mlflow_store.py ...` and read the JSON
it prints on its last line.

    python bench/_mlflow_store.py load   --uri sqlite:////tmp/x.db --traces 100000 [--spans 10]
    python bench/_mlflow_store.py search --uri sqlite:////tmp/x.db --repeats 7
    python bench/_mlflow_store.py write  --uri sqlite:////tmp/y.db --traces 4000 --spans 5

Spans reach the store the way MLflow's own OTLP endpoint stores them: an OpenTelemetry
ReadableSpan with every attribute JSON-encoded and `mlflow.traceRequestId` set (what
`Span.from_otel_proto` builds), then `SqlAlchemyStore.log_spans(experiment_id, spans)`, which
creates the trace rows, aggregates and tags. traceglass's tags and metadata go on the root span as
`mlflow.traceTag.<key>` attributes (MLflow turns those into trace tags), its span type and
inputs/outputs into `mlflow.spanType` / `mlflow.spanInputs` / `mlflow.spanOutputs`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _store_data as data

# No network here: without this MLflow tries to download its model price catalog (with retries) while
# storing spans, which would turn the write rate into a measure of connection time-outs. A connected
# install fetches it once and caches it, so leaving it out is the fair comparison.
os.environ.setdefault("MLFLOW_MODEL_CATALOG_URI", "")

logging.getLogger("mlflow").setLevel(logging.WARNING)
logging.getLogger("alembic").setLevel(logging.WARNING)

_TYPES = {"chat": "CHAT_MODEL", "embeddings": "EMBEDDING", "execute_tool": "TOOL", "retrieval": "RETRIEVER"}


def open_store(uri: str) -> Any:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(uri, tempfile.mkdtemp(prefix="mlflow-artifacts-"))


def experiment_ids(store: Any) -> dict[str, str]:
    out = {}
    for name in data.EXPERIMENTS:
        exp = store.get_experiment_by_name(name)
        out[name] = exp.experiment_id if exp is not None else store.create_experiment(name)
    return out


def to_mlflow(spans: list[dict]) -> list[Any]:
    """One trace's span dicts -> mlflow.entities.Span, as Span.from_otel_proto would build them."""
    from mlflow.entities import Span
    from mlflow.tracing.utils import build_otel_context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import Status, StatusCode

    out = []
    trace_int = int(spans[0]["trace_id"], 16)
    request_id = json.dumps("tr-" + spans[0]["trace_id"])
    empty = Resource.get_empty()
    for s in spans:
        attrs: dict[str, str] = {}
        for k, v in s["attributes"].items():
            if k == "traceglass.span.inputs":
                attrs["mlflow.spanInputs"] = v  # already JSON
            elif k == "traceglass.span.outputs":
                attrs["mlflow.spanOutputs"] = v
            elif k == "traceglass.span.type":
                attrs["mlflow.spanType"] = json.dumps(v)
            elif k == "traceglass.trace.tags":
                attrs.update({f"mlflow.traceTag.{t}": json.dumps("true") for t in v})
            elif k.startswith("traceglass.trace.metadata."):
                attrs["mlflow.traceTag." + k.rsplit(".", 1)[1]] = json.dumps(v)
            else:
                attrs[k] = json.dumps(v)
        if "mlflow.spanType" not in attrs and "gen_ai.operation.name" in s["attributes"]:
            attrs["mlflow.spanType"] = json.dumps(_TYPES.get(s["attributes"]["gen_ai.operation.name"], "UNKNOWN"))
        attrs["mlflow.traceRequestId"] = request_id
        code = {"OK": StatusCode.OK, "ERROR": StatusCode.ERROR}.get(s["status_code"], StatusCode.UNSET)
        parent = s["parent_span_id"]
        otel = ReadableSpan(
            name=s["name"],
            context=build_otel_context(trace_int, int(s["span_id"], 16)),
            parent=build_otel_context(trace_int, int(parent, 16)) if parent else None,
            start_time=s["start_ns"], end_time=s["end_ns"], attributes=attrs,
            status=Status(code, s["status_message"]), resource=empty)
        out.append(Span(otel))
    return out


def load(store: Any, n_traces: int, spans_per_trace: int, batch_spans: int, start: int = 0,
         progress: bool = True) -> dict:
    """log_spans in batches of ~batch_spans spans (one experiment per call, as log_spans takes one)."""
    exps = experiment_ids(store)
    pending: dict[str, list[Any]] = {}
    build_s = write_s = 0.0
    written = 0
    t_all = time.perf_counter()
    for n, tr in enumerate(data.iter_traces(n_traces, spans_per_trace, start=start)):
        t = time.perf_counter()
        exp = tr[0]["attributes"]["traceglass.experiment"]
        batch = pending.setdefault(exp, [])
        batch.extend(to_mlflow(tr))
        build_s += time.perf_counter() - t
        if len(batch) >= batch_spans:
            t = time.perf_counter()
            store.log_spans(exps[exp], batch)
            write_s += time.perf_counter() - t
            written += len(batch)
            pending[exp] = []
        if progress and (n + 1) % 10000 == 0:
            el = time.perf_counter() - t_all
            print(f"  mlflow load: {n + 1:,} traces, {written:,} spans, {el:,.0f} s "
                  f"({written / write_s if write_s else 0:,.0f} spans/s in log_spans)", file=sys.stderr, flush=True)
    for exp, batch in pending.items():
        if batch:
            t = time.perf_counter()
            store.log_spans(exps[exp], batch)
            write_s += time.perf_counter() - t
            written += len(batch)
    total = time.perf_counter() - t_all
    return {"traces": n_traces, "spans": written, "log_spans_s": write_s, "build_s": build_s, "total_s": total,
            "spans_per_s": written / write_s, "batch_spans": batch_spans}


def queries() -> list[tuple[str, str, str | None]]:
    """(label, experiment name or '*', MLflow filter string). Same questions as store_search.py asks
    (same labels); trace.text as ILIKE, since traceglass's trace.text is case-insensitive. MLflow's
    `span.attributes.X = 'v'` compares the whole span JSON with a pattern and finds nothing, so each
    attribute question is also asked as `LIKE '%v%'` (a substring of the span's JSON after the key)."""
    m = "span.attributes.`gen_ai.request.model`"
    return [
        ("list page (1 experiment)", data.LIST_EXPERIMENT, None),
        ("list page (all experiments)", "*", None),
        (f"span attr = rare ({data.RARE_MODEL})", "*", f"{m} = '{data.RARE_MODEL}'"),
        (f"span attr LIKE rare ({data.RARE_MODEL})", "*", f"{m} LIKE '%{data.RARE_MODEL}%'"),
        (f"span attr = common ({data.COMMON_MODEL})", "*", f"{m} = '{data.COMMON_MODEL}'"),
        (f"span attr LIKE common ({data.COMMON_MODEL})", "*", f"{m} LIKE '%{data.COMMON_MODEL}%'"),
        (f"text rare '{data.RARE_PHRASE}'", "*", f"trace.text ILIKE '%{data.RARE_PHRASE}%'"),
        (f"text common '{data.COMMON_PHRASE}'", "*", f"trace.text ILIKE '%{data.COMMON_PHRASE}%'"),
        ("text no match", "*", f"trace.text ILIKE '%{data.MISSING_PHRASE}%'"),
        ("span attr = rare, 1 experiment", data.LIST_EXPERIMENT, f"{m} LIKE '%{data.RARE_MODEL}%'"),
        ("status = ERROR", "*", "trace.status = 'ERROR'"),
    ]


def search(store: Any, repeats: int, only: list[str] | None = None, slow_s: float = 5.0,
           very_slow_s: float = 20.0) -> dict:
    exps = experiment_ids(store)
    out = {}
    for label, exp, flt in queries():
        if only and not any(o in label for o in only):
            continue
        ids = list(exps.values()) if exp == "*" else [exps[exp]]
        times, count, error = [], None, None
        for i in range(repeats):
            if (i >= 2 and times[0] > slow_s) or (i >= 1 and times[0] > very_slow_s):
                break  # full scans of a big store: a cold and one warm run, or only the cold one
            t = time.perf_counter()
            try:
                traces, _token = store.search_traces(locations=ids, filter_string=flt, max_results=100)
            except Exception as e:  # report "not supported" rather than stop the run
                error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
                break
            times.append(time.perf_counter() - t)
            count = len(traces)
        # The first run is left out of the median, as on our side (unless it is the only one).
        cold, warm = times[:1], times[1:] or times
        out[label] = {"filter": flt, "experiments": exp, "median_ms": statistics.median(warm) * 1e3 if warm else None,
                      "cold_ms": cold[0] * 1e3 if cold else None,
                      "min_ms": min(times) * 1e3 if times else None, "runs": len(times), "results": count,
                      "error": error}
        print(f"  mlflow {label}: {out[label]['median_ms'] or 0:,.1f} ms, {count} results {error or ''}",
              file=sys.stderr, flush=True)
    return out


def count_spans(store: Any) -> int:
    from sqlalchemy import text

    with store.engine.connect() as c:
        return c.execute(text("SELECT count(*) FROM spans")).scalar_one()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=("load", "search", "write", "count"))
    ap.add_argument("--uri", required=True)
    ap.add_argument("--traces", type=int, default=100_000)
    ap.add_argument("--spans", type=int, default=10, choices=(5, 10))
    ap.add_argument("--batch-spans", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", action="append", help="search: only queries whose label contains this")
    args = ap.parse_args(argv)
    import mlflow

    t = time.perf_counter()
    store = open_store(args.uri)
    res: dict[str, Any] = {"mlflow": mlflow.__version__, "uri": args.uri.split("@")[-1],
                           "open_s": time.perf_counter() - t}
    if args.mode in ("load", "write"):
        res["load"] = load(store, args.traces, args.spans, args.batch_spans)
    elif args.mode == "search":
        res["spans_in_store"] = count_spans(store)
        res["search"] = search(store, args.repeats, args.only)
    else:
        res["spans_in_store"] = count_spans(store)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
