"""The bearer token: required on every HTTP route and gRPC call when the server has one.

Clients send `Authorization: Bearer <token>` (OpenTelemetry exporters:
OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20<token>"). Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["BearerAuth", "token_matches"]

_SCHEME = "bearer "
_MESSAGE = "Missing or wrong bearer token: send 'Authorization: Bearer <token>'."


def token_matches(expected: str, authorization: str | None) -> bool:
    """Whether an Authorization header value carries `expected` as its bearer token."""
    if not authorization or authorization[: len(_SCHEME)].lower() != _SCHEME:
        return False
    given = authorization[len(_SCHEME):].strip()
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


class BearerAuth:
    """ASGI middleware answering 401 to any HTTP request without the token. Pure ASGI (not
    Starlette's BaseHTTPMiddleware) so request bodies stream through untouched."""

    def __init__(self, app: ASGIApp, token: str, public: Callable[[str], bool] | None = None) -> None:
        self.app = app
        self.token = token
        # Paths served without the token: the web UI's shell, which holds no data (see collector/ui).
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value.decode("latin-1")
                break
        if token_matches(self.token, authorization) or (
                self.public is not None and scope.get("method") in ("GET", "HEAD") and self.public(scope["path"])):
            await self.app(scope, receive, send)
            return
        # A google.rpc.Status (16 = UNAUTHENTICATED) as JSON: readable by people and by OTLP clients.
        body = json.dumps({"code": 16, "message": _MESSAGE})
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="traceglass"'),
                        (b"content-length", str(len(body)).encode())],
        })
        await send({"type": "http.response.body", "body": body.encode()})
