"""`traceglass server` / `traceglass ui`: options, defaults and refusals (without starting a server)."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from traceglass.collector.server import ServerConfig

from tests.server._helpers import StartServer
from traceglass import _cli_server
from traceglass.cli import main


@pytest.mark.parametrize("command", ["server", "ui"])
def test_help_lists_the_options(command: str) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "-p", "--store", "--grpc-port", "--otlp-http-port", "--forward-otlp",
                   "--auth-token", "--max-request-size", "--max-decompressed-size", "--queue-size"):
        assert option in result.output


def test_cli_defaults_are_the_server_defaults() -> None:
    defaults = {field.name: field.default for field in dataclasses.fields(ServerConfig)}
    assert _cli_server.DEFAULT_PORT == defaults["port"]
    assert _cli_server.DEFAULT_GRPC_PORT == defaults["grpc_port"]
    assert _cli_server.DEFAULT_OTLP_HTTP_PORT == defaults["otlp_http_port"]
    assert _cli_server.DEFAULT_MAX_REQUEST_SIZE == defaults["max_request_size"]
    assert _cli_server.DEFAULT_MAX_DECOMPRESSED_SIZE == defaults["max_decompressed_size"]
    assert _cli_server.DEFAULT_QUEUE_SIZE == defaults["queue_capacity"]


def test_public_address_without_token_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["server", "--host", "0.0.0.0", "--store", f"sqlite:///{tmp_path / 't.db'}"])
    assert result.exit_code == 1
    assert "Refusing to listen on '0.0.0.0' without an auth token" in result.output
    assert not (tmp_path / "t.db").exists()  # refused before anything was opened


def test_port_in_use_is_a_clear_error(tmp_path: Path, start_server: StartServer) -> None:
    server = start_server(grpc_port=None)
    result = CliRunner().invoke(main, ["server", "--store", f"sqlite:///{tmp_path / 'other.db'}", "--port",
                                       str(server.ports["http"]), "--grpc-port", "0", "--otlp-http-port", "0"])
    assert result.exit_code == 1
    assert f"Port {server.ports['http']} on 127.0.0.1 is already in use" in result.output


@pytest.mark.parametrize(("text", "size"), [("1048576", 1048576), ("512KiB", 512 * 1024), ("16MiB", 16 * 1024**2),
                                            ("1g", 1024**3), ("2MB", 2_000_000)])
def test_sizes(text: str, size: int) -> None:
    assert _cli_server._Size().convert(text, None, None) == size


@pytest.mark.parametrize("option", ["--max-request-size", "--max-decompressed-size"])
def test_bad_size_is_a_usage_error(option: str) -> None:
    result = CliRunner().invoke(main, ["server", option, "lots"])
    assert result.exit_code == 2
    assert "is not a size" in result.output


def test_forward_url_must_be_http(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["server", "--store", f"sqlite:///{tmp_path / 't.db'}",
                                       "--forward-otlp", "jaeger:4318"])
    assert result.exit_code == 2
    assert "is not an http(s) URL" in result.output


def test_a_store_that_cannot_be_opened_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for store, expected in [
        (f"sqlite:///{blocker / 't.db'}", f"Error: Cannot open the store at sqlite:///{blocker / 't.db'}: "),
        (f"postgresql://tg:s3cret@127.0.0.1:{port}/db",
         f"Error: Cannot open the store at postgresql://tg:***@127.0.0.1:{port}/db: "),
        ("nonsense", "Error: Cannot open the store at nonsense: Invalid store URL"),
    ]:
        result = CliRunner().invoke(main, ["server", "--store", store, "--grpc-port", "0", "--otlp-http-port", "0"])
        assert result.exit_code == 1, result.output
        assert result.output.startswith(expected), result.output
        assert "s3cret" not in result.output
