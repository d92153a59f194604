"""The running server: the store, the ingest queue and its writer, the forwarders, the HTTP
listeners (one uvicorn server on the main port and the OTLP/HTTP port) and the gRPC listener.

    with Server(ServerConfig(store_url="sqlite:///traces.db")) as server:
        ...                      # server.ports["http"], ["otlp_http"], ["grpc"]
    server.serve_forever()       # the CLI: runs until SIGTERM/SIGINT, then drains

Shutdown order keeps every acknowledged span: stop the listeners (in-flight requests finish and
are answered), then write the whole queue, then close the store.
"""

from __future__ import annotations

import errno
import logging
import os
import signal
import socket
import threading
import time
from types import FrameType
from typing import Any

from traceglass.collector.store import Store

from ._config import ServerConfig, ServerConfigError
from ._forward import Forwarder
from ._ingest import Ingest
from ._payload import Limits
from ._queue import IngestQueue
from ._telemetry import TelemetryTable
from ._writer_process import WriterProcess

__all__ = ["Server"]

_log = logging.getLogger("traceglass.server")
_STARTUP_TIMEOUT = 15.0
_GRACE = 5.0  # seconds in-flight requests get to finish at shutdown


class Server:
    """The bundled collector. `start()` returns once every listener accepts connections;
    `stop()` returns once everything acknowledged is in the store."""

    def __init__(self, config: ServerConfig) -> None:
        config.validate()
        self.config = config
        self.ports: dict[str, int] = {}
        self.store: Store | None = None
        self.telemetry: TelemetryTable | None = None
        self._queue: IngestQueue | None = None
        self._forwarder: Forwarder | None = None
        self._ingest: Ingest | None = None
        self._writer: WriterProcess | None = None
        self._uvicorn: Any = None
        self._http_thread: threading.Thread | None = None
        self._grpc: Any = None
        self._stopped = threading.Event()
        self._started = False

    @property
    def ingest(self) -> Ingest:
        assert self._ingest is not None, "the server is not started"
        return self._ingest

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        config = self.config
        self.store = Store.open(config.store_url)
        self.telemetry = TelemetryTable(self.store.engine)
        if config.writer_process:
            self._writer = WriterProcess(config.store_url)
            self._writer.start()
        self._queue = IngestQueue(self.store, self.telemetry, config.queue_capacity, config.batch_size,
                                  config.queue_max_bytes,
                                  write_prepared=self._writer.write_prepared if self._writer else None,
                                  pack=WriterProcess.pack if self._writer else None)
        self._queue.start()
        self._forwarder = Forwarder(config.forward_urls, config.forward_buffer_size)
        self._forwarder.start()
        self._ingest = Ingest(self._queue, self._forwarder,
                              Limits(config.max_request_size, config.max_decompressed_size),
                              admission_wait=config.retry_after_seconds)
        self._start_http()
        if config.grpc_port is not None:
            self._start_grpc(config.grpc_port)
        _log.info("traceglass server: store %s; listening on %s", self.store, self._addresses())

    def _start_http(self) -> None:
        import uvicorn

        from ._http import PortDispatch, create_app

        config = self.config
        main_socket = _bind(config.host, config.port, "--port")
        sockets = [main_socket]
        self.ports["http"] = main_socket.getsockname()[1]
        app = create_app(self.ingest, config.retry_after_seconds, config.auth_token, store=self.store)
        by_port = {}
        if config.otlp_http_port is not None and (config.otlp_http_port != config.port or config.port == 0):
            otlp_socket = _bind(config.host, config.otlp_http_port, "--otlp-http-port")
            sockets.append(otlp_socket)
            self.ports["otlp_http"] = otlp_socket.getsockname()[1]
            # The OTLP port serves the OTLP routes only; the query API (and later the UI) stay on the main port.
            by_port[self.ports["otlp_http"]] = create_app(self.ingest, config.retry_after_seconds, config.auth_token,
                                                          otlp_only=True)
        elif config.otlp_http_port is not None:
            self.ports["otlp_http"] = self.ports["http"]
        uv_config = uvicorn.Config(PortDispatch(app, by_port), lifespan="off", log_config=None, access_log=False,
                                   server_header=False, timeout_graceful_shutdown=int(_GRACE))
        self._uvicorn = uvicorn.Server(uv_config)
        # In a thread: uvicorn then leaves signal handling to us (serve_forever) or the embedding app.
        self._http_thread = threading.Thread(target=self._uvicorn.run, kwargs={"sockets": sockets},
                                             name="traceglass-http", daemon=True)
        self._http_thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._uvicorn.started:
            if not self._http_thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("The HTTP listener did not start; see the log above.")
            time.sleep(0.01)

    def _start_grpc(self, port: int) -> None:
        from ._grpc import create_grpc_server

        config = self.config
        try:
            server, bound = create_grpc_server(self.ingest, config.host, port, auth_token=config.auth_token,
                                               max_message_size=config.max_decompressed_size,
                                               retry_after_seconds=config.retry_after_seconds)
        except RuntimeError as exc:  # grpc raises RuntimeError("Failed to bind ...")
            raise ServerConfigError(_in_use(config.host, port, "--grpc-port")) from exc
        if not bound:
            raise ServerConfigError(_in_use(config.host, port, "--grpc-port"))
        server.start()
        self._grpc = server
        self.ports["grpc"] = bound

    def _addresses(self) -> str:
        host = self.config.host
        parts = [f"http://{host}:{self.ports['http']} (HTTP)"]
        if "otlp_http" in self.ports:
            parts.append(f"OTLP/HTTP :{self.ports['otlp_http']}")
        if "grpc" in self.ports:
            parts.append(f"OTLP/gRPC :{self.ports['grpc']}")
        return ", ".join(parts)

    def stop(self) -> None:
        """Stop listening, write everything queued, close the store. Idempotent."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._grpc is not None:
            self._grpc.stop(_GRACE).wait()
        if self._uvicorn is not None and self._http_thread is not None:
            self._uvicorn.should_exit = True
            self._http_thread.join(_GRACE * 2)
        if self._ingest is not None:
            self._ingest.closing = True  # anything still arriving is told to retry elsewhere/later
        if self._queue is not None:
            if self._queue.pending:
                _log.info("traceglass server: writing %d queued items before exit", self._queue.pending)
            self._queue.close(self.config.drain_timeout_seconds)
        if self._writer is not None:
            self._writer.close()
        if self._forwarder is not None:
            self._forwarder.close(self.config.forward_drain_seconds)
        if self.store is not None:
            self.store.close()

    def serve_forever(self) -> None:
        """Start, run until SIGTERM or SIGINT, then stop gracefully. A second signal exits at once."""
        stop = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if stop.is_set():
                pending = self._queue.pending if self._queue else 0
                _log.error("traceglass server: second %s, exiting now; %d queued items are not written.",
                           signal.Signals(signum).name, pending)
                os._exit(1)
            _log.info("traceglass server: %s received, shutting down", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not stop.wait(0.5):
                if self._http_thread is not None and not self._http_thread.is_alive():
                    _log.error("traceglass server: the HTTP listener stopped unexpectedly; shutting down")
                    break
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _bind(host: str, port: int, option: str) -> socket.socket:
    """A listening-ready socket on host:port; a clear error when the port is taken."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ServerConfigError(f"Cannot listen on {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServerConfigError(_in_use(host, port, option)) from None
        raise ServerConfigError(f"Cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def _in_use(host: str, port: int, option: str) -> str:
    hint = " (0 turns this listener off)" if option != "--port" else ""
    return f"Port {port} on {host} is already in use: is another server running? Choose another with {option}{hint}."
