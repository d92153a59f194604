"""Requests to a running server, and OTLP/JSON documents to send."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from traceglass.collector.server import Server
from traceglass.collector.store import Store

StartServer = Callable[..., Server]


def url(server: Server, path: str = "/v1/traces", port: str = "http") -> str:
    return f"http://127.0.0.1:{server.ports[port]}{path}"


def post(target: str, body: bytes, headers: Mapping[str, str] | None = None,
         method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one HTTP request; error statuses are returned, not raised."""
    request = urllib.request.Request(target, data=body if method == "POST" else None, method=method,
                                     headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def post_json(target: str, document: Any, headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    status, _, body = post(target, json.dumps(document).encode(), {"Content-Type": "application/json",
                                                                    **(headers or {})})
    return status, json.loads(body) if body else None


def written(server: Server) -> Store:
    """The server's store, once everything accepted so far is written."""
    assert server.ingest.queue.wait_idle(10), "the writer did not catch up"
    assert server.store is not None
    return server.store


def json_span(trace_id: str = "5b8efff798038103d269b633813fc60c", span_id: str = "eee19b7ec3c1b174",
              name: str = "span", attributes: Mapping[str, Any] | None = None,
              resource: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """An OTLP/JSON ExportTraceServiceRequest with one span (string attribute values)."""
    span = {"traceId": trace_id, "spanId": span_id, "name": name, "kind": 1,
            "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
            "attributes": _kv(attributes), **fields}
    return {"resourceSpans": [{"resource": {"attributes": _kv(resource)},
                               "scopeSpans": [{"scope": {"name": "test"}, "spans": [span]}]}]}


def _kv(values: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    return [{"key": key, "value": {"stringValue": str(value)}} for key, value in (values or {}).items()]


@contextlib.contextmanager
def write_lock(store_url: str) -> Iterator[threading.Event]:
    """Hold the database's write lock until the yielded event is set (or the block ends)."""
    connection = sqlite3.connect(Path(store_url.removeprefix("sqlite:///")), isolation_level=None,
                                 check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    release = threading.Event()

    def holder() -> None:
        release.wait(10)
        connection.execute("ROLLBACK")
        connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        yield release
    finally:
        release.set()
        thread.join()


def protobuf_request(first: int, count: int) -> bytes:
    """An ExportTraceServiceRequest of `count` one-span traces, numbered from `first` (ids and names)."""
    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    for number in range(first, first + count):
        spans.add(trace_id=number.to_bytes(16, "big"), span_id=number.to_bytes(8, "big"), name=f"span {number}",
                  start_time_unix_nano=1, end_time_unix_nano=2)
    return request.SerializeToString()
