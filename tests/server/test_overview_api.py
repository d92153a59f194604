"""GET /api/v1/experiments/{id}/overview on a running server, on SQLite and PostgreSQL: traces sent
over OTLP/HTTP, then the figures a reader of the Overview tab checks (requests, errors, latency
percentiles and tokens per time bucket, and per model)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from traceglass.collector.server import Server

from tests.pricing import PRICED
from tests.server._helpers import StartServer, post, post_json, url, written

HOUR = 3_600_000
T0 = 472_223 * HOUR  # 2023-11-14T23:00:00Z: a whole hour, so hourly buckets start here
MODELS = ("gpt-4o-mini", "claude-sonnet-4-5")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The server's store: a SQLite file, or a database of the session's PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'traces.db'}"
    return str(request.getfixturevalue("postgres_store_url"))


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    return {"stringValue": str(value)}


def _span(trace: int, span: int, name: str, start_ms: int, duration_ms: int, parent: int | None = None,
          error: bool = False, **attributes: Any) -> dict[str, Any]:
    document = {
        "traceId": f"{trace:032x}", "spanId": f"{span:016x}", "name": name, "kind": 1,
        "startTimeUnixNano": str(start_ms * 1_000_000), "endTimeUnixNano": str((start_ms + duration_ms) * 1_000_000),
        "attributes": [{"key": key.replace("__", "."), "value": _value(value)} for key, value in attributes.items()],
        "status": {"code": 2, "message": "tool failed"} if error else {"code": 1},
    }
    if parent is not None:
        document["parentSpanId"] = f"{parent:016x}"
    return document


def _agent_trace(number: int, start_ms: int, duration_ms: int, model: str, input_tokens: int, output_tokens: int,
                 chat_ms: int, experiment: str = "support-bot", error: bool = False) -> list[dict[str, Any]]:
    """An agent run as autolog records it: a root span and one chat call under it."""
    root = number * 10
    return [
        _span(number, root, "support_agent", start_ms, duration_ms, error=error,
              traceglass__experiment=experiment, traceglass__span__type="AGENT"),
        _span(number, root + 1, f"chat {model}", start_ms + 5, chat_ms, parent=root,
              traceglass__experiment=experiment, gen_ai__operation__name="chat", gen_ai__provider__name="openai",
              gen_ai__request__model=model, gen_ai__response__model=model + "-2025",
              gen_ai__usage__input_tokens=input_tokens, gen_ai__usage__output_tokens=output_tokens),
    ]


def _send(server: Server, spans: list[dict[str, Any]]) -> None:
    document = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
                                                                  "value": {"stringValue": "support"}}]},
                                   "scopeSpans": [{"scope": {"name": "traceglass"}, "spans": spans}]}]}
    status, _ = post_json(url(server), document)
    assert status == 200


def _get(server: Server, path: str) -> tuple[int, Any]:
    status, _, body = post(url(server, "/api/v1" + path), b"", method="GET")
    return status, json.loads(body)


def _experiment_id(server: Server, name: str) -> int:
    with urllib.request.urlopen(url(server, "/api/v1/experiments"), timeout=10) as response:
        experiments = json.load(response)["experiments"]
    return next(e["experiment_id"] for e in experiments if e["name"] == name)


@pytest.fixture
def filled(start_server: StartServer) -> tuple[Server, int]:
    """support-bot: 10 traces in the first hour (durations 100..1000 ms, traces 3 and 7 failed,
    models alternating), none in the second, 5 in the third; plus one trace of another experiment."""
    server = start_server()
    spans: list[dict[str, Any]] = []
    for i in range(10):
        spans += _agent_trace(i + 1, T0 + i * 6 * 60_000, duration_ms=100 * (i + 1), model=MODELS[i % 2],
                              input_tokens=10 * (i + 1), output_tokens=i + 1, chat_ms=20 * (i + 1), error=i in (2, 6))
    for i in range(5):
        spans += _agent_trace(100 + i, T0 + 2 * HOUR + i * 60_000, duration_ms=2000, model=MODELS[0],
                              input_tokens=1000, output_tokens=100, chat_ms=1500)
    spans += _agent_trace(999, T0 + 30 * 60_000, duration_ms=50, model="other-model", input_tokens=7,
                          output_tokens=7, chat_ms=10, experiment="elsewhere", error=True)
    _send(server, spans)
    written(server)
    return server, _experiment_id(server, "support-bot")


def test_hourly_buckets(filled: tuple[Server, int]) -> None:
    server, experiment_id = filled
    status, body = _get(server, f"/experiments/{experiment_id}/overview?start_ms={T0}&end_ms={T0 + 3 * HOUR}&buckets=3")
    assert status == 200, body
    assert (body["start_ms"], body["end_ms"], body["bucket_ms"]) == (T0, T0 + 3 * HOUR, HOUR)
    first, second, third = body["buckets"]
    assert [b["start_ms"] for b in body["buckets"]] == [T0, T0 + HOUR, T0 + 2 * HOUR]
    # Durations 100, 200, ..., 1000 ms: nearest rank 5 of 10 is the median, rank 10 the 95th and 99th.
    # Costs: the gpt-4o-mini calls only ($0.15 and $0.60 per million input and output tokens); this
    # test's Claude calls name openai as their provider, which does not serve Claude.
    assert first == {"start_ms": T0, "requests": 10, "errors": 2, "error_rate": 0.2, "input_tokens": 550,
                     "output_tokens": 55, "cost_usd": pytest.approx((250 * 0.15 + 25 * 0.6) / 1e6) if PRICED else None,
                     "p50_ms": 500, "p95_ms": 1000, "p99_ms": 1000}
    assert second == {"start_ms": T0 + HOUR, "requests": 0, "errors": 0, "error_rate": None, "input_tokens": 0,
                      "output_tokens": 0, "cost_usd": None, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    assert third["requests"] == 5 and third["errors"] == 0 and third["p50_ms"] == third["p99_ms"] == 2000
    assert third["input_tokens"] == 5000 and third["output_tokens"] == 500
    totals = body["totals"]
    assert totals["requests"] == 15 and totals["errors"] == 2
    assert totals["error_rate"] == pytest.approx(2 / 15)
    assert (totals["input_tokens"], totals["output_tokens"]) == (5550, 555)
    if PRICED:
        assert totals["cost_usd"] == pytest.approx((5250 * 0.15 + 525 * 0.6) / 1e6)
    # 15 durations: 100..1000 then five of 2000; ranks 8, 15, 15.
    assert (totals["p50_ms"], totals["p95_ms"], totals["p99_ms"]) == (800, 2000, 2000)


def test_per_model(filled: tuple[Server, int]) -> None:
    server, experiment_id = filled
    _, body = _get(server, f"/experiments/{experiment_id}/overview?start_ms={T0}&end_ms={T0 + 3 * HOUR}&buckets=3")
    assert body["model_attribute"] == "gen_ai.request.model"
    models = {m["model"]: m for m in body["models"]}
    assert [m["model"] for m in body["models"]] == ["gpt-4o-mini", "claude-sonnet-4-5"]  # most called first
    assert "other-model" not in models  # another experiment's
    gpt, claude = models["gpt-4o-mini"], models["claude-sonnet-4-5"]
    # gpt-4o-mini: traces 1, 3, 5, 7, 9 (chat 20, 60, 100, 140, 180 ms) and five of 1500 ms.
    assert gpt["requests"] == 10
    assert (gpt["input_tokens"], gpt["output_tokens"]) == (10 + 30 + 50 + 70 + 90 + 5000, 1 + 3 + 5 + 7 + 9 + 500)
    assert (gpt["p50_ms"], gpt["p95_ms"], gpt["p99_ms"]) == (180, 1500, 1500)
    assert claude["requests"] == 5 and claude["errors"] == 0
    assert (claude["input_tokens"], claude["output_tokens"]) == (20 + 40 + 60 + 80 + 100, 2 + 4 + 6 + 8 + 10)
    assert (claude["p50_ms"], claude["p95_ms"]) == (120, 200)
    # gpt-4o-mini at $0.15 and $0.60 per million input and output tokens; this test's Claude calls
    # name openai as their provider, which does not serve Claude: not priced.
    assert gpt["cost_usd"] == (pytest.approx((5250 * 0.15 + 525 * 0.60) / 1e6) if PRICED else None)
    assert claude["cost_usd"] is None
    cells = {(c["start_ms"], c["model"]): c["requests"] for c in body["model_buckets"]}
    assert cells == {(T0, "claude-sonnet-4-5"): 5, (T0, "gpt-4o-mini"): 5, (T0 + 2 * HOUR, "gpt-4o-mini"): 5}


def test_every_model_call_counts_once(start_server: StartServer) -> None:
    """One agent run making three calls to one model and an embedding that names only its response
    model: four calls; the agent span, which names a model too, is not one."""
    server = start_server()
    root, trace = 700, 70
    spans = [
        _span(trace, root, "invoke_agent planner", T0, 1000, traceglass__experiment="multi",
              traceglass__span__type="AGENT", gen_ai__operation__name="invoke_agent", gen_ai__request__model="gpt-4o"),
        _span(trace, root + 1, "embeddings", T0 + 1, 30, parent=root, gen_ai__operation__name="embeddings",
              gen_ai__response__model="text-embedding-3-small", gen_ai__usage__input_tokens=12),
        _span(trace, root + 5, "lookup_order", T0 + 40, 20, parent=root, traceglass__span__type="TOOL"),
    ]
    for i, duration in enumerate((100, 300, 200)):
        spans.append(_span(trace, root + 2 + i, "chat gpt-4o", T0 + 100 + 300 * i, duration, parent=root,
                           error=i == 1, gen_ai__operation__name="chat", gen_ai__request__model="gpt-4o",
                           gen_ai__usage__input_tokens=100 * (i + 1), gen_ai__usage__output_tokens=10))
    _send(server, spans)
    written(server)
    _, body = _get(server, f"/experiments/{_experiment_id(server, 'multi')}/overview")
    gpt, embedding = body["models"]
    assert gpt == {"model": "gpt-4o", "requests": 3, "errors": 1, "input_tokens": 600, "output_tokens": 30,
                   "cost_usd": None, "p50_ms": 200, "p95_ms": 300, "p99_ms": 300}  # no provider named: no price
    assert embedding == {"model": "text-embedding-3-small", "requests": 1, "errors": 0, "input_tokens": 12,
                         "output_tokens": 0, "cost_usd": None, "p50_ms": 30, "p95_ms": 30, "p99_ms": 30}
    assert body["totals"]["requests"] == 1 and body["totals"]["input_tokens"] == 612


def test_without_models(filled: tuple[Server, int]) -> None:
    server, experiment_id = filled
    query = f"start_ms={T0}&end_ms={T0 + 3 * HOUR}&buckets=3"
    _, whole = _get(server, f"/experiments/{experiment_id}/overview?{query}")
    _, quick = _get(server, f"/experiments/{experiment_id}/overview?{query}&models=false")
    assert quick["models"] == [] and quick["model_buckets"] == []
    assert (quick["totals"], quick["buckets"]) == (whole["totals"], whole["buckets"])


def test_default_range_covers_every_trace_in_round_buckets(filled: tuple[Server, int]) -> None:
    server, experiment_id = filled
    status, body = _get(server, f"/experiments/{experiment_id}/overview")
    assert status == 200
    assert body["totals"]["requests"] == 15
    assert sum(b["requests"] for b in body["buckets"]) == 15
    assert len(body["buckets"]) <= 61  # 60 asked for; aligning the start may add one
    assert body["bucket_ms"] == 5 * 60_000  # 2 h 4 min in at most 60 buckets: the first round width that fits
    assert body["start_ms"] == T0 and body["start_ms"] % body["bucket_ms"] == 0
    assert body["end_ms"] == T0 + 2 * HOUR + 4 * 60_000 + 1  # just after the last trace's start


def test_a_range_without_traces(filled: tuple[Server, int]) -> None:
    server, experiment_id = filled
    _, body = _get(server, f"/experiments/{experiment_id}/overview?start_ms={T0 - 10 * HOUR}&end_ms={T0}&buckets=10")
    assert body["totals"]["requests"] == 0 and body["totals"]["p50_ms"] is None
    assert body["models"] == [] and body["model_buckets"] == []
    assert len(body["buckets"]) == 10 and all(b["requests"] == 0 for b in body["buckets"])


def test_errors(filled: tuple[Server, int]) -> None:
    server, experiment_id = filled
    status, body = _get(server, "/experiments/987654/overview")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    status, body = _get(server, f"/experiments/{experiment_id}/overview?start_ms=2000&end_ms=1000")
    assert status == 400 and body["error"]["code"] == "INVALID_ARGUMENT"
    assert "end_ms" in body["error"]["message"]
    status, body = _get(server, f"/experiments/{experiment_id}/overview?buckets=0")
    assert status == 422  # refused by validation, as every out-of-range query parameter


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_sqlite_reads_indexes_trace_by_trace(filled: tuple[Server, int]) -> None:
    """The plans that keep an overview fast on a large store: the range's traces from the covering
    index, then each trace's model calls through the (trace_id, span_id) index (never the calls
    of every experiment, then their traces)."""
    from sqlalchemy import event

    server, experiment_id = filled
    store = written(server)
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            rows = cursor.connection.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall()
            plans.append("\n".join(row[-1] for row in rows))

    event.listen(store.engine, "before_cursor_execute", explain)
    try:
        store.overview(experiment_id)
    finally:
        event.remove(store.engine, "before_cursor_execute", explain)
    (calls,) = [plan for plan in plans if "spans" in plan]
    lines = calls.splitlines()
    traces_at = next(i for i, line in enumerate(lines) if "COVERING INDEX ix_traces_overview" in line)
    calls_at = next(i for i, line in enumerate(lines) if "sqlite_autoindex_spans_1 (trace_id=?)"
                    in line)
    assert traces_at < calls_at, calls
    buckets = [plan for plan in plans if "GROUP BY" in plan and "spans" not in plan]
    assert buckets and all("COVERING INDEX ix_traces_overview" in plan for plan in buckets), buckets


HOSTILE_MODEL = "<img src=x onerror=\"window.__pwned=1\">"


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_overview_tab_draws_the_figures(filled: tuple[Server, int], tmp_path: Path) -> None:
    """The UI's Overview tab in a browser: named charts, the totals, the model table; a model name
    holding markup shows as text."""
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    server, experiment_id = filled
    _send(server, _agent_trace(500, T0, duration_ms=10, model=HOSTILE_MODEL, input_tokens=1, output_tokens=1,
                               chat_ms=5, experiment="hostile"))
    written(server)
    hostile_id = _experiment_id(server, "hostile")
    expect = playwright.expect
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium))
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            problems: list[str] = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.goto(url(server, f"/?experiment={experiment_id}&tab=overview"))
            for name in ("Requests", "Latency", "Error rate", "Token usage", "Calls per model"):
                expect(page.get_by_role("img", name=name, exact=True)).to_be_visible()
            tiles = page.locator(".tg-ov-tiles")
            expect(tiles).to_contain_text("Requests15")
            expect(tiles).to_contain_text("Errors2")
            expect(tiles).to_contain_text("13.3 % of requests")
            expect(tiles).to_contain_text("Input tokens5550")
            if PRICED:  # the estimated cost: a tile and a chart over time
                expect(tiles).to_contain_text("Cost$0.0011")
                cost_chart = page.get_by_role("img", name="Cost", exact=True)
                expect(cost_chart).to_be_visible()
                first_bar = cost_chart.locator("g.tg-ov-bar title").first
                expect(first_bar).to_contain_text("Cost: $0.0000021")  # 10 tokens in, 1 out
            row = page.get_by_role("row", name="gpt-4o-mini")
            cost = "$0.0011" if PRICED else "\u2013"
            expect(row.get_by_role("cell")).to_have_text(["10", "0", "5250", "525", cost, "180 ms", "1.50 s", "1.50 s"])
            claude_cost = page.get_by_role("row", name="claude-sonnet-4-5").get_by_role("cell").nth(4)
            expect(claude_cost).to_have_text("\u2013")  # no cost: an en dash
            # 2 h 4 min in 5-minute buckets: 25 bars, each with its figures as a tooltip.
            bars = page.get_by_role("img", name="Requests", exact=True).locator("g.tg-ov-bar")
            expect(bars).to_have_count(25)
            expect(bars.nth(0).locator("title")).to_contain_text("OK: 1\nError: 0")
            expect(bars.nth(2).locator("title")).to_contain_text("OK: 0\nError: 1")  # the failed trace at 12 min
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            page.goto(url(server, f"/?experiment={hostile_id}&tab=overview"))
            expect(page.get_by_role("row", name=HOSTILE_MODEL)).to_be_visible()
            # Nothing priced there: no cost tile, no cost chart.
            expect(page.locator(".tg-ov-tiles")).not_to_contain_text("Cost")
            expect(page.get_by_role("img", name="Cost", exact=True)).to_have_count(0)
            assert page.evaluate("() => window.__pwned") is None
            assert page.locator(".tg-ov img").count() == 0
            assert problems == []
        finally:
            browser.close()
