"""traceglass.collector.ui: the web UI, plain ES modules and CSS served by the server's main port.

No build step and no Node.js: the files under static/ are what the browser runs, and they ship in
the wheel as package data. See `_serve.py` for the routes and the security headers.
"""

from ._serve import CONTENT_SECURITY_POLICY, STATIC_DIR, is_public_path, ui_router

__all__ = ["CONTENT_SECURITY_POLICY", "STATIC_DIR", "is_public_path", "ui_router"]
