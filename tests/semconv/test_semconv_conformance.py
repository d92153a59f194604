"""Conformance of what Telemetry emits with the official model (GenAI repo main @a685613a, in fixtures/)."""

from __future__ import annotations

from typing import Any

import pytest
import traceglass.semconv._names as N
from opentelemetry.sdk.metrics.export import HistogramDataPoint
from opentelemetry.trace import SpanKind
from semconv_kit import Pipelines, embeddings_invocation, fetch_invocation, rich_invocation
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
from traceglass.semconv import Invocation, Usage

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


# --- fetch_response (spans.yaml gen_ai.fetch_response.client, refined by openai.fetch_response.client) ---

FETCH_SPAN = ("gen_ai.fetch_response.client", "openai.fetch_response.client")


def test_fetch_response_span_name_kind_and_attributes(kit: Pipelines) -> None:
    _run(kit, fetch_invocation())
    span = kit.span()
    # The response id is high cardinality: the name is the operation alone.
    assert (span.name, span.kind) == ("fetch_response", SpanKind.CLIENT)
    attributes = dict(span.attributes or {})
    assert type_errors(attributes) == []
    definition = span_definition(*FETCH_SPAN)
    assert set(attributes) - set(definition) == set()
    required = {key for key, props in definition.items() if requirement(props) == "required"}
    assert required == {"gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.response.id"}
    # Conditionally required ones whose condition holds: a resumed stream, a service tier returned.
    applicable = {"server.port", "gen_ai.request.stream_cursor", "openai.response.service_tier"}
    assert applicable <= {key for key, props in definition.items() if requirement(props) == "conditionally_required"}
    assert required | applicable <= set(attributes)
    assert {key: attributes[key] for key in (
        "gen_ai.operation.name", "gen_ai.response.id", "gen_ai.request.stream_cursor", "gen_ai.response.status",
        "gen_ai.response.finish_reasons", "openai.api.type")} == {
        "gen_ai.operation.name": "fetch_response", "gen_ai.response.id": "resp_abc123",
        "gen_ai.request.stream_cursor": "42", "gen_ai.response.status": "completed",
        "gen_ai.response.finish_reasons": ("stop",), "openai.api.type": "responses"}
    # Opt-in content: what a stored response carries, never the input it was made from.
    assert {N.SYSTEM_INSTRUCTIONS, N.OUTPUT_MESSAGES, N.TOOL_DEFINITIONS} <= set(attributes)
    assert N.INPUT_MESSAGES not in attributes


def test_fetch_response_status_values_are_the_registered_enum(kit: Pipelines) -> None:
    members = {m["value"] for a in load_yaml("gen-ai/registry.yaml")["attributes"]
               if a["key"] == N.RESPONSE_STATUS for m in a["type"]["members"]}
    assert members == {"queued", "in_progress", "completed", "incomplete", "failed", "cancelled"}
    telemetry = kit.telemetry()
    for status in sorted(members):
        telemetry.start(fetch_invocation(response_status=status, finish_reasons=None, output_messages=[])).finish()
    telemetry.start(fetch_invocation(response_status=None, finish_reasons=None, output_messages=[])).finish()
    statuses = [(s.attributes or {}).get(N.RESPONSE_STATUS) for s in kit.spans()]
    assert statuses == [*sorted(members), None]


def test_fetch_response_sampling_relevant_attributes_are_set_at_span_start(kit: Pipelines) -> None:
    definition = span_definition(*FETCH_SPAN)
    sampling = {key for key, props in definition.items() if props.get("sampling_relevant")}
    assert sampling == {"gen_ai.operation.name", "gen_ai.provider.name", "server.address", "server.port"}
    kit.telemetry().start(fetch_invocation()).finish()
    (at_start,) = kit.snapshot.at_start
    assert {key: at_start.get(key) for key in sampling} == {
        "gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
        "server.address": "api.openai.com", "server.port": 443}
    # The request names the response (required) and the cursor; the rest comes with the answer.
    assert (at_start["gen_ai.response.id"], at_start["gen_ai.request.stream_cursor"]) == ("resp_abc123", "42")
    assert not {"gen_ai.response.status", "gen_ai.response.model", "gen_ai.request.model"} & set(at_start)


def test_fetch_response_reports_no_usage_and_no_time_to_first_chunk(kit: Pipelines) -> None:
    # Registry: "Instrumentations SHOULD NOT report token usage (as attributes or metrics) for this
    # operation", even when the provider's response holds the usage of the original generation.
    _run(kit, fetch_invocation(usage=Usage.normalized(100, 40, cache_read=30, reasoning=12)))
    attributes = dict(kit.span().attributes or {})
    assert not [key for key in attributes if key.startswith("gen_ai.usage.")]
    assert N.RESPONSE_TIME_TO_FIRST_CHUNK not in attributes  # nothing is generated
    metrics = kit.metrics()
    assert set(metrics) == {N.METRIC_OPERATION_DURATION}
    (point,) = kit.points(N.METRIC_OPERATION_DURATION)
    declared = set(resolve_refs(metric_definition(N.METRIC_OPERATION_DURATION)["attributes"]))
    assert set(point.attributes) <= declared and type_errors(dict(point.attributes)) == []
    assert dict(point.attributes) == {"gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
                                      "gen_ai.response.model": "gpt-4o-2024-08-06",
                                      "server.address": "api.openai.com", "server.port": 443}


def test_fetch_response_has_no_inference_details_event(kit: Pipelines) -> None:
    _run(kit, fetch_invocation(), capture="SPAN_AND_EVENT")
    assert kit.logs() == []
    assert N.OUTPUT_MESSAGES in (kit.span().attributes or {})


def test_fetch_response_failure(kit: Pipelines) -> None:
    _run(kit, fetch_invocation(response_model=None, response_status=None, finish_reasons=None, output_messages=[],
                               system_instructions=[], tool_definitions=[], attributes={}),
         error=TimeoutError("read timed out"))
    span = kit.span()
    attributes = dict(span.attributes or {})
    assert set(attributes) - set(span_definition(*FETCH_SPAN)) == set()
    assert (attributes["error.type"], attributes["gen_ai.response.id"]) == ("TimeoutError", "resp_abc123")
    (point,) = kit.points(N.METRIC_OPERATION_DURATION)
    assert point.attributes["error.type"] == "TimeoutError"


def test_fetch_response_from_a_plain_invocation(kit: Pipelines) -> None:
    # An adapter may describe a fetch with the base record: it has no cursor nor status to report.
    kit.telemetry().start(Invocation("fetch_response", "openai", response_id="resp_1",
                                     usage=Usage(input_tokens=5))).finish()
    span = kit.span()
    assert span.name == "fetch_response"
    assert dict(span.attributes or {}) == {"gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
                                           "gen_ai.response.id": "resp_1"}
    assert set(kit.metrics()) == {N.METRIC_OPERATION_DURATION}


def test_fetch_response_is_not_merged_into_an_enclosing_inference(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    outer = telemetry.start(rich_invocation(), enrichable=True)
    inner = telemetry.start(fetch_invocation(), context=outer.context())
    inner.finish()
    outer.finish()
    fetch, chat = kit.spans()
    assert (fetch.name, chat.name) == ("fetch_response", "chat gpt-4o")
    assert fetch.parent is not None and fetch.parent.span_id == chat.context.span_id
    assert N.RESPONSE_STATUS not in (chat.attributes or {})


def test_the_checks_themselves_reject_bad_attributes() -> None:
    # Guards against vacuous passes of the tests above.
    assert type_errors({"gen_ai.request.temperature": 1}) != []  # int is not double
    assert type_errors({"gen_ai.request.max_tokens": True}) != []  # bool is not int
    assert type_errors({"gen_ai.request.stop_sequences": "END"}) != []  # str is not string[]
    assert type_errors({"gen_ai.usage.cache_write.input_tokens": "5"}) != []
    assert type_errors({"gen_ai.input.messages": [{"role": "user"}]}) != []  # structured on a span
    assert type_errors({"gen_ai.system": "openai"}) != []  # deprecated, not in the registry
    assert type_errors({"server.port": 443, "error.type": "_OTHER", "gen_ai.request.stream": True}) == []
