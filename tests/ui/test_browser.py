"""The web UI in a real browser (headless chromium through Playwright): what a user sees on each view."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from traceglass.collector.server import Server, ServerConfig

from tests.pricing import PRICED
from tests.ui._traces import HOSTILE_ANSWER, TraceSender, send_agent_run
from tests.ui.conftest import Loaded, Watch, playwright_sync, screenshot

expect = playwright_sync.expect

# An element is named if it has an aria-label, a label, text or a title (what assistive tools read).
_UNNAMED_CONTROLS = """() => [...document.querySelectorAll(
    'button, input, select, textarea, a[href], [role=tab], [role=treeitem], [role=tree], [role=tabpanel]')]
  .filter((el) => el.offsetParent !== null || el.getAttribute('role') === 'treeitem')
  .filter((el) => {
    const labelled = el.getAttribute('aria-labelledby');
    const name = el.getAttribute('aria-label') || (labelled && document.getElementById(labelled)?.textContent)
      || (el.labels && [...el.labels].map((l) => l.textContent).join('')) || el.textContent || el.title;
    return !(name && name.trim());
  }).map((el) => el.outerHTML.slice(0, 120))"""


def assert_controls_named(page: Any) -> None:
    assert page.evaluate(_UNNAMED_CONTROLS) == []


def state(page: Any) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(page.url).query).items()}


def traces_page(page: Any, loaded: Loaded, experiment: str = "agents", query: str = "") -> Any:
    page.goto(f"{loaded.base}/?experiment={loaded.experiments[experiment]}{query}")
    table = page.get_by_role("table", name="Traces")
    expect(table.locator("tbody tr").first).to_be_visible()
    return table


def open_trace(page: Any, loaded: Loaded, key: str) -> Any:
    page.get_by_role("link", name=f"Open trace {loaded.traces[key]}").click()
    drawer = page.get_by_role("region", name=f"Trace {loaded.traces[key]}")
    expect(drawer.get_by_role("tree", name="Spans")).to_be_visible()
    return drawer


# -- experiments ------------------------------------------------------------------------------------


def test_experiments_list_shows_counts_and_creates_renames_deletes(page: Any, loaded: Loaded, watch: Watch) -> None:
    page.goto(loaded.base + "/")
    table = page.get_by_role("table", name="Experiments")
    agents = table.locator("tr", has=page.get_by_role("link", name="agents", exact=True))
    expect(agents.locator("td").first).to_have_text("6")
    expect(agents).to_contain_text("2026-01-01")  # last activity: the newest trace's start
    wide = table.locator("tr", has=page.get_by_role("link", name="wide", exact=True))
    expect(wide.locator("td").first).to_have_text("1")
    assert_controls_named(page)
    screenshot(page, "experiments")

    page.get_by_role("button", name="Create experiment").click()
    dialog = page.get_by_role("dialog", name="Create experiment")
    dialog.get_by_label("Name").fill("scratch")
    dialog.get_by_role("button", name="Create").click()
    expect(table.get_by_role("link", name="scratch", exact=True)).to_be_visible()

    watch.allow(409)  # a taken name: the dialog says so and stays open
    page.get_by_role("button", name="Rename experiment scratch").click()
    dialog = page.get_by_role("dialog", name="Rename experiment scratch")
    dialog.get_by_label("Name").fill("agents")
    dialog.get_by_role("button", name="Rename").click()
    expect(dialog).to_contain_text("already")
    dialog.get_by_label("Name").fill("scratch renamed")
    dialog.get_by_role("button", name="Rename").click()
    expect(table.get_by_role("link", name="scratch renamed", exact=True)).to_be_visible()

    page.get_by_role("button", name="Delete experiment scratch renamed").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(table.get_by_role("link", name="scratch renamed")).to_have_count(0)

    table.get_by_role("link", name="agents", exact=True).click()
    expect(page.get_by_role("heading", name="agents", level=1)).to_be_visible()
    assert state(page)["experiment"] == str(loaded.experiments["agents"])


# -- the traces tab ---------------------------------------------------------------------------------


def test_traces_list_shows_readable_previews_and_every_column(page: Any, loaded: Loaded) -> None:
    table = traces_page(page, loaded)
    expect(table.locator("tbody tr")).to_have_count(6)
    for name in ("Trace ID", "Request", "Response", "Trace name", "Status", "Tokens (in/out)", "Cost", "Execution time",
                 "Request time", "Session", "User", "Tags"):
        expect(table.get_by_role("columnheader", name=name, exact=True)).to_have_count(1)
    lima = table.locator("tr", has_text="What is the weather in Lima?")
    expect(lima).to_contain_text("It is rainy in Lima.")
    expect(lima).to_contain_text("weather agent")
    expect(lima).to_contain_text("122 / 21")
    # Two gpt-4o calls at January 2026's prices ($2.50 and $10 per million input and output tokens).
    if PRICED:
        expect(lima).to_contain_text("$0.00052")
    expect(lima).to_contain_text("1.50 s")
    expect(lima).to_contain_text("session-42")
    expect(lima).to_contain_text("alice")
    expect(lima).to_contain_text("env=test")
    failed = table.locator("tr", has_text="Summarise the quarterly report")
    expect(failed.get_by_text("ERROR", exact=True)).to_be_visible()
    assert_controls_named(page)
    screenshot(page, "traces")


def test_filter_search_sort_and_columns_live_in_the_url(page: Any, loaded: Loaded, watch: Watch) -> None:
    table = traces_page(page, loaded)
    rows = table.locator("tbody tr")
    page.get_by_label("Filter", exact=True).fill("trace.status = 'ERROR'")
    page.get_by_label("Filter", exact=True).press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("chat gpt-4o-mini")
    assert state(page)["filter"] == "trace.status = 'ERROR'"

    page.reload()  # the state survives a reload
    expect(page.get_by_label("Filter", exact=True)).to_have_value("trace.status = 'ERROR'")
    expect(rows).to_have_count(1)

    page.get_by_role("button", name="Clear search and filter").click()
    expect(rows).to_have_count(6)
    page.get_by_label("Search", exact=True).fill("oslo")  # full text, any case
    page.get_by_label("Search", exact=True).press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("What is the weather in Oslo?")
    # What is typed is searched literally: "_" is no wildcard (it would match "gpt-4o-mini"), quotes are fine.
    for text in ("gpt_4o-mini", "it's", "100%"):
        page.get_by_label("Search", exact=True).fill(text)
        page.get_by_label("Search", exact=True).press("Enter")
        expect(table.get_by_text("No trace matches.")).to_be_visible()
    page.get_by_label("Search", exact=True).fill("gpt-4o-mini")
    page.get_by_label("Search", exact=True).press("Enter")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Clear search and filter").click()
    expect(rows).to_have_count(6)

    watch.allow(400)
    page.get_by_label("Filter", exact=True).fill("trace.status = ")
    page.get_by_label("Filter", exact=True).press("Enter")
    alert = page.locator("#filter-error")
    expect(alert).to_contain_text("Invalid filter")
    expect(alert).to_contain_text("position 14: expected a quoted string")
    expect(page.get_by_label("Filter", exact=True)).to_have_attribute("aria-invalid", "true")
    screenshot(page, "traces-bad-filter")
    page.get_by_role("button", name="Clear search and filter").click()
    expect(alert).to_be_empty()

    header = table.get_by_role("columnheader", name="Execution time")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "descending")
    expect(rows.first).to_contain_text("1.50 s")
    header.get_by_role("button").click()
    expect(header).to_have_attribute("aria-sort", "ascending")
    expect(rows.first).to_contain_text("retrieve documents")
    assert state(page)["sort"] == "execution_time_ms ASC"

    page.get_by_role("button", name="Choose columns").click()
    page.get_by_role("checkbox", name="Session").uncheck()
    expect(table.get_by_role("columnheader", name="Session")).to_have_count(0)
    page.reload()  # the column choice is remembered
    expect(table.get_by_role("columnheader", name="Request time")).to_have_count(1)
    expect(table.get_by_role("columnheader", name="Session")).to_have_count(0)
    page.get_by_role("button", name="Choose columns").click()
    page.get_by_role("checkbox", name="Session").check()


def test_a_session_or_user_cell_shows_only_its_traces(page: Any, loaded: Loaded) -> None:
    table = traces_page(page, loaded)
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(6)
    rows.first.get_by_role("link", name="session-42").click()
    expect(page.get_by_label("Filter", exact=True)).to_have_value("trace.session_id = 'session-42'")
    assert state(page)["filter"] == "trace.session_id = 'session-42'"
    expect(rows).to_have_count(3)  # the agent runs; the other traces have no session
    for i in range(3):
        expect(rows.nth(i)).to_contain_text("session-42")
    expect(page.get_by_role("region", name="Trace")).to_be_hidden()  # the click filtered, it opened no trace
    page.go_back()
    expect(rows).to_have_count(6)
    rows.first.get_by_role("link", name="alice").click()
    expect(page.get_by_label("Filter", exact=True)).to_have_value("trace.user_id = 'alice'")
    expect(rows).to_have_count(3)


def test_keyboard_moves_through_the_list_and_opens_a_trace(page: Any, loaded: Loaded) -> None:
    table = traces_page(page, loaded)
    rows = table.locator("tbody tr")
    rows.first.focus()
    page.keyboard.press("ArrowDown")
    expect(rows.nth(1)).to_be_focused()
    second = rows.nth(1).get_attribute("data-trace-id")
    page.keyboard.press("Enter")
    expect(page.get_by_role("region", name=f"Trace {second}")).to_be_visible()
    assert state(page)["trace"] == second
    expect(page.get_by_role("tree", name="Spans")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("region", name=f"Trace {second}")).to_be_hidden()
    expect(table.locator(f'tr[data-trace-id="{second}"]')).to_be_focused()
    page.keyboard.press("Space")
    expect(table.get_by_role("checkbox", name=f"Select trace {second}")).to_be_checked()


# -- the trace view ---------------------------------------------------------------------------------


def test_trace_view_span_tree_chat_and_keyboard(page: Any, loaded: Loaded) -> None:
    traces_page(page, loaded)
    drawer = open_trace(page, loaded, "paris")
    expect(drawer.get_by_role("heading", name="weather agent", level=2)).to_be_visible()
    expect(drawer).to_contain_text(loaded.traces["paris"])
    expect(drawer.get_by_role("button", name="Copy trace ID")).to_be_visible()
    expect(drawer).to_contain_text("122 in / 21 out")
    if PRICED:
        expect(drawer.locator(".tgv-facts")).to_contain_text("Cost$0.00052")
    tree = drawer.get_by_role("tree", name="Spans")
    items = tree.get_by_role("treeitem")
    expect(items).to_have_count(4)
    expect(items.nth(0)).to_have_attribute("aria-label", "weather agent, agent, 1.50 s")
    expect(items.nth(2)).to_have_attribute("aria-label", "execute_tool get_weather, tool, 290 ms")
    expect(items.nth(0)).to_have_attribute("aria-selected", "true")
    expect(drawer.get_by_role("tab", name="Inputs / Outputs")).to_have_attribute("aria-selected", "true")
    expect(drawer.get_by_role("tabpanel")).to_contain_text('"question": "What is the weather in Paris?"')

    items.nth(1).click()
    expect(drawer.get_by_role("tab", name="Chat")).to_have_attribute("aria-selected", "true")
    chat = drawer.get_by_role("list", name="Conversation")
    if PRICED:
        expect(drawer.locator(".tgv-span-head")).to_contain_text("$0.00023")  # 42 in, 12 out
    expect(chat.locator("li").nth(0)).to_contain_text("You are a weather bot.")
    expect(chat.locator("li").nth(1)).to_contain_text("What is the weather in Paris?")
    expect(chat.locator("li").nth(2)).to_contain_text("Tool call get_weather")
    expect(chat.locator("li").nth(2)).to_contain_text('"city": "Paris"')
    expect(drawer.get_by_text("Tool definitions (1)")).to_be_visible()
    assert state(page)["span"] == items.nth(1).get_attribute("data-span-id")
    screenshot(page, "trace-chat")

    # Keyboard: the tree keeps focus; arrows move the selection and the URL follows.
    tree.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(items.nth(3)).to_have_attribute("aria-selected", "true")
    expect(chat.locator("li", has_text="Tool result")).to_contain_text("rainy, 14°C")
    expect(chat.locator("li").last).to_contain_text("It is rainy in Paris.")
    page.keyboard.press("ArrowUp")
    expect(items.nth(2)).to_have_attribute("aria-selected", "true")
    expect(drawer.get_by_role("tabpanel")).to_contain_text('"city": "Paris"')  # tool arguments as inputs
    page.keyboard.press("ArrowLeft")  # to the parent
    expect(items.nth(0)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowLeft")  # collapse
    expect(items).to_have_count(1)
    expect(items.nth(0)).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("ArrowRight")
    expect(items).to_have_count(4)
    drawer.get_by_role("tab", name="Attributes").click()
    expect(drawer.get_by_role("tabpanel")).to_contain_text("session.id")
    assert_controls_named(page)

    # The open trace and span are in the URL: loading it shows the same view.
    span = state(page)["span"]
    page.reload()
    drawer = page.get_by_role("region", name=f"Trace {loaded.traces['paris']}")
    expect(drawer.locator(f'[role=treeitem][data-span-id="{span}"]')).to_have_attribute("aria-selected", "true")


def test_error_span_shows_its_exception_with_stack_trace(page: Any, loaded: Loaded) -> None:
    traces_page(page, loaded)
    drawer = open_trace(page, loaded, "failed")
    item = drawer.get_by_role("treeitem").first
    expect(item).to_have_attribute("aria-label", "chat gpt-4o-mini, chat model, 300 ms, error")
    expect(drawer).to_contain_text("Rate limit reached")
    expect(drawer.get_by_role("tab", name="Events")).to_contain_text("1")  # the badge: one event
    drawer.get_by_role("tab", name="Events").click()
    panel = drawer.get_by_role("tabpanel")
    expect(panel).to_contain_text("RuntimeError")
    expect(panel).to_contain_text("Rate limit reached for gpt-4o-mini")
    expect(panel.locator("pre")).to_contain_text("Traceback (most recent call last)")
    screenshot(page, "trace-error")


def test_hostile_llm_output_is_shown_as_text(page: Any, loaded: Loaded) -> None:
    table = traces_page(page, loaded)
    row = table.locator(f'tr[data-trace-id="{loaded.traces["hostile"]}"]')
    expect(row).to_contain_text('<img src=x onerror="window.__pwned=4">')  # the tag, as text
    drawer = open_trace(page, loaded, "hostile")
    expect(drawer.get_by_role("heading", name="chat <b>bold</b>", level=2)).to_be_visible()
    chat = drawer.get_by_role("list", name="Conversation")
    expect(chat).to_contain_text(HOSTILE_ANSWER)
    expect(chat).to_contain_text("<script>window.__pwned = 3</script>Say hi")
    page.wait_for_timeout(300)  # time for an injected handler to have run, were there one
    assert page.evaluate("window.__pwned") is None
    assert page.locator("main img, main script, main b").count() == 0
    screenshot(page, "trace-hostile")


def test_large_value_is_loaded_when_its_span_is_selected(page: Any, loaded: Loaded) -> None:
    traces_page(page, loaded)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    drawer = open_trace(page, loaded, "big")
    panel = drawer.get_by_role("tabpanel")
    expect(panel).to_contain_text("THE END")  # the end of a 24,000-character value
    trace_id = loaded.traces["big"]
    assert any(f"/api/v1/traces/{trace_id}?max_value_length=" in url for url in requests)
    assert any(f"/api/v1/traces/{trace_id}/spans/" in url for url in requests)


def test_a_2000_span_trace_opens_quickly_and_renders_only_visible_rows(page: Any, loaded: Loaded) -> None:
    traces_page(page, loaded, "wide")
    started = time.monotonic()
    drawer = open_trace(page, loaded, "wide")
    tree = drawer.get_by_role("tree", name="Spans")
    expect(tree.get_by_role("treeitem", name="batch job")).to_have_attribute("aria-selected", "true")
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"opening took {elapsed:.1f}s"
    expect(drawer).to_contain_text("Spans2000")
    rendered = tree.get_by_role("treeitem").count()
    assert 10 < rendered < 120, rendered  # only the rows in view (and a margin) exist
    # 99 steps and 19 tail spans under the root; the position is among siblings.
    expect(tree.get_by_role("treeitem", name="step 0,")).to_have_attribute("aria-setsize", "118")
    tree.focus()
    started = time.monotonic()
    page.keyboard.press("End")
    expect(tree.get_by_role("treeitem", name="tail 1999,")).to_have_attribute("aria-selected", "true")
    for _ in range(20):
        page.keyboard.press("ArrowUp")
    expect(tree.get_by_role("treeitem", name="chat 98.17,")).to_have_attribute("aria-selected", "true")
    assert time.monotonic() - started < 5
    screenshot(page, "trace-2000-spans")


def test_compare_shows_selected_traces_side_by_side(page: Any, loaded: Loaded) -> None:
    table = traces_page(page, loaded)
    compare = page.get_by_role("button", name="Compare selected")
    expect(compare).to_be_disabled()
    table.get_by_role("checkbox", name=f"Select trace {loaded.traces['paris']}").check()
    table.get_by_role("checkbox", name=f"Select trace {loaded.traces['failed']}").check()
    compare.click()
    expect(page.get_by_role("heading", name="Compare 2 traces")).to_be_visible()
    for key, name in (("paris", "weather agent"), ("failed", "chat gpt-4o-mini")):
        column = page.get_by_role("region", name=f"Trace {loaded.traces[key]}")
        expect(column.get_by_role("heading", name=name, level=2)).to_be_visible()
        expect(column.get_by_role("tree", name="Spans")).to_be_visible()
    assert set(state(page)["compare"].split(",")) == {loaded.traces["paris"], loaded.traces["failed"]}
    assert_controls_named(page)
    screenshot(page, "compare")
    page.get_by_role("button", name="Back to traces").click()
    expect(page.get_by_role("table", name="Traces")).to_be_visible()


# -- changes: new traces, tags, deletion ------------------------------------------------------------


def test_new_traces_appear_and_tags_and_deletion_work(page: Any, loaded: Loaded) -> None:
    first = send_agent_run(loaded.sender, "edits", 0, "Rome")
    loaded.sender.flush()
    assert loaded.server.store is not None
    experiment = loaded.server.store.get_experiment_by_name("edits")
    assert experiment is not None
    page.goto(f"{loaded.base}/?experiment={experiment.experiment_id}")
    rows = page.get_by_role("table", name="Traces").locator("tbody tr")
    expect(rows).to_have_count(1)

    second = send_agent_run(loaded.sender, "edits", 1000, "Bern")
    loaded.sender.flush()
    expect(rows).to_have_count(2)  # no reload: the list polls
    expect(rows.first).to_contain_text("Bern")

    page.get_by_role("checkbox", name=f"Select trace {second}").check()
    page.get_by_role("button", name="Edit tags").click()
    dialog = page.get_by_role("dialog", name=f"Tags of trace {second}")
    dialog.get_by_label("Tag key").fill("reviewed")
    dialog.get_by_label("Tag value").fill("yes")
    dialog.get_by_role("button", name="Add tag").click()
    expect(dialog.get_by_role("list", name="Current tags")).to_contain_text("reviewed: yes")
    dialog.get_by_label("Tag key").fill("..")  # a key a URL path would resolve away
    dialog.get_by_role("button", name="Add tag").click()
    expect(dialog.get_by_role("button", name="Remove tag ..", exact=True)).to_be_visible()
    assert loaded.server.store.get_trace(second).info.tags[".."] == ""  # type: ignore[union-attr]
    dialog.get_by_role("button", name="Remove tag ..", exact=True).click()
    expect(dialog.get_by_role("button", name="Remove tag ..", exact=True)).to_have_count(0)
    dialog.get_by_role("button", name="Remove tag env=test").click()
    expect(dialog.get_by_role("list", name="Current tags")).not_to_contain_text("env=test")
    dialog.get_by_role("button", name="Done").click()
    row = page.locator(f'tr[data-trace-id="{second}"]')
    expect(row).to_contain_text("reviewed: yes")
    expect(row).not_to_contain_text("env=test")
    assert loaded.server.store.get_trace(second).info.tags == {"reviewed": "yes"}  # type: ignore[union-attr]

    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("dialog", name="Delete 1 trace?").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Rome")
    assert loaded.server.store.get_trace(second) is None
    assert loaded.server.store.get_trace(first) is not None


# -- the token --------------------------------------------------------------------------------------


@pytest.fixture
def token_server(tmp_path: Any) -> Any:
    config = ServerConfig(store_url=f"sqlite:///{tmp_path / 't.db'}", port=0, otlp_http_port=None, grpc_port=None,
                          auth_token="ui-token")
    with Server(config) as server:
        sender = TraceSender(server)
        send_agent_run(sender, "private", 0)
        sender.flush()
        sender.close()
        yield server


def test_with_a_token_the_page_asks_for_it_and_sends_it(page: Any, token_server: Server, watch: Watch) -> None:
    page.goto(f"http://127.0.0.1:{token_server.ports['http']}/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert_controls_named(page)
    screenshot(page, "sign-in")
    watch.allow(401)
    page.get_by_label("Token").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("The server refused this token.")
    page.get_by_label("Token").fill("ui-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="private")).to_be_visible()
    page.reload()  # kept for the tab's session
    page.get_by_role("link", name="private").click()
    expect(page.get_by_role("table", name="Traces").locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


# -- the modules on their own -----------------------------------------------------------------------


def test_trace_view_module_works_without_the_app(page: Any, loaded: Loaded) -> None:
    """mountTraceView() on a bare element, given the API's trace JSON and no span loader (as the
    notebook display uses it): it shows what is embedded and says which values were cut."""
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    page.evaluate("""async (traceId) => {
        const { mountTraceView } = await import('/static/trace-view.js');
        const trace = await (await fetch(`/api/v1/traces/${traceId}?max_value_length=100`)).json();
        const host = document.createElement('div');
        host.id = 'standalone';
        host.style.height = '600px';
        document.body.replaceChildren(host);
        mountTraceView(host, trace);
    }""", loaded.traces["big"])
    host = page.locator("#standalone")
    expect(host.get_by_role("heading", name="retrieve documents", level=2)).to_be_visible()
    expect(host).to_contain_text("Long values were cut: traceglass.span.outputs.")
    expect(host.get_by_role("tabpanel")).not_to_contain_text("THE END")


def test_previews_read_messages_even_when_cut(page: Any, loaded: Loaded) -> None:
    # Request/response previews are the first 1,000 characters of the message JSON: often not valid JSON.
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    results = page.evaluate("""async () => {
        const { previewText, searchClause } = await import('/static/traces.js');
        const whole = JSON.stringify([{role: 'system', parts: [{type: 'text', content: 'Be brief.'}]},
                                      {role: 'user', parts: [{type: 'text', content: 'Hi "there"'}]}]);
        return [previewText(whole, true), previewText(whole.slice(0, -4), true), previewText('plain', true),
                previewText('{"question":"Why?"}', true), searchClause("it's 50%_\\\\")];
    }""")
    assert results == ["Hi \"there\"", "Hi \"there\"", "plain", '{"question":"Why?"}',
                       "trace.text LIKE '%it''s 50\\\\%\\\\_\\\\\\\\%'"]


def test_trace_view_shows_spans_with_looping_or_missing_parents(page: Any, loaded: Loaded) -> None:
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    page.evaluate("""async () => {
        const { mountTraceView } = await import('/static/trace-view.js');
        const span = (id, parent, name) => ({ trace_id: 't', span_id: id, parent_span_id: parent, name,
          start_ns: 1e18, end_ns: 1e18 + 1e6, kind: 'INTERNAL', status_code: 'UNSET', attributes: {}, events: [] });
        const host = document.createElement('div');
        host.id = 'standalone';
        document.body.replaceChildren(host);
        mountTraceView(host, { info: { trace_id: 't', status: 'OK' }, spans: [
          span('a', 'b', 'loop a'), span('b', 'a', 'loop b'), span('c', null, 'root'), span('d', 'gone', 'orphan')] });
    }""")
    items = page.locator("#standalone").get_by_role("treeitem")
    expect(items).to_have_count(4)


def test_previews_of_long_answers_and_malformed_messages_are_readable(page: Any, loaded: Loaded) -> None:
    # A long answer's preview is cut inside its text (no closing quote), perhaps inside a \u escape;
    # a message part may be null. Neither may show raw JSON, nor keep the list from rendering.
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    results = page.evaluate(r"""async () => {
        const { previewText } = await import('/static/traces.js');
        const text = 'Sure: ' + 'blah '.repeat(400);
        const long = JSON.stringify([{role: 'assistant', parts: [{type: 'text', content: text}]}]);
        return [previewText(long.slice(0, 1000), false).slice(0, 16),
                previewText('[{"role": "assistant", "parts": [{"type": "text", "content": "caf\\u00', false),
                previewText(JSON.stringify([{role: 'user', parts: [null, {type: 'text', content: 'Hi'}]}]), true)];
    }""")
    assert results == ["Sure: blah blah ", "caf", "Hi"]


def test_a_trace_that_does_not_exist_says_so_and_has_no_tags_to_edit(page: Any, loaded: Loaded, watch: Watch) -> None:
    watch.allow(404)
    missing = "0" * 32
    page.goto(f"{loaded.base}/?experiment={loaded.experiments['agents']}&trace={missing}")
    drawer = page.get_by_role("region", name=f"Trace {missing}")
    expect(drawer.get_by_role("alert")).to_have_text("This trace no longer exists.")
    expect(drawer.get_by_role("button", name="Edit tags")).to_be_disabled()
    expect(page.get_by_role("table", name="Traces").locator("tbody tr")).to_have_count(6)


def test_the_experiment_dialog_says_why_a_name_is_refused(page: Any, loaded: Loaded, watch: Watch) -> None:
    watch.allow(400)
    watch.allow(422)
    page.goto(loaded.base + "/")
    page.get_by_role("button", name="Create experiment").click()
    dialog = page.get_by_role("dialog", name="Create experiment")
    dialog.get_by_label("Name").fill("   ")  # sent trimmed: refused by the API's validation (422)
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_contain_text("name: String should have at least 1 character")
    dialog.get_by_label("Name").fill("x" * 300)
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_contain_text("experiment name is longer than 256 characters")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("table", name="Experiments").get_by_role("link", name="x" * 300)).to_have_count(0)


def test_malformed_tool_definitions_leave_the_chat_readable(page: Any, loaded: Loaded) -> None:
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    page.evaluate("""async () => {
        const { mountTraceView } = await import('/static/trace-view.js');
        const host = document.createElement('div');
        host.id = 'standalone';
        document.body.replaceChildren(host);
        mountTraceView(host, { info: { trace_id: 't', status: 'OK' }, spans: [{ trace_id: 't', span_id: 'a',
          parent_span_id: null, name: 'chat', start_ns: 1e18, end_ns: 1e18 + 1e6, kind: 'CLIENT', status_code: 'UNSET',
          events: [], attributes: { 'gen_ai.operation.name': 'chat',
            'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Hello' }] }]),
            'gen_ai.tool.definitions': JSON.stringify([null, 'lookup', { name: 'get_weather' }]) } }] });
    }""")
    host = page.locator("#standalone")
    expect(host.get_by_role("tab", name="Chat")).to_have_attribute("aria-selected", "true")
    expect(host.get_by_role("list", name="Conversation")).to_contain_text("Hello")
    host.get_by_text("Tool definitions (3)").click()
    expect(host.get_by_role("tabpanel")).to_contain_text("get_weather")


def test_the_error_rate_axis_stops_at_100_percent(page: Any, loaded: Loaded) -> None:
    page.goto(f"{loaded.base}/?experiment={loaded.experiments['wide']}&tab=overview")  # no errors at all
    chart = page.get_by_role("img", name="Error rate")
    expect(chart).to_be_visible()
    labels = chart.locator("text").all_text_contents()
    assert "100.0 %" in labels and not [label for label in labels if label.endswith("%") and float(label[:-2]) > 100]


def test_durations_of_minutes_never_show_60_seconds(page: Any, loaded: Loaded) -> None:
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    shown = page.evaluate("""async () => {
        const { formatDuration, formatTraceDuration } = await import('/static/trace-view.js');
        return [formatTraceDuration(0), formatTraceDuration(3), ...[0, 0.0025, 0.0125, 0.25, 60_000, 119_499,
          119_500, 3_599_999, 5_400_000].map(formatDuration)];
    }""")
    assert shown == ["< 1 ms", "3.0 ms", "0", "2.5 µs", "13 µs", "250 µs", "1 min 0 s", "1 min 59 s", "2 min 0 s",
                     "1 h 0 min", "1 h 30 min"]


def test_a_refused_filter_is_not_sent_again_by_the_polling(page: Any, loaded: Loaded, watch: Watch) -> None:
    watch.allow(400)
    asked: list[str] = []
    page.on("request", lambda request: "/api/v1/traces?" in request.url and asked.append(request.url))
    page.goto(f"{loaded.base}/?experiment={loaded.experiments['agents']}&filter=trace.status%20%3D")
    expect(page.locator("#filter-error")).to_contain_text("Invalid filter at position 14")
    page.wait_for_timeout(3_500)  # longer than the list's polling interval
    assert len(asked) == 1, asked
    page.get_by_role("button", name="Clear search and filter").click()
    expect(page.get_by_role("table", name="Traces").locator("tbody tr")).to_have_count(6)


def experiment_of_two_pages(loaded: Loaded, name: str) -> str:
    """The address of a new experiment `name` holding 51 traces: one more than a page."""
    for i in range(51):
        with loaded.sender.span(f"{name} {i}", i * 10, i * 10 + 5, name):
            pass
    loaded.sender.flush()
    assert loaded.server.store is not None
    experiment = loaded.server.store.get_experiment_by_name(name)
    assert experiment is not None
    return f"{loaded.base}/?experiment={experiment.experiment_id}"


def test_a_later_page_emptied_by_deletion_does_not_claim_the_experiment_is_empty(page: Any, loaded: Loaded) -> None:
    page.goto(experiment_of_two_pages(loaded, "paged"))
    table = page.get_by_role("table", name="Traces")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("paged 0")
    rows.first.get_by_role("checkbox").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("dialog", name="Delete 1 trace?").get_by_role("button", name="Delete").click()
    expect(table).to_contain_text("No more traces: see the previous page.")
    page.get_by_role("button", name="Previous page").click()
    expect(rows).to_have_count(50)


def test_the_page_lives_in_the_url_for_back_reload_and_links(page: Any, loaded: Loaded, watch: Watch) -> None:
    first_url = experiment_of_two_pages(loaded, "linked")
    page.goto(first_url)
    rows = page.get_by_role("table", name="Traces").locator("tbody tr")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Next page").click()
    expect(rows).to_have_count(1)
    token = state(page)["page"]
    # A reload keeps the page, its number and the way back.
    page.reload()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("status")).to_have_text("Traces 51\u201351")
    page.go_back()
    expect(rows).to_have_count(50)
    assert "page" not in state(page)
    page.go_forward()
    expect(rows.first).to_contain_text("linked 0")
    # A link to the page, opened afresh: the same traces; Previous leads to the first page.
    linked = page.context.new_page()
    linked.goto(f"{first_url}&page={token}")
    linked_rows = linked.get_by_role("table", name="Traces").locator("tbody tr")
    expect(linked_rows).to_have_count(1)
    expect(linked.get_by_role("status")).to_have_text("1 trace of a later page")
    linked.get_by_role("button", name="Previous page").click()
    expect(linked_rows).to_have_count(50)
    expect(linked.get_by_role("status")).to_have_text("Traces 1\u201350")
    # A new search starts at page one; so does a token edited by hand.
    page.get_by_role("textbox", name="Filter").fill("trace.status = 'OK'")
    page.get_by_role("button", name="Apply search and filter").click()
    expect(rows).to_have_count(50)
    assert "page" not in state(page)
    watch.allow(400)
    page.goto(f"{first_url}&page=garbage")
    expect(rows).to_have_count(50)
    expect(page).to_have_url(first_url)


def test_counts_read_as_english(page: Any, loaded: Loaded) -> None:
    page.goto(loaded.base + "/")
    page.get_by_role("button", name="Delete experiment wide").click()
    dialog = page.get_by_role("dialog", name="Delete experiment wide?")
    expect(dialog).to_contain_text("Its one trace is deleted with it.")
    dialog.get_by_role("button", name="Cancel").click()
    shown = page.evaluate("""async () => {
        const { counted } = await import('/static/dom.js');
        return [counted(1, 'experiment'), counted(2, 'experiment'), counted(1234, 'trace')];
    }""")
    assert shown == ["1 experiment", "2 experiments", "1,234 traces"]


def test_latency_axis_steps_of_a_few_milliseconds_read_apart(page: Any, loaded: Loaded) -> None:
    page.goto(loaded.base + "/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    shown = page.evaluate("""async () => {
        const { formatDuration } = await import('/static/overview.js');
        return [0, 0.75, 1.5, 2.25, 3, 12.4, 999.6, 1500].map(formatDuration);
    }""")
    assert shown == ["0 ms", "0.75 ms", "1.5 ms", "2.25 ms", "3 ms", "12 ms", "1.00 s", "1.50 s"]


def test_the_waterfall_scale_starts_at_zero_and_its_ticks_differ(page: Any, loaded: Loaded) -> None:
    traces_page(page, loaded)
    drawer = open_trace(page, loaded, "paris")
    ticks = drawer.locator(".tgv-tick").all_text_contents()
    assert ticks[0] == "0" and len(set(ticks)) == 5, ticks
