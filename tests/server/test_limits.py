"""Malformed, truncated and oversized payloads get 400/413 with a message; the server keeps serving
and the store keeps only what was valid."""

from __future__ import annotations

import gzip
import json
import time
import zlib

import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from traceglass.collector.server import Server
from traceglass.collector.server._payload import PayloadError, decompress

from tests.server._helpers import StartServer, json_span, post, post_json, url, written

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def _valid_protobuf() -> bytes:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "x" * 200
    span.start_time_unix_nano, span.end_time_unix_nano = 1, 2
    return request.SerializeToString()


def _assert_still_serves(server: Server) -> None:
    status, answer = post_json(url(server), json_span(span_id="1111111111111111", name="after"))
    assert status == 200, answer
    trace = written(server).search_traces(filter_string="span.name = 'after'").traces
    assert len(trace) == 1
    assert server.ingest.queue.dropped == 0


@pytest.mark.parametrize(("body", "headers", "expected"), [
    (b"\xff\xff\xff\xff", PROTOBUF, "not a valid ExportTraceServiceRequest protobuf message"),
    (_valid_protobuf()[:-30], PROTOBUF, "not a valid ExportTraceServiceRequest protobuf message"),
    (b'{"resourceSpans": [', JSON, "not valid JSON"),
    (b"[1, 2]", JSON, "must be a JSON object"),
    (b'{"resourceSpans": 7}', JSON, "not a valid OTLP/JSON"),
    (json.dumps(json_span(trace_id="zz")).encode(), JSON, "traceId must be a hex string"),
    (b"\xc3\x28", JSON, "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, JSON, ""),
    (gzip.compress(_valid_protobuf())[:-10], {**PROTOBUF, "Content-Encoding": "gzip"}, "truncated"),
    (b"not gzip at all", {**PROTOBUF, "Content-Encoding": "gzip"}, "not valid gzip"),
    (gzip.compress(b"x") + b"trailing", {**PROTOBUF, "Content-Encoding": "gzip"}, "not valid gzip"),
], ids=["garbage-protobuf", "truncated-protobuf", "truncated-json", "json-array", "wrong-json-type", "bad-hex-id",
        "invalid-utf8", "deeply-nested-json", "truncated-gzip", "not-gzip", "gzip-trailing-garbage"])
def test_malformed_payload_is_400(shared_server: Server, body: bytes, headers: dict[str, str], expected: str) -> None:
    server = shared_server
    status, _, answer = post(url(server), body, headers)
    assert status == 400
    if headers["Content-Type"] == JSON["Content-Type"]:
        message = json.loads(answer)["message"]
    else:
        message = status_pb2.Status.FromString(answer).message
    assert expected in message
    _assert_still_serves(server)


def _gzip_bomb(inflated: int) -> bytes:
    # A single 4 MiB member inflating past the limit on its own, then more members (gzip allows
    # several): cheap to build, and the total inflated size is huge.
    member = gzip.compress(bytes(4 * 1024 * 1024), compresslevel=9)
    return member * (inflated // (4 * 1024 * 1024))


def test_gzip_bomb_is_413_without_inflating_it(start_server: StartServer) -> None:
    server = start_server(max_request_size=1024 * 1024, max_decompressed_size=2 * 1024 * 1024)
    bomb = _gzip_bomb(256 * 1024 * 1024)
    assert len(bomb) < 512 * 1024  # small on the wire, 256 MiB inflated
    started = time.monotonic()
    status, _, answer = post(url(server), bomb, {**PROTOBUF, "Content-Encoding": "gzip"})
    assert status == 413
    assert "maximum decompressed size" in status_pb2.Status.FromString(answer).message
    assert time.monotonic() - started < 5
    _assert_still_serves(server)


def test_oversized_body_is_413(start_server: StartServer) -> None:
    server = start_server(max_request_size=64 * 1024, max_decompressed_size=64 * 1024)
    body = json.dumps(json_span(name="x" * 100_000)).encode()
    status, _, answer = post(url(server), body, JSON)
    assert status == 413
    assert "maximum request size" in json.loads(answer)["message"]
    _assert_still_serves(server)


def test_decompress_stops_at_the_limit() -> None:
    bomb = zlib.compress(bytes(16 * 1024 * 1024))
    with pytest.raises(PayloadError) as error:
        decompress(bomb, "deflate", 1024)
    assert error.value.status == 413
    assert decompress(gzip.compress(b"ab") + gzip.compress(b"cd"), "gzip", 10) == b"abcd"  # gzip members
    assert decompress(gzip.compress(b"a" * 10), "gzip", 10) == b"a" * 10  # exactly at the limit
