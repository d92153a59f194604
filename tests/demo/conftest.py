"""Fixtures for the demo tests: `traceglass demo` run as a user runs it, in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from traceglass.collector.server import Server, ServerConfig

RunDemo = Callable[..., subprocess.CompletedProcess[str]]

# What `traceglass` (the console script) runs; `-c` keeps the test independent of PATH.
_CLI = "from traceglass.cli import main\nmain(prog_name='traceglass')\n"
# The replayed model latencies, a tenth as long: the tests check what is recorded, not how long it took.
_FAST = "from traceglass.demo import _replay\n_replay.PACE = 0.1\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """TRACEGLASS_HOME of the demo process: its default local store lives here."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def run_demo(home: Path, tmp_path: Path) -> RunDemo:
    """run_demo(*args, prelude="") -> the finished `traceglass demo *args` process. `prelude` is
    Python run first in that process (to hide an SDK, or break a step)."""

    def run(*args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(cli_command("demo", *args, prelude=prelude), env=cli_env(home), cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)

    return run


def cli_command(*args: str, prelude: str = "") -> list[str]:
    """`traceglass *args` as a command line, with `prelude` run first in that process."""
    return [sys.executable, "-c", _FAST + prelude + _CLI, *args]


def cli_env(home: Path) -> dict[str, str]:
    """The environment of a user with nothing configured, and TRACEGLASS_HOME=home."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("TRACEGLASS_", "OTEL_"))}
    env["TRACEGLASS_HOME"] = str(home)
    # The OTLP exporter honours HTTP(S)_PROXY for loopback too; keep the test's traffic direct.
    env["NO_PROXY"] = ",".join(filter(None, (env.get("NO_PROXY"), "127.0.0.1")))
    return env


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A traceglass server on free loopback ports, with its own store."""
    config = ServerConfig(store_url=f"sqlite:///{tmp_path / 'server.db'}", port=0, otlp_http_port=0, grpc_port=0)
    with Server(config) as running:
        yield running


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on (free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
