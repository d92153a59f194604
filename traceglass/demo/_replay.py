"""The demo's provider stand-in: a loopback HTTP server answering like the OpenAI and Anthropic APIs.

Clients point their base URL at `replay.base_url(scenario)`; the scenario is the first path
segment, so each demo step gets its own conversation whatever the SDK sends. Only 127.0.0.1 is
bound, on a free port, in a daemon thread: nothing leaves the machine.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from traceglass.demo._replies import Reply, answer

__all__ = ["PACE", "Replay"]

# Multiplies every replayed latency (model "thinking" time, gaps between streamed chunks): they
# make the recorded durations look like real calls. Tests lower it.
PACE = 1.0


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: the connection closes after each response, which ends an SSE stream without
    # chunked encoding; SDK clients open a new connection per request.
    protocol_version = "HTTP/1.0"
    server_version = "traceglass-demo-replay"

    def do_POST(self) -> None:
        scenario, _, rest = self.path.lstrip("/").partition("/")
        endpoint = rest.split("?", 1)[0].removeprefix("v1/")
        length = int(self.headers.get("content-length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        self._send(answer(scenario, endpoint, request if isinstance(request, dict) else {}))

    def _send(self, reply: Reply) -> None:
        time.sleep(reply.first_delay * PACE)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if not reply.events:
            self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        if not reply.events:
            self.wfile.write(reply.body)
            return
        for index, event in enumerate(reply.events):
            if index:
                time.sleep(reply.delay * PACE)
            self.wfile.write(event)
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the demo prints its own progress; access lines would drown it


class Replay:
    """`with Replay() as replay:` serves until the block ends."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="traceglass-demo-replay", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def base_url(self, scenario: str) -> str:
        """The base URL a client of `scenario` uses (OpenAI clients add /v1 themselves: see callers)."""
        return f"{self.url}/{scenario}"

    def __enter__(self) -> Replay:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
