"""The web UI with data at its edges (long names, deep trees, large counts, right-to-left text) and
in narrow windows: what a user sees stays readable and on screen."""

from __future__ import annotations

import json
from contextlib import ExitStack
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest

from tests.pricing import PRICED
from tests.ui._traces import TraceSender
from tests.ui.conftest import Loaded, Watch, playwright_sync, screenshot

expect = playwright_sync.expect

PHONE = {"width": 390, "height": 844}
HEBREW = "שלום! מה שלומך?"


def _experiment_id(loaded: Loaded, name: str) -> int:
    assert loaded.server.store is not None
    experiment = loaded.server.store.get_experiment_by_name(name)
    assert experiment is not None
    return experiment.experiment_id


def _send_chat(sender: TraceSender, experiment: str, offset_ms: float, question: str, answer: str,
               input_tokens: int, output_tokens: int) -> str:
    with sender.span("chat gpt-4o", offset_ms, offset_ms + 400, experiment, {
        "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": input_tokens, "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]),
    }) as span:
        pass
    return format(span.get_span_context().trace_id, "032x")


def _send_deep(sender: TraceSender, experiment: str, levels: int) -> str:
    with ExitStack() as stack:
        spans = [stack.enter_context(sender.span(f"level {i}", i, 1000 - i, experiment)) for i in range(levels)]
    return format(spans[0].get_span_context().trace_id, "032x")


def _open_trace(page: Any, loaded: Loaded, experiment: str, trace_id: str) -> Any:
    page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, experiment)}&trace={trace_id}")
    drawer = page.get_by_role("region", name=f"Trace {trace_id}")
    expect(drawer.get_by_role("tree", name="Spans")).to_be_visible()
    return drawer


def test_a_long_experiment_name_leaves_the_counts_and_actions_on_screen(page: Any, loaded: Loaded) -> None:
    name = "x" * 200  # no space to break at
    assert loaded.server.store is not None
    loaded.server.store.create_experiment(name)
    page.goto(loaded.base + "/")
    table = page.get_by_role("table", name="Experiments")
    expect(table.get_by_role("link", name=name)).to_be_visible()
    expect(table.get_by_role("columnheader", name="Traces")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Delete experiment agents")).to_be_in_viewport()
    expect(page.get_by_role("button", name=f"Delete experiment {name}")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, "experiments-long-name")


def test_deep_span_trees_keep_names_and_durations_off_the_timeline(page: Any, loaded: Loaded) -> None:
    trace_id = _send_deep(loaded.sender, "deep", 60)
    loaded.sender.flush()
    drawer = _open_trace(page, loaded, "deep", trace_id)
    tree = drawer.get_by_role("tree", name="Spans")
    tree.focus()
    page.keyboard.press("End")
    deepest = tree.get_by_role("treeitem", name="level 59,")
    expect(deepest).to_have_attribute("aria-selected", "true")
    expect(deepest).to_have_attribute("aria-level", "60")
    box = deepest.evaluate("""(row) => {
        const r = (s) => row.querySelector(s).getBoundingClientRect();
        return { name: r('.tgv-span-name'), duration: r('.tgv-duration'), cell: r('.tgv-cell-name'),
                 bar: r('.tgv-cell-bar') };
    }""")
    assert box["name"]["width"] > 30, box  # some of the name is readable
    assert box["cell"]["right"] <= box["bar"]["left"] + 1, box  # nothing runs over the timeline
    assert box["duration"]["right"] <= box["cell"]["right"] + 1 and box["duration"]["width"] > 20, box
    assert box["name"]["right"] <= box["duration"]["left"] + 1, box
    screenshot(page, "trace-deep")


def test_a_long_trace_name_takes_two_lines_of_the_list_and_shows_whole_on_hover(page: Any, loaded: Loaded) -> None:
    name = "summarise the quarterly report " * 20
    with loaded.sender.span(name, 0, 10, "long names") as span:
        pass
    with loaded.sender.span("short", 20, 30, "long names"):
        pass
    loaded.sender.flush()
    trace_id = format(span.get_span_context().trace_id, "032x")
    page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, 'long names')}")
    row = page.locator(f'tr[data-trace-id="{trace_id}"]')
    expect(row).to_be_visible()
    short = page.locator("tbody tr", has_text="short")
    assert row.bounding_box()["height"] <= 2.5 * short.bounding_box()["height"]
    expect(row.get_by_title(name.strip())).to_be_visible()


def test_token_counts_read_with_thousands_separators(page: Any, loaded: Loaded) -> None:
    trace_id = _send_chat(loaded.sender, "large counts", 0, "Summarise the corpus", "Done.", 1_234_567, 8_901)
    loaded.sender.flush()
    page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, 'large counts')}")
    row = page.locator(f'tr[data-trace-id="{trace_id}"]')
    expect(row).to_contain_text("1,234,567 / 8,901")
    row.click()
    drawer = page.get_by_role("region", name=f"Trace {trace_id}")
    expect(drawer).to_contain_text("1,234,567 in / 8,901 out")


def test_right_to_left_messages_read_right_to_left(page: Any, loaded: Loaded) -> None:
    trace_id = _send_chat(loaded.sender, "rtl", 0, HEBREW, "אני בסדר, תודה!", 10, 5)
    loaded.sender.flush()
    page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, 'rtl')}")
    row = page.locator(f'tr[data-trace-id="{trace_id}"]')
    preview = row.locator(".tg-col-request").get_by_text(HEBREW)
    expect(preview).to_be_visible()
    assert preview.evaluate("(el) => getComputedStyle(el).direction") == "rtl"
    row.click()
    chat = page.get_by_role("list", name="Conversation")
    message = chat.get_by_text(HEBREW)
    expect(message).to_be_visible()
    assert message.evaluate("(el) => getComputedStyle(el).direction") == "rtl"


def test_on_a_phone_the_span_details_are_on_screen(page: Any, loaded: Loaded) -> None:
    trace_id = _send_chat(loaded.sender, "phone", 0, "What is on the menu?", "Soup of the day.", 12, 4)
    loaded.sender.flush()
    page.set_viewport_size(PHONE)
    drawer = _open_trace(page, loaded, "phone", trace_id)
    expect(drawer.get_by_role("treeitem").first).to_be_in_viewport()
    chat = drawer.get_by_role("list", name="Conversation")
    expect(chat.get_by_text("What is on the menu?")).to_be_in_viewport()
    expect(drawer.get_by_role("tab", name="Attributes")).to_be_in_viewport()
    expect(drawer.get_by_role("button", name="Close trace")).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # The timeline's labels do not run into each other.
    ticks = drawer.locator(".tgv-tick").evaluate_all(
        "(ticks) => ticks.filter((t) => getComputedStyle(t).visibility !== 'hidden')"
        ".map((t) => t.getBoundingClientRect()).map((r) => [r.left, r.right])")
    assert all(a[1] <= b[0] for a, b in pairwise(ticks)), ticks
    screenshot(page, "trace-phone")


def test_on_a_phone_the_overview_charts_fit_the_width(page: Any, loaded: Loaded) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{loaded.base}/?experiment={loaded.experiments['agents']}&tab=overview")
    chart = page.get_by_role("img", name="Requests")
    expect(chart).to_be_visible()
    width = chart.evaluate("(svg) => svg.getBoundingClientRect().right")
    assert width <= PHONE["width"], width
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, "overview-phone")


def test_time_axis_labels_are_not_cut_at_the_chart_edge(page: Any, loaded: Loaded) -> None:
    # 31 hours of traces: 31 buckets of an hour, a label every 6 buckets, the last in the last bucket.
    for hour in range(31):
        with loaded.sender.span(f"hourly {hour}", hour * 3_600_000, hour * 3_600_000 + 50, "hourly"):
            pass
    loaded.sender.flush()
    page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, 'hourly')}&tab=overview")
    chart = page.get_by_role("img", name="Requests")
    expect(chart).to_be_visible()
    overflow = page.evaluate("""() => [...document.querySelectorAll('svg.tg-ov-chart')].flatMap((svg) => {
        const width = svg.viewBox.baseVal.width;
        return [...svg.querySelectorAll('text')].map((t) => [t.textContent, t.getBBox()])
          .filter(([, b]) => b.x < 0 || b.x + b.width > width).map(([text]) => text);
    })""")
    assert overflow == []
    labels = chart.locator("text").all_text_contents()
    assert "01 00:00" in labels, labels  # the first bucket's label (UTC) is there



def test_latency_axis_labels_of_long_runs_fit_left_of_the_chart(page: Any, loaded: Loaded) -> None:
    # Agent runs of 20 minutes to 3 hours: the latency axis counts in minutes and hours.
    for n, minutes in enumerate((20, 45, 95, 180)):
        start = n * 4 * 3_600_000
        with loaded.sender.span(f"long run {n}", start, start + minutes * 60_000, "long runs"):
            pass
    loaded.sender.flush()
    page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, 'long runs')}&tab=overview")
    chart = page.get_by_role("img", name="Latency")
    expect(chart).to_be_visible()
    labels = chart.evaluate("""(svg) => [...svg.querySelectorAll('text')]
        .filter((t) => t.getAttribute('text-anchor') === 'end').map((t) => [t.textContent, t.getBBox().x])""")
    assert len(labels) == 5 and labels[-1][0].endswith(" h"), labels
    assert all(x >= 0 for _, x in labels), labels  # no label runs past the chart's left edge
    expect(page.locator(".tg-ov-tiles")).to_contain_text("Latency p50")


def test_cost_axis_labels_fit_left_of_the_chart(page: Any, loaded: Loaded) -> None:
    if not PRICED:
        pytest.skip("genai-prices is not installed: nothing is priced")
    page.goto(f"{loaded.base}/?experiment={loaded.experiments['agents']}&tab=overview")
    chart = page.get_by_role("img", name="Cost", exact=True)
    expect(chart).to_be_visible()
    labels = chart.evaluate("""(svg) => [...svg.querySelectorAll('text')]
        .filter((t) => t.getAttribute('text-anchor') === 'end').map((t) => [t.textContent, t.getBBox().x])""")
    assert len(labels) == 5 and labels[0][0] == "$0" and all(text.startswith("$") for text, _ in labels), labels
    assert all(x >= 0 for _, x in labels), labels


def test_daily_buckets_are_named_by_the_day_they_cover(browser: Any, loaded: Loaded, watch: Watch) -> None:
    # Daily buckets start at midnight UTC, which is 19:00 the day before in New York: a bucket named
    # by its local start date would file a Tuesday morning's traces under Monday.
    hour = 3_600_000
    for day in (1, 50):  # 2026-01-02 and 2026-02-20, 15:00 UTC (10:00 in New York): 50 daily buckets
        with loaded.sender.span(f"day {day}", day * 24 * hour + 15 * hour, day * 24 * hour + 15 * hour + 5, "daily"):
            pass
    loaded.sender.flush()
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US",
                                  timezone_id="America/New_York")
    try:
        page = context.new_page()
        watch.attach(page)
        page.goto(f"{loaded.base}/?experiment={_experiment_id(loaded, 'daily')}&tab=overview")
        chart = page.get_by_role("img", name="Requests")
        expect(chart).to_be_visible()
        tips = chart.locator(".tg-ov-bar title").all_text_contents()
        assert tips[0].startswith("2026-01-02 UTC\n"), tips[0]
        assert tips[-1].startswith("2026-02-20 UTC\n"), tips[-1]
        assert chart.locator("text").all_text_contents()[5] == "01-02"  # after the five y-axis labels
        expect(page.locator(".tg-ov-tile").first).to_contain_text("2026-01-02 UTC")
    finally:
        context.close()
    assert not watch.problems, watch.problems


def test_relative_times_move_on_while_the_page_stays_open(page: Any, loaded: Loaded) -> None:
    # The traces of "agents" start at 2026-01-01 00:00 UTC; the page opens 30 seconds later.
    page.clock.install(time=datetime(2026, 1, 1, 0, 0, 20, tzinfo=UTC))
    page.clock.pause_at(datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC))  # however long the page takes to load
    page.goto(f"{loaded.base}/?experiment={loaded.experiments['agents']}")
    row = page.locator(f'tr[data-trace-id="{loaded.traces["paris"]}"]')
    expect(row.locator("time")).to_have_text("30 s ago")
    page.clock.fast_forward("02:00:00")  # two hours on: the list polls, and nothing changed
    expect(row.locator("time")).to_have_text("2 h ago")
    page.goto(loaded.base + "/")
    agents = page.get_by_role("table", name="Experiments").locator("tr", has=page.get_by_role("link", name="agents"))
    expect(agents.locator("time")).to_have_text("2 h ago")
    page.clock.fast_forward("01:00:00")
    expect(agents.locator("time")).to_have_text("3 h ago")


def test_malformed_input_messages_are_said_to_be_unreadable_not_left_out_unseen(page: Any, loaded: Loaded) -> None:
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
            'gen_ai.input.messages': '[{"role": "user", "parts": [{"type": "text", "content": "Hello"}]',
            'gen_ai.output.messages': JSON.stringify([{ role: 'assistant',
                                                       parts: [{ type: 'text', content: 'Hi!' }] }]) } }] });
    }""")
    host = page.locator("#standalone")
    expect(host.get_by_role("list", name="Conversation")).to_contain_text("Hi!")
    expect(host.get_by_role("tabpanel")).to_contain_text(
        "Not a readable list of messages, so not shown here: gen_ai.input.messages")
