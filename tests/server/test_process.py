"""`traceglass server` as a real process: SIGTERM drains the queue into the store (the token coming
from TRACEGLASS_AUTH_TOKEN), and clients find the server by `set_tracking_uri()`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from traceglass.collector.store import Store

from tests.server._helpers import post, protobuf_request, write_lock

pytestmark = pytest.mark.slow
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Running:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("OTEL_", "TRACEGLASS_"))}
    env.update({"TRACEGLASS_HOME": str(tmp_path / "home"), "NO_PROXY": "127.0.0.1", **extra})
    return env


@pytest.fixture
def run_server(tmp_path: Path) -> Iterator:  # type: ignore[type-arg]
    processes: list[subprocess.Popen[str]] = []

    def run(store_url: str, *args: str, env: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            ) -> Running:
        port = _free_port()
        command = [sys.executable, "-c", "from traceglass.cli import main; main()", "server", "--store", store_url,
                   "--port", str(port), "--grpc-port", "0", "--otlp-http-port", "0", *args]
        process = subprocess.Popen(command, env=env or _environment(tmp_path), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        processes.append(process)
        running = Running(process, port)
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                if post(f"{running.base}/health", b"", headers, method="GET")[0] == 200:
                    return running
            except OSError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)

    yield run
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.communicate()



def _span_count(store_url: str) -> int:
    with Store.open(store_url) as store:
        return sum(info.span_count for info in store.search_traces(max_results=10_000).traces)


def test_sigterm_writes_every_acknowledged_span(run_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store_url = f"sqlite:///{tmp_path / 'traces.db'}"
    token = {"Authorization": "Bearer from-env"}
    running = run_server(store_url, env=_environment(tmp_path, TRACEGLASS_AUTH_TOKEN="from-env"), headers=token)
    assert post(f"{running.base}/v1/traces", protobuf_request(1, 1), PROTOBUF)[0] == 401  # the token came from the env
    with write_lock(store_url) as release:  # the writer cannot write: everything stays queued
        for batch in range(20):
            body = protobuf_request(batch * 25 + 1, 25)
            status, _, _ = post(f"{running.base}/v1/traces", body, {**PROTOBUF, **token})
            assert status == 200
        running.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert running.process.poll() is None  # still draining
        release.set()
    output, _ = running.process.communicate(timeout=30)
    assert running.process.returncode == 0, output
    assert "SIGTERM" in output and "writing" in output
    assert _span_count(store_url) == 500


def test_client_finds_the_server_by_tracking_uri(run_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store_url = f"sqlite:///{tmp_path / 'traces.db'}"
    running = run_server(store_url)
    client = textwrap.dedent("""
        import sys
        import traceglass

        traceglass.set_tracking_uri(sys.argv[1])
        traceglass.set_experiment("via-uri")
        with traceglass.start_span("from the client"):
            pass
    """)
    subprocess.run([sys.executable, "-c", client, running.base], env=_environment(tmp_path), check=True, timeout=60)
    running.process.send_signal(signal.SIGTERM)
    running.process.communicate(timeout=30)
    with Store.open(store_url) as store:
        [info] = store.search_traces().traces
    assert (info.name, info.experiment_name) == ("from the client", "via-uri")
