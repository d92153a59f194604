"""Trace rows: aggregates recomputed from the stored spans, whatever order the spans arrive in."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from traceglass.collector.store import Store, TraceInfo
from traceglass.collector.store._tables import span_attributes, spans
from traceglass.semconv import names as N

from .spans import T0, span, trace_id


def _info(store: Store, trace: int = 1) -> TraceInfo:
    found = store.get_trace(trace_id(trace))
    assert found is not None
    return found.info


def test_in_progress_until_the_root_arrives(store: Store) -> None:
    store.write_spans([span(1, 2, 1, start_ms=10, end_ms=30), span(1, 3, 1, start_ms=20, end_ms=50)])
    info = _info(store)
    assert info.status == "IN_PROGRESS"
    assert info.name is None
    assert (info.timestamp_ms, info.end_ms) == (T0 // 1_000_000 + 10, T0 // 1_000_000 + 50)
    assert info.execution_time_ms == 40  # latest end - earliest start, without a root
    assert info.span_count == 2

    store.write_spans([span(1, 1, name="agent", start_ms=0, end_ms=100, status_code="OK")])
    info = _info(store)
    assert (info.status, info.name, info.span_count) == ("OK", "agent", 3)
    assert info.timestamp_ms == T0 // 1_000_000
    assert info.execution_time_ms == 100  # the root's duration


def test_error_status_comes_from_the_root(store: Store) -> None:
    store.write_spans([span(1, 1, status_code="UNSET"), span(1, 2, 1, status_code="ERROR")])
    assert _info(store).status == "OK"  # a failed child the root recovered from
    store.write_spans([span(2, 1, status_code="ERROR", status_message="failed")])
    assert _info(store, 2).status == "ERROR"


def test_previews_from_the_root(store: Store) -> None:
    long_input = "q" * 5000
    store.write_spans(
        [
            span(1, 2, 1, attributes={N.SPAN_INPUTS: "child input", N.SPAN_OUTPUTS: "child output"}),
            span(1, 1, attributes={N.SPAN_INPUTS: long_input, N.OUTPUT_MESSAGES: '[{"role":"assistant"}]'}),
        ]
    )
    info = _info(store)
    assert info.request_preview == long_input[:1000]
    assert info.response_preview == '[{"role":"assistant"}]'
    store.write_spans([span(2, 1, attributes={N.INPUT_MESSAGES: "[]"}), span(3, 2, 1, attributes={N.SPAN_INPUTS: "x"})])
    assert _info(store, 2).request_preview == "[]"
    assert _info(store, 3).request_preview is None


def test_tokens_are_summed(store: Store) -> None:
    store.write_spans(
        [
            span(1, 1),
            span(1, 2, 1, attributes={N.USAGE_INPUT_TOKENS: 100, N.USAGE_OUTPUT_TOKENS: 20}),
            span(1, 3, 1, attributes={N.USAGE_INPUT_TOKENS: 50}),
        ]
    )
    store.write_spans([span(1, 4, 1, attributes={N.USAGE_OUTPUT_TOKENS: 7})])
    info = _info(store)
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (150, 27, 177)
    store.write_spans([span(2, 1)])
    info = _info(store, 2)
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (None, None, None)


def test_session_and_user_root_first(store: Store) -> None:
    store.write_spans([span(1, 2, 1, attributes={N.SESSION_ID: "child-session", N.USER_ID: "child-user"})])
    assert (_info(store).session_id, _info(store).user_id) == ("child-session", "child-user")
    store.write_spans([span(1, 1, attributes={N.SESSION_ID: "root-session"})])
    info = _info(store)
    assert (info.session_id, info.user_id) == ("root-session", "child-user")
    store.write_spans([span(1, 3, 1, attributes={N.SESSION_ID: "late", N.USER_ID: "late"})])
    info = _info(store)
    assert (info.session_id, info.user_id) == ("root-session", "child-user")


def test_tags_and_metadata(store: Store) -> None:
    store.write_spans(
        [
            span(1, 1, attributes={N.TRACE_TAGS: ["prod", "vip"], N.TRACE_METADATA_PREFIX + "region": "eu"}),
            span(1, 2, 1, attributes={N.TRACE_TAGS: ("beta",), N.TRACE_METADATA_PREFIX + "version": "1.2"}),
        ]
    )
    store.write_spans([span(1, 3, 1, attributes={N.TRACE_METADATA_PREFIX + "region": "us"})])
    info = _info(store)
    assert info.tags == {"prod": "", "vip": "", "beta": ""}
    assert info.metadata == {"region": "us", "version": "1.2"}


def test_tags_with_values_and_metadata_that_are_not_strings(store: Store) -> None:
    """A tag with a value (traceglass.trace.tag.<key>, as update_current_trace(tags={...}) sets
    it) keeps it: a span naming the tag without a value, in the same batch or a later one,
    leaves it. Metadata set by other OpenTelemetry code as numbers or booleans is kept as text."""
    store.write_spans(
        [
            span(1, 1, attributes={N.TRACE_TAG_PREFIX + "env": "prod", N.TRACE_TAGS: ["env"],
                                   N.TRACE_METADATA_PREFIX + "attempt": 3}),
            span(1, 2, 1, attributes={N.TRACE_TAGS: ["env", "vip"], N.TRACE_TAG_PREFIX + "team": 7,
                                      N.TRACE_METADATA_PREFIX + "cached": True}),
        ]
    )
    store.write_spans([span(1, 3, 1, attributes={N.TRACE_TAGS: ["env", "team"]})])
    info = _info(store)
    assert info.tags == {"env": "prod", "vip": "", "team": "7"}
    assert info.metadata == {"attempt": "3", "cached": "True"}
    store.write_spans([span(1, 4, 1, attributes={N.TRACE_TAG_PREFIX + "env": "staging"})])
    assert _info(store).tags["env"] == "staging"  # a later value replaces it


def test_experiment_of_a_trace(store: Store) -> None:
    store.write_spans([span(1, 2, 1, attributes={N.EXPERIMENT: "child-exp"})], default_experiment="ignored")
    store.write_spans([span(1, 1, attributes={N.EXPERIMENT: "root-exp"})])
    assert _info(store).experiment_name == "child-exp"  # fixed by the first stored span

    store.write_spans(
        [span(2, 2, 1, attributes={N.EXPERIMENT: "child-exp"}), span(2, 1, attributes={N.EXPERIMENT: "root-exp"})]
    )
    assert _info(store, 2).experiment_name == "root-exp"  # the root wins within a batch

    store.write_spans([span(3, 1, resource_attributes={N.EXPERIMENT: "from-resource"})])
    assert _info(store, 3).experiment_name == "from-resource"
    store.write_spans([span(4, 1)], default_experiment="fallback")
    assert _info(store, 4).experiment_name == "fallback"
    store.write_spans([span(5, 1)])
    assert _info(store, 5).experiment_name == "Default"
    names = {experiment.name for experiment in store.list_experiments()}
    assert {"child-exp", "root-exp", "from-resource", "fallback", "Default"} <= names


def test_span_type_indexed_attributes_and_text(store: Store) -> None:
    store.write_spans(
        [
            span(1, 1, name="agent", attributes={N.SPAN_TYPE: "AGENT", N.SPAN_INPUTS: "find the order"}),
            span(1, 2, 1, attributes={N.OPERATION_NAME: "chat", N.REQUEST_TEMPERATURE: 0.5, "flag": True, "n": 3}),
            span(1, 3, 1, attributes={N.OPERATION_NAME: "generate_content", "long": "x" * 257, "list": ["a"]}),
            span(1, 4, 1, attributes={N.OPERATION_NAME: "execute_tool", "gen_ai.tool.call.result": "42"}),
            span(1, 5, 1, attributes={N.OPERATION_NAME: "something_else"}),
        ]
    )
    found = store.get_trace(trace_id(1))
    assert found is not None
    assert [s.span_type for s in found.spans] == ["AGENT", "CHAT_MODEL", "CHAT_MODEL", "TOOL", None]
    with store.engine.connect() as conn:
        rows = {(key, value) for key, value in conn.execute(select(span_attributes.c.key, span_attributes.c.value))}
        texts = list(conn.execute(select(spans.c.content_text).order_by(spans.c.span_id)).scalars())
    assert {(N.REQUEST_TEMPERATURE, "0.5"), ("flag", "true"), ("n", "3")} <= rows
    # Long values, sequences and content (searched through the spans themselves) are not copied.
    assert not any(key in ("long", "list", N.SPAN_INPUTS) for key, _ in rows)
    assert texts[0] == "agent\nfind the order"
    assert texts[3] == "span-4\n42"


def test_an_empty_parent_id_is_a_root(store: Store) -> None:
    store.write_spans([span(1, 1, parent_span_id="", name="root", status_code="OK")])
    info = _info(store)
    assert (info.status, info.name) == ("OK", "root")


def test_long_tag_and_metadata_values_are_cut_not_refused(store: Store) -> None:
    """PostgreSQL's (key, value) index holds ~2,700 bytes an entry: a longer value made it refuse
    the whole batch. Values are cut to 1,500 bytes of UTF-8, on whole characters, on both
    databases; set_trace_tag() refuses a longer one."""
    long_ascii, long_wide = "n" * 6000, "€" * 3000  # 3 bytes each
    store.write_spans([
        span(1, 1, attributes={N.TRACE_TAG_PREFIX + "note": long_ascii, N.TRACE_METADATA_PREFIX + "wide": long_wide}),
        span(2, 1),
    ])
    info = _info(store)
    assert info.tags == {"note": "n" * 1500}
    assert info.metadata == {"wide": "€" * 500}
    assert _info(store, 2).span_count == 1  # the rest of the batch is stored
    with pytest.raises(ValueError, match="longer than 1,500 bytes"):
        store.set_trace_tag(info.trace_id, "note", long_ascii)
