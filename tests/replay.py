"""Loopback HTTP replay server for instrumentor tests.

The SDK clients talk real HTTP to this server (no transport mocking), so the instrumentation sees the
same code paths as in production: connection pools, SSE/NDJSON decoding, error mapping, retries.

Responses come from VCR.py cassettes (``load_cassette``) or are written by hand (``add``, ``add_sse``,
``add_ndjson``). They are matched on method + path only: host, scheme, port and query string are
ignored because the client targets our own base URL, and request bodies change between SDK versions.
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import yaml

CASSETTES_DIR = Path(__file__).resolve().parent / "cassettes"

# Never replayed as recorded: the body we send is not the recorded wire body (pretty-printed JSON,
# un-gzipped text), so lengths/encodings would lie, and connection management is ours.
_DROPPED_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"}
)
# Split SSE after each blank line and NDJSON after each newline, so a stream is written event by event.
_SSE_EVENT_END = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)")
_LINE_END = re.compile(rb"(?<=\n)")

# libyaml's loader parses the larger cassettes several times faster than the pure-Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Body = str | bytes | dict[str, Any] | list[Any] | None


def cassette_path(name: str | Path) -> Path:
    """Resolve ``"openai/otel-contrib__x.yaml"`` inside tests/cassettes/ (absolute paths pass through)."""
    path = Path(name)
    if not path.is_absolute():
        path = CASSETTES_DIR / path
    if not path.is_file():
        raise FileNotFoundError(f"cassette not found: {path} (see tests/cassettes/README.md)")
    return path


def guess_content_type(body: bytes) -> str:
    """Content-Type for responses recorded without headers (openinference strips them all)."""
    head = body.lstrip()[:16]
    if head.startswith((b"data:", b"event:", b"id:", b":")):
        return "text/event-stream; charset=utf-8"
    lines = [line for line in body.splitlines() if line.strip()]
    # Several lines that each parse as a JSON object: NDJSON (a pretty-printed object has lines that don't).
    if len(lines) > 1 and all(isinstance(_parse_json(line), dict) for line in lines):
        return "application/x-ndjson"
    return "application/json"


@dataclass
class ReplayResponse:
    """One canned response. Mutable on purpose: tests may tweak a loaded interaction before use."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    reason: str | None = None
    # Sleep before the first body chunk (time-to-first-chunk) and before each later one.
    first_chunk_delay: float = 0.0
    chunk_delay: float = 0.0
    # Close the socket after this many body chunks (events/lines; a plain body is one chunk).
    drop_after: int | None = None

    @property
    def content_type(self) -> str:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return guess_content_type(self.body)

    def chunks(self) -> list[bytes]:
        """The body as it is written to the socket: per event for streams, in one piece otherwise."""
        ctype = self.content_type.lower()
        if "event-stream" in ctype:
            pieces = _SSE_EVENT_END.split(self.body)
        elif "ndjson" in ctype or "jsonl" in ctype:
            pieces = _LINE_END.split(self.body)
        else:
            pieces = [self.body]
        return [piece for piece in pieces if piece]


@dataclass(frozen=True)
class RecordedRequest:
    """What the client actually sent; header names are lower-cased."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    json: Any = None  # parsed body when it is JSON, else None

    @property
    def params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))


@dataclass(frozen=True)
class Cassette:
    path: Path
    requests: list[dict[str, Any]]  # the recorded request sections, for comparing with what was sent
    responses: list[ReplayResponse]


@dataclass
class _Route:
    responses: list[ReplayResponse] = field(default_factory=list)
    served: int = 0

    def next(self) -> ReplayResponse:
        # Recorded order first; then keep repeating the last one so retries and re-runs still work.
        response = self.responses[min(self.served, len(self.responses) - 1)]
        self.served += 1
        return response


def _encode_body(body: Body) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def _compact(item: dict[str, Any] | list[Any] | str) -> str:
    return item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))


def _sse_event(data: str, name: str | None) -> str:
    # Multi-line data needs one "data:" field per line to survive SSE decoding.
    head = f"event: {name}\n" if name else ""
    return head + "".join(f"data: {line}\n" for line in data.split("\n")) + "\n"


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that closes a keep-alive connection (an abandoned stream, a test's client
        # going away) is normal here; anything else is still reported.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class ReplayServer:
    """Serves canned HTTP responses on 127.0.0.1:<random port> from a daemon thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], _Route] = {}
        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> ReplayServer:
        handler = type("_BoundHandler", (_Handler,), {"replay": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        # Handler threads may sit on idle keep-alive connections forever; they must not block exit.
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() (which waits for the next poll) from adding ~0.5 s.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="replay-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget all responses and recorded requests (call between tests)."""
        with self._lock:
            self._routes.clear()
            self.requests.clear()
            self.unmatched.clear()

    # -- addressing --------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("ReplayServer is not started")
        return int(self._httpd.server_address[1])

    def url(self, prefix: str = "/v1") -> str:
        """Base URL for a client, e.g. ``url("/v1")`` for OpenAI, ``url("")`` for Anthropic/Ollama."""
        if prefix and not prefix.startswith("/"):
            prefix = "/" + prefix
        return f"http://127.0.0.1:{self.port}{prefix}"

    @property
    def base_url(self) -> str:
        return self.url("/v1")

    # -- registering responses ---------------------------------------------------------------------

    def add_response(self, method: str, path: str, response: ReplayResponse) -> ReplayResponse:
        key = (method.upper(), urlsplit(path).path or "/")
        with self._lock:
            self._routes.setdefault(key, _Route()).responses.append(response)
        return response

    def add(
        self,
        method: str,
        path: str,
        status: int = 200,
        body: Body = None,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> ReplayResponse:
        """Queue a hand-written response; dict/list bodies are sent as JSON.

        ``options`` are ReplayResponse fields: first_chunk_delay, chunk_delay, drop_after, reason.
        """
        header_list = list((headers or {}).items())
        if not any(name.lower() == "content-type" for name, _ in header_list):
            ctype = "application/json" if isinstance(body, dict | list) else None
            header_list.append(("Content-Type", ctype or guess_content_type(_encode_body(body))))
        response = ReplayResponse(status=status, body=_encode_body(body), headers=header_list, **options)
        return self.add_response(method, path, response)

    def add_sse(
        self,
        path: str,
        events: Sequence[dict[str, Any] | str],
        *,
        done: bool | None = None,
        event_names: Sequence[str | None] | Literal["type"] | None = None,
        method: str = "POST",
        status: int = 200,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> ReplayResponse:
        """Queue an SSE stream: ``data: {json}`` per event.

        OpenAI chat style by default (ends with ``data: [DONE]``). With ``event_names`` (a name per
        event, or ``"type"`` to use each dict's "type" field) it is Anthropic / Responses style, which
        has no [DONE] unless ``done=True`` is given.
        """
        if event_names == "type":
            names: list[str | None] = [ev.get("type") if isinstance(ev, dict) else None for ev in events]
        elif event_names is None:
            names = [None] * len(events)
        else:
            names = list(event_names)
            if len(names) != len(events):
                raise ValueError("event_names must have one entry per event")
        text = "".join(_sse_event(_compact(ev), name) for ev, name in zip(events, names, strict=True))
        if done if done is not None else event_names is None:
            text += _sse_event("[DONE]", None)
        merged = {"Content-Type": "text/event-stream; charset=utf-8", **(headers or {})}
        return self.add(method, path, status, text, merged, **options)

    def add_ndjson(
        self,
        path: str,
        lines: Iterable[dict[str, Any] | str],
        *,
        method: str = "POST",
        status: int = 200,
        headers: dict[str, str] | None = None,
        **options: Any,
    ) -> ReplayResponse:
        """Queue an Ollama-style NDJSON stream, one JSON object per line."""
        text = "".join(_compact(line) + "\n" for line in lines)
        merged = {"Content-Type": "application/x-ndjson", **(headers or {})}
        return self.add(method, path, status, text, merged, **options)

    def load_cassette(self, name: str | Path, **options: Any) -> Cassette:
        """Queue every interaction of a VCR.py cassette; ``options`` apply to each response."""
        path = cassette_path(name)
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        requests, responses = [], []
        for interaction in data["interactions"]:
            request, recorded = interaction["request"], interaction["response"]
            response = ReplayResponse(
                status=int(recorded["status"]["code"]),
                reason=recorded["status"].get("message"),
                body=_encode_body((recorded.get("body") or {}).get("string")),
                headers=_recorded_headers(recorded.get("headers") or {}),
                **options,
            )
            if not any(name.lower() == "content-type" for name, _ in response.headers):
                response.headers.append(("Content-Type", guess_content_type(response.body)))
            self.add_response(request["method"], urlsplit(request["uri"]).path, response)
            requests.append(request)
            responses.append(response)
        return Cassette(path=path, requests=requests, responses=responses)

    # -- inspecting --------------------------------------------------------------------------------

    @property
    def last_request(self) -> RecordedRequest:
        if not self.requests:
            raise AssertionError("the replay server received no request")
        return self.requests[-1]

    def _dispatch(self, request: RecordedRequest) -> ReplayResponse | None:
        with self._lock:
            self.requests.append(request)
            route = self._routes.get((request.method, request.path))
            if route is None or not route.responses:
                self.unmatched.append(request)
                return None
            return route.next()


def _recorded_headers(headers: dict[str, Any]) -> list[tuple[str, str]]:
    result = []
    for name, values in headers.items():
        if name.lower() in _DROPPED_HEADERS:
            continue
        for value in values if isinstance(values, list) else [values]:
            result.append((str(name), str(value)))
    return result


def _parse_json(body: bytes) -> Any:
    if not body.lstrip().startswith((b"{", b"[")):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class _Handler(BaseHTTPRequestHandler):
    replay: ReplayServer  # set on the per-server subclass
    # HTTP/1.1 so SDK connection pools keep connections alive, as with real providers.
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Without this, Nagle + delayed ACK stall every small SSE write by ~40 ms on loopback.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output clean; server.requests is the log

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():  # trailers
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _handle(self) -> None:
        split = urlsplit(self.path)
        body = self._read_body()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=split.query,
            headers=headers,
            body=body,
            json=_parse_json(body),
        )
        response = self.replay._dispatch(request)
        if response is None:
            message = f"replay: no response registered for {request.method} {request.path}"
            response = ReplayResponse(
                status=501,
                body=_encode_body({"error": {"message": message, "type": "replay_unmatched"}}),
                headers=[("Content-Type", "application/json")],
            )
        self._send(response)

    def _send(self, response: ReplayResponse) -> None:
        no_body = self.command == "HEAD" or response.status in (204, 304) or response.status < 200
        self.send_response_only(response.status, response.reason)
        for name, value in response.headers:
            self.send_header(name, value)
        if not no_body:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()  # flushes status line + headers in one write
        if no_body:
            return
        for index, chunk in enumerate(response.chunks()):
            if response.drop_after is not None and index >= response.drop_after:
                # Returning with close_connection set makes the server close the socket, so the
                # client sees EOF before Content-Length bytes arrived: a mid-stream connection drop.
                self.close_connection = True
                return
            delay = response.first_chunk_delay if index == 0 else response.chunk_delay
            if delay:
                time.sleep(delay)
            try:
                self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                # The client closed a stream early (stream.close(), break): normal, not a server error.
                self.close_connection = True
                return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle
