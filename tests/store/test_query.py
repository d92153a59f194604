"""The query compiler, run for real: spans written through Store.write_spans, then each filter,
sort order and page compiled by search_statement and executed on the store's database (each test
on SQLite and on PostgreSQL)."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, Select, text
from sqlalchemy.dialects import postgresql, sqlite
from traceglass.collector.store import SpanRecord, Store
from traceglass.collector.store._filter import MAX_CONDITIONS, MAX_LIST_VALUES, FilterError, parse_filter
from traceglass.collector.store._query import (
    _pattern,
    _word_terms,
    decode_page_token,
    encode_page_token,
    search_statement,
    sort_keys,
)

from traceglass import semconv

N = semconv.names
MS = 1_000_000  # ns


def _span(
    trace: str, span: str, name: str, start_ms: int, end_ms: int, parent: str | None = None, **kw: Any
) -> SpanRecord:
    return SpanRecord(
        trace_id=trace.ljust(32, "0"),
        span_id=span.ljust(16, "0"),
        parent_span_id=parent.ljust(16, "0") if parent else None,
        name=name,
        start_ns=start_ms * MS,
        end_ns=end_ms * MS,
        **kw,
    )


def _chat(
    trace: str, span: str, parent: str, start: int, model: str, tokens: tuple[int, int], **attributes: Any
) -> SpanRecord:
    return _span(
        trace,
        span,
        f"chat {model}",
        start,
        start + 10,
        parent,
        kind="CLIENT",
        attributes={
            N.SPAN_TYPE: "CHAT_MODEL",
            N.OPERATION_NAME: "chat",
            N.REQUEST_MODEL: model,
            N.USAGE_INPUT_TOKENS: tokens[0],
            N.USAGE_OUTPUT_TOKENS: tokens[1],
            **attributes,
        },
    )


# Five traces. a..d in "Default" (newest first: d, c, b, a), e in "other".
A, B, C, D, E = (letter.ljust(32, "0") for letter in "abcde")
RECORDS = [
    # a: OK, 500 ms, a story request, tagged prod, user alice.
    _span(
        "a",
        "a1",
        "chat_app",
        1000,
        1500,
        status_code="OK",
        attributes={
            N.SPAN_TYPE: "AGENT",
            N.SPAN_INPUTS: '{"question": "Tell me a story about the Lighthouse keeper"}',
            N.TRACE_TAGS: ["prod", "reviewed"],
            N.TRACE_METADATA_PREFIX + "user": "alice",
            N.TRACE_METADATA_PREFIX + "app.version": "1.2.0",
            N.SESSION_ID: "s-1",
        },
    ),
    _chat("a", "a2", "a1", 1100, "gpt-4o", (100, 20), **{N.REQUEST_TEMPERATURE: 0.7, "stream": True}),
    # b: ERROR, 1500 ms, a retriever and a Claude call; text with wildcard characters.
    _span(
        "b",
        "b1",
        "rag_pipeline",
        2000,
        3500,
        status_code="ERROR",
        attributes={
            N.SPAN_TYPE: "CHAIN",
            N.SPAN_INPUTS: "What is 100% of budget_total?",
            N.TRACE_TAGS: ["staging"],
            N.TRACE_METADATA_PREFIX + "user": "bob",
        },
    ),
    _span("b", "b2", "retrieve", 2100, 2200, "b1", attributes={N.SPAN_TYPE: "RETRIEVER", "retrieval.top_k": 5}),
    _chat("b", "b3", "b1", 2300, "claude-3-5-sonnet", (2000, 300), **{N.REQUEST_TEMPERATURE: 1}),
    # c: OK, 50 ms, a small model.
    _span("c", "c1", "chat_app", 3000, 3050, attributes={N.SPAN_TYPE: "AGENT", N.SPAN_INPUTS: "hello there"}),
    _chat("c", "c2", "c1", 3010, "gpt-4o-mini", (5, 1), **{N.REQUEST_TEMPERATURE: 0.0, "note": "GPT*?[x]"}),
    # d: no root yet (IN_PROGRESS, no name, no tokens).
    _span("d", "d2", "execute_tool get_weather", 4000, 4020, "d1", attributes={N.SPAN_TYPE: "TOOL", "flag": True,
                                                                                "digest": b"sha-1f2e"}),
    # e: another experiment.
    _span("e", "e1", "chat_app", 500, 600, attributes={N.EXPERIMENT: "other", N.SPAN_INPUTS: "a story, again"}),
]


@pytest.fixture
def store(store: Store) -> Store:
    """The conftest's empty store (SQLite, then PostgreSQL), holding RECORDS."""
    assert store.write_spans(RECORDS) == len(RECORDS)
    return store


@pytest.fixture
def default_id(store: Store) -> int:
    experiment = store.get_experiment_by_name("Default")
    assert experiment is not None
    return experiment.experiment_id


def run(engine: Engine, statement: Select[Any]) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(statement).mappings()]


def ids(
    store: Store,
    filter_string: str = "",
    order_by: Sequence[str] | None = None,
    experiment_ids: Sequence[int] | None = None,
    limit: int | None = None,
) -> list[str]:
    statement = search_statement(
        experiment_ids, parse_filter(filter_string), order_by, None, limit, store.engine.dialect.name
    )
    return [row["trace_id"][0] for row in run(store.engine, statement)]


# --- what each filter returns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("", "dcbae"),
        ("trace.status = 'OK'", "cae"),
        ("status = 'error'", "b"),
        ("trace.status != 'OK'", "db"),
        ("trace.status IN ('ERROR', 'IN_PROGRESS')", "db"),
        ("trace.status NOT IN ('OK')", "db"),
        ("trace.timestamp_ms >= 2000", "dcb"),
        ("trace.timestamp > 2000 AND trace.timestamp_ms < 4000", "c"),
        ("trace.execution_time_ms > 100", "ba"),
        ("trace.execution_time_ms <= 100", "dce"),
        ("trace.execution_time_ms = 500", "a"),
        ("trace.execution_time_ms = 500.0", "a"),
        ("trace.execution_time_ms IN (50, 1500)", "cb"),
        ("trace.execution_time_ms IN (50, 500.4)", "c"),  # 500.4 is not 500, whatever comes first
        ("trace.execution_time_ms NOT IN (50, 500.4)", "dbae"),
        ("trace.timestamp_ms IN (1000, 1e19)", "a"),
        ("trace.end_time_ms > 3000", "dcb"),
        ("trace.total_tokens > 100", "ba"),
        ("trace.input_tokens >= 2000", "b"),
        ("trace.name = 'chat_app'", "cae"),
        ("trace.name != 'chat_app'", "b"),  # d has no name: NULL matches neither
        ("trace.name LIKE 'chat%'", "cae"),
        ("trace.name LIKE 'CHAT%'", ""),  # LIKE is case-sensitive
        ("trace.name ILIKE 'CHAT%'", "cae"),
        ("trace.name LIKE '%\\_app'", "cae"),
        ("trace.name LIKE 'chat_app'", "cae"),
        ("trace.name LIKE 'chat_pp'", ""),
        ("trace.name NOT LIKE 'chat%'", "b"),
        ("trace.name NOT ILIKE 'RAG%'", "cae"),
        ("trace.session_id = 's-1'", "a"),
        (f"trace.trace_id = '{C}'", "c"),
        ("span.name = 'retrieve'", "b"),
        ("span.name LIKE 'chat gpt%'", "ca"),
        ("span.name ILIKE '%GPT-4O%'", "ca"),
        ("span.name != 'chat_app'", "dcba"),
        ("span.name IN ('retrieve', 'execute_tool get_weather')", "db"),
        ("span.type = 'CHAT_MODEL'", "cba"),
        ("span.type = 'TOOL'", "d"),
        ("span.status = 'ERROR'", "b"),  # MLflow's span.status: OpenTelemetry's status code
        ("span.status = 'ok'", "a"),
        ("span.status = 'UNSET'", "dcbae"),
        ("span.status IN ('OK', 'ERROR')", "ba"),
        ("span.type = 'RETRIEVER' AND span.type = 'CHAT_MODEL'", "b"),  # different spans of one trace
        ("span.attributes.gen_ai.request.model = 'gpt-4o'", "a"),
        ("span.attributes.`gen_ai.request.model` LIKE 'gpt-4o%'", "ca"),
        ("span.attributes.`gen_ai.request.model` ILIKE '%CLAUDE%'", "b"),
        ("span.attributes.`gen_ai.request.model` NOT LIKE 'gpt%'", "b"),
        ("span.attributes.`gen_ai.request.model` != 'gpt-4o'", "cb"),
        ("span.attributes.`gen_ai.request.model` IN ('gpt-4o', 'gpt-4o-mini')", "ca"),
        ("span.attributes.`gen_ai.usage.input_tokens` > 50", "ba"),
        ("span.attributes.`gen_ai.usage.input_tokens` >= 5", "cba"),
        ("span.attributes.`gen_ai.usage.input_tokens` < 100.5", "ca"),
        ("span.attributes.`gen_ai.usage.input_tokens` = 2000", "b"),
        ("span.attributes.`gen_ai.usage.input_tokens` = '2000'", "b"),
        ("span.attributes.`gen_ai.request.temperature` = 1", "b"),  # stored as '1'
        ("span.attributes.`gen_ai.request.temperature` = 0", "c"),  # stored as '0.0'
        ("span.attributes.`gen_ai.request.temperature` IN (0.7, 1)", "ba"),
        ("span.attributes.`gen_ai.request.temperature` != 0.7", "cb"),
        ("span.attributes.`gen_ai.request.temperature` > 0.5", "ba"),
        ("span.attributes.`gen_ai.request.model` > 5", ""),  # not numeric: never compared as a number
        ("span.attributes.retrieval.top_k = 5", "b"),
        ("span.attributes.stream = 'true'", "a"),
        ("span.attributes.flag = 'true'", "d"),
        ("span.attributes.digest = 'sha-1f2e'", "d"),  # an OTLP bytes value, as its text
        ("span.attributes.note LIKE 'GPT*?[x]'", "c"),  # GLOB characters are literal in LIKE
        ("span.attributes.note LIKE 'GPT*?[_]'", "c"),
        ("span.attributes.note LIKE 'gpt%'", ""),
        ("span.attributes.missing = 'x'", ""),
        # Content attributes are read from the spans, not from span_attributes.
        ("span.attributes.`traceglass.span.inputs` = 'hello there'", "c"),
        ("span.attributes.`traceglass.span.inputs` LIKE '%story%'", "ae"),
        ("span.attributes.`traceglass.span.inputs` LIKE '%Story%'", ""),
        ("span.attributes.`traceglass.span.inputs` ILIKE '%STORY%'", "ae"),
        ("span.attributes.`traceglass.span.inputs` LIKE 'hello%'", "c"),
        ("span.attributes.`traceglass.span.inputs` LIKE '%100\\%%'", "b"),
        ("span.attributes.`traceglass.span.inputs` LIKE '%ell%'", "ca"),  # no whole word: a scan
        ("span.attributes.`traceglass.span.inputs` != 'hello there'", "bae"),
        ("span.attributes.`traceglass.span.inputs` NOT LIKE '%story%'", "cb"),
        ("span.attributes.`traceglass.span.inputs` IN ('hello there', 'a story, again')", "ce"),
        ("span.attributes.`traceglass.span.inputs` > 5", ""),
        ("span.attributes.`traceglass.span.inputs` = 'hello'", ""),
        ("tag.prod = ''", "a"),
        ("tags.reviewed != 'x'", "a"),
        ("tag.staging LIKE '%'", "b"),
        ("tag.prod IN ('', 'x')", "a"),
        ("metadata.user = 'alice'", "a"),
        ("metadata.user != 'alice'", "b"),
        ("metadata.user ILIKE 'B%'", "b"),
        ("metadata.`app.version` = '1.2.0'", "a"),
        ("metadata.app.version LIKE '1.%'", "a"),
        ("trace.name RLIKE '^chat'", "cae"),
        ("trace.name RLIKE 'pipe'", "b"),  # anywhere in the value
        ("trace.status RLIKE 'ERR'", "b"),
        ("span.name RLIKE '^(retrieve|execute_tool)'", "db"),
        ("span.attributes.`gen_ai.request.model` RLIKE '^gpt-4o$'", "a"),
        ("span.attributes.`traceglass.span.inputs` RLIKE 'st[o]ry'", "ae"),
        ("metadata.user RLIKE '^(alice|bob)$'", "ba"),
        ("tag.staging RLIKE '^$'", "b"),
        ("trace.name RLIKE '\\\\brag_'", "b"),  # a word boundary on both databases
        ("trace.name RLIKE '\\\\Brag'", ""),
        ("tag.prod IS NOT NULL", "a"),
        ("tag.prod IS NULL", "dcbe"),
        ("metadata.user IS NULL", "dce"),
        ("metadata.user IS NOT NULL AND tag.staging IS NOT NULL", "b"),
        # MLflow's spellings of trace fields
        ("tag.`mlflow.traceName` = 'chat_app'", "cae"),
        ("metadata.`mlflow.trace.session` = 's-1'", "a"),
        ("span.content LIKE '%story%'", "ae"),
        ("trace.end_time > 3000", "dcb"),
        ("trace.text LIKE '%story%'", "ae"),
        ("trace.text ILIKE '%STORY%'", "ae"),
        ("trace.text LIKE '%lighthouse KEEPER%'", "a"),  # case-insensitive with either operator
        ("trace.text LIKE '%keeper%lighthouse%'", ""),  # order matters: not a bag of trigrams
        ("trace.text LIKE '%Tell me%story%'", "a"),
        ("trace.text LIKE '%get_weather%'", "d"),  # span names are searchable text
        ("trace.text LIKE '%100\\%%'", "b"),  # an escaped wildcard
        ("trace.text LIKE '%10\\%%'", ""),
        ("trace.text LIKE '%budget\\_total%'", "b"),
        ("trace.text LIKE '%budgetXtotal%'", ""),
        ("trace.text LIKE '%lo%'", "c"),  # shorter than a trigram: a scan
        ("trace.text LIKE '%t_ere%'", "c"),
        ("trace.text LIKE '%nothing like this%'", ""),
        ("trace.status = 'OK' AND span.type = 'CHAT_MODEL' AND trace.text LIKE '%story%'", "a"),
    ],
)
def test_filter_returns(store: Store, filter_string: str, expected: str) -> None:
    assert "".join(ids(store, filter_string)) == expected


def test_a_pattern_postgresql_refuses_is_a_filter_error(store: Store) -> None:
    """Python's syntax (checked when the filter is parsed) allows named groups; PostgreSQL's
    regular expressions do not."""
    found = "trace.name RLIKE '(?P<word>chat)'"
    if store.engine.dialect.name == "sqlite":
        assert "".join(ids(store, found)) == "cae"
        return
    with pytest.raises(FilterError, match="at position 11: expected a regular expression PostgreSQL accepts"):
        store.search_traces(filter_string=found)


def test_content_attributes_that_are_not_strings_compare_as_their_text(store: Store) -> None:
    # The tracing API writes JSON strings, but an OpenTelemetry attribute may be a number or a bool.
    store.write_spans([
        _span("f", "f1", "raw", 5000, 5010, attributes={N.SPAN_OUTPUTS: 42, "gen_ai.tool.call.result": 1.5}),
        _span("9", "91", "raw", 5100, 5110, attributes={N.SPAN_OUTPUTS: True}),
    ])
    assert ids(store, "span.attributes.`traceglass.span.outputs` = 42") == ["f"]
    assert ids(store, "span.attributes.`traceglass.span.outputs` = '42'") == ["f"]
    assert ids(store, "span.attributes.`traceglass.span.outputs` = 'true'") == ["9"]
    assert ids(store, "span.attributes.`traceglass.span.outputs` != '42'") == ["9"]
    assert ids(store, "span.attributes.`gen_ai.tool.call.result` IN (1.5, 'x')") == ["f"]


def test_full_text_ignores_the_case_of_every_alphabet(store: Store) -> None:
    store.write_spans([
        _span("f", "f1", "ask", 5000, 5010, attributes={N.SPAN_INPUTS: '"Wie spät ist es in MÜNCHEN?"'}),
        _span("9", "91", "ask", 5100, 5110, attributes={N.SPAN_OUTPUTS: '"Столица России: Москва"'}),
    ])
    for pattern in ("%münchen%", "%MÜNCHEN%", "%München%", "%SPÄT IST%"):
        assert ids(store, f"trace.text LIKE '{pattern}'") == ["f"], pattern
        assert ids(store, f"trace.text ILIKE '{pattern}'") == ["f"], pattern
    for pattern in ("%москва%", "%москва%".upper(), "%столица россии%"):
        assert ids(store, f"trace.text LIKE '{pattern}'") == ["9"], pattern


def test_full_text_finds_what_json_wrote_as_ascii_escapes(store: Store) -> None:
    # Python's json.dumps (as other instrumentations write their messages) escapes every
    # non-ASCII character: the text is still found by what it says, in any case.
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "שלום, Ünïcode 👋 日本"}]}])
    assert "\\u05e9" in messages
    store.write_spans([_span("f", "f1", "chat", 5000, 5010, attributes={N.INPUT_MESSAGES: messages})])
    for pattern in ("%שלום%", "%ünïcode%", "%ÜNÏCODE%", "%👋 日本%"):
        assert ids(store, f"trace.text LIKE '{pattern}'") == ["f"], pattern
    # The attribute itself is kept as it was written.
    [span] = store.get_trace("f".ljust(32, "0")).spans
    assert span.attributes[N.INPUT_MESSAGES] == messages


def test_full_text_written_in_its_own_case_is_still_found_as_written(store: Store) -> None:
    # Stores written by earlier versions hold the text as it was, not in lower case.
    store.write_spans([_span("f", "f1", "ask", 5000, 5010, attributes={N.SPAN_INPUTS: '"ÜBER"'})])
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE spans SET content_text = :text WHERE span_id = :span"),
                     {"text": 'ask\n"ÜBER"', "span": "f1".ljust(16, "0")})
    assert ids(store, "trace.text LIKE '%ÜBER%'") == ["f"]
    assert ids(store, "trace.text LIKE '%über%'") == (["f"] if store.engine.dialect.name == "postgresql" else [])


def test_a_filter_of_many_span_and_text_conditions_plans_in_the_order_written(store: Store) -> None:
    # Fifty semi-joins: PostgreSQL would weigh their orders for seconds; past eight they are
    # joined cheapest first, as search_statement writes them. The answer is the same.
    conditions = ["span.name != 'zz'", "trace.text LIKE '%chat%'", "tag.env != 'x'", "span.type = 'CHAT_MODEL'"]
    many = " AND ".join(conditions[i % len(conditions)] for i in range(MAX_CONDITIONS))
    assert ids(store, many) == ids(store, " AND ".join(conditions)) == []  # no trace is tagged env
    chat = " AND ".join(["span.name != 'zz'", "trace.text LIKE '%chat%'", "span.type = 'CHAT_MODEL'"] * 16)
    assert [info.trace_id[0] for info in store.search_traces(filter_string=chat).traces] == list("cba")


def test_the_longest_filter_runs_on_both_databases(store: Store) -> None:
    # As many values as a filter may hold, each bound twice or more (a number as '5' and '5.0',
    # SQLite's set and probe): within both databases' limits on bound parameters.
    numbers = ", ".join(str(n) for n in range(MAX_LIST_VALUES))
    assert ids(store, f"span.attributes.`gen_ai.usage.input_tokens` IN ({numbers})") == list("cba")
    assert ids(store, " AND ".join(["trace.status != 'ERROR'"] * MAX_CONDITIONS)) == list("dcae")


def test_result_columns(store: Store, default_id: int) -> None:
    statement = search_statement(
        [default_id], parse_filter(f"trace.trace_id = '{A}'"), None, None, None, store.engine.dialect.name
    )
    (row,) = run(store.engine, statement)
    assert row["trace_id"] == A
    assert row["experiment_name"] == "Default"
    assert (row["timestamp_ms"], row["execution_time_ms"], row["status"]) == (1000, 500, "OK")
    assert (row["input_tokens"], row["output_tokens"], row["total_tokens"]) == (100, 20, 120)
    assert set(row) >= {"request_preview", "response_preview", "session_id", "user_id", "span_count", "end_ms"}


def test_experiment_ids(store: Store, default_id: int) -> None:
    other = store.get_experiment_by_name("other")
    assert other is not None
    assert ids(store, experiment_ids=[default_id]) == list("dcba")
    assert ids(store, experiment_ids=[other.experiment_id]) == ["e"]
    assert ids(store, experiment_ids=[default_id, other.experiment_id]) == list("dcbae")
    assert ids(store, experiment_ids=[]) == []
    assert ids(store, "trace.text LIKE '%story%'", experiment_ids=[other.experiment_id]) == ["e"]


# --- sort orders ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, "dcbae"),
        (["timestamp_ms DESC"], "dcbae"),
        (["timestamp_ms"], "eabcd"),
        (["trace.timestamp_ms ASC"], "eabcd"),
        (["execution_time_ms DESC"], "baecd"),
        (["status", "timestamp_ms DESC"], "bdcae"),  # ERROR < IN_PROGRESS < OK
        (["status DESC", "timestamp_ms"], "eacdb"),
        (["name", "timestamp_ms"], "deacb"),  # NULL first ascending
        (["name DESC", "timestamp_ms"], "beacd"),  # NULL last descending
        (["total_tokens DESC"], "baced"),  # NULLs last; ties by trace_id, descending like the first key
        (["total_tokens"], "decab"),
        (["trace_id DESC"], "edcba"),
        (["request_id"], "abcde"),
    ],
)
def test_order_by(store: Store, order_by: list[str] | None, expected: str) -> None:
    assert "".join(ids(store, order_by=order_by)) == expected


def test_bad_order_by(store: Store) -> None:
    with pytest.raises(FilterError, match="Invalid order_by at position 0: expected a sort key"):
        search_statement(None, [], ["span.name"], None, None, "sqlite")


def test_unknown_dialect() -> None:
    with pytest.raises(ValueError, match="unsupported dialect 'mysql'"):
        search_statement(None, [], None, None, None, "mysql")


# --- pagination -------------------------------------------------------------------------------------------


def pages(store: Store, size: int, order_by: Sequence[str] | None = None, filter_string: str = "") -> list[str]:
    """Every page of a search, one letter per trace, with the tokens search_traces hands out."""
    seen: list[str] = []
    token = None
    while True:
        page = store.search_traces(filter_string=filter_string, order_by=order_by, max_results=size, page_token=token)
        assert len(page.traces) == size or page.next_page_token is None
        seen.append("".join(info.trace_id[0] for info in page.traces))
        token = page.next_page_token
        if token is None:
            return seen


@pytest.mark.parametrize(
    "order_by",
    [None, ["status"], ["name"], ["name DESC", "timestamp_ms"], ["total_tokens DESC"], ["total_tokens"],
     ["end_time_ms DESC"], ["execution_time_ms", "name DESC"], ["trace_id"], ["status DESC", "status"]],
)
def test_pages_cover_every_trace_once(store: Store, order_by: list[str] | None) -> None:
    everything = "".join(ids(store, order_by=order_by))
    for size in (1, 2, 4):
        assert "".join(pages(store, size, order_by)) == everything


def test_search_traces_pages_with_tokens(store: Store) -> None:
    assert pages(store, 2, filter_string="trace.status != 'IN_PROGRESS'") == ["cb", "ae"]


def test_a_page_starts_after_the_last_trace_seen_however_the_store_changed(store: Store) -> None:
    # Newest first while traces arrive: the first page's traces do not come back on the next one,
    # and a deleted trace does not make the next page skip one.
    first = store.search_traces(max_results=2)
    assert [info.trace_id[0] for info in first.traces] == ["d", "c"]
    store.write_spans([_span("f", "f1", "newer", 9000, 9010), _span("0", "01", "newest", 9500, 9510)])
    assert store.delete_traces([C]) == 1
    rest = store.search_traces(max_results=10, page_token=first.next_page_token)
    assert [info.trace_id[0] for info in rest.traces] == ["b", "a", "e"]
    assert store.search_traces(max_results=10).traces[0].trace_id[0] == "0"


def test_page_size_beyond_64_bits(store: Store) -> None:
    # LIMIT binds as a 64-bit integer: a larger page size must not reach the database.
    page = store.search_traces(max_results=sys.maxsize)
    assert ("".join(info.trace_id[0] for info in page.traces), page.next_page_token) == ("dcbae", None)
    tampered = encode_page_token(sort_keys(None), [2**64, D])
    with pytest.raises(ValueError, match="Invalid page token"):
        store.search_traces(page_token=tampered)


def test_a_page_token_of_another_sort_order_is_refused(store: Store) -> None:
    token = store.search_traces(order_by=["name"], max_results=1).next_page_token
    assert token is not None
    with pytest.raises(ValueError, match="it continues a search sorted by name ASC, trace_id ASC, not by "
                                         "timestamp_ms DESC, trace_id DESC; pass the order_by of the first page"):
        store.search_traces(page_token=token)
    assert store.search_traces(order_by=["trace.name ASC"], page_token=token).traces


@pytest.mark.parametrize(
    "values",
    [[0, A], [2**40, "z" * 32], [-5, ""]],
)
def test_page_token_round_trip(values: list[Any]) -> None:
    keys = sort_keys(None)
    token = encode_page_token(keys, values)
    assert token.replace("-", "").replace("_", "").isalnum()
    assert decode_page_token(token, keys) == values


def test_page_token_of_nullable_and_text_keys_round_trips() -> None:
    keys = sort_keys(["name DESC", "total_tokens"])
    values = [None, 12, "é" * 3000]
    assert decode_page_token(encode_page_token(keys, values), keys) == values


def _forged(payload: str) -> str:
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not a token",
        "eyJ2IjoxfQ",
        "bnVsbA",
        "WzFd",
        encode_page_token(sort_keys(None), [3, A])[:-2],
        _forged('{"v":1,"offset":3}'),
        _forged('{"v":2,"order":[["timestamp_ms",1],["trace_id",1]],"after":[null,"a"]}'),
        _forged('{"v":2,"order":[["timestamp_ms",1],["trace_id",1]],"after":["3","a"]}'),
        _forged('{"v":2,"order":[["timestamp_ms",1],["trace_id",1]],"after":[true,"a"]}'),
        _forged('{"v":2,"order":[["timestamp_ms",1],["trace_id",1]],"after":[3]}'),
        _forged('{"v":2,"order":[["timestamp_ms",1],["trace_id",1]],"after":[3, 4]}'),
        _forged('{"v":2,"order":"x","after":[3,"a"]}'),
        "x" * 500,
    ],
)
def test_bad_page_token(token: str) -> None:
    with pytest.raises(ValueError, match="Invalid page token"):
        decode_page_token(token, sort_keys(None))


# --- SQL hygiene -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_values_are_bound_parameters(dialect: str) -> None:
    hostile = "x'; DROP TABLE traces; --"
    conditions = parse_filter(
        f'trace.name = "{hostile}" AND tag.`{hostile}` LIKE "%{hostile}%" AND span.attributes.`{hostile}` > 5'
        f' AND trace.text LIKE "%{hostile}%"'
    )
    statement = search_statement(None, conditions, ["name"], None, 10, dialect)
    compiled = statement.compile(dialect=postgresql.dialect() if dialect == "postgresql" else sqlite.dialect())
    assert "DROP" not in str(compiled)
    assert any("DROP" in str(value) for value in compiled.params.values())


# --- plans (SQLite): a page is a walk of an index, never a sort of every match ------------------------------


def _plan(store: Store, statement: Select[Any]) -> str:
    compiled = statement.compile(dialect=store.engine.dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[name] for name in compiled.positiontup or ())
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params).all()
    return "\n".join(row[-1] for row in rows)


@pytest.mark.parametrize(
    ("filter_string", "uses"),
    [
        ("", "ix_traces_experiment_id_timestamp_ms"),
        ("trace.status = 'OK'", "ix_traces_experiment_id_status_timestamp_ms"),
        ("span.attributes.`gen_ai.request.model` = 'gpt-4o'", "ix_span_attributes_key_bucket_value_span_pk_trace_id"),
        (
            "span.attributes.`gen_ai.usage.input_tokens` > 5",
            "ix_span_attributes_key_bucket_value_number_span_pk_trace_id",
        ),
        ("span.name = 'retrieve'", "ix_spans_name_id_trace_id"),
        ("tag.env = 'prod'", "sqlite_autoindex_trace_tags_1"),
        ("trace.text LIKE '%lighthouse keeper%'", "span_text VIRTUAL TABLE"),
    ],
)
def test_sqlite_pages_walk_an_index(store: Store, default_id: int, filter_string: str, uses: str) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plans")
    statement = search_statement([default_id], parse_filter(filter_string), None, None, 51, "sqlite")
    plan = _plan(store, statement)
    assert uses in plan
    if "VIRTUAL TABLE" not in plan:
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan  # at most the tie-breaker is sorted


def test_sqlite_probes_a_common_value_through_the_traces_spans(store: Store, default_id: int) -> None:
    """A value too common to collect is probed trace by trace: the trace's spans, then one seek of
    (key, bucket, value, span_pk) each; never every row of the value, once per trace."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plans")
    statement = search_statement([default_id], parse_filter("span.attributes.`gen_ai.request.model` = 'gpt-4o'"),
                                 None, None, 51, "sqlite")
    probe = _plan(store, statement).split("CORRELATED SCALAR SUBQUERY")[1]
    assert "spans USING INDEX sqlite_autoindex_spans_1 (trace_id=?)" in probe
    assert "(key=? AND <expr>=? AND value=? AND span_pk=?)" in probe


def test_sqlite_pages_of_several_experiments_walk_the_time_index(store: Store, default_id: int) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plans")
    filter_string = "span.attributes.`gen_ai.usage.input_tokens` > 5"
    statement = search_statement([default_id, default_id + 1], parse_filter(filter_string), None, None, 51, "sqlite")
    plan = _plan(store, statement)
    assert "ix_traces_timestamp_ms" in plan
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan


def test_long_content_attributes_are_found(store: Store) -> None:
    """Content of any length (up to the searchable text's length) is found by an attribute filter."""
    message = "x" * 1500 + " the needle is here " + "y" * 500
    store.write_spans([_span("f", "f1", "long", 9000, 9001, attributes={N.OUTPUT_MESSAGES: message})])
    assert ids(store, "span.attributes.`gen_ai.output.messages` LIKE '%needle is%'") == ["f"]
    assert ids(store, f"span.attributes.`gen_ai.output.messages` = '{message}'") == ["f"]
    assert ids(store, "span.attributes.`gen_ai.output.messages` LIKE '%needle was%'") == []


def test_content_filters_read_spans_with_values_json_has_no_number_for(store: Store) -> None:
    """Attributes are stored as strict JSON (NaN and infinities as null), which both databases'
    JSON functions read: a content filter also reads the spans that carry such values."""
    attributes = {N.OUTPUT_MESSAGES: "the answer", "score": float("nan"), "limit": float("inf")}
    store.write_spans([_span("n", "n1", "odd", 9000, 9001, attributes=attributes)])
    assert ids(store, "span.attributes.`gen_ai.output.messages` LIKE '%answer%'") == ["n"]
    stored = store.get_trace("n".ljust(32, "0"))
    assert stored is not None
    assert stored.spans[0].attributes["score"] is None and stored.spans[0].attributes["limit"] is None


def test_numeric_comparison_skips_values_that_are_not_numbers(store: Store) -> None:
    values = {
        "f": "1e400",
        "g": ".5",
        "h": "-3",
        "i": "inf",
        "j": "NaN",
        "k": " 7",
        "l": "+",
        "m": "2.5e-3",
        "n": "gpt-4o",
    }
    store.write_spans(
        [
            _span(letter, f"{letter}1", "numbers", 9000, 9001, attributes={"x": value})
            for letter, value in values.items()
        ]
    )
    assert sorted(ids(store, "span.attributes.x > 0")) == ["f", "g", "m"]
    assert sorted(ids(store, "span.attributes.x <= 0.5")) == ["g", "h", "m"]
    assert sorted(ids(store, "span.attributes.x < -2.5")) == ["h"]
    assert ids(store, "span.attributes.x >= 1e300") == ["f"]


def test_numeric_comparison_of_number_values(store: Store) -> None:
    values = {"p": 3, "q": 2.5, "r": float("inf"), "s": float("nan"), "t": True, "u": -(2**63), "v": float("-inf")}
    store.write_spans(
        [
            _span(letter, f"{letter}1", "numbers", 9000, 9001, attributes={"y": value})
            for letter, value in values.items()
        ]
    )
    assert sorted(ids(store, "span.attributes.y > 2.5")) == ["p", "r"]  # NaN and booleans are not numbers
    assert sorted(ids(store, "span.attributes.y <= 2.5")) == ["q", "u", "v"]
    assert ids(store, "span.attributes.y >= 1e308") == ["r"]
    assert ids(store, "span.attributes.y < -1e308") == ["v"]
    assert ids(store, "span.attributes.y = 3") == ["p"]


@pytest.mark.parametrize(
    ("pattern", "terms"),
    [
        ("%order status%", ['"status"*']),  # 'order' may end a longer word ('reorder')
        ("%quantum warranty clause%", ['"warranty"', '"clause"*']),
        ("%story%", []),  # inside a word: no term, the text is scanned
        ("%unn%", []),
        ("story%", ['"story"*']),  # the start of the text starts a word
        ("%a tale", ['"tale"']),
        ("%, get\\_weather(%", ['"get"', '"weather"']),
        ("%, get_weather(%", ['"get"*']),  # '_' is a wildcard: 'weather' may end a longer word
        ("%x ab%", []),  # too short a prefix
        ("% café au%", ['"caf"*']),  # 'au' is too short a prefix
        ("% naïve day%", ['"day"*']),  # 've' may be the end of a word: the tokenizer folds 'ï' into it
        ("% 100\\% %", ['"100"']),
        ("% t_ere %", []),
    ],
)
def test_word_terms(pattern: str, terms: list[str]) -> None:
    assert _word_terms(_pattern(pattern)) == terms


@pytest.mark.parametrize(
    "filter_string",
    [
        "trace.name LIKE 'chat\\\\'",  # a pattern ending in a backslash
        "trace.name ILIKE '\\\\'",
        "span.name NOT LIKE '%\\\\'",
        "tag.prod LIKE '[*?]'",
        "trace.text LIKE '%\\\\%'",
        "trace.text LIKE '%[story]%'",
        "trace.text ILIKE '%___%'",
        "span.attributes.`it's \"odd\"` = 'x'",
        "metadata.```` = 'x'",  # the key is one backtick
        "trace.timestamp_ms > -9223372036854775808",
        "span.attributes.x > 1.7976931348623157e308",
    ],
)
def test_edge_cases_run(store: Store, filter_string: str) -> None:
    ids(store, filter_string)  # no database error on either backend


# Random filters from a small vocabulary: each must compile and run (SQLite, one store for all examples).
_FIELDS = st.sampled_from(
    ["trace.name", "span.name", "span.type", "span.attributes.`gen_ai.request.model`", "tag.prod", "metadata.user"]
)
_OPS = st.sampled_from(["=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"])
_VALUES = st.text(alphabet="ab%_\\'[*?]. é", max_size=8)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = Store.open(f"sqlite:///{tmp_path_factory.mktemp('query')}/traces.db")
    opened.write_spans(RECORDS)
    yield opened
    opened.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_FIELDS, _OPS, _VALUES), min_size=1, max_size=3), st.booleans())
def test_random_string_filters_run(sqlite_store: Store, parts: list[tuple[str, str, str]], text_too: bool) -> None:
    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"

    clauses = [f"{field} {op} {quoted(value)}" for field, op, value in parts]
    if text_too:
        clauses.append(f"trace.text LIKE {quoted(parts[0][2])}")
    ids(sqlite_store, " AND ".join(clauses))


@pytest.mark.parametrize("key", ["execution_time_ms", "name", "cost_usd"])
@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("after", [None, "page"])
def test_postgresql_sorts_by_a_key_that_may_be_empty_through_its_index(
    store: Store, default_id: int, key: str, descending: bool, after: str | None
) -> None:
    """NULLs first ascending and last descending (SQLite's order) is the order of the key's index,
    read forward or backward: no sort of the experiment's traces, on the first page or a later one."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL query plans")
    order_by = [f"{key} {'DESC' if descending else 'ASC'}"]
    last = {"execution_time_ms": 5, "name": "m", "cost_usd": 0.5}[key]
    statement = search_statement([default_id], [], order_by, None if after is None else [last, "8" * 32], 51,
                                 "postgresql")
    compiled = statement.compile(dialect=store.engine.dialect, compile_kwargs={"render_postcompile": True})
    with store.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_sort = off")  # a plan that needs a sort keeps it, at any cost
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(compiled), compiled.params))
    assert f"ix_traces_experiment_id_{key}_trace_id" in plan, plan
    assert "Sort" not in plan, plan
