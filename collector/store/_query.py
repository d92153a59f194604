"""Compile parsed filters and sort keys into one SQLAlchemy Core SELECT over the store's tables.

Every user-supplied value travels as a bound parameter; only names from the fixed tables below
ever become SQL text. A page is a walk of `traces` in the order of one of its indexes
((experiment_id, timestamp_ms) by default); conditions on trace columns are tested on the way,
and conditions on spans, attributes, tags, metadata and text reach `traces` in one of two shapes,
each chosen for the index that serves it (see `_compile`).

Semantics shared by both databases:
- A span condition holds when at least one span of the trace satisfies it; two span conditions
  may be satisfied by different spans. Tag and metadata conditions need the key to be present.
- LIKE is case-sensitive and ILIKE case-insensitive (on SQLite for ASCII letters only); ``%`` and
  ``_`` are the wildcards, ``\\%``, ``\\_`` and ``\\\\`` match them literally. trace.text is
  case-insensitive with either operator.
- A span attribute compared with ``<``, ``<=``, ``>``, ``>=`` and a number is compared as a
  number, on spans whose value for that key is numeric (an int or float, or a string written as
  a decimal number such as '12' or '1e400'; NaN and text such as 'gpt-4o' never match; infinities
  compare as the largest and smallest numbers); ``=``/``!=``/IN with a number match the
  value's usual string forms (``5`` matches ``5`` and ``5.0``).
- Content attributes (prompts, completions, tool arguments and results: _rows.UNINDEXED_KEYS)
  compare as text, whatever their length; their words are looked up in the full-text index, so,
  as with trace.text, only the first TEXT_LENGTH characters of a span's content are found by a
  pattern's words. ``<``, ``<=``, ``>``, ``>=`` never match them.
- Sorting puts NULLs first in ascending and last in descending order; ties are broken by trace_id.
  A page token holds the sort values of its page's last trace, and the next page starts after them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Select,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
)
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.sql.operators import custom_op

from ._filter import Condition, Scalar, parse_order_by
from ._ordered_join import OrderedJoin
from ._rows import UNINDEXED_KEYS
from ._tables import experiments, span_attributes, span_bucket, spans, trace_metadata, trace_tags, traces

__all__ = ["MAX_ROWS", "decode_page_token", "encode_page_token", "search_statement", "sort_keys", "sort_values"]

DIALECTS: Final = ("sqlite", "postgresql")

# The FTS5 word index over spans.content_text (created by the SQLite migration; rowid = spans.id).
span_text = table("span_text", column("rowid"), column("content_text"))

_TRACE_COLUMNS: Final = {
    "timestamp_ms": traces.c.timestamp_ms,
    "end_time_ms": traces.c.end_ms,
    "execution_time_ms": traces.c.execution_time_ms,
    "input_tokens": traces.c.input_tokens,
    "output_tokens": traces.c.output_tokens,
    "total_tokens": traces.c.total_tokens,
    "cost_usd": traces.c.cost_usd,
    "status": traces.c.status,
    "name": traces.c.name,
    "trace_id": traces.c.trace_id,
    "session_id": traces.c.session_id,
    "user_id": traces.c.user_id,
}

# Every bucket of span ids in use, 0 to the newest span's (see _tables.span_bucket): SQLite seeks
# the attribute indexes once per bucket. One object, so that a statement with several attribute
# conditions holds it once. PostgreSQL is not given the list: it cannot estimate how many rows a
# recursive CTE yields and then plans a common value as a few hundred rows (a nested loop over
# tens of thousands of traces); without it, it reads the key's range of the index, testing the
# value in each entry, which its statistics describe well.
_BUCKETS: Final = select(literal(0).label("n")).cte("span_buckets", recursive=True)
_BUCKETS = _BUCKETS.union_all(
    select(_BUCKETS.c.n + 1).where(_BUCKETS.c.n < span_bucket(select(func.max(spans.c.id)).scalar_subquery()))
)

# Shortest word prefix worth a prefix query: shorter ones match most of the index.
_MIN_PREFIX: Final = 3


def search_statement(
    experiment_ids: Sequence[int] | None,
    conditions: Sequence[Condition],
    order_by: Sequence[str] | None,
    after: Sequence[Any] | None,
    limit: int | None,
    dialect_name: str,
) -> Select[Any]:
    """The SELECT of one page of traces: every column of `traces` plus ``experiment_name``.

    ``experiment_ids=None`` searches every experiment. ``after`` is the previous page's last
    trace as :func:`sort_values` gives it (None: the first page). Pass ``limit=max_results + 1``
    to learn whether another page follows. Raises FilterError for a bad ``order_by`` entry.
    """
    if dialect_name not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect_name!r}: expected one of {', '.join(DIALECTS)}")
    # A scalar subquery rather than a join: the planner then always walks `traces` in index
    # order, never the (small) experiments table first.
    experiment_name = (
        select(experiments.c.name)
        .where(experiments.c.experiment_id == traces.c.experiment_id)
        .scalar_subquery()
        .label("experiment_name")
    )
    statement = select(*traces.c, experiment_name)
    if experiment_ids is not None:
        ids = list(experiment_ids)
        if not ids:
            statement = statement.where(false())
        elif len(ids) == 1:
            statement = statement.where(traces.c.experiment_id == ids[0])
        elif dialect_name == "sqlite":
            # SQLite would read every trace of the experiments through (experiment_id, ...) and
            # sort them, testing each against the conditions; walking (timestamp_ms) and skipping
            # other experiments' traces stops once the page is full.
            statement = statement.where(_unindexed(traces.c.experiment_id).in_(ids))
        else:
            statement = statement.where(traces.c.experiment_id.in_(ids))
    # Cheapest first: columns of `traces`, then per-trace index probes, then set lookups.
    compiled = sorted((_compile(condition, dialect_name) for condition in conditions), key=lambda item: item[0])
    for _, clause in compiled:
        statement = statement.where(clause)
    keys = sort_keys(order_by)
    if after is not None:
        statement = statement.where(_after(keys, after))
    statement = statement.order_by(*_order_clauses(keys, dialect_name))
    if limit is not None:
        statement = statement.limit(limit)
    return statement


# --- sorting -------------------------------------------------------------------------------------

_NOT_NULL: Final = frozenset({"timestamp_ms", "status", "trace_id"})


def sort_keys(order_by: Sequence[str] | None) -> list[tuple[str, bool]]:
    """The (key, descending) pairs a search sorts by, ending with trace_id: a total order, so that
    a page starts exactly after the previous one's last trace. FilterError for a bad entry."""
    keys = parse_order_by(list(order_by) if order_by is not None else None) or [("timestamp_ms", True)]
    unique = list(dict.fromkeys(key for key, _ in keys))
    direction = dict(reversed(keys))  # a repeated key sorts as its first mention says
    result = [(key, direction[key]) for key in unique]
    if "trace_id" not in direction:
        result.append(("trace_id", keys[0][1]))
    return result


def sort_values(keys: Sequence[tuple[str, bool]], row: Any) -> list[Any]:
    """A result row's values for `keys`: where the page after it starts."""
    return [row[_TRACE_COLUMNS[key].name] for key, _ in keys]


def _order_clauses(keys: Sequence[tuple[str, bool]], dialect: str) -> list[ColumnElement[Any]]:
    clauses: list[ColumnElement[Any]] = []
    for key, descending in keys:
        column_ = _TRACE_COLUMNS[key]
        clause = column_.desc() if descending else column_.asc()
        # SQLite sorts NULL as the smallest value; PostgreSQL as the largest. Spell SQLite's order
        # out on PostgreSQL so that a page is the same on both.
        if dialect == "postgresql" and key not in _NOT_NULL:
            clause = clause.nulls_last() if descending else clause.nulls_first()
        clauses.append(clause)
    return clauses


def _after(keys: Sequence[tuple[str, bool]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Traces that sort after the one with `values`, NULL being the smallest value (see
    `_order_clauses`): a keyset page, which neither skips nor repeats a trace when traces are
    stored or deleted between two pages, and costs the same however deep it is."""
    clause: ColumnElement[bool] | None = None
    for (key, descending), value in reversed(list(zip(keys, values, strict=True))):
        column_ = _TRACE_COLUMNS[key]
        if value is None:
            beyond = false() if descending else column_.is_not(None)
            same = column_.is_(None)
        else:
            beyond = column_ < value if descending else column_ > value
            if descending and key not in _NOT_NULL:
                beyond = or_(beyond, column_.is_(None))
            same = column_ == value
        clause = beyond if clause is None else or_(beyond, and_(same, clause))
    assert clause is not None  # keys always end with trace_id
    first_key, descending = keys[0]
    first = values[0]
    if first is not None and (first_key in _NOT_NULL or not descending):
        # The same rows, said so that the sort key's index is read from the boundary on.
        column_ = _TRACE_COLUMNS[first_key]
        clause = and_(column_ <= first if descending else column_ >= first, clause)
    return clause


# --- conditions ----------------------------------------------------------------------------------


# How a condition reaches `traces`, in the order they are applied.
_COLUMN, _PROBE, _SET = 0, 1, 2


def _compile(condition: Condition, dialect: str) -> tuple[int, ColumnElement[bool]]:
    """A condition as (kind, clause); see `_adaptive` for the shape of span conditions."""
    entity, key, op, value = condition.entity, condition.key, condition.op, condition.value
    if entity == "trace":
        if key == "text":
            return _full_text(_pattern(value), dialect)
        return _COLUMN, _compare(_TRACE_COLUMNS[key], op, value, dialect)
    if entity in ("tag", "metadata"):
        # The primary key (trace_id, key) makes this one seek per trace, whatever the operator.
        source = trace_tags if entity == "tag" else trace_metadata
        if op in ("IS NULL", "IS NOT NULL"):  # whether the trace has the key at all
            present = _probe(source, source.c.key == key)
            return _PROBE, present if op == "IS NOT NULL" else not_(present)
        predicate = _compare(source.c.value, op, value, dialect)
        return _PROBE, _probe(source, source.c.key == key, predicate)
    if entity == "span" and key in ("name", "type", "status"):
        column_ = {"name": spans.c.name, "type": spans.c.span_type, "status": spans.c.status_code}[key]
        matching = select(spans.c.trace_id).where(_compare(column_, op, value, dialect))
        # The probe walks the trace's spans through (trace_id, span_id); unindexed(), so that
        # SQLite never probes through the name index instead (all spans of that name, per trace).
        probe = _probe(spans, _compare(_unindexed(column_), op, value, dialect))
        return _SET, _adaptive(matching, probe, dialect)
    if entity == "span" and key.startswith("attributes."):
        attribute = key[len("attributes.") :]
        if attribute in UNINDEXED_KEYS:
            return _content_attribute(attribute, op, value, dialect)
        predicate = _attribute_predicate(span_attributes.c.value, op, value, dialect)
        bucket = span_bucket(span_attributes.c.span_pk)
        matching = select(span_attributes.c.trace_id).where(span_attributes.c.key == attribute, predicate)
        if dialect == "sqlite":
            matching = matching.where(bucket.in_(select(_BUCKETS.c.n)))
        # Whether one trace has it: the trace's spans, found by trace id, and their attribute rows
        # by span id. An equality seeks (key, bucket, value, span_pk) for each span; other
        # operators must never go through the key's index (every row of that key, for each span).
        key_column = span_attributes.c.key if op in ("=", "IN") else _unindexed(span_attributes.c.key)
        same_span = and_(span_attributes.c.span_pk == spans.c.id, bucket == span_bucket(spans.c.id))
        probe = (
            exists()
            .select_from(OrderedJoin(spans, span_attributes, same_span))
            .where(spans.c.trace_id == traces.c.trace_id, key_column == attribute, predicate)
        )
        return _SET, _adaptive(matching, probe, dialect)
    raise ValueError(f"cannot compile condition {condition!r}")


def _unindexed(column_: ColumnElement[Any]) -> ColumnElement[Any]:
    """The column behind SQLite's unary +, which keeps the planner from using its indexes."""
    return UnaryExpression(column_, operator=custom_op("+"), type_=column_.type)


def _probe(source: Any, *criteria: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(source.c.trace_id == traces.c.trace_id, *criteria)


# Above this many matching rows, probing each trace beats collecting the matches.
_SET_LIMIT: Final = 20_000


def _adaptive(matching: Select[Any], probe: ColumnElement[bool], dialect: str) -> ColumnElement[bool]:
    """A span condition that stays cheap whether it matches few traces or most of them.

    Neither plain shape does on SQLite, whose planner cannot tell a common value from a rare one:
    a set (``trace_id IN (SELECT trace_id ...)``) costs as much as there are matches (a common
    model name: seconds), a probe (``EXISTS (... WHERE trace_id = traces.trace_id)``) as many
    traces as the page walks past before it is full (a value that matches nothing: every trace of
    the experiment). So the matches are collected up to _SET_LIMIT rows, once; if they stop
    short, they are the set, else each trace is probed (and with that many matches, a page fills
    quickly). The page is walked in its index order either way, never sorted after the fact.

    PostgreSQL's planner makes this choice itself from its statistics (a hashed or nested-loop
    semi-join over the same indexes) and does worse when handed the hybrid: it gets the set.
    """
    if dialect != "sqlite":
        return traces.c.trace_id.in_(matching)
    collected = matching.limit(_SET_LIMIT).cte().prefix_with("MATERIALIZED")
    complete = select(func.count()).select_from(collected).scalar_subquery() < _SET_LIMIT
    # Uncorrelated, so evaluated once: when nothing matches, each trace costs one cached test.
    any_match = exists().select_from(collected)
    return and_(any_match, case((complete, traces.c.trace_id.in_(select(collected.c.trace_id))), else_=probe))


def _compare(column_: ColumnElement[Any], op: str, value: Any, dialect: str) -> ColumnElement[bool]:
    if op == "=":
        return column_ == value
    if op == "!=":
        return column_ != value
    if op == "<":
        return column_ < value
    if op == "<=":
        return column_ <= value
    if op == ">":
        return column_ > value
    if op == ">=":
        return column_ >= value
    if op in ("IN", "NOT IN"):
        values = list(value)
        if any(isinstance(item, float) for item in values):
            # A list is bound with one type, taken from its first value: on PostgreSQL an int
            # first casts every value to bigint, so 500.4 would match 500 (and 1e19 fail to bind).
            values = [float(item) for item in values]
        return column_.in_(values) if op == "IN" else column_.not_in(values)
    if op in ("LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"):
        negate = op.startswith("NOT")
        return _like(column_, _pattern(value), case_sensitive="ILIKE" not in op, dialect=dialect, negate=negate)
    if op == "RLIKE":  # a search anywhere in the value: REGEXP on SQLite (Python's re), ~ on PostgreSQL
        return column_.regexp_match(_postgresql_regex(value) if dialect == "postgresql" else value)
    raise ValueError(f"unknown operator {op!r}")


def _postgresql_regex(pattern: str) -> str:
    r"""A pattern in Python's syntax for PostgreSQL, which reads \b as a backspace and spells a
    word boundary \y (\B: \Y). Inside a bracket expression \b stays: a backspace in both."""
    out: list[str] = []
    in_brackets = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            out.append("\\" + ({"b": "y", "B": "Y"}.get(escaped, escaped) if not in_brackets else escaped))
            index += 2
            continue
        if char == "[" and not in_brackets:
            in_brackets = True
        elif char == "]" and in_brackets:
            in_brackets = False
        out.append(char)
        index += 1
    return "".join(out)


def _attribute_predicate(
    value_column: ColumnElement[Any], op: str, value: Any, dialect: str
) -> ColumnElement[bool]:
    """A test of an attribute's string form (span_attributes.value, or a content attribute read
    from the span); `<`, `<=`, `>`, `>=` compare span_attributes.value_number."""
    if op in ("<", "<=", ">", ">="):
        return _numeric_compare(op, value, dialect)
    if op in ("=", "!="):
        forms = _string_forms(value)
        if len(forms) == 1:
            return _compare(value_column, op, forms[0], dialect)
        return _compare(value_column, "IN" if op == "=" else "NOT IN", forms, dialect)
    if op in ("IN", "NOT IN"):
        return _compare(value_column, op, [form for item in value for form in _string_forms(item)], dialect)
    return _compare(value_column, op, value, dialect)


def _string_forms(value: Scalar) -> list[str]:
    """The strings a stored attribute equal to ``value`` may read as (numbers are stored as
    Python writes them: 5 -> '5', 5.0 -> '5.0', 1e+20)."""
    if isinstance(value, str):
        return [value]
    forms = [str(value)]
    if isinstance(value, int):
        forms.append(str(float(value)))
    elif value.is_integer() and abs(value) < 2**63:
        forms.append(str(int(value)))
    return list(dict.fromkeys(forms))


def _numeric_compare(op: str, number: Any, dialect: str) -> ColumnElement[bool]:
    """Compare span_attributes.value_number, the value as a number where it is one: strings such
    as 'gpt-4o' (NULL there) never match; (key, value_number, trace_id) serves the range."""
    return _compare(span_attributes.c.value_number, op, _as_float(number), dialect)


def _as_float(number: Any) -> float:
    # Bound as a float on both databases: value_number is a double, and an integer too large
    # for one compares as an infinity rather than failing to bind.
    try:
        return float(number)
    except OverflowError:
        return float("inf") if number > 0 else float("-inf")


# --- LIKE patterns -------------------------------------------------------------------------------

_WILDCARDS: Final = ("%", "_")
_ASCII_WORD: Final = re.compile(r"[A-Za-z0-9]+")


def _pattern(value: Any) -> list[str]:
    """A LIKE pattern as a list of pieces: '%', '_', or a one-character literal prefixed with '='.

    Backslash escapes the next character; a trailing lone backslash is a literal backslash (so
    the pattern is always valid, where PostgreSQL would reject it).
    """
    text = str(value)
    pieces: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            pieces.append("=" + text[index + 1])
            index += 2
            continue
        pieces.append(char if char in _WILDCARDS else "=" + char)
        index += 1
    return pieces


def _like_text(pieces: list[str]) -> str:
    """Back to LIKE syntax with backslash as the escape character."""
    out = []
    for piece in pieces:
        if piece in _WILDCARDS:
            out.append(piece)
        elif piece[1] in ("%", "_", "\\"):
            out.append("\\" + piece[1])
        else:
            out.append(piece[1])
    return "".join(out)


def _glob_text(pieces: list[str]) -> str:
    """The same pattern for SQLite's GLOB, which is case-sensitive (its LIKE is not)."""
    out = []
    for piece in pieces:
        if piece == "%":
            out.append("*")
        elif piece == "_":
            out.append("?")
        elif piece[1] in ("*", "?", "["):
            out.append(f"[{piece[1]}]")
        else:
            out.append(piece[1])
    return "".join(out)


def _word_terms(pieces: list[str]) -> list[str]:
    """FTS5 terms every text matching the LIKE pattern contains: a MATCH of all of them finds a
    superset of the matching spans.

    The index holds the words of the text as its tokenizer (unicode61) splits them: runs of
    letters and digits, case and diacritics folded. In a run of literal characters of the pattern,
    a word is known to be a whole token of the text when a separator or an end of the pattern
    (no wildcard) is on both of its sides: that word is a term. When only its left side is, it
    starts a token: a prefix term (``word*``). A word next to a wildcard on its left may be the end
    of a longer token (``%story%`` matches "history") and gives no term. Only ASCII characters
    are told apart here (letters and digits are word characters, every other ASCII character a
    separator); a word next to a non-ASCII character on its left gives no term either.
    """
    terms: list[str] = []
    count = len(pieces)
    index = 0
    while index < count:
        if pieces[index] in _WILDCARDS:
            index += 1
            continue
        start = index
        while index < count and pieces[index] not in _WILDCARDS:
            index += 1
        run = "".join(piece[1] for piece in pieces[start:index])
        # The pattern's own ends are ends of the text, so they bound words like separators.
        left_bound, right_bound = start == 0, index == count
        for match in _ASCII_WORD.finditer(run):
            begin, end = match.span()
            if begin > 0:
                before = run[begin - 1]
                if not before.isascii():
                    continue
            elif not left_bound:
                continue
            word = match.group()
            if end < len(run) or right_bound:
                after = run[end] if end < len(run) else ""
                if not after or after.isascii():
                    terms.append(f'"{word}"')
                    continue
            if len(word) >= _MIN_PREFIX:
                terms.append(f'"{word}"*')
    return list(dict.fromkeys(terms))


def _like(
    column_: ColumnElement[Any], pieces: list[str], case_sensitive: bool, dialect: str, negate: bool = False
) -> ColumnElement[bool]:
    if dialect == "postgresql":
        # PostgreSQL's LIKE escapes with backslash by default.
        pattern = _like_text(pieces)
        if case_sensitive:
            return column_.not_like(pattern) if negate else column_.like(pattern)
        return column_.not_ilike(pattern) if negate else column_.ilike(pattern)
    if case_sensitive:
        return column_.op("NOT GLOB" if negate else "GLOB")(_glob_text(pieces))
    if negate:
        return column_.not_like(_like_text(pieces), escape="\\")
    return column_.like(_like_text(pieces), escape="\\")


_POSITIVE: Final = ("=", "LIKE", "ILIKE")


def _content_attribute(attribute: str, op: str, value: Any, dialect: str) -> tuple[int, ColumnElement[bool]]:
    """A content attribute, which span_attributes does not hold: the value stored in the span's
    attributes, looked up through the full-text index when the condition names words (the
    attribute's text is part of the span's searchable text, between line breaks)."""
    if op in ("<", "<=", ">", ">="):
        return _COLUMN, false()  # text, never compared as a number
    if dialect == "postgresql":
        stored: ColumnElement[Any] = cast(spans.c.attributes, JSON)[attribute].as_string()
    else:
        # json_extract gives a number or a boolean as an SQL number (true as 1): its text, as
        # PostgreSQL's ->> gives it, is what the condition compares.
        path = f'$."{attribute}"'
        kind = func.json_type(spans.c.attributes, path)
        stored = case(
            (kind.in_(("true", "false")), kind), else_=cast(func.json_extract(spans.c.attributes, path), Text)
        )
    exact = _attribute_predicate(stored, op, value, dialect)
    if op not in _POSITIVE or not isinstance(value, str):
        return _PROBE, _probe(spans, exact)
    pieces = _pattern(value) if op != "=" else ["=" + char for char in value]
    if dialect == "postgresql":
        # The GIN pg_trgm index on spans.content_text narrows the spans to read.
        narrowed = spans.c.content_text.ilike(_like_text(["%", *pieces, "%"]))
        return _SET, traces.c.trace_id.in_(select(spans.c.trace_id).where(narrowed, exact))
    return _words_then_exact(pieces, exact)


def _full_text(pieces: list[str], dialect: str) -> tuple[int, ColumnElement[bool]]:
    """trace.text: a case-insensitive pattern over the searchable text of any span of the trace."""
    if dialect == "postgresql":
        # The GIN pg_trgm index on spans.content_text serves ILIKE.
        matching = select(spans.c.trace_id).where(spans.c.content_text.ilike(_like_text(pieces)))
        return _SET, traces.c.trace_id.in_(matching)
    # Text with letters beyond ASCII is stored in lower case (SQLite's LIKE folds ASCII letters
    # only, so "Ü" would not find "ü"); text written by earlier versions is matched as written, too.
    pattern = _like_text(pieces)
    lowered = pattern.lower()
    exact = spans.c.content_text.like(lowered, escape="\\")
    if lowered != pattern and not pattern.isascii():
        exact = or_(exact, spans.c.content_text.like(pattern, escape="\\"))
    return _words_then_exact(pieces, exact)


def _words_then_exact(pieces: list[str], exact: ColumnElement[bool]) -> tuple[int, ColumnElement[bool]]:
    """SQLite: the spans holding every word the pattern `pieces` is known to contain, found by the
    word index and checked with `exact`."""
    terms = _word_terms(pieces)
    if not terms:
        # No word to look up (such as '%unn%', the middle of a word): every span must be read.
        # Read them trace by trace, in page order, so a common pattern stops once the page is full.
        return _PROBE, _probe(spans, exact)
    matching = (
        select(spans.c.trace_id)
        .select_from(span_text.join(spans, spans.c.id == span_text.c.rowid))
        .where(literal_column("span_text").op("MATCH")(" AND ".join(terms)), exact)
    )
    # A plain IN: SQLite drives from the index matches when they are few.
    return _SET, traces.c.trace_id.in_(matching)


# --- page tokens ---------------------------------------------------------------------------------

_TOKEN_VERSION: Final = 2
# LIMIT is a 64-bit integer on both databases: a larger one fails to bind.
MAX_ROWS: Final = 2**63 - 1
# A token carries the last trace's sort values, and a trace name has no length limit; the
# bound only keeps a forged token from costing more than decoding it.
_MAX_TOKEN_LENGTH: Final = 1 << 20
_INTEGER_KEYS: Final = frozenset(
    {"timestamp_ms", "end_time_ms", "execution_time_ms", "input_tokens", "output_tokens", "total_tokens"}
)


def encode_page_token(keys: Sequence[tuple[str, bool]], values: Sequence[Any]) -> str:
    """An opaque, URL-safe token for the page after the trace with sort `values`."""
    order = [[key, int(descending)] for key, descending in keys]
    payload = {"v": _TOKEN_VERSION, "order": order, "after": list(values)}
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_page_token(token: str, keys: Sequence[tuple[str, bool]]) -> list[Any]:
    """The sort values a token from :func:`encode_page_token` carries, for a search sorted by
    `keys`; ValueError if it is not such a token."""
    problem = "it was not returned by search_traces (pass the next_page_token of the previous page unchanged)"
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_LENGTH:
        raise ValueError(f"Invalid page token {_excerpt(token)}: {problem}")
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError(f"Invalid page token {_excerpt(token)}: {problem}") from None
    if not isinstance(payload, dict) or payload.get("v") != _TOKEN_VERSION:
        raise ValueError(f"Invalid page token {_excerpt(token)}: {problem}")
    order, after = payload.get("order"), payload.get("after")
    if order != [[key, int(descending)] for key, descending in keys]:
        if isinstance(order, list) and all(isinstance(entry, list) and len(entry) == 2 for entry in order):
            raise ValueError(f"Invalid page token: it continues a search sorted by {_describe(order)}, not by "
                             f"{_describe(keys)}; pass the order_by of the first page with its tokens")
        raise ValueError(f"Invalid page token {_excerpt(token)}: {problem}")
    if not isinstance(after, list) or len(after) != len(keys) or not all(map(_fits, keys, after)):
        raise ValueError(f"Invalid page token {_excerpt(token)}: {problem}")
    return after


def _fits(key_and_direction: tuple[str, bool], value: Any) -> bool:
    key = key_and_direction[0]
    if value is None:
        return key not in _NOT_NULL
    if key in _INTEGER_KEYS:
        return isinstance(value, int) and not isinstance(value, bool) and -MAX_ROWS - 1 <= value <= MAX_ROWS
    if key == "cost_usd":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, str)


def _describe(keys: Sequence[Sequence[Any]]) -> str:
    return ", ".join(f"{key} {'DESC' if descending else 'ASC'}" for key, descending in keys)


def _excerpt(token: Any) -> str:
    text = repr(token)
    return text if len(text) <= 60 else text[:57] + "..."
