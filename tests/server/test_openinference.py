"""Spans from OpenInference instrumentations (Arize Phoenix's) sent to `traceglass server` over OTLP:
their tokens, cost, span types, previews and text are read as the GenAI conventions' would be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from traceglass.collector.server import Server

from tests.pricing import PRICED
from tests.server._helpers import StartServer, url, written
from tests.tracking._helpers import published_price

START_NS = 1_767_225_600_000_000_000  # 2026-01-01
QUESTION = {"question": "Which plan includes priority support?"}
ANSWER = "The Business plan includes priority support."
# What openinference-instrumentation-openai records for one chat completion (recorded from a real
# run), under a LangChain-style chain and beside a tool.
LLM_ATTRIBUTES: dict[str, Any] = {
    "openinference.span.kind": "LLM",
    "llm.system": "openai",
    "llm.provider": "openai",
    "input.value": json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "Which plan includes priority support?"}]}),
    "input.mime_type": "application/json",
    "output.value": json.dumps({"id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18", "choices": [
        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}]}),
    "output.mime_type": "application/json",
    "llm.invocation_parameters": json.dumps({"model": "gpt-4o-mini"}),
    "llm.input_messages.0.message.role": "user",
    "llm.input_messages.0.message.content": "Which plan includes priority support?",
    "llm.input_messages.1.message.role": "assistant",
    "llm.input_messages.1.message.tool_calls.0.tool_call.id": "call_7",
    "llm.input_messages.1.message.tool_calls.0.tool_call.function.name": "lookup_plans",
    "llm.input_messages.1.message.tool_calls.0.tool_call.function.arguments": '{"tier": "business"}',
    "llm.input_messages.2.message.role": "tool",
    "llm.input_messages.2.message.content": "priority support, SSO",
    "llm.input_messages.2.message.tool_call_id": "call_7",
    "llm.model_name": "gpt-4o-mini-2024-07-18",
    "llm.token_count.total": 1250,
    "llm.token_count.prompt": 1200,
    "llm.token_count.completion": 50,
    "llm.token_count.prompt_details.cache_read": 1024,
    "llm.output_messages.0.message.role": "assistant",
    "llm.output_messages.0.message.content": ANSWER,
    "llm.finish_reason": "stop",
}


def _send(server: Server) -> str:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url(server))))
    tracer = provider.get_tracer("openinference.instrumentation.langchain")
    try:
        chain = tracer.start_span("RunnableSequence", start_time=START_NS, attributes={
            "openinference.span.kind": "CHAIN", "input.value": json.dumps(QUESTION), "output.value": ANSWER,
            "input.mime_type": "application/json", "session.id": "support-7", "user.id": "dana",
            "tag.tags": ("billing", "beta"), "metadata": json.dumps({"app_version": "2.4.1", "shard": 3})})
        with tracer.start_as_current_span("lookup_plans", start_time=START_NS + 10**6, attributes={
                "openinference.span.kind": "TOOL", "tool.name": "lookup_plans",
                "input.value": '{"tier": "business"}', "output.value": "priority support, SSO"},
                context=_context(chain)) as tool:
            tool.end(end_time=START_NS + 2 * 10**6)
        with tracer.start_as_current_span("ChatCompletion", start_time=START_NS + 3 * 10**6,
                                          attributes=LLM_ATTRIBUTES, context=_context(chain)) as llm:
            llm.end(end_time=START_NS + 900 * 10**6)
        chain.end(end_time=START_NS + 10**9)
    finally:
        provider.shutdown()
    return format(chain.get_span_context().trace_id, "032x")


def _context(span: Any) -> Any:
    from opentelemetry import trace

    return trace.set_span_in_context(span)


def test_openinference_spans_get_tokens_cost_types_previews_and_text(start_server: StartServer) -> None:
    server = start_server()
    trace_id = _send(server)
    store = written(server)

    [info] = store.search_traces().traces
    assert info.trace_id == trace_id and info.name == "RunnableSequence"
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (1200, 50, 1250)
    assert json.loads(info.request_preview or "") == QUESTION
    assert info.response_preview == ANSWER
    assert (info.session_id, info.user_id) == ("support-7", "dana")
    assert info.tags == {"billing": "", "beta": ""}
    assert info.metadata == {"app_version": "2.4.1", "shard": "3"}
    trace = store.get_trace(trace_id)
    assert {span.name: span.span_type for span in trace.spans} == {
        "RunnableSequence": "CHAIN", "lookup_plans": "TOOL", "ChatCompletion": "LLM"}
    llm = next(span for span in trace.spans if span.name == "ChatCompletion")
    assert llm.attributes == LLM_ATTRIBUTES  # stored as sent
    if PRICED:  # 176 uncached and 1,024 cached input tokens, 50 output, at gpt-4o-mini's prices
        expected = published_price("openai", "gpt-4o-mini-2024-07-18", 1200, 50, START_NS)
        assert expected > 0
        assert llm.cost_usd == pytest.approx((176 * 0.15 + 1024 * 0.075 + 50 * 0.6) / 1e6)
        assert info.cost_usd == llm.cost_usd

    for query in ("span.type = 'LLM'", "trace.text LIKE '%priority support%'", "tag.billing = ''",
                  "metadata.app_version = '2.4.1'",
                  "span.attributes.`input.value` LIKE '%business%'"):
        assert [t.trace_id for t in store.search_traces(filter_string=query).traces] == [trace_id], query
    overview = store.overview(info.experiment_id, None, None, 10, True)
    assert [(m.model, m.requests, m.input_tokens) for m in overview.models] == [("gpt-4o-mini-2024-07-18", 1, 1200)]


def test_the_trace_view_shows_their_conversation_inputs_and_outputs(start_server: StartServer) -> None:
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip("chromium is not installed (apt-get install chromium)")
    server = start_server()
    trace_id = _send(server)
    store = written(server)
    trace = store.get_trace(trace_id)
    llm = next(span for span in trace.spans if span.name == "ChatCompletion")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium))
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(url(server, f"/?experiment={trace.info.experiment_id}&trace={trace_id}&span={llm.span_id}"))
            # Its flattened messages (llm.input_messages.0.message.role ...) read as a conversation.
            playwright.expect(page.get_by_role("tab", name="Chat")).to_have_attribute("aria-selected", "true")
            chat = page.get_by_role("list", name="Conversation")
            playwright.expect(chat.locator("li").nth(0)).to_contain_text("Which plan includes priority support?")
            playwright.expect(chat.locator("li").nth(1)).to_contain_text("Tool call lookup_plans")
            playwright.expect(chat.locator("li").nth(1)).to_contain_text('"tier": "business"')
            playwright.expect(chat.locator("li").nth(2)).to_contain_text("priority support, SSO")
            playwright.expect(chat.locator("li").nth(3)).to_contain_text(ANSWER)
            page.get_by_role("tab", name="Inputs / Outputs").click()
            panel = page.get_by_role("tabpanel", name="Inputs / Outputs")
            playwright.expect(panel).to_contain_text("Which plan includes priority support?")
            playwright.expect(panel).to_contain_text(ANSWER)
            head = page.locator(".tgv-span-head")
            playwright.expect(head).to_contain_text("ChatCompletion")
            if PRICED:
                playwright.expect(head).to_contain_text("$0.00013")
        finally:
            browser.close()
