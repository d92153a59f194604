"""The search_traces filter parser: every identifier form, operator, quoting rule and error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from traceglass.collector.store._filter import (
    MAX_CONDITIONS,
    MAX_LIST_VALUES,
    Condition,
    FilterError,
    parse_filter,
    parse_order_by,
)


def one(text: str) -> Condition:
    conditions = parse_filter(text)
    assert len(conditions) == 1
    return conditions[0]


# --- identifiers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entity", "key"),
    [
        ("trace.status = 'OK'", "trace", "status"),
        ("attributes.status = 'OK'", "trace", "status"),
        ("attribute.status = 'OK'", "trace", "status"),
        ("status = 'OK'", "trace", "status"),
        ("TRACE.STATUS = 'OK'", "trace", "status"),
        ("trace.state = 'OK'", "trace", "status"),
        ("trace.timestamp_ms > 1", "trace", "timestamp_ms"),
        ("trace.timestamp > 1", "trace", "timestamp_ms"),
        ("timestamp_ms > 1", "trace", "timestamp_ms"),
        ("trace.execution_time_ms > 1", "trace", "execution_time_ms"),
        ("trace.end_time_ms > 1", "trace", "end_time_ms"),
        ("trace.total_tokens > 1", "trace", "total_tokens"),
        ("trace.input_tokens > 1", "trace", "input_tokens"),
        ("trace.output_tokens > 1", "trace", "output_tokens"),
        ("trace.name = 'x'", "trace", "name"),
        ("name = 'x'", "trace", "name"),
        ("trace.request_id = 'x'", "trace", "trace_id"),
        ("trace.trace_id = 'x'", "trace", "trace_id"),
        ("trace.session_id = 'x'", "trace", "session_id"),
        ("trace.user_id = 'x'", "trace", "user_id"),
        ("trace.text LIKE '%x%'", "trace", "text"),
        ("span.name = 'x'", "span", "name"),
        ("span.type = 'LLM'", "span", "type"),
        ("span.status = 'ERROR'", "span", "status"),
        ("span.attributes.model = 'x'", "span", "attributes.model"),
        ("span.attributes.gen_ai.request.model = 'x'", "span", "attributes.gen_ai.request.model"),
        ("span.attributes.`gen_ai.request.model` = 'x'", "span", "attributes.gen_ai.request.model"),
        ("span.attributes.`weird key!` = 'x'", "span", "attributes.weird key!"),
        ("span.attributes.`a``b` = 'x'", "span", "attributes.a`b"),
        ("span.attributes.`gen_ai`.usage.`input_tokens` > 1", "span", "attributes.gen_ai.usage.input_tokens"),
        ("tag.env = 'x'", "tag", "env"),
        ("tags.env = 'x'", "tag", "env"),
        # MLflow's own keys for what traceglass keeps as trace fields, and its name for the text
        ("tag.`mlflow.traceName` = 'x'", "trace", "name"),
        ("tag.mlflow.traceName = 'x'", "trace", "name"),
        ("metadata.`mlflow.trace.session` = 'x'", "trace", "session_id"),
        ("request_metadata.mlflow.trace.user = 'x'", "trace", "user_id"),
        ("span.content LIKE '%x%'", "trace", "text"),
        ("trace.end_time > 1", "trace", "end_time_ms"),
        # Backticks around any name, as MLflow allows them
        ("`trace`.`status` = 'OK'", "trace", "status"),
        ("trace.`execution_time_ms` > 1", "trace", "execution_time_ms"),
        ("`status` = 'OK'", "trace", "status"),
        ("`span`.`name` = 'x'", "span", "name"),
        ("`tag`.x = 'x'", "tag", "x"),
        ("`metadata`.`a.b` = 'x'", "metadata", "a.b"),
        ("tag.Env = 'x'", "tag", "Env"),
        ("metadata.user = 'x'", "metadata", "user"),
        ("metadata.`mlflow.trace.sessions` = 'x'", "metadata", "mlflow.trace.sessions"),
        ("request_metadata.user = 'x'", "metadata", "user"),
        ("tag.123 = 'x'", "tag", "123"),
    ],
)
def test_identifiers(text: str, entity: str, key: str) -> None:
    condition = one(text)
    assert (condition.entity, condition.key) == (entity, key)


# --- operators and values ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("trace.execution_time_ms = 5", "=", 5),
        ("trace.execution_time_ms == 5", "=", 5),
        ("trace.execution_time_ms != 5", "!=", 5),
        ("trace.execution_time_ms <> 5", "!=", 5),
        ("trace.execution_time_ms < 5", "<", 5),
        ("trace.execution_time_ms <= 5", "<=", 5),
        ("trace.execution_time_ms > 5", ">", 5),
        ("trace.execution_time_ms >= 5", ">=", 5),
        ("trace.execution_time_ms>=5", ">=", 5),
        ("trace.execution_time_ms > -5", ">", -5),
        ("trace.execution_time_ms > 2.5", ">", 2.5),
        ("trace.execution_time_ms > .5", ">", 0.5),
        ("trace.execution_time_ms > 1e3", ">", 1000.0),
        ("trace.execution_time_ms > 1.5E-1", ">", 0.15),
        ("trace.execution_time_ms IN (1, 2, 3)", "IN", (1, 2, 3)),
        ("trace.execution_time_ms not in (1)", "NOT IN", (1,)),
        ("trace.name LIKE 'a%'", "LIKE", "a%"),
        ("trace.name like 'a%'", "LIKE", "a%"),
        ("trace.name ILIKE 'a%'", "ILIKE", "a%"),
        ("trace.name Not Like 'a%'", "NOT LIKE", "a%"),
        ("trace.name NOT ILIKE 'a%'", "NOT ILIKE", "a%"),
        ("trace.name IN ('a', \"b\")", "IN", ("a", "b")),
        ("span.attributes.x > 5", ">", 5),
        ("span.attributes.x = 5", "=", 5),
        ("span.attributes.x IN ('a', 5)", "IN", ("a", 5)),
        ("trace.trace_id = '9223372036854775807'", "=", "9223372036854775807"),
        ("trace.timestamp_ms > 9223372036854775807", ">", 2**63 - 1),
        ("tag.env IS NULL", "IS NULL", None),
        ("trace.name rlike '^a.*z$'", "RLIKE", "^a.*z$"),
        ("metadata.env is not null", "IS NOT NULL", None),
    ],
)
def test_operators_and_values(text: str, op: str, value: object) -> None:
    condition = one(text)
    assert (condition.op, condition.value) == (op, value)
    assert type(condition.value) is type(value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        ("''", ""),
        ("'it''s'", "it's"),
        ('"say ""hi"""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"a \"b\""', 'a "b"'),
        ("'a \"b\"'", 'a "b"'),
        (r"'tab\there'", "tab\there"),
        (r"'line\nbreak'", "line\nbreak"),
        (r"'back\\slash'", "back\\slash"),
        (r"'100\%'", "100\\%"),  # LIKE escapes keep their backslash
        (r"'a\_b'", "a\\_b"),
        ("'ünïcødé ✓'", "ünïcødé ✓"),
        ("'AND = OR'", "AND = OR"),
    ],
)
def test_string_quoting(literal: str, value: str) -> None:
    assert one(f"tag.k = {literal}").value == value


def test_several_conditions_and_whitespace() -> None:
    text = (
        "\n  trace.status = 'ERROR'\n  and tag.env = 'prod'\tAND span.attributes.`gen_ai.usage.input_tokens` > 100 \n"
    )
    assert parse_filter(text) == [
        Condition("trace", "status", "=", "ERROR"),
        Condition("tag", "env", "=", "prod"),
        Condition("span", "attributes.gen_ai.usage.input_tokens", ">", 100),
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\t", None])
def test_empty_filter(text: str | None) -> None:
    assert parse_filter(text) == []


def test_status_values_are_uppercased() -> None:
    assert one("trace.status = 'error'").value == "ERROR"
    assert one("trace.status IN ('ok', 'in_progress')").value == ("OK", "IN_PROGRESS")
    assert one("trace.status LIKE 'e%'").value == "e%"  # patterns are left alone


def test_condition_is_frozen_and_slotted() -> None:
    condition = one("tag.a = 'b'")
    with pytest.raises(AttributeError):
        condition.key = "c"  # type: ignore[misc]
    assert not hasattr(condition, "__dict__")


# --- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "expected", "found"),
    [
        ("trace.status = 'OK' AND span.name =", 35, "a quoted string for span.name", "end of input"),
        ("trace.status = 'OK' AND", 23, "a field such as", "end of input"),
        ("trace.status = 'OK' OR trace.name = 'x'", 20, "AND or end of input (OR is not supported)", "'OR'"),
        ("trace.status = 'OK' trace.name = 'x'", 20, "AND or end of input", "'trace.name'"),
        ("trace.status 'OK'", 13, "an operator", "\"'OK'\""),
        ("trace.status REGEXP 'O.'", 13, "an operator", "'REGEXP'"),
        ("trace.name RLIKE '(open'", 17, "a valid regular expression (missing ), unterminated subpattern", None),
        ("trace.text RLIKE 'x'", 11, "one of LIKE, ILIKE for trace.text", "'RLIKE'"),
        ("trace.execution_time_ms RLIKE '5'", 24, "one of =, !=", "'RLIKE'"),
        ("trace.status NOT = 'OK'", 17, "LIKE, ILIKE or IN after NOT", "'='"),
        ("trace.execution_time_ms > '5'", 26, "a number for trace.execution_time_ms", "\"'5'\""),
        ("trace.name = 5", 13, "a quoted string for trace.name", "'5'"),
        ("tag.env = 5", 10, "a quoted string for tag.env", "'5'"),
        ("trace.execution_time_ms LIKE '5%'", 24, "one of =, !=, <, <=, >, >=, IN, NOT IN", "'LIKE'"),
        ("trace.name > 'a'", 11, "one of =, !=, LIKE, ILIKE", "'>'"),
        ("trace.text = 'hello'", 11, "one of LIKE, ILIKE for trace.text", "'='"),
        ("span.attributes.x < 'a'", 20, "a number", "\"'a'\""),
        ("span.attributes.x LIKE 5", 23, "a quoted string", "'5'"),
        ("trace.status = 'DONE'", 15, "a trace status", "\"'DONE'\""),
        ("trace.bogus = 1", 6, "a trace field", "'bogus'"),
        ("trace.status.x = 1", 6, "a trace field", "'status.x'"),
        ("span.kind = 'x'", 5, "span.name, span.type, span.status, span.content or span.attributes.<key>",
         "'kind'"),
        ("span.status = 'IN_PROGRESS'", 14, "a span status: 'OK', 'ERROR', 'UNSET'", "\"'IN_PROGRESS'\""),
        ("span.content = 'x'", 13, "one of LIKE, ILIKE for span.content", "'='"),
        ("tag.k IS 'x'", 9, "NULL or NOT NULL after IS", "\"'x'\""),
        ("tag.k IS NOT", 12, "NULL after IS NOT", "end of input"),
        ("trace.name IS NULL", 11, "one of =, !=, LIKE, ILIKE, NOT LIKE, NOT ILIKE, RLIKE, IN, NOT IN for trace.name",
         "'IS'"),
        ("span.attributes.x IS NULL", 18, "one of =", "'IS'"),
        ("span.attributes = 'x'", 15, "'.' and an attribute name", "'='"),
        ("tag = 'x'", 3, "'.' and a name", "'='"),
        ("run_name = 'x'", 0, "a field such as", "'run_name'"),
        ("tag. = 'x'", 4, "a name after '.'", "' '"),
        ("tag.my-key = 'x'", 6, "an operator after the name (a name with characters other than", "'-'"),
        ("metadata.team/owner = 'x'", 13, "an operator after the name", "'/'"),
        ("tag.ключ = 'x'", 4, "a name after '.' (a name with characters other than letters, digits and _", "'к'"),
        ("tag.`` = 'x'", 4, "a name between the backticks", "``"),
        ("tag.`open = 'x'", 15, "a closing backtick", "end of input"),
        ("tag.k = 'open", 13, "a closing ' for the string opened at position 8", "end of input"),
        ('tag.k = "open', 13, 'a closing " for the string opened at position 8', "end of input"),
        ("tag.k IN 'a'", 9, "'(' to open the list of values", "\"'a'\""),
        ("tag.k IN ('a' 'b')", 14, "',' or ')'", "\"'b'\""),
        ("tag.k IN ()", 10, "a quoted string for tag.k", "')'"),
        ("tag.k IN ('a',", 14, "a quoted string for tag.k", "end of input"),
        ("tag.k = 'a' AND AND", 16, "a field such as", "'AND'"),
        ("trace.timestamp_ms > 12abc", 23, "a digit, or a space after the number", "'a'"),
        ("trace.timestamp_ms > 1.2.3", 24, "a digit, or a space after the number", "'.'"),
        ("trace.timestamp_ms > 9223372036854775808", 21, "an integer between", "'9223372036854775808'"),
        ("trace.timestamp_ms > 1e999", 21, "a finite number", "'1e999'"),
        ("trace.timestamp_ms ~ 5", 19, "a field, an operator, a value or AND", "'~'"),
        ("tag.k = 'a\x00b'", 8, "a string without NUL characters", None),
        ("tag.k = '\ud800'", 9, "text without lone surrogate characters", None),
    ],
)
def test_errors_name_position_and_expectation(text: str, position: int, expected: str, found: str | None) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert error.expected.startswith(expected)
    if found is not None:
        assert error.found == found
    first_line = str(error).splitlines()[0]
    assert first_line.startswith(f"Invalid filter at position {position}: expected {expected}")


def test_the_error_is_traceglass_filter_error_and_crosses_processes() -> None:
    import pickle
    import traceback

    import traceglass

    with pytest.raises(traceglass.FilterError) as caught:
        parse_filter("trace.status = 'OK' AND span.name =")
    assert "traceglass.FilterError: Invalid filter at position 35" in "".join(
        traceback.format_exception_only(caught.value))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), str(copy), copy.position, copy.expected) == (
        FilterError, str(caught.value), 35, caught.value.expected)


def test_too_long_a_filter_is_a_filter_error() -> None:
    condition = "span.name != 'x'"
    assert len(parse_filter(" AND ".join([condition] * MAX_CONDITIONS))) == MAX_CONDITIONS
    text = " AND ".join([condition] * (MAX_CONDITIONS + 1))
    with pytest.raises(FilterError, match=f"at most {MAX_CONDITIONS} conditions") as caught:
        parse_filter(text)
    assert caught.value.position == text.rindex(" AND ") + 1

    half = ", ".join(["'x'"] * (MAX_LIST_VALUES // 2))
    assert len(parse_filter(f"tag.k IN ({half}) AND span.name NOT IN ({half})")) == 2
    text = f"tag.k IN ({half}) AND span.name NOT IN ({half}, 'last')"
    with pytest.raises(FilterError, match=f"at most {MAX_LIST_VALUES} values") as caught:
        parse_filter(text)
    assert caught.value.position == text.index("'last'")


def test_error_message_points_at_the_position() -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter("trace.status = 'OK' AND span.name =")
    assert str(caught.value) == (
        "Invalid filter at position 35: expected a quoted string for span.name, found end of input\n"
        "  trace.status = 'OK' AND span.name =\n"
        "                                     ^"
    )


def test_error_message_of_a_long_or_multiline_filter_shows_the_line_around_the_position() -> None:
    text = "trace.status = 'OK'\nAND\tspan.name = 'x' AND trace.bogus = 5\nAND tag.k = 'v'"
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert caught.value.position == text.index("bogus")
    assert str(caught.value).splitlines()[1:] == [
        "  AND span.name = 'x' AND trace.bogus = 5",
        "                                ^",
    ]

    text = "tag.k = '" + "x" * 5000 + "' AND span.name = 5 AND tag.j = '" + "y" * 5000 + "'"
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    message = str(caught.value)
    excerpt, caret = message.splitlines()[1:]
    assert len(message) < 400
    assert excerpt.startswith("  ...") and excerpt.endswith("...")
    assert excerpt[caret.index("^") :].startswith("5 AND")

    with pytest.raises(FilterError) as caught:
        parse_filter("trace.status = '" + "x" * 100_000 + "'")
    assert len(str(caught.value)) < 400 and len(caught.value.found) == 100_004  # the repr of the string


def test_non_string_filter_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_filter(5)  # type: ignore[arg-type]


# --- order_by ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (None, []),
        ([], []),
        (["timestamp_ms DESC"], [("timestamp_ms", True)]),
        (["timestamp_ms"], [("timestamp_ms", False)]),
        (["trace.execution_time_ms ASC"], [("execution_time_ms", False)]),
        (["attributes.status desc", "name"], [("status", True), ("name", False)]),
        (["total_tokens DESC", "request_id"], [("total_tokens", True), ("trace_id", False)]),
        (["  timestamp  DESC "], [("timestamp_ms", True)]),
        (["end_time DESC"], [("end_time_ms", True)]),
    ],
)
def test_order_by(entries: list[str] | None, expected: list[tuple[str, bool]]) -> None:
    assert parse_order_by(entries) == expected


@pytest.mark.parametrize(
    ("entry", "position", "expected"),
    [
        ("foo DESC", 0, "a sort key"),
        ("name UP", 5, "ASC or DESC"),
        ("name ASC NULLS", 9, "end of the entry"),
        ("", 0, "a sort key"),
        ("span.name", 0, "a sort key"),
    ],
)
def test_order_by_errors(entry: str, position: int, expected: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_order_by([entry])
    assert caught.value.position == position
    assert caught.value.expected.startswith(expected)
    assert str(caught.value).startswith(f"Invalid order_by at position {position}")


def test_order_by_rejects_a_bare_string() -> None:
    with pytest.raises(TypeError):
        parse_order_by("timestamp_ms DESC")  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------------

_ALPHABET = st.sampled_from(list("abtrcespnm._`'\"\\()<>=!,% -+.0123456789eE\n\tANDORLIKEINOT\x00é✓"))


@given(st.text())
def test_arbitrary_text_only_raises_filter_error(text: str) -> None:
    try:
        parse_filter(text)
    except FilterError as error:
        assert 0 <= error.position <= len(text)


@given(st.text(alphabet=_ALPHABET, max_size=60))
def test_filter_like_garbage_only_raises_filter_error(text: str) -> None:
    try:
        parse_filter(text)
    except FilterError as error:
        assert 0 <= error.position <= len(text)


@given(st.lists(st.text(max_size=12), max_size=4))
def test_arbitrary_order_by_only_raises_filter_error(entries: list[str]) -> None:
    try:
        parse_order_by(entries)
    except FilterError as error:
        assert 0 <= error.position <= len(error.text)


# Valid filters, generated with the condition each should parse to.
_KEYS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=10)
_WORD_KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}(\.[A-Za-z0-9_]{1,6}){0,2}", fullmatch=True)
_STRINGS = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_INTS = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_FLOATS = st.floats(allow_nan=False, allow_infinity=False)


def _quote(value: str, quote: str) -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, quote * 2) + quote


def _backtick(key: str) -> str:
    return "`" + key.replace("`", "``") + "`"


@st.composite
def _comparisons(draw: st.DrawFn) -> tuple[str, Condition]:
    kind = draw(st.sampled_from(["number", "string", "text", "tag", "attribute"]))
    if kind == "number":
        spelling, key = draw(
            st.sampled_from([("trace.timestamp_ms", "timestamp_ms"), ("execution_time_ms", "execution_time_ms")])
        )
        op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
        number = draw(st.one_of(_INTS, _FLOATS))
        return f"{spelling} {op} {number!r}", Condition("trace", key, op, number)
    if kind == "string":
        op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"]))
        value = draw(_STRINGS)
        quote = draw(st.sampled_from(["'", '"']))
        return f"trace.name {op.lower()} {_quote(value, quote)}", Condition("trace", "name", op, value)
    if kind == "text":
        value = draw(_STRINGS)
        return f"trace.text LIKE {_quote(value, chr(39))}", Condition("trace", "text", "LIKE", value)
    if kind == "tag":
        key = draw(st.one_of(_KEYS, _WORD_KEYS))
        values = draw(st.lists(_STRINGS, min_size=1, max_size=3))
        listed = ", ".join(_quote(v, "'") for v in values)
        prefix = draw(st.sampled_from(["tag", "tags", "metadata"]))
        entity = "metadata" if prefix == "metadata" else "tag"
        return f"{prefix}.{_backtick(key)} IN ({listed})", Condition(entity, key, "IN", tuple(values))
    key = draw(_WORD_KEYS)
    number = draw(st.one_of(_INTS, _FLOATS))
    return f"span.attributes.{key} >= {number!r}", Condition("span", f"attributes.{key}", ">=", number)


@given(st.lists(_comparisons(), min_size=1, max_size=4), st.sampled_from([" AND ", " and ", "\nAnd\t"]))
def test_generated_filters_parse(comparisons: list[tuple[str, Condition]], joiner: str) -> None:
    text = joiner.join(source for source, _ in comparisons)
    assert parse_filter(text) == [condition for _, condition in comparisons]
