"""`traceglass ui --demo`: record the demo into the server this process is starting.

The demo runs in a child process, so the server's own process never instruments an SDK or sets up
a trace pipeline; it starts once the server's /health answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

__all__ = ["record_when_ready"]

_STARTUP_WAIT = 60.0  # a first start creates and migrates the store


def record_when_ready(host: str, port: int, auth_token: str | None = None,
                      experiment: str = "demo") -> threading.Thread:
    """In a background thread: wait for the server at host:port, then run `traceglass demo` against it."""
    thread = threading.Thread(target=_record, args=(_address(host, port), auth_token, experiment),
                              name="traceglass-demo", daemon=True)
    thread.start()
    return thread


def _address(host: str, port: int) -> str:
    # A server listening on every interface is reached on loopback.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _record(url: str, auth_token: str | None, experiment: str) -> None:
    from traceglass.demo._run import probe

    env = dict(os.environ)
    if auth_token:
        env["TRACEGLASS_AUTH_TOKEN"] = auth_token  # where the demo's probe and exporters read it
    deadline = time.monotonic() + _STARTUP_WAIT
    while probe(url, timeout=0.5, token=auth_token) != "ok":
        if time.monotonic() > deadline:
            print(f"traceglass demo: the server at {url} did not answer within {_STARTUP_WAIT:.0f}s; "
                  "nothing recorded.", file=sys.stderr, flush=True)
            return
        time.sleep(0.25)
    subprocess.run([sys.executable, "-m", "traceglass.demo", "--tracking-uri", url, "--experiment", experiment],
                   env=env, check=False)
