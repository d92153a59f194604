"""The bearer token: required on every endpoint once set, refused start on a public address without
one."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from traceglass.collector.server import Server, ServerConfig, ServerConfigError
from traceglass.collector.server._config import is_loopback

from tests.server._helpers import json_span, post, post_json, url, written

TOKEN = "s3cret-token"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10"])
def test_refuses_a_non_loopback_address_without_token(store_url: str, host: str) -> None:
    with pytest.raises(ServerConfigError, match="without an auth token"):
        Server(ServerConfig(store_url=store_url, host=host))
    ServerConfig(store_url=store_url, host=host, auth_token=TOKEN).validate()  # with one it may start


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.1.2.3") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("192.0.2.10")


def test_blank_token_is_refused(store_url: str) -> None:
    with pytest.raises(ServerConfigError, match="empty"):
        ServerConfig(store_url=store_url, auth_token="  ").validate()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store_url = f"sqlite:///{tmp_path_factory.mktemp('guarded') / 'traces.db'}"
    with Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=0, grpc_port=0, auth_token=TOKEN)) as server:
        yield server


@pytest.mark.parametrize("port", ["http", "otlp_http"])
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_http_without_the_token_is_401(guarded: Server, port: str, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    status, answer = post_json(url(guarded, port=port), json_span(), headers)
    assert status == 401
    assert "bearer token" in answer["message"]
    assert post(url(guarded, "/health"), b"", headers, method="GET")[0] == 401
    assert post(url(guarded, "/no/such/route"), b"", headers, method="GET")[0] == 401


def test_http_with_the_token(guarded: Server) -> None:
    assert post_json(url(guarded), json_span(), {"Authorization": f"bearer {TOKEN}"})[0] == 200
    provider = TracerProvider()
    exporter = OTLPSpanExporter(endpoint=url(guarded, port="otlp_http"), headers={"authorization": f"Bearer {TOKEN}"})
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.get_tracer("t").start_span("with token").end()
    provider.shutdown()
    names = {info.name for info in written(guarded).search_traces().traces}
    assert {"span", "with token"} <= names


def test_grpc_needs_the_token(guarded: Server) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{guarded.ports['grpc']}") as channel:
        export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
        with pytest.raises(grpc.RpcError) as error:
            export(b"", metadata=(("authorization", "Bearer wrong"),), timeout=10)
        assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert export(b"", metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=10) == b""
