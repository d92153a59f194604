"""Notebook display, in a real notebook executed by a Jupyter kernel (nbclient): a cell that
produces traces shows each one under it in the trace view, read back from the local store (no
server runs); disable_notebook_display() stops it and enable_notebook_display() brings it back."""

from __future__ import annotations

import html
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traceglass.collector.store import Store

nbformat = pytest.importorskip("nbformat", reason="pip install nbformat nbclient ipykernel (the test extra)")
nbclient = pytest.importorskip("nbclient", reason="pip install nbformat nbclient ipykernel (the test extra)")
pytest.importorskip("ipykernel", reason="pip install ipykernel (the test extra)")

CHROMIUM = Path("/usr/bin/chromium")

SETUP = """\
import traceglass
traceglass.configure(capture_content=True)
traceglass.set_tracking_uri({url!r})
traceglass.set_experiment("notebook")
"""
AGENT_RUN = """\
with traceglass.start_span("plan_trip", span_type="AGENT") as run:
    run.set_inputs({"question": "Weather in Paris?"})
    with traceglass.start_span("lookup_weather", span_type="TOOL") as tool:
        tool.set_outputs({"forecast": "sunny"})
    run.set_outputs({"answer": "Sunny in Paris."})
"""
DISABLED = """\
traceglass.disable_notebook_display()
with traceglass.start_span("quiet_run"):
    pass
"""
HOSTILE = """\
traceglass.enable_notebook_display()

@traceglass.trace
def answer(question):
    return "<script>alert(1)</script><img src=x onerror=alert(2)>"

answer("first")
answer("second")
"""
NO_TRACE = "print('nothing traced here')"
BROKEN_STORE = """\
import traceglass._query as query
working_get_trace = query.get_trace

def unreachable(trace_id):
    raise RuntimeError("the store is unreachable")

query.get_trace = unreachable
with traceglass.start_span("unlucky_run"):
    pass
"""
AFTER = "query.get_trace = working_get_trace\nprint('the notebook goes on')"


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    """The notebook after a kernel ran it (once for the module: the tests only read it), and its
    store's URL."""
    directory = tmp_path_factory.mktemp("notebook")
    url = f"sqlite:///{directory / 'traces.db'}"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in
                      (SETUP.format(url=url), AGENT_RUN, DISABLED, HOSTILE, NO_TRACE, BROKEN_STORE, AFTER)]
    with pytest.MonkeyPatch.context() as monkeypatch:  # the kernel inherits the environment
        for name in list(os.environ):
            if name.startswith(("OTEL_", "TRACEGLASS_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("TRACEGLASS_HOME", str(directory / "home"))
        client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(directory)}})
        client.execute()
    yield notebook, url


def _displays(cell: Any) -> list[dict[str, Any]]:
    return [output["data"] for output in cell.outputs if output["output_type"] == "display_data"]


def _documents(data: dict[str, Any]) -> list[str]:
    """The documents of the trace views (iframe srcdoc) in one display, unescaped."""
    return [html.unescape(match) for match in re.findall(r'srcdoc="([^"]*)"', data["text/html"])]


def _traces(url: str) -> dict[str, Any]:
    with Store.open(url) as store:
        page = store.search_traces(max_results=10)
        return {info.name: store.get_trace(info.trace_id) for info in page.traces}


def test_a_cell_shows_its_trace(executed: tuple[Any, str]) -> None:
    notebook, url = executed
    errors = [o for cell in notebook.cells for o in cell.outputs if o["output_type"] == "error"]
    assert not errors, errors
    trace = _traces(url)["plan_trip"]
    assert trace is not None
    (data,) = _displays(notebook.cells[1])
    assert data["text/html"].count('<iframe class="traceglass-trace"') == 1
    assert f'data-trace-id="{trace.info.trace_id}"' in data["text/html"]
    assert data["text/plain"] == f"Trace {trace.info.trace_id}: plan_trip (OK, 2 spans)"
    (document,) = _documents(data)
    assert "export function mountTraceView" in document and "mountTraceView(document.getElementById" in document
    for span in trace.spans:  # the trace's JSON, embedded: every span's name and id
        assert f'"name": "{span.name}"' in document
        assert f'"span_id": "{span.span_id}"' in document
    assert "Weather in Paris?" in document and "Sunny in Paris." in document


def test_disable_and_enable(executed: tuple[Any, str]) -> None:
    notebook, url = executed
    traces = _traces(url)
    assert "quiet_run" in traces  # recorded all the same
    assert _displays(notebook.cells[2]) == []
    (data,) = _displays(notebook.cells[3])  # enabled again: both traces of the cell, in one output
    assert data["text/html"].count('<iframe class="traceglass-trace"') == 2
    assert _displays(notebook.cells[4]) == []  # a cell without spans shows nothing
    assert [o["text"] for o in notebook.cells[4].outputs] == ["nothing traced here\n"]


def test_a_failure_to_display_never_breaks_the_notebook(executed: tuple[Any, str]) -> None:
    notebook, _ = executed
    broken, after = notebook.cells[5], notebook.cells[6]
    assert [o for o in broken.outputs if o["output_type"] in ("error", "display_data")] == []
    logged = "".join(o["text"] for o in broken.outputs if o["output_type"] == "stream" and o["name"] == "stderr")
    assert "displaying traces in the notebook failed" in logged and "the store is unreachable" in logged
    assert [o["text"] for o in after.outputs] == ["the notebook goes on\n"]


def test_span_content_stays_data(executed: tuple[Any, str]) -> None:
    notebook, _ = executed
    (data,) = _displays(notebook.cells[3])
    outer = data["text/html"]
    assert "<script>alert(1)" not in outer  # the notebook's page sees only escaped text
    assert 'sandbox="allow-scripts"' in outer  # and the view runs in an origin of its own
    for document in _documents(data):
        # Inside the view's document the answer is JSON data whose "<" are escaped.
        assert "<script>alert(1)" not in document and "<img src=x" not in document
        assert "\\u003cscript>alert(1)\\u003c/script>" in document


def test_the_view_renders_in_a_browser(executed: tuple[Any, str], tmp_path: Path) -> None:
    """The displayed HTML, opened as a browser opens the notebook's output: the span tree shows."""
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    notebook, url = executed
    trace = _traces(url)["plan_trip"]
    page_file = tmp_path / "output.html"
    page_file.write_text("<!doctype html><meta charset=utf-8><body>" + _displays(notebook.cells[1])[0]["text/html"])
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.goto(page_file.as_uri())
            frame = page.frame_locator("iframe.traceglass-trace")
            for span in trace.spans:
                frame.get_by_text(span.name, exact=True).first.wait_for(timeout=10_000)
            assert trace.info.trace_id in frame.locator("body").inner_text()
            assert not errors, errors
        finally:
            browser.close()
