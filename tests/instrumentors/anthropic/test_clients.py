"""The clients the Messages resources are shared by: gen_ai.provider.name by client class, server
address from the client's base URL, and the provider_name override."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.instrumentors.anthropic._helpers import HELLO, chat_span, instrument_anthropic, message_body


@pytest.mark.parametrize(("client_cls", "options", "provider", "path"), [
    (anthropic.AnthropicBedrock, {"api_key": "k", "aws_region": "us-east-1"}, "aws.bedrock", "/model/m/invoke"),
    (anthropic.AnthropicVertex, {"region": "us-east5", "project_id": "p", "access_token": "t"}, "gcp.vertex_ai",
     "/projects/p/locations/us-east5/publishers/anthropic/models/m:rawPredict"),
], ids=["bedrock", "vertex"])
def test_platform_clients(client_cls: Any, options: dict[str, Any], provider: str, path: str, replay: Any,
                          otel: Any, instrument: Any) -> None:
    replay.add("POST", path, body=message_body())
    instrument_anthropic(instrument)

    with client_cls(base_url=replay.url(""), max_retries=0, **options) as client:
        client.messages.create(model="m", max_tokens=10, messages=HELLO)

    attrs = chat_span(otel).attributes
    assert (attrs["gen_ai.provider.name"], attrs["server.address"], attrs["server.port"]) == (
        provider, "127.0.0.1", replay.port)



def test_provider_name_override(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    """A gateway in front of Claude: the user names the provider."""
    replay.add("POST", "/v1/messages", body=message_body())
    instrument_anthropic(instrument, provider_name="my_gateway")

    anthropic_client().messages.create(model="m", max_tokens=10, messages=HELLO)

    assert chat_span(otel).attributes["gen_ai.provider.name"] == "my_gateway"
