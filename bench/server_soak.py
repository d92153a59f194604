"""The traceglass server at a steady rate: lag from acknowledgement to stored, memory, loss.

    python bench/server_soak.py --rate 5000 --seconds 600                 # the 10-minute soak
    python bench/server_soak.py --rate 5000 --seconds 60 --store postgresql
    python bench/server_soak.py --rate 5000 --protocol grpc --md out.md

A `traceglass server` is started (this checkout's, on free loopback ports, with a fresh store in
a temporary directory); `--senders` separate processes send OTLP export requests of 512 GenAI
spans (5-span traces from _store_data: chain root, retriever, two chat calls with ~1-2 KB of
messages, a tool call) on a fixed schedule that adds up to `--rate` spans per second, over one
keep-alive connection each. Every request gets fresh trace and span ids (a placeholder in the
pre-encoded body is replaced by a counter), so nothing is deduplicated by the store.

Measured:
- acknowledged spans/s, and whether the senders kept the schedule (a late sender means the
  server pushed back: 503/UNAVAILABLE answers are retried with the same body);
- lag: every 0.5 s the store's span count is read; the lag at that moment is the age of the
  oldest acknowledged span not yet counted (acknowledgements are matched to the count in order);
  p50, p99 and max over the run;
- server RSS every second: the first and last minute's medians and the peak (flat = no growth);
- loss: the spans in the store at the end against the spans acknowledged.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _store_data  # noqa: E402

SPANS_PER_REQUEST = 512
_PLACEHOLDER = b"\xf7\x1e\xa9\x5c"  # the last 4 bytes of every id in a pre-encoded body


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the workload --------------------------------------------------------------------------


def _bodies(n_bodies: int, seed: int) -> list[bytes]:
    """Pre-encoded ExportTraceServiceRequests of SPANS_PER_REQUEST spans whose ids end in the
    placeholder (so the ids of one request can be made fresh with one bytes.replace)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

    def value(v: Any) -> AnyValue:
        if isinstance(v, bool):
            return AnyValue(bool_value=v)
        if isinstance(v, int):
            return AnyValue(int_value=v)
        if isinstance(v, float):
            return AnyValue(double_value=v)
        if isinstance(v, (list, tuple)):
            out = AnyValue()
            out.array_value.values.extend(value(item) for item in v)
            return out
        return AnyValue(string_value=str(v))

    def kvs(mapping: dict[str, Any]) -> list[KeyValue]:
        return [KeyValue(key=k, value=value(v)) for k, v in mapping.items()]

    kinds = {"INTERNAL": Span.SPAN_KIND_INTERNAL, "CLIENT": Span.SPAN_KIND_CLIENT}
    codes = {"UNSET": Status.STATUS_CODE_UNSET, "OK": Status.STATUS_CODE_OK, "ERROR": Status.STATUS_CODE_ERROR}
    rng = random.Random(seed)
    bodies = []
    trace_index = 0
    for _ in range(n_bodies):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.resource.attributes.extend(kvs(_store_data.RESOURCE))
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name, scope_spans.scope.version = _store_data.SCOPE
        ids: dict[str, bytes] = {}
        while len(scope_spans.spans) < SPANS_PER_REQUEST:
            for span in _store_data.make_trace(trace_index, spans=5, seed=seed):
                if len(scope_spans.spans) == SPANS_PER_REQUEST:
                    break
                for key, size in (("trace_id", 12), ("span_id", 4), ("parent_span_id", 4)):
                    hex_id = span[key]
                    if hex_id and hex_id not in ids:
                        ids[hex_id] = rng.randbytes(size) + _PLACEHOLDER
                out = scope_spans.spans.add(
                    trace_id=ids[span["trace_id"]], span_id=ids[span["span_id"]], name=span["name"],
                    kind=kinds.get(span["kind"], Span.SPAN_KIND_INTERNAL), start_time_unix_nano=span["start_ns"],
                    end_time_unix_nano=span["end_ns"])
                if span["parent_span_id"]:
                    out.parent_span_id = ids[span["parent_span_id"]]
                out.status.code = codes[span["status_code"]]
                if span["status_message"]:
                    out.status.message = span["status_message"]
                out.attributes.extend(kvs(span["attributes"]))
            trace_index += 1
        body = request.SerializeToString()
        # Every id ends in the placeholder, and it occurs nowhere else in the body.
        assert body.count(_PLACEHOLDER) == 2 * SPANS_PER_REQUEST + sum(
            1 for s in scope_spans.spans if s.parent_span_id), "placeholder clash; change the seed"
        bodies.append(body)
    return bodies


def _nonce(sender: int, counter: int) -> bytes:
    return bytes([0x80 | sender]) + counter.to_bytes(3, "big")


# --- senders (separate processes) ----------------------------------------------------------


def _sender(index: int, spec: dict[str, Any], results: Any, start_at: float) -> None:
    bodies = _bodies(spec["bodies"], seed=spec["seed"] + index)
    interval = SPANS_PER_REQUEST / spec["rate_per_sender"]
    acks: list[tuple[float, int]] = []
    retries = late = failed = 0
    send = _http_sender(spec) if spec["protocol"] == "http" else _grpc_sender(spec)
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + spec["seconds"]
    due = start_at + index * interval / spec["senders"]
    counter = 0
    while due < deadline:
        now = time.time()
        if now < due:
            time.sleep(due - now)
        elif now - due > interval:
            late += 1
        body = bodies[counter % len(bodies)].replace(_PLACEHOLDER, _nonce(index, counter))
        counter += 1
        give_up = deadline + 30
        while True:
            outcome = send(body)
            if outcome == "ok":
                acks.append((time.time(), SPANS_PER_REQUEST))
                break
            if outcome == "retry" and time.time() < give_up:
                retries += 1
                time.sleep(0.2)
                continue
            failed += SPANS_PER_REQUEST
            break
        due += interval
    results.put({"sender": index, "acks": acks, "retries": retries, "late": late, "failed": failed})


def _http_sender(spec: dict[str, Any]) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", spec["http_port"], timeout=60)
    headers = {"Content-Type": "application/x-protobuf"}

    def send(body: bytes) -> str:
        nonlocal connection
        try:
            connection.request("POST", "/v1/traces", body, headers)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", spec["http_port"], timeout=60)
            return "retry"
        if response.status == 200:
            return "ok"
        return "retry" if response.status in (429, 502, 503, 504) else "failed"

    return send


def _grpc_sender(spec: dict[str, Any]) -> Any:
    import grpc

    channel = grpc.insecure_channel(f"127.0.0.1:{spec['grpc_port']}")
    call = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                               request_serializer=None, response_deserializer=None)

    def send(body: bytes) -> str:
        try:
            call(body, timeout=60)
            return "ok"
        except grpc.RpcError as error:
            retryable = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED)
            return "retry" if error.code() in retryable else "failed"

    return send


# --- the server and its store ---------------------------------------------------------------


class _Counter:
    def __init__(self, store_url: str) -> None:
        from sqlalchemy import create_engine, text

        self._engine = create_engine(store_url.replace("postgresql://", "postgresql+psycopg://", 1))
        self._sql = text("SELECT count(*) FROM spans")

    def __call__(self) -> int:
        try:
            with self._engine.connect() as conn:
                return int(conn.execute(self._sql).scalar_one())
        except Exception:
            return -1  # the store is not created yet


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="traceglass-soak-"))
    pg = None
    if args.store == "postgresql":
        from _pg_server import PgServer, wait_ready

        pg = PgServer().start()
        wait_ready(pg)
        pg.create_database("soak", drop=True)
        store_url = pg.url("soak")
    else:
        store_url = f"sqlite:///{workdir / 'traceglass.db'}"
    http_port, grpc_port = _free_port(), _free_port()
    log = open(workdir / "server.log", "wb")
    server = subprocess.Popen(
        [sys.executable, "-c", "from traceglass.cli import main; main()", "server", "--port", str(http_port),
         "--grpc-port", str(grpc_port), "--otlp-http-port", "0", "--store", store_url, "--log-level", "warning"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TRACEGLASS_HOME": str(workdir)})
    try:
        _wait_healthy(http_port, server)
        count = _Counter(store_url)
        spec = {"rate_per_sender": args.rate / args.senders, "seconds": args.seconds, "protocol": args.protocol,
                "http_port": http_port, "grpc_port": grpc_port, "bodies": args.bodies, "seed": 7,
                "senders": args.senders}
        context = mp.get_context("spawn")
        results = context.Queue()
        start_at = time.time() + 10 + 2 * args.senders  # time to pre-encode the bodies
        senders = [context.Process(target=_sender, args=(i, spec, results, start_at)) for i in range(args.senders)]
        for process in senders:
            process.start()
        samples: list[tuple[float, int]] = []
        rss: list[tuple[float, int]] = []
        next_rss = 0.0
        reports: list[dict[str, Any]] = []
        while len(reports) < args.senders:
            now = time.time()
            if now >= start_at:
                samples.append((now, count()))
                if now >= next_rss:
                    rss.append((now, _rss(server.pid)))
                    next_rss = now + 1.0
            while not results.empty():
                reports.append(results.get())
            time.sleep(0.5)
        for process in senders:
            process.join()
        acked = sorted((t, n) for report in reports for t, n in report["acks"])
        total = sum(n for _, n in acked)
        drain_deadline = time.time() + 300
        while time.time() < drain_deadline:
            stored = count()
            samples.append((time.time(), stored))
            rss.append((time.time(), _rss(server.pid)))
            if stored >= total:
                break
            time.sleep(0.2)
        time.sleep(1.0)
        final = count()
        return _summary(args, acked, samples, rss, reports, final, start_at)
    finally:
        server.terminate()
        server.wait(60)
        log.close()
        if pg is not None:
            pg.drop_database("soak")
            pg.stop_if_started()
        if args.keep:
            print(f"store and server log kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)  # a 10-minute run leaves gigabytes


def _wait_healthy(port: int, server: subprocess.Popen) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during startup")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become healthy")


def _summary(args: argparse.Namespace, acked: list[tuple[float, int]], samples: list[tuple[float, int]],
             rss: list[tuple[float, int]], reports: list[dict[str, Any]], final: int, start_at: float) -> dict:
    # Lag at each sample: the oldest acknowledged span not yet counted.
    lags = []
    cumulative = []
    running = 0
    for t, n in acked:
        running += n
        cumulative.append((t, running))
    position = 0
    for t, stored in samples:
        # the first acknowledgement (by then) whose spans are not all stored
        while position < len(cumulative) and cumulative[position][1] <= stored:
            position += 1
        if position < len(cumulative) and cumulative[position][0] <= t:
            lags.append(t - cumulative[position][0])
        else:
            lags.append(0.0)
    total = cumulative[-1][1] if cumulative else 0
    last_ack = cumulative[-1][0] if cumulative else start_at
    window = max(1e-9, last_ack - start_at)
    during = [value for t, value in rss if t <= last_ack]
    first_minute = [value for t, value in rss if t <= start_at + 60]
    last_minute = [value for t, value in rss if last_ack - 60 <= t <= last_ack]
    ordered = sorted(lags)
    return {
        "store": args.store, "protocol": args.protocol, "senders": args.senders, "rate_target": args.rate,
        "seconds": args.seconds,
        "acknowledged_spans": total, "acknowledged_per_s": round(total / window),
        "stored_spans": final, "lost_spans": max(0, total - final), "extra_spans": max(0, final - total),
        "failed_spans": sum(r["failed"] for r in reports), "retries": sum(r["retries"] for r in reports),
        "late_requests": sum(r["late"] for r in reports),
        "lag_p50_s": round(statistics.median(ordered), 3) if ordered else None,
        "lag_p99_s": round(ordered[int(0.99 * (len(ordered) - 1))], 3) if ordered else None,
        "lag_max_s": round(ordered[-1], 3) if ordered else None,
        "rss_first_minute_mb": round(statistics.median(first_minute) / 2**20) if first_minute else None,
        "rss_last_minute_mb": round(statistics.median(last_minute) / 2**20) if last_minute else None,
        "rss_peak_mb": round(max(during) / 2**20) if during else None,
    }


def _markdown(result: dict[str, Any]) -> str:
    keys = list(result)
    return "\n".join(["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
                      "| " + " | ".join(str(result[k]) for k in keys) + " |", ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, required=True, help="spans per second, all senders together")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--protocol", choices=("http", "grpc"), default="http")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--bodies", type=int, default=12, help="distinct pre-encoded requests per sender")
    parser.add_argument("--keep", action="store_true", help="keep the store and the server log")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--md", help="append the result as a Markdown table here")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    if args.md:
        with open(args.md, "a") as out:
            out.write(_markdown(result))


if __name__ == "__main__":
    main()
