"""Conformance of what Telemetry emits with the official model (GenAI repo main @a685613a, in fixtures/)."""

from __future__ import annotations

from typing import Any

import pytest
import traceglass.semconv._names as N
from opentelemetry.sdk.metrics.export import HistogramDataPoint
from opentelemetry.trace import SpanKind
from semconv_kit import Pipelines, embeddings_invocation, rich_invocation
from semconv_spec import (
    CONTENT_KEYS,
    event_definition,
    late_2026_names,
    load_yaml,
    metric_definition,
    registry,
    requirement,
    resolve_refs,
    span_definition,
    type_errors,
)
from traceglass.semconv import Invocation

SCHEMA_URL = "https://opentelemetry.io/schemas/gen-ai-dev/1.42.0-dev"
# Digest §4: advised explicit bucket boundaries.
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864]
INSTRUMENTS = {
    "gen_ai.client.operation.duration": ("s", DURATION_BUCKETS),
    "gen_ai.client.token.usage": ("{token}", TOKEN_BUCKETS),
    "gen_ai.client.operation.time_to_first_chunk": ("s", DURATION_BUCKETS),
}


def _run(kit: Pipelines, invocation: Invocation, error: BaseException | None = None, capture: str = "SPAN_AND_EVENT"
         ) -> None:
    handle = kit.telemetry(capture_content=capture).start(invocation)
    if invocation.stream:
        handle.first_chunk()
    if error is None:
        handle.finish()
    else:
        handle.fail(error)


@pytest.fixture
def emitted(kit: Pipelines) -> Pipelines:
    """One successful rich streamed chat, one failed one, one embeddings call; content on span and event."""
    _run(kit, rich_invocation())
    _run(kit, rich_invocation(response_id=None, output_messages=[]), error=TimeoutError("read timed out"))
    _run(kit, embeddings_invocation())
    return kit


def test_fixture_manifest_is_the_schema_url_we_set() -> None:
    assert load_yaml("manifest.yaml")["schema_url"] == SCHEMA_URL == N.SCHEMA_URL


def test_late_2026_block_holds_the_names_ahead_of_the_snapshot() -> None:
    late = late_2026_names()
    assert "gen_ai.usage.cache_write.input_tokens" in late
    # The snapshot still has the old name: what we emit instead must not be silently registered.
    assert "gen_ai.usage.cache_write.input_tokens" not in registry()
    assert "gen_ai.usage.cache_creation.input_tokens" in registry()


def test_span_attributes_are_registered_with_their_types(emitted: Pipelines) -> None:
    spans = emitted.spans()
    assert len(spans) == 3
    for span in spans:
        assert type_errors(dict(span.attributes or {})) == [], span.name
    chat = spans[0]
    assert N.USAGE_CACHE_WRITE_INPUT_TOKENS in (chat.attributes or {})
    assert set(CONTENT_KEYS) <= set(chat.attributes or {})


def test_whole_number_doubles_keep_their_registered_type(kit: Pipelines) -> None:
    # temperature=0, top_p=1: what callers write, as Python ints.
    _run(kit, rich_invocation(temperature=0, top_p=1, frequency_penalty=0, presence_penalty=2))
    span = kit.span()
    assert type_errors(dict(span.attributes or {})) == []
    (record,) = kit.logs()
    assert type_errors(dict(record.log_record.attributes or {}), structured_content=True) == []
    assert (span.attributes or {})["gen_ai.request.presence_penalty"] == 2.0


def test_event_attributes_are_registered_with_structured_content(emitted: Pipelines) -> None:
    records = emitted.logs()
    assert len(records) == 2  # one per inference; embeddings carry no content event
    for record in records:
        attributes = dict(record.log_record.attributes or {})
        assert type_errors(attributes, structured_content=True) == []


def test_event_carries_only_inference_span_attributes(emitted: Pipelines) -> None:
    definition = event_definition(N.DETAILS_EVENT)
    allowed = set(resolve_refs(definition["attributes"])) | set(span_definition(
        "gen_ai.inference.client", "openai.inference.client")) | late_2026_names()
    for record in emitted.logs():
        assert set(record.log_record.attributes or {}) - allowed == set()


def test_inference_span_attributes_belong_to_the_span_definition(emitted: Pipelines) -> None:
    allowed = set(span_definition("gen_ai.inference.client", "openai.inference.client")) | late_2026_names()
    for span in emitted.spans()[:2]:
        assert set(span.attributes or {}) - allowed == set()


def test_embeddings_span_attributes_belong_to_the_span_definition(emitted: Pipelines) -> None:
    span = emitted.spans()[2]
    assert set(span.attributes or {}) - set(span_definition("gen_ai.embeddings.client")) == set()
    assert span.name == "embeddings text-embedding-3-small"
    assert span.attributes is not None and span.attributes["gen_ai.request.encoding_formats"] == ("float",)


def test_inference_span_has_required_and_applicable_conditional_attributes(emitted: Pipelines) -> None:
    ok, failed = emitted.spans()[:2]
    definition = span_definition("gen_ai.inference.client", "openai.inference.client")
    required = {key for key, props in definition.items() if requirement(props) == "required"}
    # request.model is conditionally required in general, required by the OpenAI refinement.
    assert {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model"} <= required
    # Conditionally required ones whose condition holds for rich_invocation(): request has them.
    applicable = {
        "server.port", "gen_ai.conversation.id", "gen_ai.output.type",
        "gen_ai.request.choice.count", "gen_ai.request.seed", "gen_ai.request.top_k", "gen_ai.request.stream",
        "openai.request.service_tier", "openai.response.service_tier",
    }
    conditional = {key for key, props in definition.items() if requirement(props) == "conditionally_required"}
    assert applicable <= conditional
    for span in (ok, failed):
        assert required | applicable <= set(span.attributes or {})
    assert "error.type" not in (ok.attributes or {})
    assert (failed.attributes or {})["error.type"] == "TimeoutError"


def test_recommended_response_and_usage_attributes(emitted: Pipelines) -> None:
    attributes = emitted.spans()[0].attributes or {}
    assert attributes["gen_ai.response.id"] == "chatcmpl-123"
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    assert attributes["gen_ai.response.finish_reasons"] == ("stop", "tool_call")
    assert attributes["gen_ai.usage.input_tokens"] == 100
    assert attributes["gen_ai.usage.output_tokens"] == 40
    assert attributes["gen_ai.usage.cache_read.input_tokens"] == 30
    assert attributes["gen_ai.usage.cache_write.input_tokens"] == 5
    assert attributes["gen_ai.usage.reasoning.output_tokens"] == 12
    assert "gen_ai.usage.cache_creation.input_tokens" not in attributes


@pytest.mark.parametrize(("span_type", "invocation"), [
    ("gen_ai.inference.client", rich_invocation),
    ("gen_ai.embeddings.client", embeddings_invocation),
])
def test_sampling_relevant_attributes_are_set_at_span_start(kit: Pipelines, span_type: str, invocation: Any) -> None:
    sampling = {key for key, props in span_definition(span_type).items() if props.get("sampling_relevant")}
    assert sampling == {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model",
                        "server.address", "server.port"}
    inv: Invocation = invocation()
    kit.telemetry().start(inv).finish()
    (at_start,) = kit.snapshot.at_start
    assert {key: at_start.get(key) for key in sampling} == {
        "gen_ai.operation.name": inv.operation, "gen_ai.provider.name": inv.provider,
        "gen_ai.request.model": inv.request_model, "server.address": "api.openai.com", "server.port": 443,
    }
    # Nothing that is only known after the response is there yet.
    assert not {"gen_ai.response.id", "gen_ai.response.model", "gen_ai.usage.input_tokens"} & set(at_start)


def test_span_name_and_kind(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    for operation, model in (("chat", "gpt-4o"), ("text_completion", "davinci-002"), ("generate_content", "g-1")):
        telemetry.start(Invocation(operation, "openai", model)).finish()
    telemetry.start(Invocation("chat", "openai")).finish()  # model unknown: the name is the operation
    assert [(s.name, s.kind) for s in kit.spans()] == [
        ("chat gpt-4o", SpanKind.CLIENT), ("text_completion davinci-002", SpanKind.CLIENT),
        ("generate_content g-1", SpanKind.CLIENT), ("chat", SpanKind.CLIENT),
    ]


def test_server_port_only_with_server_address(kit: Pipelines) -> None:
    kit.telemetry().start(Invocation("chat", "openai", "m", server_port=8080)).finish()
    assert "server.port" not in (kit.span().attributes or {})
    assert "server.port" not in kit.points("gen_ai.client.operation.duration")[0].attributes


def test_metric_names_units_and_buckets(emitted: Pipelines) -> None:
    metrics = emitted.metrics()
    assert set(metrics) == set(INSTRUMENTS)
    for name, (unit, buckets) in INSTRUMENTS.items():
        definition = metric_definition(name)
        assert definition["instrument"] == "histogram"
        assert metrics[name].unit == definition["unit"] == unit
        points = metrics[name].data.data_points
        assert points
        for point in points:
            assert isinstance(point, HistogramDataPoint)
            assert list(point.explicit_bounds) == buckets


def test_metric_attributes_are_declared_for_their_metric(emitted: Pipelines) -> None:
    for name, metric in emitted.metrics().items():
        declared = set(resolve_refs(metric_definition(name)["attributes"]))
        for point in metric.data.data_points:
            attributes = dict(point.attributes)
            assert type_errors(attributes) == []
            # error.type too: metrics.yaml declares it on the duration metric only.
            assert set(attributes) - declared == set(), name


def test_schema_url_on_every_scope(emitted: Pipelines) -> None:
    for span in emitted.spans():
        assert span.instrumentation_scope is not None
        assert span.instrumentation_scope.schema_url == SCHEMA_URL
    scopes = emitted.scope_metrics()
    assert scopes
    for scope in scopes:
        assert scope.schema_url == SCHEMA_URL
        assert scope.scope.schema_url == SCHEMA_URL
    for record in emitted.logs():
        assert record.instrumentation_scope is not None
        assert record.instrumentation_scope.schema_url == SCHEMA_URL


def test_the_checks_themselves_reject_bad_attributes() -> None:
    # Guards against vacuous passes of the tests above.
    assert type_errors({"gen_ai.request.temperature": 1}) != []  # int is not double
    assert type_errors({"gen_ai.request.max_tokens": True}) != []  # bool is not int
    assert type_errors({"gen_ai.request.stop_sequences": "END"}) != []  # str is not string[]
    assert type_errors({"gen_ai.usage.cache_write.input_tokens": "5"}) != []
    assert type_errors({"gen_ai.input.messages": [{"role": "user"}]}) != []  # structured on a span
    assert type_errors({"gen_ai.system": "openai"}) != []  # deprecated, not in the registry
    assert type_errors({"server.port": 443, "error.type": "_OTHER", "gen_ai.request.stream": True}) == []
