"""Fixtures for the server tests: real servers on free loopback ports, a store per test, and
OTLP sent by the OpenTelemetry SDK's own exporters or as raw HTTP/gRPC requests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traceglass.collector.server import Server, ServerConfig

from tests.server._helpers import StartServer


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'traces.db'}"


@pytest.fixture
def start_server(store_url: str) -> Iterator[StartServer]:
    """start_server(**ServerConfig fields) -> a started Server on free ports; stopped afterwards."""
    servers: list[Server] = []

    def start(**overrides: Any) -> Server:
        settings: dict[str, Any] = {"store_url": store_url, "port": 0, "otlp_http_port": 0, "grpc_port": 0}
        settings.update(overrides)
        server = Server(ServerConfig(**settings))
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: StartServer) -> Server:
    return start_server()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a module's tests that only check answers (they must not count stored traces)."""
    store_url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'traces.db'}"
    with Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=0, grpc_port=0)) as server:
        yield server
