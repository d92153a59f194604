"""A traceglass server as the tracking URI: the app's spans reach the server's store over OTLP."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replay import ReplayServer
from tests.tracking._helpers import clean_env, read_store, run_script, serve_openai

pytestmark = pytest.mark.slow

TOKEN = "tracking-test-token"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(address, store URL) of a `traceglass server` with an auth token, on free ports."""
    port = _free_port()
    store = f"sqlite:///{tmp_path / 'server.db'}"
    command = [sys.executable, "-c", "from traceglass.cli import main; main()", "server", "--port", str(port),
               "--store", store, "--grpc-port", "0", "--otlp-http-port", "0"]
    process = subprocess.Popen(command, env=clean_env(TRACEGLASS_AUTH_TOKEN=TOKEN), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            request = urllib.request.Request(f"{address}/health", headers={"Authorization": f"Bearer {TOKEN}"})
            try:
                with urllib.request.urlopen(request, timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"traceglass server did not start:\n{process.communicate()[0]}")
                time.sleep(0.1)
        yield address, store
    finally:
        process.terminate()
        process.communicate(timeout=15)


def test_spans_reach_the_servers_store(tmp_path: Path, server: tuple[str, str], replay: ReplayServer) -> None:
    address, store = server
    serve_openai(replay)
    app = """
        import os
        import openai
        import traceglass

        traceglass.set_tracking_uri(os.environ["SERVER"])
        traceglass.set_experiment("via-server")
        traceglass.openai.autolog()
        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])
    """
    env = clean_env(HOME=str(tmp_path / "user"), SERVER=address, APP_OPENAI_BASE_URL=replay.url("/v1"),
                    TRACEGLASS_AUTH_TOKEN=TOKEN)

    result = run_script(tmp_path, app, env)

    deadline = time.monotonic() + 10  # the server writes in batches, after answering
    while not (traces := read_store(store)) and time.monotonic() < deadline:
        time.sleep(0.1)
    [trace] = traces
    assert trace.info.experiment_name == "via-server"
    assert trace.info.name == "chat gpt-4o-mini"
    assert "Say hi" in (trace.info.request_preview or "")
    assert not (tmp_path / "user" / ".traceglass").exists()  # nothing went to a local store
    assert "Traceback" not in result.stderr, result.stderr
