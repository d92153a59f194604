"""What a model call leaves current in the caller's context: nothing, whether it streams, runs async,
fails or is stopped early. Otherwise the application's next model call, or its own spans, would be
recorded inside a model run that is over (or, while a stream is read, merged into it)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from traceglass.instrumentors.langchain import LangChainInstrumentor
from traceglass.instrumentors.openai import OpenAIInstrumentor

from tests.instrumentors.langchain._helpers import CHAT_CALL, DURATION, STREAM, attrs, chat_model, inference_spans, tree

ORDERS = ["langchain_only", "provider_first", "langchain_first"]
COMPLETION = {"id": "cmpl-1", "object": "text_completion", "created": 1751120168, "model": "gpt-3.5-turbo-instruct",
              "choices": [{"text": " Paris.", "index": 0, "logprobs": None, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}


def _instrument(instrument: Any, order: str) -> None:
    if order == "provider_first":
        instrument(OpenAIInstrumentor)
    instrument(LangChainInstrumentor)
    if order == "langchain_first":
        instrument(OpenAIInstrumentor)


def _nothing_current() -> bool:
    return trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.parametrize("order", ORDERS)
def test_a_model_called_while_another_streams_has_its_own_span(replay: Any, otel: Any, instrument: Any,
                                                               order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(STREAM)
    replay.load_cassette(CHAT_CALL)
    checker = chat_model(replay)

    verdicts = []
    for i, _chunk in enumerate(chat_model(replay, model="gpt-4").stream("Tell me a joke")):
        if i == 0:  # the application's own code, between two chunks
            verdicts.append(checker.invoke("Is this chunk fine?").content)

    assert verdicts == ["The capital of France is Paris."]
    assert sorted(tree(otel)) == [("chat gpt-3.5-turbo", []), ("chat gpt-4", [])]
    by_name = {s.name: attrs(s) for s in inference_spans(otel)}
    assert by_name["chat gpt-3.5-turbo"]["gen_ai.response.model"] == "gpt-3.5-turbo-0125"
    assert by_name["chat gpt-4"]["gen_ai.response.model"] == "gpt-4-0613"
    assert by_name["chat gpt-4"]["gen_ai.request.stream"] is True
    assert sum(point.count for point in otel.metrics()[DURATION]) == 2


@pytest.mark.parametrize("order", ORDERS)
def test_sequential_async_model_calls_are_separate_traces(replay: Any, otel: Any, instrument: Any,
                                                          order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(CHAT_CALL)  # the last interaction repeats
    after: list[bool] = []

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            model = chat_model(replay, http_async_client=client)
            await model.ainvoke("first")
            after.append(_nothing_current())
            await model.ainvoke("second")
            after.append(_nothing_current())

    asyncio.run(main())

    assert after == [True, True]
    assert tree(otel) == [("chat gpt-3.5-turbo", []), ("chat gpt-3.5-turbo", [])]


@pytest.mark.parametrize("order", ["langchain_only", "provider_first"])
def test_a_failed_async_model_call_leaves_nothing_current(replay: Any, otel: Any, instrument: Any,
                                                         order: str) -> None:
    _instrument(instrument, order)
    replay.add("POST", "/v1/chat/completions", 500, {"error": {"message": "boom", "type": "server_error"}})
    after: list[bool] = []

    async def main() -> None:
        async with httpx.AsyncClient() as client:
            with pytest.raises(Exception, match="boom"):
                await chat_model(replay, http_async_client=client).ainvoke("first")
            after.append(_nothing_current())

    asyncio.run(main())

    assert after == [True]
    [span] = otel.spans()
    assert span.status.status_code is StatusCode.ERROR


@pytest.mark.parametrize("order", ORDERS)
def test_async_stream_stopped_early_leaves_nothing_current(replay: Any, otel: Any, instrument: Any,
                                                           order: str) -> None:
    _instrument(instrument, order)
    replay.load_cassette(STREAM)
    app = otel.tracer_provider.get_tracer("app")

    async def main() -> bool:
        async with httpx.AsyncClient() as client:
            stream = chat_model(replay, model="gpt-4", http_async_client=client).astream("Tell a joke")
            async for _chunk in stream:
                break
            current = _nothing_current()
            with app.start_as_current_span("after"):
                pass
            await stream.aclose()
            return current

    assert asyncio.run(main())

    [after] = [s for s in otel.spans() if s.name == "after"]
    assert after.parent is None  # not inside the stopped model run
    [chat] = inference_spans(otel)
    assert attrs(chat)["gen_ai.response.finish_reasons"] == ("error",)


@pytest.mark.parametrize("order", ["langchain_only", "provider_first"])
def test_a_retried_async_stream_is_a_new_trace(replay: Any, otel: Any, instrument: Any, order: str) -> None:
    _instrument(instrument, order)
    replay.add("POST", "/v1/chat/completions", 429, {"error": {"message": "slow down", "type": "rate_limit"}})
    replay.load_cassette(STREAM)

    async def main() -> str:
        async with httpx.AsyncClient() as client:
            model = chat_model(replay, model="gpt-4", http_async_client=client)
            try:
                return "".join([str(c.content) async for c in model.astream("Tell a joke")])
            except Exception:  # the application's retry, after the provider refused before any chunk
                assert _nothing_current()
                return "".join([str(c.content) async for c in model.astream("Tell a joke")])

    assert asyncio.run(main())

    assert tree(otel) == [("chat gpt-4", []), ("chat gpt-4", [])]
    failed, retried = sorted(inference_spans(otel), key=lambda s: s.start_time or 0)
    assert failed.status.status_code is StatusCode.ERROR
    assert retried.status.status_code is StatusCode.UNSET
    assert attrs(retried)["gen_ai.response.finish_reasons"] == ("stop",)


@pytest.mark.parametrize("order", ["provider_first", "langchain_first"])
@pytest.mark.parametrize("is_async", [False, True], ids=["invoke", "ainvoke"])
def test_text_llm_call_is_one_inference_span(replay: Any, otel: Any, instrument: Any, order: str,
                                             is_async: bool) -> None:
    from langchain_openai import OpenAI

    _instrument(instrument, order)
    replay.add("POST", "/v1/completions", body=COMPLETION)
    options = {"model": "gpt-3.5-turbo-instruct", "base_url": replay.url("/v1"), "api_key": "test-key",
               "max_retries": 0}

    async def ainvoke() -> str:
        async with httpx.AsyncClient() as client:
            return await OpenAI(**options, http_async_client=client).ainvoke("Capital of France?")

    answer = asyncio.run(ainvoke()) if is_async else OpenAI(**options).invoke("Capital of France?")

    assert answer == " Paris."
    assert tree(otel) == [("text_completion gpt-3.5-turbo-instruct", [])]
    [span] = otel.spans()
    a = attrs(span)
    assert a["gen_ai.response.id"] == "cmpl-1" and a["server.address"] == "127.0.0.1"  # the provider's, merged
    assert otel.metrics()[DURATION][0].count == 1
