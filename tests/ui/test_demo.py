"""The UI on what the instrumentors really record: `traceglass demo` (real OpenAI, Anthropic and
LangChain clients against a local replay of the providers) sent to a server, then every trace and
every span opened in the browser."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traceglass.collector.server import Server, ServerConfig

from tests.ui.conftest import playwright_sync, screenshot

expect = playwright_sync.expect
pytest.importorskip("traceglass.demo")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    store_url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'traces.db'}"
    with Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=None, grpc_port=None)) as server:
        address = f"http://127.0.0.1:{server.ports['http']}"
        # A process of its own: the demo sets up OpenTelemetry globally, which tests must not do.
        result = subprocess.run(
            [sys.executable, "-c", "from traceglass.cli import main; main()", "demo", "--tracking-uri", address],
            capture_output=True, text=True, timeout=180, cwd=Path(__file__).parent)
        assert result.returncode == 0, result.stdout + result.stderr
        yield server


def test_every_demo_trace_and_span_opens_cleanly(page: Any, demo_server: Server) -> None:
    assert demo_server.store is not None
    experiment = demo_server.store.get_experiment_by_name("demo")
    assert experiment is not None
    infos = demo_server.store.search_traces([experiment.experiment_id]).traces
    assert len(infos) >= 4
    base = f"http://127.0.0.1:{demo_server.ports['http']}"
    page.goto(f"{base}/?experiment={experiment.experiment_id}")
    rows = page.get_by_role("table", name="Traces").locator("tbody tr")
    expect(rows).to_have_count(len(infos))
    screenshot(page, "demo-traces")

    for info in infos:
        page.get_by_role("link", name=f"Open trace {info.trace_id}").click()
        drawer = page.get_by_role("region", name=f"Trace {info.trace_id}")
        items = drawer.get_by_role("tree", name="Spans").get_by_role("treeitem")
        expect(items).to_have_count(info.span_count)
        for index in range(info.span_count):
            items.nth(index).click()
            expect(items.nth(index)).to_have_attribute("aria-selected", "true")
            for tab in drawer.get_by_role("tab").all():
                tab.click()
                expect(drawer.get_by_role("tabpanel")).to_be_visible()
        if info.name == "travel-agent":
            # The agent's model call that asked for the tool shows it in the conversation.
            chats = [i for i in range(info.span_count) if items.nth(i).get_attribute("aria-label").startswith("chat ")]
            assert chats
            items.nth(chats[0]).click()
            drawer.get_by_role("tab", name="Chat").click()
            expect(drawer.get_by_role("list", name="Conversation")).to_contain_text("Tool call")
            screenshot(page, "demo-agent")
        page.keyboard.press("Escape")
        expect(drawer).to_be_hidden()

    # The Overview tab (when the server ships it) opens from the same page, in the URL too.
    overview = page.get_by_role("tab", name="Overview")
    if overview.count():
        overview.click()
        expect(page.get_by_role("tabpanel", name="Overview")).to_be_visible()
        assert "tab=overview" in page.url
        page.wait_for_load_state("networkidle")
        screenshot(page, "demo-overview")
        page.get_by_role("tab", name="Traces").click()
        expect(rows).to_have_count(len(infos))
