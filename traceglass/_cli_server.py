"""`traceglass server` and `traceglass ui`: run the bundled collector.

    traceglass server [--host H] [--port/-p 5000] [--store URL] [--grpc-port 4317]
                      [--otlp-http-port 4318] [--forward-otlp URL]... [--auth-token T]
                      [--max-request-size 16MiB] [--max-decompressed-size 64MiB] [--queue-size N]

Both serve the web UI on the main port (http://127.0.0.1:5000/); `ui` also opens it in a browser
(unless --no-browser).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import click

__all__ = ["register", "server", "ui"]

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1000, "kib": 1024, "m": 1024**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1024**3, "gb": 1000**3, "gib": 1024**3}


class _Size(click.ParamType):
    """A byte count: 1048576, 512KiB, 16MiB, 1GiB (K/M/G alone are binary units)."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", str(value))
        unit = match.group(2).lower() if match else ""
        if not match or unit not in _UNITS or int(match.group(1)) < 1:
            self.fail(f"{value!r} is not a size: use bytes or a unit, e.g. 16MiB", param, ctx)
        return int(match.group(1)) * _UNITS[unit]


# The defaults of ServerConfig, repeated so that `traceglass --help` does not import the server.
DEFAULT_PORT = 5000
DEFAULT_GRPC_PORT = 4317
DEFAULT_OTLP_HTTP_PORT = 4318
DEFAULT_MAX_REQUEST_SIZE = 16 * 1024**2
DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024**2
DEFAULT_QUEUE_SIZE = 16_384


def _options(command: Callable[..., Any]) -> Callable[..., Any]:
    port = click.IntRange(0, 65535)
    options = [
        click.option("--host", default="127.0.0.1", show_default=True,
                     help="Address to listen on. Anything but loopback requires --auth-token."),
        click.option("--port", "-p", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True,
                     help="Main HTTP port: the web UI, OTLP/HTTP receivers and the query API (/api/v1)."),
        click.option("--store", "store_url", metavar="URL",
                     help="Store URL (sqlite:///path.db, postgresql://user:pw@host/db). Default: "
                          "TRACEGLASS_TRACKING_URI when it names a store, else the local store in TRACEGLASS_HOME "
                          "(~/.traceglass)."),
        click.option("--grpc-port", type=port, default=DEFAULT_GRPC_PORT, show_default=True,
                     help="OTLP/gRPC port; 0 turns gRPC off."),
        click.option("--otlp-http-port", type=port, default=DEFAULT_OTLP_HTTP_PORT, show_default=True,
                     help="Second OTLP/HTTP port (OpenTelemetry's default); 0 turns it off."),
        click.option("--forward-otlp", "forward_urls", multiple=True, metavar="URL",
                     help="Also send everything received to this OTLP/HTTP endpoint, e.g. http://jaeger:4318 "
                          "(repeatable)."),
        click.option("--auth-token", metavar="TOKEN",
                     help="Bearer token required on every request. Default: TRACEGLASS_AUTH_TOKEN."),
        click.option("--max-request-size", type=_Size(), default=DEFAULT_MAX_REQUEST_SIZE,
                     help="Largest request accepted, as sent (compressed). Default: 16MiB."),
        click.option("--max-decompressed-size", type=_Size(), default=DEFAULT_MAX_DECOMPRESSED_SIZE,
                     help="Largest request accepted after decompression. Default: 64MiB."),
        click.option("--queue-size", type=click.IntRange(min=1), default=DEFAULT_QUEUE_SIZE, show_default=True,
                     help="Spans (and metric points, log records) held before receivers ask exporters to retry."),
        click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info",
                     show_default=True),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run(host: str, port: int, store_url: str | None, grpc_port: int, otlp_http_port: int,
         forward_urls: tuple[str, ...], auth_token: str | None, max_request_size: int, max_decompressed_size: int,
         queue_size: int, log_level: str, open_browser: bool = False) -> None:
    from traceglass._env import TrackingEnv, server_auth_token
    from traceglass._tracking import default_store_url, is_store_url, store_open_error
    from traceglass.collector.server import Server, ServerConfig, ServerConfigError
    from traceglass.collector.server._gc import tune_for_serving

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    env = TrackingEnv.resolve()
    if store_url is None:
        store_url = env.tracking_uri if env.tracking_uri and is_store_url(env.tracking_uri) else None
        store_url = store_url or default_store_url(env.home)
    for url in forward_urls:
        if not re.match(r"https?://[^/]", url):
            raise click.BadParameter(f"{url!r} is not an http(s) URL", param_hint="--forward-otlp")
    config = ServerConfig(
        store_url=store_url,
        host=host,
        port=port,
        grpc_port=grpc_port or None,
        otlp_http_port=otlp_http_port or None,
        auth_token=auth_token or server_auth_token(),
        forward_urls=forward_urls,
        max_request_size=max_request_size,
        max_decompressed_size=max_decompressed_size,
        queue_capacity=queue_size,
    )
    running = None
    try:
        running = Server(config)
        # Started before serve_forever() so that the address printed (and opened) is one that answers.
        running.start()
        tune_for_serving()
        try:
            address = f"http://{_browser_host(host)}:{running.ports['http']}/"
            click.echo(f"traceglass UI: {address}")
            if open_browser and _has_display():
                import webbrowser

                webbrowser.open(address)
        except BaseException:
            running.stop()
            raise
        running.serve_forever()
    except ServerConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:
        if running is None or running.store is not None:
            raise
        # The store is opened first: a bad --store (or variable) is a message, not a traceback.
        raise click.ClickException(str(store_open_error(store_url, exc))) from exc


@click.command()
@_options
def server(**options: Any) -> None:
    """Run the collector: OTLP receivers (HTTP and gRPC) writing to the trace store."""
    _run(**options)


@click.command()
@_options
@click.option("--no-browser", is_flag=True, help="Print the UI's address without opening a browser.")
@click.option("--demo", is_flag=True,
              help="Once the server is up, record the example traces of `traceglass demo` into it.")
def ui(no_browser: bool, demo: bool, **options: Any) -> None:
    """Run the collector and open its web UI in a browser (the same server as `traceglass server`)."""
    if demo:
        from traceglass.demo import record_when_ready

        record_when_ready(options["host"], options["port"], options["auth_token"])
    _run(**options, open_browser=not no_browser)


def _has_display() -> bool:
    """Whether a graphical browser can open. Without a display (SSH, containers) Python's webbrowser
    falls back to text browsers such as lynx, which would take over the server's terminal."""
    import os
    import sys

    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"))


def _browser_host(host: str) -> str:
    """The host a browser on this machine reaches a server listening on `host` at."""
    if host in ("", "0.0.0.0", "::", "[::]"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def register(group: click.Group) -> None:
    """Add `server` and `ui` to the `traceglass` command."""
    group.add_command(server)
    group.add_command(ui)
