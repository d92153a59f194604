"""Fixtures for the web UI tests: a real server on free ports filled with crafted traces, and one
headless chromium (Debian's /usr/bin/chromium) per module, driven by Playwright.

Every page a test opens is watched: a console error, an uncaught exception, a failed request or an
HTTP error answer fails the test, unless the test declares it expected (`watch.allow(400)`).
Screenshots go to tests/artifacts/ui/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from traceglass.collector.server import Server, ServerConfig

from tests.ui._traces import (
    TraceSender,
    send_agent_run,
    send_big_payload,
    send_failed_call,
    send_hostile,
    send_wide_trace,
)

playwright_sync = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "ui"
VIEWPORT = {"width": 1440, "height": 900}


@dataclass
class Loaded:
    """A running server and the ids of what was sent to it."""

    server: Server
    sender: TraceSender
    base: str
    traces: dict[str, str]
    experiments: dict[str, int]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Experiment "agents": three agent runs, a failed call, hostile output, a big payload.
    Experiment "wide": one trace of 2,000 spans. Tests that change data use experiments of their own."""
    store_url = f"sqlite:///{tmp_path_factory.mktemp('ui') / 'traces.db'}"
    with Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=None, grpc_port=None)) as server:
        sender = TraceSender(server)
        traces = {
            "paris": send_agent_run(sender, "agents", 0, "Paris"),
            "failed": send_failed_call(sender, "agents", 2_000),
            "hostile": send_hostile(sender, "agents", 3_000),
            "big": send_big_payload(sender, "agents", 4_000),
            "oslo": send_agent_run(sender, "agents", 5_000, "Oslo"),
            "lima": send_agent_run(sender, "agents", 7_000, "Lima"),
            "wide": send_wide_trace(sender, "wide", 10_000),
        }
        sender.flush()
        assert server.store is not None
        experiments = {e.name: e.experiment_id for e in server.store.list_experiments()}
        yield Loaded(server, sender, f"http://127.0.0.1:{server.ports['http']}", traces, experiments)
        sender.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium; ./scripts/test installs it)")
    with playwright_sync.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@dataclass
class Watch:
    """What went wrong on a page: console errors, page errors, failed requests, HTTP errors."""

    problems: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)

    def allow(self, status: int) -> None:
        """An HTTP error status this test provokes on purpose (a bad filter, a wrong token)."""
        self.allowed.add(status)

    def attach(self, page: Any) -> None:
        page.on("console", lambda message: message.type == "error" and self._console(message.text))
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", lambda response: response.status >= 400 and response.status not in self.allowed
                and self.problems.append(f"HTTP {response.status}: {response.url}"))

    def _failed(self, request: Any) -> None:
        # A poll cut short by page.goto() is aborted by the browser, not failed by the server.
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _console(self, text: str) -> None:
        # Chromium logs every error answer as "Failed to load resource"; allowed statuses are expected.
        if "Failed to load resource" in text and any(f"status of {s} " in text for s in self.allowed):
            return
        self.problems.append(f"console error: {text}")


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser: Any, watch: Watch) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(10_000)
    page = context.new_page()
    watch.attach(page)
    yield page
    context.close()
    assert not watch.problems, "\n".join(watch.problems)


@pytest.fixture(scope="session", autouse=True)
def _artifacts() -> None:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def screenshot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
