"""The server's settings, checked once before anything is bound or opened."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_GRPC_PORT",
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "DEFAULT_MAX_REQUEST_SIZE",
    "DEFAULT_OTLP_HTTP_PORT",
    "DEFAULT_PORT",
    "ServerConfig",
    "ServerConfigError",
    "is_loopback",
]

DEFAULT_PORT = 5000
# OpenTelemetry's default OTLP ports, so exporters with default settings reach the server.
DEFAULT_GRPC_PORT = 4317
DEFAULT_OTLP_HTTP_PORT = 4318
DEFAULT_MAX_REQUEST_SIZE = 16 * 1024 * 1024  # bytes on the wire (compressed)
DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024  # bytes after decompression


class ServerConfigError(ValueError):
    """Settings the server cannot start with; the message says what to change."""


@dataclasses.dataclass(frozen=True)
class ServerConfig:
    """Where the server listens, where it stores, and its limits.

    Ports: 0 picks a free port (the bound one is on `Server.ports`); None turns that listener off.
    `otlp_http_port` equal to `port` serves OTLP/HTTP on the main port only.
    """

    store_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    otlp_http_port: int | None = DEFAULT_OTLP_HTTP_PORT
    grpc_port: int | None = DEFAULT_GRPC_PORT
    auth_token: str | None = None
    forward_urls: tuple[str, ...] = ()
    max_request_size: int = DEFAULT_MAX_REQUEST_SIZE
    max_decompressed_size: int = DEFAULT_MAX_DECOMPRESSED_SIZE
    # Spans (or log records / metric data points) received but not yet written; past this the
    # receivers answer "retry later". Two full batches: a span waits at most about two batch
    # writes (under 2 s on SQLite), and a backlog the writer cannot clear soon is left with the
    # exporters, which retry, rather than held here (decoding it early would also take CPU the
    # writer's feeder needs).
    queue_capacity: int = 16_384
    queue_max_bytes: int = 256 * 1024 * 1024  # and the protobuf bytes of those requests (bounds memory)
    # Most spans per store.write_spans() call. The writer takes what is queued, so batches are
    # small when traffic is light; under load, larger batches amortise the commit and the index
    # pages each one rewrites (8,192 spans store ~1.6 times as fast as 1,000 on SQLite).
    batch_size: int = 8_192
    # Write the store from a child process (see _writer_process): the database work then gets a
    # core of its own instead of sharing the GIL with receiving and decoding.
    writer_process: bool = True
    retry_after_seconds: float = 1.0  # the delay suggested to exporters told to retry
    forward_buffer_size: int = 64 * 1024 * 1024  # bytes kept per forward target while it is down
    drain_timeout_seconds: float = 60.0  # how long shutdown waits for the queue to be written
    forward_drain_seconds: float = 5.0  # how long shutdown keeps trying to forward what is buffered

    def validate(self) -> None:
        """Raise ServerConfigError for settings that are unsafe or cannot work."""
        if self.auth_token is not None and not self.auth_token.strip():
            raise ServerConfigError("The auth token is empty: pass a non-empty --auth-token or leave it unset.")
        if not is_loopback(self.host) and not self.auth_token:
            raise ServerConfigError(
                f"Refusing to listen on {self.host!r} without an auth token: anyone who can reach that address could "
                "write and read traces. Set --auth-token (or TRACEGLASS_AUTH_TOKEN), or bind to 127.0.0.1."
            )
        for name in ("port", "otlp_http_port", "grpc_port"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 65535:
                raise ServerConfigError(f"{name} must be between 0 and 65535, not {value}")
        for name in ("max_request_size", "max_decompressed_size", "queue_capacity", "queue_max_bytes", "batch_size",
                     "forward_buffer_size"):
            if getattr(self, name) < 1:
                raise ServerConfigError(f"{name} must be positive, not {getattr(self, name)}")
        if self.max_decompressed_size < self.max_request_size:
            raise ServerConfigError("max_decompressed_size must be at least max_request_size")
        for url in self.forward_urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ServerConfigError(f"Forward target {url!r} is not an http(s) URL (e.g. http://jaeger:4318)")
        if self.retry_after_seconds <= 0:
            raise ServerConfigError("retry_after_seconds must be positive")


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address (127.0.0.0/8, ::1)."""
    text = host.strip().strip("[]")
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(text, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)
