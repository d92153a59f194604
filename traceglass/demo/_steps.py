"""The demo's steps: real SDK clients, pointed at the replay server, doing what an application does.

Each step returns a short note for the progress line. The SDKs are imported inside the steps, so
a step whose SDK is missing is skipped (see `Step.requires`) without the others noticing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import json
import secrets
from collections.abc import Callable
from typing import Any

import traceglass
from traceglass import SpanType
from traceglass.demo._replay import Replay
from traceglass.demo._replies import AGENT_SYSTEM, WEATHER

__all__ = ["STEPS", "Step"]

# Sent only to the replay server; the SDKs refuse to start without a key.
_API_KEY = "demo-key-replay-only"


@dataclasses.dataclass(frozen=True)
class Step:
    title: str
    run: Callable[[Replay], str]
    requires: tuple[tuple[str, str], ...] = (("openai", "openai"),)  # (import name, pip package)


def _openai(replay: Replay, scenario: str) -> Any:
    import openai

    # trust_env=False: an HTTP(S)_PROXY in the environment must not route loopback traffic away.
    # max_retries=0: the rate-limit step should fail once, not back off and retry.
    return openai.OpenAI(base_url=replay.base_url(scenario) + "/v1", api_key=_API_KEY, max_retries=0,
                         http_client=openai.DefaultHttpxClient(trust_env=False))


def openai_chat(replay: Replay) -> str:
    with _openai(replay, "chat") as client:
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "You are a concise travel assistant. Answer with a short list."},
                {"role": "user", "content": "What should I pack for three days in Lisbon in March?"},
            ],
            temperature=0.3,
            max_tokens=300,
        )
    return f"{completion.usage.total_tokens} tokens"


def openai_stream(replay: Replay) -> str:
    with _openai(replay, "stream") as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Write a haiku about following a slow request through its trace."}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk for chunk in stream]
    return f"{sum(1 for chunk in chunks if chunk.choices)} chunks"


_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@traceglass.trace(span_type=SpanType.TOOL)
def get_weather(city: str) -> dict[str, Any]:
    """The agent's tool; a real one would call a weather service."""
    return {**WEATHER, "city": city}


def agent(replay: Replay) -> str:
    """A hand-written tool-calling loop: model -> tool -> model, under one agent span."""
    question = "Is this afternoon good for a walk along the river in Lisbon?"
    tools = {"get_weather": get_weather}
    with _openai(replay, "agent") as client, traceglass.start_span("travel-agent", span_type=SpanType.AGENT) as span:
        span.set_inputs({"question": question})
        traceglass.update_current_trace(session_id=f"demo-{secrets.token_hex(4)}", user_id="demo-user",
                                        tags=["demo"])
        messages: list[dict[str, Any]] = [{"role": "system", "content": AGENT_SYSTEM},
                                          {"role": "user", "content": question}]
        calls = 0
        for _ in range(4):  # an agent loop bounds its model calls
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                   tools=[_WEATHER_TOOL]).choices[0].message
            if not reply.tool_calls:
                break
            messages.append({"role": "assistant", "content": reply.content,
                             "tool_calls": [call.model_dump() for call in reply.tool_calls]})
            for call in reply.tool_calls:
                result = tools[call.function.name](**json.loads(call.function.arguments))
                messages.append({"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)})
                calls += 1
        span.set_outputs(reply.content)
    return f"{calls} tool call(s)"


def langchain_chain(replay: Replay) -> str:
    """prompt | chat model | parser. The chat model is langchain-openai's ChatOpenAI when it is
    installed; else a small chat model over the OpenAI client, so langchain-core alone is enough."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    prompt = ChatPromptTemplate.from_messages([
        ("system", "Translate the user's text into {language}. Answer with the translation only."),
        ("user", "{text}"),
    ])
    with contextlib.ExitStack() as closing:
        chain = prompt | _chat_model(replay, closing) | StrOutputParser()
        translation = chain.invoke({"language": "French", "text": "Where is the nearest train station, please?"})
    return f"{len(translation)} characters"


def _chat_model(replay: Replay, closing: contextlib.ExitStack) -> Any:
    """A LangChain chat model answered by the replay; its HTTP clients close with `closing`."""
    import openai

    if importlib.util.find_spec("langchain_openai") is not None:
        from langchain_openai import ChatOpenAI

        http_client = closing.enter_context(openai.DefaultHttpxClient(trust_env=False))
        return ChatOpenAI(model="gpt-4o-mini", temperature=0, base_url=replay.base_url("chain") + "/v1",
                          api_key=_API_KEY, max_retries=0, http_client=http_client)  # type: ignore[arg-type]
    from traceglass.demo._langchain import OpenAIClientChatModel

    return OpenAIClientChatModel(client=closing.enter_context(_openai(replay, "chain")))


def anthropic_message(replay: Replay) -> str:
    import anthropic

    with anthropic.Anthropic(base_url=replay.base_url("anthropic"), api_key=_API_KEY, max_retries=0,
                             http_client=anthropic.DefaultHttpxClient(trust_env=False)) as client:
        message = client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=256,
            system="You are a meticulous copy editor. Reply with the corrected sentence only.",
            messages=[{"role": "user", "content": "Their going to the museum tomorow, weather or not it rains."}],
        )
    return f"stop reason {message.stop_reason}"


def rate_limited(replay: Replay) -> str:
    import openai

    with _openai(replay, "error") as client:
        try:
            client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user",
                           "content": "Summarise the attached 300-page annual report in five bullets."}],
            )
        except openai.RateLimitError as exc:
            return f"{type(exc).__name__} (HTTP {exc.status_code}), as scripted"
    raise RuntimeError("the replay's 429 answer did not raise RateLimitError")


STEPS = (
    Step("OpenAI chat", openai_chat),
    Step("streamed answer", openai_stream),
    Step("tool-calling agent", agent),
    Step("LangChain chain", langchain_chain, (("openai", "openai"), ("langchain_core", "langchain-core"))),
    Step("Anthropic message", anthropic_message, (("anthropic", "anthropic"),)),
    Step("rate-limited call", rate_limited),
)
