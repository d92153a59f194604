"""A span's experiment: its attribute, else its resource's, else the x-traceglass-experiment header,
else "Default"; experiments are created on first sight. Same rules over HTTP and gRPC."""

from __future__ import annotations

import json
from collections.abc import Callable

import grpc
import pytest
from traceglass.collector.server import EXPERIMENT_HEADER, Server
from traceglass.collector.server._payload import decode

from tests.server._helpers import json_span, post_json, url, written

EXPERIMENT = "traceglass.experiment"

CASES = [
    # (span attributes, resource attributes, header, expected experiment)
    ({EXPERIMENT: "from-span"}, {EXPERIMENT: "from-resource"}, "from-header", "from-span"),
    ({}, {EXPERIMENT: "from-resource"}, "from-header", "from-resource"),
    ({}, {"service.name": "svc"}, "from-header", "from-header"),
    ({}, {}, "   ", "Default"),
    ({}, {}, None, "Default"),
    ({}, {}, "évaluation", "évaluation"),
]


def _send_http(server: Server, document: dict, header: str | None) -> None:
    headers = {EXPERIMENT_HEADER: header.encode().decode("latin-1")} if header is not None else {}
    assert post_json(url(server), document, headers)[0] == 200


def _send_grpc(server: Server, document: dict, header: str | None) -> None:
    protobuf = decode("traces", json.dumps(document).encode(), "json").protobuf
    metadata = ((EXPERIMENT_HEADER, header),) if header is not None else ()
    with grpc.insecure_channel(f"127.0.0.1:{server.ports['grpc']}") as channel:
        channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")(
            protobuf, metadata=metadata, timeout=10)


@pytest.mark.parametrize("send", [_send_http, _send_grpc], ids=["http", "grpc"])
def test_experiment_resolution_order(server: Server, send: Callable[[Server, dict, str | None], None]) -> None:
    if send is _send_grpc:
        cases = [case for case in CASES if case[2] is None or case[2].isascii()]  # gRPC metadata is ASCII
    else:
        cases = CASES
    for number, (span_attributes, resource_attributes, header, _) in enumerate(cases, start=1):
        trace_id = f"{number:032x}"
        send(server, json_span(trace_id=trace_id, attributes=span_attributes, resource=resource_attributes), header)
    store = written(server)
    for number, (*_, expected) in enumerate(cases, start=1):
        trace = store.get_trace(f"{number:032x}")
        assert trace is not None and trace.info.experiment_name == expected, (number, expected)
    names = {experiment.name for experiment in store.list_experiments()}
    assert {case[3] for case in cases} <= names


def test_one_request_mixing_experiments(server: Server) -> None:
    document = json_span(trace_id="a" * 32, span_id="1" * 16, attributes={EXPERIMENT: "one"})
    other = json_span(trace_id="b" * 32, span_id="2" * 16)["resourceSpans"][0]
    document["resourceSpans"].append(other)
    _send_http(server, document, "two")
    store = written(server)
    assert store.get_trace("a" * 32).info.experiment_name == "one"
    assert store.get_trace("b" * 32).info.experiment_name == "two"
