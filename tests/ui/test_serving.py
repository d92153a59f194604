"""How the server serves the UI (no browser): the page and its modules with their security headers,
what the bearer token protects, the UI only on the main port, the trace endpoint's cut of long
values and the single-span endpoint, and `traceglass ui`."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from traceglass.collector.server import Server, ServerConfig
from traceglass.collector.ui import CONTENT_SECURITY_POLICY, STATIC_DIR

from tests.ui._traces import BIG_VALUE, TraceSender, send_agent_run, send_big_payload


def get(url: str, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def base(server: Server, port: str = "http") -> str:
    return f"http://127.0.0.1:{server.ports[port]}"


def test_page_and_modules_are_served_with_security_headers(tmp_path: Path) -> None:
    config = ServerConfig(store_url=f"sqlite:///{tmp_path / 't.db'}", port=0, otlp_http_port=None, grpc_port=None)
    with Server(config) as server:
        status, headers, body = get(base(server) + "/")
        assert status == 200
        assert headers["content-type"].startswith("text/html")
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert headers["x-content-type-options"] == "nosniff"
        page = body.decode()
        assert '<script type="module" src="/static/app.js">' in page
        assert "<script>" not in page  # nothing inline: the CSP would refuse it
        assert '"auth": false' in page.replace("&quot;", '"')

        for name in sorted(path.name for path in STATIC_DIR.iterdir()):
            status, headers, content = get(f"{base(server)}/static/{name}")
            assert status == 200, name
            assert content == (STATIC_DIR / name).read_bytes()
            if name.endswith(".js"):
                assert headers["content-type"].startswith("text/javascript")  # module scripts need a JS type
            assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        status, headers, _ = get(base(server) + "/favicon.ico")
        assert status == 200 and headers["content-type"].startswith("image/svg+xml")

        for path in ("/static/missing.js", "/static/../_serve.py", "/static/%2e%2e/_serve.py", "/static/",
                     "/static/app.js%00", "/static/" + "a" * 300 + ".js"):
            assert get(base(server) + path)[0] == 404, path


def test_ui_is_not_served_on_the_otlp_port(tmp_path: Path) -> None:
    config = ServerConfig(store_url=f"sqlite:///{tmp_path / 't.db'}", port=0, otlp_http_port=0, grpc_port=None)
    with Server(config) as server:
        assert get(base(server) + "/")[0] == 200
        assert get(base(server, "otlp_http") + "/")[0] == 404
        assert get(base(server, "otlp_http") + "/static/app.js")[0] == 404


def test_with_a_token_the_shell_is_public_and_every_api_call_needs_the_token(tmp_path: Path) -> None:
    token = "s3cret-token"
    config = ServerConfig(store_url=f"sqlite:///{tmp_path / 't.db'}", port=0, otlp_http_port=None, grpc_port=None,
                          auth_token=token)
    with Server(config) as server:
        status, _, body = get(base(server) + "/")
        assert status == 200
        assert '"auth": true' in body.decode().replace("&quot;", '"')  # the page asks for the token first
        assert get(base(server) + "/static/app.js")[0] == 200
        assert get(base(server) + "/api/v1/experiments")[0] == 401
        assert get(base(server) + "/api/v1/traces")[0] == 401
        assert get(base(server) + "/health")[0] == 401
        assert get(base(server) + "/openapi.json")[0] == 401
        status, _, body = get(base(server) + "/api/v1/experiments", {"Authorization": f"Bearer {token}"})
        assert status == 200 and "experiments" in json.loads(body)
        # Only reads of the shell are public: a POST to "/" still needs the token.
        request = urllib.request.Request(base(server) + "/", data=b"{}", method="POST")
        try:
            urllib.request.urlopen(request, timeout=10)
            raise AssertionError("POST / without a token was accepted")
        except urllib.error.HTTPError as error:
            assert error.code == 401


def test_trace_endpoint_cuts_long_values_and_the_span_endpoint_has_them_whole(tmp_path: Path) -> None:
    config = ServerConfig(store_url=f"sqlite:///{tmp_path / 't.db'}", port=0, otlp_http_port=None, grpc_port=None)
    with Server(config) as server:
        sender = TraceSender(server)
        big = send_big_payload(sender, "big", 0)
        agent = send_agent_run(sender, "big", 1000)
        sender.flush()
        sender.close()
        api = base(server) + "/api/v1"

        _, _, body = get(f"{api}/traces/{big}")
        (whole,) = json.loads(body)["spans"]
        assert whole["attributes"]["traceglass.span.outputs"] == BIG_VALUE + "THE END"
        assert "truncated_attributes" not in whole  # only when a cut was asked for

        _, _, body = get(f"{api}/traces/{big}?max_value_length=100")
        (cut,) = json.loads(body)["spans"]
        assert cut["attributes"]["traceglass.span.outputs"] == BIG_VALUE[:100]
        assert cut["truncated_attributes"] == ["traceglass.span.outputs"]
        assert cut["attributes"]["traceglass.span.inputs"] == whole["attributes"]["traceglass.span.inputs"]

        status, _, body = get(f"{api}/traces/{big}/spans/{whole['span_id']}")
        assert status == 200
        assert json.loads(body)["attributes"]["traceglass.span.outputs"] == BIG_VALUE + "THE END"
        assert get(f"{api}/traces/{big}/spans/0000000000000000")[0] == 404
        assert get(f"{api}/traces/{agent}/spans/{whole['span_id']}")[0] == 404  # a span of another trace
        assert get(f"{api}/traces/{big}?max_value_length=3")[0] == 422  # validated like max_results


def test_traceglass_ui_prints_the_address_and_serves_the_page(tmp_path: Path) -> None:
    env = {**os.environ, "TRACEGLASS_HOME": str(tmp_path), "BROWSER": "false"}
    with socket.socket() as probe:  # the CLI takes no port 0: pick a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-c", "from traceglass.cli import main; main()", "ui", "--no-browser", "--port", str(port),
         "--grpc-port", "0",
         "--otlp-http-port", "0", "--store", f"sqlite:///{tmp_path / 't.db'}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert process.stdout is not None
        address = None
        for _ in range(200):
            line = process.stdout.readline()
            match = re.search(r"traceglass UI: (http://127\.0\.0\.1:\d+/)", line)
            if match:
                address = match.group(1)
                break
            assert line or process.poll() is None, "traceglass ui exited"
        assert address, "no address printed"
        status, _, body = get(address)
        assert status == 200 and b"/static/app.js" in body
    finally:
        process.terminate()
        process.wait(15)
