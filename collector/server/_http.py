"""OTLP/HTTP receivers: POST /v1/traces, /v1/metrics and /v1/logs, as the OTLP specification
describes them.

- Bodies: binary protobuf (`application/x-protobuf`) or OTLP/JSON (`application/json`), plain or
  gzip/deflate compressed; the answer uses the request's encoding.
- 200 once the request is in the ingest queue (with OTLP partial success for spans with invalid
  ids); 400 malformed, 413 too large, 415 wrong media type or encoding, 401 without the token;
  503 with Retry-After when the queue is full or the server is stopping, so exporters retry.
  Error bodies are a google.rpc.Status, as the specification requires.

The app is built by `create_app`; the query API (`_api.py`) and the web UI
(`traceglass.collector.ui`) are added to the same app, on the main port only.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTracePartialSuccess
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from traceglass.collector.store import Store
from traceglass.collector.ui import is_public_path, ui_router

from ._api import API_PREFIX, ApiError, http_error, query_router
from ._api_overview import overview_router
from ._auth import BearerAuth
from ._ingest import EXPERIMENT_HEADER, Ingest, Outcome
from ._payload import JSON, PROTOBUF, SIGNALS, PayloadError, encoding_of, response_type

__all__ = ["PortDispatch", "create_app", "otlp_router"]

_MEDIA = {PROTOBUF: "application/x-protobuf", JSON: "application/json"}
# HTTP status -> the google.rpc code carried in the error body.
_CODES = {400: code_pb2.INVALID_ARGUMENT, 413: code_pb2.INVALID_ARGUMENT, 415: code_pb2.INVALID_ARGUMENT,
          503: code_pb2.UNAVAILABLE}


# FastAPI versions with built-in OpenTelemetry trace every request once a global provider is set.
# A collector must not: in a process whose provider exports to this very server, each export
# request would create a span to export, and flushing would never finish.
_NO_TELEMETRY: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters else {}
)


def create_app(ingest: Ingest, retry_after_seconds: float, auth_token: str | None = None,
               otlp_only: bool = False, store: Store | None = None) -> FastAPI:
    """The FastAPI app: the OTLP routes, plus (unless `otlp_only`, for the OTLP port) /health and,
    given a `store`, the query API with its /openapi.json and the web UI. With a token, every route
    requires it, except the UI's shell (static files, no data), which asks for the token itself."""
    with_api = store is not None and not otlp_only
    app = FastAPI(title="traceglass", docs_url=None, redoc_url=None,
                  openapi_url="/openapi.json" if with_api else None, **_NO_TELEMETRY)
    if auth_token:
        app.add_middleware(BearerAuth, token=auth_token, public=is_public_path if with_api else None)
    app.include_router(otlp_router(ingest, retry_after_seconds))
    if not otlp_only:
        @app.get("/health", include_in_schema=False)
        async def health() -> JSONResponse:
            return JSONResponse({"status": "stopping" if ingest.closing else "ok", "queued": ingest.queue.pending})

    if with_api:
        assert store is not None
        app.include_router(query_router(store))
        app.include_router(overview_router(store))
        app.include_router(ui_router(auth_required=bool(auth_token)))
        app.add_exception_handler(ApiError, _api_error)
        app.add_exception_handler(StarletteHTTPException, _http_error)

    return app


async def _api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error.response()


async def _http_error(request: Request, error: Exception) -> Response:
    # Under /api the API's error body; elsewhere (OTLP, /health) FastAPI's usual answer.
    assert isinstance(error, StarletteHTTPException)
    if request.url.path.startswith(API_PREFIX + "/"):
        return http_error(error)
    return await http_exception_handler(request, error)


def otlp_router(ingest: Ingest, retry_after_seconds: float) -> APIRouter:
    router = APIRouter()
    for signal in SIGNALS:
        router.add_api_route(f"/v1/{signal}", _export(ingest, signal, retry_after_seconds), methods=["POST"],
                             include_in_schema=False)
    return router


def _export(ingest: Ingest, signal: str, retry_after_seconds: float) -> Callable[[Request], Awaitable[Response]]:
    retry_after = str(max(1, math.ceil(retry_after_seconds)))  # Retry-After takes whole seconds

    async def export(request: Request) -> Response:
        encoding = JSON
        try:
            encoding = encoding_of(request.headers.get("content-type"))
            body = await _body(request, ingest.limits.max_request_size)
            # Decompressing and parsing a large body takes CPU time: keep it off the event loop.
            outcome = await run_in_threadpool(ingest.receive_http, signal, body, encoding,
                                              request.headers.get("content-encoding"),
                                              _header_text(request.headers.get(EXPERIMENT_HEADER)))
        except PayloadError as error:
            return _status(error.status, error.message, encoding)
        if not outcome.accepted:
            message = ("The server is shutting down; retry later." if outcome.closing
                       else "The server is busy writing earlier requests; retry later.")
            return _status(503, message, encoding, {"Retry-After": retry_after})
        return _message(_response(outcome), encoding, 200)

    export.__name__ = f"export_{signal}"
    return export


async def _body(request: Request, limit: int) -> bytes:
    """The body as sent, refused with 413 as soon as it exceeds `limit` (the rest is not read)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PayloadError(413, f"The request is larger than {limit} bytes, the maximum request size.")
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadError(413, f"The request is larger than {limit} bytes, the maximum request size.")
        chunks.append(chunk)
    return b"".join(chunks)


def _header_text(value: str | None) -> str | None:
    # HTTP headers arrive decoded as latin-1; clients send non-ASCII names as UTF-8 bytes.
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _response(outcome: Outcome) -> Message:
    response = response_type(outcome.signal)()
    if outcome.rejected and outcome.signal == "traces":
        response.partial_success.CopyFrom(
            ExportTracePartialSuccess(rejected_spans=outcome.rejected, error_message=outcome.error))
    return response


def _status(http_status: int, message: str, encoding: str, headers: Mapping[str, str] | None = None) -> Response:
    status = status_pb2.Status(code=_CODES.get(http_status, code_pb2.UNKNOWN), message=message)
    return _message(status, encoding, http_status, headers)


def _message(message: Message, encoding: str, http_status: int, headers: Mapping[str, str] | None = None) -> Response:
    if encoding == PROTOBUF:
        content = message.SerializeToString()
    else:
        content = json_format.MessageToJson(message, indent=None).encode()
    return Response(content, status_code=http_status, media_type=_MEDIA[encoding], headers=headers)


class PortDispatch:
    """One uvicorn server listening on several ports, each port with its own app (the OTLP port
    serves the OTLP routes only; the main port serves everything)."""

    def __init__(self, default: ASGIApp, by_port: Mapping[int, ASGIApp]) -> None:
        self.default = default
        self.by_port = dict(by_port)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = scope.get("server")
        app = self.by_port.get(server[1], self.default) if server else self.default
        await app(scope, receive, send)
