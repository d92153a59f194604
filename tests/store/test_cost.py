"""What model calls cost: priced as the store writes them, summed per trace, searched and sorted."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any

import pytest
from traceglass.collector.store import Store
from traceglass.collector.store._cost import PROVIDER_IDS, span_cost
from traceglass.semconv import names as N

from .spans import span, trace_id

genai_prices = pytest.importorskip("genai_prices")

NOV_2026 = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
NOV_2026_NS = int(NOV_2026.timestamp()) * 10**9
START_MS = (NOV_2026_NS - 1_700_000_000_000_000_000) // 1_000_000  # after the test spans' T0


def call(provider: str, model: str, input_tokens: int | None, output_tokens: int | None,
         **attributes: Any) -> dict[str, Any]:
    found = {N.PROVIDER_NAME: provider, N.OPERATION_NAME: "chat", N.REQUEST_MODEL: model, **attributes}
    if input_tokens is not None:
        found[N.USAGE_INPUT_TOKENS] = input_tokens
    if output_tokens is not None:
        found[N.USAGE_OUTPUT_TOKENS] = output_tokens
    return found


def test_a_published_price() -> None:
    # gpt-4o-mini: $0.15 per million input tokens, $0.60 per million output, $0.075 per million cached.
    assert span_cost(call("openai", "gpt-4o-mini", 1000, 100), NOV_2026_NS, 1000, 100) == pytest.approx(0.00021)
    cached = call("openai", "gpt-4o-mini", 1000, 100, **{N.USAGE_CACHE_READ_INPUT_TOKENS: 600})
    assert span_cost(cached, NOV_2026_NS, 1000, 100) == pytest.approx((400 * 0.15 + 600 * 0.075 + 100 * 0.6) / 1e6)


@pytest.mark.parametrize(("provider", "model"), [
    ("openai", "gpt-4o-mini-2024-07-18"), ("openai", "gpt-4.1"), ("openai", "o3"),
    ("anthropic", "claude-sonnet-4-5-20250929"), ("anthropic", "claude-3-5-haiku-20241022"),
    ("aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0"), ("gcp.gemini", "gemini-2.5-pro"),
    ("groq", "llama-3.1-8b-instant"), ("deepseek", "deepseek-chat"), ("x_ai", "grok-4"),
    ("mistral_ai", "mistral-large-latest"), ("azure.ai.openai", "gpt-4o"),
])
def test_the_same_price_as_genai_prices_itself_below_and_beyond_long_context_tiers(provider: str, model: str) -> None:
    rng = random.Random(model)
    for _ in range(60):
        inputs = rng.choice([0, rng.randint(1, 8000), rng.randint(100_000, 1_200_000)])
        outputs = rng.randint(0, 30_000)
        cache_read = rng.randint(0, inputs) if rng.random() < 0.5 else 0
        cache_write = rng.randint(0, inputs - cache_read) if rng.random() < 0.3 else 0
        attributes = call(provider, model, inputs, outputs, **{N.USAGE_CACHE_READ_INPUT_TOKENS: cache_read,
                                                              N.USAGE_CACHE_WRITE_INPUT_TOKENS: cache_write})
        try:
            expected = float(genai_prices.calc_price(
                genai_prices.Usage(input_tokens=inputs, output_tokens=outputs, cache_read_tokens=cache_read,
                                   cache_write_tokens=cache_write),
                model_ref=model, provider_id=PROVIDER_IDS[provider], genai_request_timestamp=NOV_2026).total_price)
        except LookupError:
            expected = None
        got = span_cost(attributes, NOV_2026_NS, inputs, outputs)
        assert got == (None if expected is None else pytest.approx(expected, rel=1e-9, abs=1e-12)), (
            inputs, outputs, cache_read, cache_write)


@pytest.mark.parametrize("hour", [0, 1, 5, 12, 16, 17, 23])
def test_off_peak_prices_follow_the_time_of_day(hour: int) -> None:
    when = datetime(2026, 11, 20, hour, 45, tzinfo=timezone.utc)
    for model in ("deepseek-chat", "deepseek-v4-flash"):
        expected = float(genai_prices.calc_price(genai_prices.Usage(input_tokens=10_000, output_tokens=1000),
                                                 model_ref=model, provider_id="deepseek",
                                                 genai_request_timestamp=when).total_price)
        got = span_cost(call("deepseek", model, 10_000, 1000), int(when.timestamp()) * 10**9, 10_000, 1000)
        assert got == pytest.approx(expected, rel=1e-9)


def test_the_cache_write_count_under_its_earlier_name_is_priced_too() -> None:
    new = call("anthropic", "claude-sonnet-4-5", 10_000, 10, **{N.USAGE_CACHE_WRITE_INPUT_TOKENS: 8000})
    old = call("anthropic", "claude-sonnet-4-5", 10_000, 10, **{"gen_ai.usage.cache_creation.input_tokens": 8000})
    plain = call("anthropic", "claude-sonnet-4-5", 10_000, 10)
    assert span_cost(new, NOV_2026_NS, 10_000, 10) == span_cost(old, NOV_2026_NS, 10_000, 10)
    assert span_cost(new, NOV_2026_NS, 10_000, 10) > span_cost(plain, NOV_2026_NS, 10_000, 10)  # writes cost 1.25x


def test_the_response_model_and_openai_service_tier_choose_the_price() -> None:
    standard = call("openai", "o3", 1_000_000, 1_000_000)
    flex = call("openai", "o3", 1_000_000, 1_000_000, **{N.OPENAI_RESPONSE_SERVICE_TIER: "flex"})
    assert span_cost(flex, NOV_2026_NS, 1_000_000, 1_000_000) == pytest.approx(5.0)  # half the standard price
    assert span_cost(standard, NOV_2026_NS, 1_000_000, 1_000_000) == pytest.approx(10.0)
    # A deployment's name in the request, the model that answered in the response.
    routed = call("openai", "my-router", 1000, 100, **{N.RESPONSE_MODEL: "gpt-4o-mini-2024-07-18"})
    assert span_cost(routed, NOV_2026_NS, 1000, 100) == pytest.approx(0.00021)
    # A snapshot newer than the table: priced as the model asked for.
    newer = call("openai", "gpt-4o-mini", 1000, 100, **{N.RESPONSE_MODEL: "gpt-4o-mini-2099-01-01"})
    assert span_cost(newer, NOV_2026_NS, 1000, 100) == pytest.approx(0.00021)


@pytest.mark.parametrize("attributes", [
    call("ollama", "llama3.2", 100, 10),  # a local server: no price, rather than a hosted model's
    call("vllm", "meta-llama/Llama-3.1-8B-Instruct", 100, 10),
    call("openai", "no-such-model-anywhere", 100, 10),
    {N.USAGE_INPUT_TOKENS: 100, N.USAGE_OUTPUT_TOKENS: 10, N.REQUEST_MODEL: "gpt-4o"},  # no provider
    call("openai", "gpt-4o", None, None),
    {N.PROVIDER_NAME: "openai", N.REQUEST_MODEL: 42, N.USAGE_INPUT_TOKENS: 1},
    call("openai", "gpt-4o", 10, 1, **{N.USAGE_CACHE_READ_INPUT_TOKENS: "many", N.OPENAI_RESPONSE_SERVICE_TIER: 7}),
])
def test_what_cannot_be_priced_has_no_cost_and_never_fails(attributes: dict[str, Any]) -> None:
    cost = span_cost(attributes, NOV_2026_NS, attributes.get(N.USAGE_INPUT_TOKENS),
                     attributes.get(N.USAGE_OUTPUT_TOKENS))
    if attributes.get(N.USAGE_CACHE_READ_INPUT_TOKENS) == "many":  # odd values are read as absent
        assert cost == span_cost(call("openai", "gpt-4o", 10, 1), NOV_2026_NS, 10, 1)
    else:
        assert cost is None


def test_a_trace_costs_what_its_calls_cost_across_batches(store: Store) -> None:
    chat = call("openai", "gpt-4o-mini", 1000, 100)
    store.write_spans([span(1, 1, name="agent", start_ms=START_MS, end_ms=START_MS + 50),
                       span(1, 2, 1, name="chat gpt-4o-mini", start_ms=START_MS + 1, attributes=chat)])
    assert store.get_trace(trace_id(1)).info.cost_usd == pytest.approx(0.00021)
    store.write_spans([span(1, 3, 1, name="chat gpt-4o-mini", start_ms=START_MS + 2, attributes=chat),
                       span(1, 4, 1, name="tool", start_ms=START_MS + 3),
                       span(1, 5, 1, name="chat llama3.2", start_ms=START_MS + 4,
                            attributes=call("ollama", "llama3.2", 500, 50))])
    found = store.get_trace(trace_id(1))
    assert found.info.cost_usd == pytest.approx(0.00042)
    assert found.info.total_tokens == 2 * 1100 + 550
    assert {s.name: s.cost_usd for s in found.spans} == {
        "agent": None, "chat gpt-4o-mini": pytest.approx(0.00021), "tool": None, "chat llama3.2": None}
    exported = found.to_dict()
    assert exported["info"]["cost_usd"] == pytest.approx(0.00042)
    assert exported["spans"][1]["cost_usd"] == pytest.approx(0.00021)
    # Written again (a retried export): stored once, priced once.
    store.write_spans([span(1, 3, 1, name="chat gpt-4o-mini", start_ms=START_MS + 2, attributes=chat)])
    assert store.get_trace(trace_id(1)).info.cost_usd == pytest.approx(0.00042)


def test_spans_of_older_instrumentations_get_their_tokens_and_cost(store: Store) -> None:
    """gen_ai.system and gen_ai.usage.prompt_tokens / completion_tokens: the conventions' names
    before 1.27, which older instrumentations still write."""
    store.write_spans([span(1, 1, name="openai.chat", start_ms=START_MS, attributes={
        "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.usage.prompt_tokens": 1000, "gen_ai.usage.completion_tokens": 100})])
    info = store.get_trace(trace_id(1)).info
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (1000, 100, 1100)
    assert info.cost_usd == pytest.approx(0.00021)


def test_search_filters_and_sorts_by_cost_page_by_page(store: Store) -> None:
    records = [span(n, 1, name=f"chat-{n}", start_ms=START_MS + n,
                    attributes=call("openai", "gpt-4o-mini", 1000 * n, 0)) for n in range(1, 8)]
    records.append(span(8, 1, name="unpriced", start_ms=START_MS + 8, attributes=call("ollama", "llama3.2", 5, 5)))
    store.write_spans(records)

    expensive = store.search_traces(filter_string="trace.cost_usd >= 0.0006")
    assert sorted(t.name for t in expensive.traces) == ["chat-4", "chat-5", "chat-6", "chat-7"]
    assert [t.name for t in store.search_traces(filter_string="cost < 0.0002").traces] == ["chat-1"]

    names, token = [], None
    while True:
        page = store.search_traces(order_by=["cost_usd DESC"], max_results=3, page_token=token)
        names += [t.name for t in page.traces]
        token = page.next_page_token
        if token is None:
            break
    assert names[:7] == [f"chat-{n}" for n in range(7, 0, -1)]
    assert sorted(names) == sorted(t.name for t in store.search_traces().traces)  # the unpriced one too, once


def test_reprice_prices_calls_stored_without_a_cost_and_totals_their_traces(store: Store) -> None:
    from sqlalchemy import update
    from traceglass.collector.store._tables import spans, traces

    chat = call("openai", "gpt-4o-mini", 1000, 100)
    store.write_spans([span(1, 1, name="agent", start_ms=START_MS, end_ms=START_MS + 50),
                       span(1, 2, 1, name="chat", start_ms=START_MS + 1, attributes=chat),
                       span(1, 3, 1, name="chat", start_ms=START_MS + 2, attributes=chat),
                       span(2, 1, name="chat llama3.2", start_ms=START_MS + 3,
                            attributes=call("ollama", "llama3.2", 500, 50))])
    with store.engine.begin() as conn:  # as a store upgraded from before costs were recorded
        conn.execute(update(spans).values(cost_usd=None))
        conn.execute(update(traces).values(cost_usd=None))
    assert store.get_trace(trace_id(1)).info.cost_usd is None

    assert store.reprice(batch_size=2) == (3, 2)  # the three model calls, the two OpenAI ones priced

    first = store.get_trace(trace_id(1))
    assert first.info.cost_usd == pytest.approx(0.00042)
    assert [s.cost_usd for s in first.spans] == [None, pytest.approx(0.00021), pytest.approx(0.00021)]
    assert store.get_trace(trace_id(2)).info.cost_usd is None
    assert store.reprice() == (3, 2)  # again: the same
    assert store.get_trace(trace_id(1)).info.cost_usd == pytest.approx(0.00042)


def test_reprice_counts_calls_whose_token_names_were_not_read_when_stored(store: Store) -> None:
    from sqlalchemy import update
    from traceglass.collector.store._tables import spans, traces

    legacy = {"gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.usage.prompt_tokens": 1000, "gen_ai.usage.completion_tokens": 100}
    store.write_spans([span(1, 1, name="chat", start_ms=START_MS, attributes=legacy)])
    with store.engine.begin() as conn:  # as stored before the older names were read
        conn.execute(update(spans).values(input_tokens=None, output_tokens=None, cost_usd=None))
        conn.execute(update(traces).values(input_tokens=None, output_tokens=None, total_tokens=None,
                                           cost_usd=None))

    assert store.reprice() == (1, 1)

    info = store.get_trace(trace_id(1)).info
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (1000, 100, 1100)
    assert info.cost_usd == pytest.approx(0.00021)
