"""The routes of the web UI: the page (`/`), its static modules (`/static/...`) and the favicon.

The page is one HTML shell; everything it shows comes from the query API (/api/v1), fetched by
the modules and put into the DOM as text. The shell and the static files hold no trace data, so
they are served without the bearer token: the page asks for the token itself, keeps it in
sessionStorage and sends it as `Authorization: Bearer` on every API request. Every data request
therefore needs the token, and no cookie exists that another site could make the browser send.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, HTMLResponse, Response

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "is_public_path", "ui_router"]

STATIC_DIR = Path(__file__).resolve().parent / "static"

# Only our own files run: no inline script, no eval, no inline <style>, no third-party origin.
# Styles set from scripts through element.style (widths of timeline bars) are CSSOM writes, which
# style-src does not restrict. data: images: icons drawn as inline SVG data URIs in the CSS.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate on every load: a new traceglass version must never run with a stale module.
    "Cache-Control": "no-cache",
}
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html",
                ".json": "application/json", ".png": "image/png"}
_CONFIG_MARKER = "__TRACEGLASS_CONFIG__"
_PUBLIC_PREFIXES = ("/static/",)
_PUBLIC_PATHS = frozenset({"/", "/favicon.ico"})


def is_public_path(path: str) -> bool:
    """Whether a request path is part of the UI's shell (served without the bearer token)."""
    return path in _PUBLIC_PATHS or path.startswith(_PUBLIC_PREFIXES)


def ui_router(auth_required: bool) -> APIRouter:
    """The UI's routes. `auth_required` tells the page to ask for the token before any API call
    (so the first request is never a refused one)."""
    router = APIRouter(include_in_schema=False)
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    config = {"auth": auth_required, "overview": (STATIC_DIR / "overview.js").is_file()}
    # A JSON document inside an HTML attribute: escape what could end the attribute or the tag.
    encoded = json.dumps(config).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    page = template.replace(_CONFIG_MARKER, encoded)

    @router.get("/")
    async def index() -> Response:
        return HTMLResponse(page, headers=_HEADERS)

    @router.get("/favicon.ico")
    async def favicon() -> Response:
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml", headers=_HEADERS)

    @router.get("/static/{path:path}")
    async def static(path: str) -> Response:
        try:
            target = (STATIC_DIR / path).resolve()
            # Only regular files inside static/ (no "..", no symlink leading out).
            found = target.is_relative_to(STATIC_DIR) and target.is_file() and target.suffix in _MEDIA_TYPES
        except (ValueError, OSError):  # no such file can exist: a NUL byte, a name too long for the OS
            found = False
        if not found:
            return Response("Not Found", status_code=404, media_type="text/plain", headers=_HEADERS)
        return FileResponse(target, media_type=_MEDIA_TYPES[target.suffix], headers=_HEADERS)

    return router
