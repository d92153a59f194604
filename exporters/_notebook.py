"""Notebook display: in Jupyter, the traces a cell produced appear under it, in the UI's trace view.

When traceglass's pipeline is set up (autolog(), set_experiment()) inside an IPython kernel, a
span processor notes the trace ids of root spans as they end, and a `post_run_cell` hook then
flushes the pipeline, reads those traces back where `get_tracking_uri()` points (the local store:
no server needs to run) and displays each one as an iframe holding the UI's trace view
(collector/ui/static/trace-view.js and its CSS) with the trace's JSON. The iframe is sandboxed
(scripts, no same origin): span content, which is untrusted, cannot reach the notebook.

On by default, as in MLflow; `disable_notebook_display()` / `enable_notebook_display()` switch it.
Nothing here may break a notebook: every failure is logged once and swallowed.
"""

from __future__ import annotations

import html
import importlib.util
import json
import logging
import sys
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from traceglass import semconv

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = [
    "MAX_TRACES_PER_CELL",
    "NotebookSpanProcessor",
    "attach",
    "disable_notebook_display",
    "enable_notebook_display",
    "trace_html",
]

_log = logging.getLogger("traceglass")

# Beyond this many traces, a cell shows the first ones and says how many more it made.
MAX_TRACES_PER_CELL = 10
_IFRAME_HEIGHT_PX = 560
_MIN_HEIGHT_PX = 380
_SERVER_WAIT_S = 3.0

_enabled = True
_lock = threading.Lock()
_pending: dict[str, None] = {}  # trace ids of the running cell, in the order their roots ended
_attached: weakref.WeakSet[Any] = weakref.WeakSet()
_hooked_shell: Any = None
_assets: tuple[str, str] | None = None


def enable_notebook_display() -> None:
    """Display the traces each notebook cell produces under the cell (the default in Jupyter)."""
    global _enabled
    _enabled = True


def disable_notebook_display() -> None:
    """Stop displaying traces under notebook cells (traces are still recorded)."""
    global _enabled
    _enabled = False
    with _lock:
        _pending.clear()


class NotebookSpanProcessor(SpanProcessor):
    """Notes the trace id of every root span that ends (a span with no parent in this process)."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if not _enabled:
            return
        parent = span.parent
        if parent is not None and not parent.is_remote:
            return
        context = span.get_span_context()
        if context is None:
            return
        with _lock:
            _pending[format(context.trace_id, "032x")] = None

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _kernel_shell() -> Any:
    """The IPython shell when this process is a Jupyter kernel, else None (a terminal IPython
    session has no kernel and no HTML output)."""
    if "IPython" not in sys.modules:
        return None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except Exception:
        return None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    return shell


def attach(provider: TracerProvider) -> None:
    """Called by the pipeline for each tracer provider it sets up: inside a Jupyter kernel, add the
    processor to `provider` and hook the end of every cell (each once); elsewhere nothing."""
    global _hooked_shell
    try:
        shell = _kernel_shell()
        if shell is None:
            return
        with _lock:
            if provider not in _attached:
                provider.add_span_processor(NotebookSpanProcessor())
                _attached.add(provider)
            if _hooked_shell is not shell:
                shell.events.register("post_run_cell", _post_run_cell)
                _hooked_shell = shell
    except Exception:
        semconv.report_failure("setting up the notebook display")


def _post_run_cell(*_result: Any) -> None:
    with _lock:
        trace_ids = list(_pending)
        _pending.clear()
    if not trace_ids or not _enabled:
        return
    try:
        if not _readable_here():
            return
        _display(trace_ids)
    except Exception:
        semconv.report_failure("displaying traces in the notebook")


def _readable_here() -> bool:
    """Whether traces go where this process can read them back: a store or a traceglass server, or
    OpenTelemetry exporters among which is `traceglass` (the local store's). Looking for them in the
    local store otherwise would create one, in a directory the user never chose to write to."""
    from traceglass._env import TrackingEnv
    from traceglass._tracking import resolve_destination

    if resolve_destination().kind != "otel":
        return True
    names = TrackingEnv.resolve().otel.exporter_names("traces") or []
    return "traceglass" in (name.lower() for name in names)


def _display(trace_ids: list[str]) -> None:
    from IPython.display import display

    from traceglass._query import get_trace

    shown = trace_ids[:MAX_TRACES_PER_CELL]
    parts = []
    lines = []
    for trace_id in shown:
        trace = _read(get_trace, trace_id)
        if trace is None:  # sent somewhere this process cannot read back (an OTLP backend)
            continue
        document = trace.to_dict()
        # Room for the tree's rows (28 px each) beside the span details, within one screen.
        height = min(_IFRAME_HEIGHT_PX, max(_MIN_HEIGHT_PX, 160 + 28 * len(document["spans"])))
        parts.append(trace_html(document, height))
        info = document["info"]
        lines.append(f"Trace {trace_id}: {info.get('name')} ({info.get('status')}, {len(document['spans'])} spans)")
    if not parts:
        return
    if len(trace_ids) > len(shown):
        more = len(trace_ids) - len(shown)
        note = f"… and {more} more trace{'s' if more > 1 else ''} (search_traces() finds them all)."
        parts.append(f'<p class="traceglass-more">{html.escape(note)}</p>')
        lines.append(note)
    display({"text/html": "\n".join(parts), "text/plain": "\n".join(lines)}, raw=True)


def _read(get_trace: Callable[[str], Any], trace_id: str) -> Any:
    """The trace (get_trace flushes the pipeline first). A traceglass server acknowledges spans
    before its writer commits them: there, wait a moment for the whole trace to be readable."""
    from traceglass._tracking import get_tracking_uri, is_server_url

    trace = get_trace(trace_id)
    if (trace is None or trace.info.status == "IN_PROGRESS") and is_server_url(get_tracking_uri()):
        deadline = time.monotonic() + _SERVER_WAIT_S
        while (trace is None or trace.info.status == "IN_PROGRESS") and time.monotonic() < deadline:
            time.sleep(0.1)
            trace = get_trace(trace_id)
    return trace


def _static_dir() -> Path:
    # Located, not imported: the UI package's __init__ imports the web framework.
    spec = importlib.util.find_spec("traceglass.collector.ui")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the traceglass.collector.ui package (the trace view's files) is missing")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def _static_assets() -> tuple[str, str]:
    global _assets
    if _assets is None:
        static = _static_dir()
        script = (static / "trace-view.js").read_text(encoding="utf-8")
        style = (static / "trace-view.css").read_text(encoding="utf-8")
        _assets = (script, style)
    return _assets


def _script_safe(text: str) -> str:
    # Inside <script>, only "</script" (any case) and "<!--" can end or confuse the element.
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def trace_html(trace: dict[str, Any], height: int = _IFRAME_HEIGHT_PX) -> str:
    """The HTML of one trace view: an iframe whose document holds the trace view's script and
    style and `trace` (the JSON of GET /api/v1/traces/{trace_id}), as data, never as markup."""
    script, style = _static_assets()
    # \u003c keeps "<" out of the JSON text, so nothing in it can close the script element.
    data = json.dumps(trace, ensure_ascii=False).replace("<", "\\u003c")
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<style>{style.replace('</', '<' + chr(92) + '/')}"
        "html,body{margin:0;height:100%}body{font:13px/1.45 system-ui,sans-serif}"
        "#traceglass-root{height:100%}</style></head><body>"
        '<div id="traceglass-root"></div>'
        f'<script type="application/json" id="traceglass-trace">{data}</script>'
        f'<script type="module">{_script_safe(script)}\n'
        'const trace = JSON.parse(document.getElementById("traceglass-trace").textContent);\n'
        'mountTraceView(document.getElementById("traceglass-root"), trace, {});\n'
        "</script></body></html>"
    )
    info = trace.get("info", {})
    title = f"traceglass trace {info.get('trace_id', '')} {info.get('name') or ''}".strip()
    return (
        f'<iframe class="traceglass-trace" title="{html.escape(title)}" sandbox="allow-scripts" '
        f'style="width:100%;height:{int(height)}px;border:1px solid #d9dee6;border-radius:6px" '
        f'data-trace-id="{html.escape(str(info.get("trace_id", "")))}" srcdoc="{html.escape(document, quote=True)}">'
        "</iframe>"
    )
