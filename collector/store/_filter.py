"""The search_traces filter language: a tokenizer and a recursive-descent parser.

The grammar is MLflow's ``search_traces`` filter string::

    filter      := "" | comparison ("AND" comparison)*
    comparison  := identifier operator value
    identifier  := part ("." part)*          part: a bare word or a `backticked` name
    operator    := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
                 | ["NOT"] "LIKE" | ["NOT"] "ILIKE" | ["NOT"] "IN" | "RLIKE"   # RLIKE: a regular expression
                 | "IS" ["NOT"] "NULL"                      # no value follows; tags and metadata
    value       := string | number | "(" (string | number) ("," (string | number))* ")"   # lists after IN
    string      := '...' | "..."              (backslash escapes, or the quote doubled)

Keywords are case-insensitive. Identifiers name a field of the trace (``trace.status``, or
MLflow's ``attributes.status`` / bare ``status``), of its spans (``span.name``, ``span.type``,
``span.attributes.<key>``), a tag (``tag.<key>``, ``tags.<key>``) or a metadata entry
(``metadata.<key>``). A key is the rest of the identifier, so ``tag.a.b`` and ``tag.`a.b``` both
name the key ``a.b``; backticks are needed only for characters other than letters, digits and
``_`` (a backtick inside backticks is doubled), and are allowed around the other names too
(```trace`.`status```), as MLflow allows them. The keys under which MLflow keeps what traceglass
has as trace fields (the tag ``mlflow.traceName``, the metadata ``mlflow.trace.session`` and
``mlflow.trace.user``) name those fields, and ``span.content`` is ``trace.text``, as in MLflow:
a query carried over finds what it found there.

Errors are :class:`FilterError` (a ``ValueError``). Its ``position`` is the 0-based index into
the filter string, as for ``json.JSONDecodeError.pos``; the message repeats the filter's line
around that character (a window of it, for a long one) with a caret under it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["Condition", "FilterError", "Value", "parse_filter", "parse_order_by"]

Scalar = str | int | float
Value = Scalar | tuple[Scalar, ...]

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1

# Characters of the filter an error message shows on each side of the position (and of what it found).
_CONTEXT: Final = 60


class FilterError(ValueError):
    """A filter string (or an ``order_by`` entry) that does not parse or asks for something
    the store cannot do. ``position`` is a 0-based index into ``text``; ``expected`` says what
    would have been valid there. Raised by ``traceglass.search_traces()``: catch it as
    ``traceglass.FilterError``, the name tracebacks show."""

    __module__ = "traceglass"

    def __init__(self, text: str, position: int, expected: str, found: str, kind: str = "filter") -> None:
        self.text = text
        self.position = position
        self.expected = expected
        self.found = found
        self.kind = kind
        shown = found if len(found) <= 2 * _CONTEXT else found[: 2 * _CONTEXT] + "..."
        message = f"Invalid {kind} at position {position}: expected {expected}, found {shown}"
        super().__init__(f"{message}\n{_pointer(text, position)}" if text else message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its fields, so that it crosses process boundaries (multiprocessing, a pool).
        return (type(self), (self.text, self.position, self.expected, self.found, self.kind))


def _pointer(text: str, position: int) -> str:
    """The line of `text` holding `position` (no more than _CONTEXT characters either side of it,
    so that a generated filter of thousands of characters still makes a short message) and a caret
    under that position."""
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    if line_end < 0:
        line_end = len(text)
    start, end = max(line_start, position - _CONTEXT), min(line_end, position + _CONTEXT)
    before = "..." if start > line_start else ""
    after = "..." if end < line_end else ""
    excerpt = before + re.sub(r"\s", " ", text[start:end]) + after  # a tab would move the caret
    return f"  {excerpt}\n  {' ' * (len(before) + position - start)}^"


@dataclass(frozen=True, slots=True)
class Condition:
    """One comparison of a filter.

    ``entity`` is ``trace``, ``span``, ``tag`` or ``metadata``. For ``trace`` the key is a
    canonical field name (``status``, ``timestamp_ms``, ``execution_time_ms``, ``end_time_ms``,
    ``name``, ``text``, ``trace_id``, ``session_id``, ``user_id``, ``input_tokens``,
    ``output_tokens``, ``total_tokens``, ``cost_usd``); for ``span`` it is ``name``, ``type`` or
    ``attributes.<attribute key>``; for tags and metadata it is the tag or metadata key.
    ``op`` is ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``LIKE``, ``ILIKE``, ``NOT LIKE``,
    ``NOT ILIKE``, ``RLIKE``, ``IN``, ``NOT IN``, ``IS NULL`` or ``IS NOT NULL``; the value of ``IN`` /
    ``NOT IN`` is a tuple, that of ``IS NULL`` / ``IS NOT NULL`` None.
    """

    entity: str
    key: str
    op: str
    value: Value | None


# --- what may be compared with what ----------------------------------------------------------

_EQUALITY: Final = frozenset({"=", "!=", "IN", "NOT IN"})
_RANGE: Final = frozenset({"<", "<=", ">", ">="})
_PATTERN: Final = frozenset({"LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "RLIKE"})
_PRESENCE: Final = frozenset({"IS NULL", "IS NOT NULL"})
_STRING_OPS: Final = _EQUALITY | _PATTERN
_NUMBER_OPS: Final = _EQUALITY | _RANGE
_ALL_OPS: Final = _STRING_OPS | _RANGE
_ENTRY_OPS: Final = _STRING_OPS | _PRESENCE  # of a tag or a metadata entry
_OPERATOR_ORDER: Final = ("=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "RLIKE", "IN",
                          "NOT IN", "IS NULL", "IS NOT NULL")

# Trace fields: canonical name -> (spellings, value kind, operators).
_NUMBER, _STRING, _ANY = "number", "string", "any"
_TRACE_FIELDS: Final[dict[str, tuple[tuple[str, ...], str, frozenset[str]]]] = {
    "timestamp_ms": (("timestamp_ms", "timestamp"), _NUMBER, _NUMBER_OPS),
    "end_time_ms": (("end_time_ms", "end_time", "end_ms"), _NUMBER, _NUMBER_OPS),
    "execution_time_ms": (("execution_time_ms", "execution_time", "duration_ms"), _NUMBER, _NUMBER_OPS),
    "input_tokens": (("input_tokens",), _NUMBER, _NUMBER_OPS),
    "output_tokens": (("output_tokens",), _NUMBER, _NUMBER_OPS),
    "total_tokens": (("total_tokens",), _NUMBER, _NUMBER_OPS),
    "cost_usd": (("cost_usd", "cost"), _NUMBER, _NUMBER_OPS),
    "status": (("status", "state"), _STRING, _STRING_OPS),
    "name": (("name",), _STRING, _STRING_OPS),
    "trace_id": (("trace_id", "request_id"), _STRING, _STRING_OPS),
    "session_id": (("session_id",), _STRING, _STRING_OPS),
    "user_id": (("user_id",), _STRING, _STRING_OPS),
    # Full text: a pattern over every span's name and content (inputs, outputs, messages...).
    "text": (("text",), _STRING, frozenset({"LIKE", "ILIKE"})),
}
_TRACE_SPELLINGS: Final = {spelling: field for field, (names, _, _) in _TRACE_FIELDS.items() for spelling in names}
_TRACE_PREFIXES: Final = frozenset({"trace", "attributes", "attribute", "attr", "run"})
_SPAN_PREFIXES: Final = frozenset({"span", "spans"})
_SPAN_ATTRIBUTES: Final = frozenset({"attributes", "attribute", "attr"})
_TAG_PREFIXES: Final = frozenset({"tag", "tags"})
_METADATA_PREFIXES: Final = frozenset({"metadata", "request_metadata"})
# MLflow's own tag and metadata keys for what traceglass keeps as trace fields.
_MLFLOW_TAG_FIELDS: Final = {"mlflow.traceName": "name"}
_MLFLOW_METADATA_FIELDS: Final = {"mlflow.trace.session": "session_id", "mlflow.trace.user": "user_id"}
STATUSES: Final = ("OK", "ERROR", "IN_PROGRESS")
SPAN_STATUSES: Final = ("OK", "ERROR", "UNSET")  # OpenTelemetry's status codes

# Beyond these, the statement a filter compiles to outgrows the databases' limits (SQLite's
# expression depth, PostgreSQL's 65535 bound parameters): a clear error rather than theirs.
MAX_CONDITIONS: Final = 50
MAX_LIST_VALUES: Final = 10_000  # in all the IN / NOT IN lists of a filter

_IDENTIFIER_HINT: Final = "a field such as trace.status, span.name, span.attributes.<key>, tag.<key> or metadata.<key>"
_BACKTICKS_HINT: Final = "(a name with characters other than letters, digits and _ goes in backticks: tag.`my-key`)"
_VALUE_HINT: Final = "a value (a quoted string or a number)"


# --- tokens ------------------------------------------------------------------------------------

_IDENT, _STRING_TOKEN, _NUMBER_TOKEN, _OPERATOR, _PUNCT, _END = "ident", "string", "number", "op", "punct", "end"


@dataclass(frozen=True, slots=True)
class _Part:
    text: str
    position: int
    quoted: bool


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    position: int
    source: str  # the token's text in the filter, for error messages
    value: object = None  # str for strings, int/float for numbers, tuple[_Part, ...] for identifiers

    def describe(self) -> str:
        return "end of input" if self.kind == _END else repr(self.source)

    def keyword(self) -> str | None:
        """The bare word uppercased, for keyword tests; None for anything else."""
        if self.kind != _IDENT:
            return None
        parts = self.value
        assert isinstance(parts, tuple)
        if len(parts) != 1 or parts[0].quoted:
            return None
        return str(parts[0].text).upper()


def _is_word_start(char: str) -> bool:
    return char == "_" or ("a" <= char <= "z") or ("A" <= char <= "Z")


def _is_word_char(char: str) -> bool:
    return _is_word_start(char) or ("0" <= char <= "9")


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


class _Tokenizer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, position: int, expected: str, found: str | None = None) -> FilterError:
        if found is None:
            found = "end of input" if position >= len(self.text) else repr(self.text[position])
        return FilterError(self.text, position, expected, found)

    def tokens(self) -> list[_Token]:
        result = []
        while True:
            token = self._next()
            result.append(token)
            if token.kind == _END:
                return result

    def _next(self) -> _Token:
        text = self.text
        while self.pos < len(text) and text[self.pos].isspace():
            self.pos += 1
        start = self.pos
        if start >= len(text):
            return _Token(_END, start, "")
        char = text[start]
        if _is_word_start(char) or char == "`":
            return self._identifier()
        if char in "'\"":
            return self._string()
        if _is_digit(char) or (char in "-+." and self._number_follows(start + 1)):
            return self._number()
        for operator in ("<=", ">=", "!=", "<>", "==", "=", "<", ">"):
            if text.startswith(operator, start):
                self.pos += len(operator)
                canonical = {"<>": "!=", "==": "="}.get(operator, operator)
                return _Token(_OPERATOR, start, operator, canonical)
        if char in "(),":
            self.pos += 1
            return _Token(_PUNCT, start, char, char)
        raise self.error(start, "a field, an operator, a value or AND")

    def _number_follows(self, position: int) -> bool:
        text = self.text
        if position < len(text) and text[position] == "." and text[position - 1] in "-+":
            position += 1
        return position < len(text) and _is_digit(text[position])

    def _identifier(self) -> _Token:
        text = self.text
        start = self.pos
        parts: list[_Part] = []
        while True:
            part_start = self.pos
            if self.pos < len(text) and text[self.pos] == "`":
                parts.append(_Part(self._backticked(), part_start, True))
            elif self.pos < len(text) and _is_word_char(text[self.pos]):
                while self.pos < len(text) and _is_word_char(text[self.pos]):
                    self.pos += 1
                parts.append(_Part(text[part_start : self.pos], part_start, False))
            else:
                raise self.error(self.pos, f"a name after '.' {_BACKTICKS_HINT}")
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            if self.pos < len(text) and not text[self.pos].isspace() and text[self.pos] not in "=!<>(),'\"":
                # Most likely a key such as my-key or team/owner, which MLflow users write bare.
                raise self.error(self.pos, f"an operator after the name {_BACKTICKS_HINT}")
            return _Token(_IDENT, start, text[start : self.pos], tuple(parts))

    def _backticked(self) -> str:
        text = self.text
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while True:
            end = text.find("`", self.pos)
            if end < 0:
                raise self.error(len(text), "a closing backtick for the name opened at position " + str(start))
            chars.append(text[self.pos : end])
            if text.startswith("``", end):  # a doubled backtick stands for one
                chars.append("`")
                self.pos = end + 2
                continue
            self.pos = end + 1
            name = "".join(chars)
            if not name:
                raise self.error(start, "a name between the backticks", "``")
            return name

    def _string(self) -> _Token:
        text = self.text
        start = self.pos
        quote = text[start]
        self.pos += 1
        chars: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.error(len(text), f"a closing {quote} for the string opened at position {start}")
            char = text[self.pos]
            if char == quote:
                if text.startswith(quote * 2, self.pos):  # SQL style: a doubled quote stands for one
                    chars.append(quote)
                    self.pos += 2
                    continue
                self.pos += 1
                value = "".join(chars)
                if "\0" in value:
                    raise self.error(start, "a string without NUL characters", repr(text[start : self.pos]))
                return _Token(_STRING_TOKEN, start, text[start : self.pos], value)
            if char == "\\" and self.pos + 1 < len(text):
                following = text[self.pos + 1]
                # An unknown escape keeps its backslash, so LIKE escapes such as \% and \_ pass through.
                chars.append(_ESCAPES.get(following, "\\" + following))
                self.pos += 2
                continue
            chars.append(char)
            self.pos += 1

    def _number(self) -> _Token:
        text = self.text
        start = self.pos
        position = start
        if text[position] in "+-":
            position += 1
        integer = True
        while position < len(text) and _is_digit(text[position]):
            position += 1
        if position < len(text) and text[position] == ".":
            integer = False
            position += 1
            while position < len(text) and _is_digit(text[position]):
                position += 1
        if position < len(text) and text[position] in "eE":
            exponent = position + 1
            if exponent < len(text) and text[exponent] in "+-":
                exponent += 1
            if exponent < len(text) and _is_digit(text[exponent]):
                integer = False
                position = exponent
                while position < len(text) and _is_digit(text[position]):
                    position += 1
        if position < len(text) and (_is_word_char(text[position]) or text[position] == "."):
            raise self.error(position, "a digit, or a space after the number")
        source = text[start:position]
        self.pos = position
        if integer:
            number: int | float = int(source)
            if not _INT64_MIN <= number <= _INT64_MAX:
                raise self.error(start, "an integer between -2**63 and 2**63-1", repr(source))
        else:
            number = float(source)
            if not math.isfinite(number):
                raise self.error(start, "a finite number", repr(source))
        return _Token(_NUMBER_TOKEN, start, source, number)


# --- parser ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    entity: str
    key: str
    kind: str  # _NUMBER | _STRING | _ANY: the values it may be compared with
    operators: frozenset[str]
    label: str  # how error messages name it


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _Tokenizer(text).tokens()
        self.index = 0
        self.list_values = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != _END:
            self.index += 1
        return token

    def error(self, token: _Token, expected: str) -> FilterError:
        return FilterError(self.text, token.position, expected, token.describe())

    def parse(self) -> list[Condition]:
        conditions: list[Condition] = []
        if self.current.kind == _END:
            return conditions
        while True:
            conditions.append(self.comparison())
            token = self.current
            if token.kind == _END:
                return conditions
            if token.keyword() == "AND":
                if len(conditions) == MAX_CONDITIONS:
                    raise self.error(token, f"end of input (a filter holds at most {MAX_CONDITIONS} conditions)")
                self.advance()
                continue
            if token.keyword() == "OR":
                raise self.error(token, "AND or end of input (OR is not supported)")
            raise self.error(token, "AND or end of input")

    def comparison(self) -> Condition:
        field = self.field()
        operator_token = self.current
        op = self.operator()
        if op not in field.operators:
            allowed = ", ".join(o for o in _OPERATOR_ORDER if o in field.operators)
            raise self.error(operator_token, f"one of {allowed} for {field.label}")
        if op in ("IN", "NOT IN"):
            value: Value | None = self.value_list(field)
        elif op in _PRESENCE:
            value = None
        else:
            value = self.scalar(field, op)
        return Condition(field.entity, field.key, op, value)

    def field(self) -> _Field:
        token = self.current
        if token.kind != _IDENT or token.keyword() in ("AND", "OR"):
            raise self.error(token, _IDENTIFIER_HINT)
        self.advance()
        parts = token.value
        assert isinstance(parts, tuple)
        head = parts[0]
        prefix = head.text.lower()
        rest: tuple[_Part, ...] = parts[1:]

        if len(parts) == 1 and prefix in _TRACE_SPELLINGS:  # MLflow accepts bare trace fields
            return self.trace_field(head.text)
        if prefix in _TRACE_PREFIXES and rest:
            if len(rest) == 1 and rest[0].text.lower() in _TRACE_SPELLINGS:
                return self.trace_field(rest[0].text)
            known = ", ".join(f"trace.{name}" for name in _TRACE_FIELDS)
            raise FilterError(self.text, rest[0].position, f"a trace field ({known})", repr(_join(rest)))
        if prefix in _SPAN_PREFIXES and rest:
            return self.span_field(rest)
        if prefix in _TAG_PREFIXES and rest:
            key = _join(rest)
            if key in _MLFLOW_TAG_FIELDS:
                return self.trace_field(_MLFLOW_TAG_FIELDS[key], f"tag.{key}")
            return _Field("tag", key, _STRING, _ENTRY_OPS, f"tag.{key}")
        if prefix in _METADATA_PREFIXES and rest:
            key = _join(rest)
            if key in _MLFLOW_METADATA_FIELDS:
                return self.trace_field(_MLFLOW_METADATA_FIELDS[key], f"metadata.{key}")
            return _Field("metadata", key, _STRING, _ENTRY_OPS, f"metadata.{key}")
        if not rest and prefix in (_TRACE_PREFIXES | _SPAN_PREFIXES | _TAG_PREFIXES | _METADATA_PREFIXES):
            raise FilterError(self.text, token.position + len(token.source), "'.' and a name", self.current.describe())
        raise self.error(token, _IDENTIFIER_HINT)

    def trace_field(self, spelling: str, label: str | None = None) -> _Field:
        field = _TRACE_SPELLINGS[spelling.lower()]
        _, kind, operators = _TRACE_FIELDS[field]
        return _Field("trace", field, kind, operators, label or f"trace.{field}")

    def span_field(self, rest: tuple[_Part, ...]) -> _Field:
        head = rest[0]
        name = head.text.lower()
        if len(rest) == 1 and name in ("name", "type", "status"):
            return _Field("span", name, _STRING, _STRING_OPS, f"span.{name}")
        if len(rest) == 1 and name == "content":  # MLflow's trace.text is the content of spans
            return self.trace_field("text", "span.content")
        if name in _SPAN_ATTRIBUTES and len(rest) > 1:
            key = _join(rest[1:])
            return _Field("span", f"attributes.{key}", _ANY, _ALL_OPS, f"span.attributes.{key}")
        if name in _SPAN_ATTRIBUTES:
            position = head.position + len(head.text)
            raise FilterError(self.text, position, "'.' and an attribute name", self.current.describe())
        raise FilterError(self.text, head.position,
                          "span.name, span.type, span.status, span.content or span.attributes.<key>", repr(_join(rest)))

    def operator(self) -> str:
        token = self.current
        if token.kind == _OPERATOR:
            self.advance()
            return str(token.value)
        keyword = token.keyword()
        if keyword in ("LIKE", "ILIKE", "IN", "RLIKE"):
            self.advance()
            return keyword
        if keyword == "NOT":
            following = self.tokens[self.index + 1]
            if following.keyword() in ("LIKE", "ILIKE", "IN"):
                self.advance()
                self.advance()
                return f"NOT {following.keyword()}"
            raise self.error(following, "LIKE, ILIKE or IN after NOT")
        if keyword == "IS":
            self.advance()
            negated = self.current.keyword() == "NOT"
            if negated:
                self.advance()
            if self.current.keyword() != "NULL":
                raise self.error(self.current, "NULL after IS NOT" if negated else "NULL or NOT NULL after IS")
            self.advance()
            return "IS NOT NULL" if negated else "IS NULL"
        raise self.error(token, f"an operator ({', '.join(_OPERATOR_ORDER[:6])}, LIKE, ILIKE, RLIKE, IN, NOT IN, "
                                "IS NULL, IS NOT NULL)")

    def scalar(self, field: _Field, op: str) -> Scalar:
        token = self.current
        if token.kind == _STRING_TOKEN:
            if field.kind == _NUMBER:
                raise self.error(token, f"a number for {field.label}")
            if op in _RANGE:
                raise self.error(token, f"a number (a quoted value cannot be compared with {op})")
            self.advance()
            if op == "RLIKE":
                self.check_regular_expression(token, str(token.value))
            return self.check_status(field, token, str(token.value), op)
        if token.kind == _NUMBER_TOKEN:
            if field.kind == _STRING or op in _PATTERN:
                raise self.error(token, f"a quoted string for {field.label}")
            self.advance()
            value = token.value
            assert isinstance(value, (int, float))
            return value
        if field.kind == _NUMBER:
            raise self.error(token, f"a number for {field.label}")
        if field.kind == _STRING or op in _PATTERN:
            raise self.error(token, f"a quoted string for {field.label}")
        raise self.error(token, _VALUE_HINT)

    def value_list(self, field: _Field) -> tuple[Scalar, ...]:
        token = self.current
        if token.kind != _PUNCT or token.value != "(":
            raise self.error(token, "'(' to open the list of values")
        self.advance()
        values: list[Scalar] = [self.list_value(field)]
        while True:
            token = self.advance()
            if token.kind == _PUNCT and token.value == ")":
                return tuple(values)
            if token.kind == _PUNCT and token.value == ",":
                values.append(self.list_value(field))
                continue
            raise self.error(token, "',' or ')'")

    def list_value(self, field: _Field) -> Scalar:
        if self.list_values == MAX_LIST_VALUES:
            raise self.error(self.current, f"')' (the lists of a filter hold at most {MAX_LIST_VALUES} values in all)")
        self.list_values += 1
        return self.scalar(field, "IN")

    def check_regular_expression(self, token: _Token, pattern: str) -> None:
        """RLIKE's pattern, in Python's syntax (what SQLite runs; PostgreSQL's agrees on the common
        forms): a mistake is a FilterError here rather than a database error."""
        try:
            re.compile(pattern)
        except re.error as error:
            raise self.error(token, f"a valid regular expression ({error})") from None

    def check_status(self, field: _Field, token: _Token, value: str, op: str) -> str:
        """Status values are uppercased and checked, so a typo is an error rather than no results."""
        if field.key != "status" or op in _PATTERN:
            return value
        statuses = STATUSES if field.entity == "trace" else SPAN_STATUSES
        if value.upper() not in statuses:
            raise self.error(token, f"a {field.entity} status: {', '.join(repr(s) for s in statuses)}")
        return value.upper()


def _join(parts: tuple[_Part, ...]) -> str:
    return ".".join(part.text for part in parts)


def parse_filter(text: str | None) -> list[Condition]:
    """Parse a search_traces filter string into its conditions (AND-ed). Empty -> []."""
    if text is None:
        return []
    if not isinstance(text, str):
        raise TypeError(f"filter_string must be a str, not {type(text).__name__}")
    for index, char in enumerate(text):
        # Lone surrogates cannot be sent to either database.
        if "\ud800" <= char <= "\udfff":
            raise FilterError(text, index, "text without lone surrogate characters", repr(char))
    return _Parser(text).parse()


# --- order_by --------------------------------------------------------------------------------

# Sort keys: canonical name -> accepted spellings (with or without a trace./attributes. prefix).
ORDER_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "timestamp_ms": ("timestamp_ms", "timestamp", "request_time"),
    "execution_time_ms": ("execution_time_ms", "execution_time", "duration_ms", "execution_duration"),
    "end_time_ms": ("end_time_ms", "end_time", "end_ms"),
    "status": ("status", "state"),
    "name": ("name",),
    "trace_id": ("trace_id", "request_id"),
    "input_tokens": ("input_tokens",),
    "output_tokens": ("output_tokens",),
    "total_tokens": ("total_tokens",),
    "cost_usd": ("cost_usd", "cost"),
    "session_id": ("session_id",),
    "user_id": ("user_id",),
}
_ORDER_SPELLINGS: Final = {spelling: key for key, names in ORDER_KEYS.items() for spelling in names}


def parse_order_by(entries: list[str] | tuple[str, ...] | None) -> list[tuple[str, bool]]:
    """``["timestamp_ms DESC", "trace.name"]`` -> ``[("timestamp_ms", True), ("name", False)]``
    (key, descending). Raises :class:`FilterError` naming the bad entry."""
    if isinstance(entries, str):
        raise TypeError("order_by must be a sequence of strings such as ['timestamp_ms DESC'], not a str")
    result: list[tuple[str, bool]] = []
    for entry in entries or ():
        if not isinstance(entry, str):
            raise TypeError(f"order_by entries must be str, not {type(entry).__name__}")
        words = [(match.start(), match.group()) for match in re.finditer(r"\S+", entry)]
        if not words:
            raise FilterError(entry, 0, "a sort key such as 'timestamp_ms DESC'", "an empty entry", kind="order_by")
        position, name = words[0]
        lowered = name.lower()
        for prefix in ("trace.", "attributes.", "attribute.", "attr."):
            if lowered.startswith(prefix):
                lowered = lowered[len(prefix) :]
                break
        key = _ORDER_SPELLINGS.get(lowered.strip("`"))
        if key is None:
            keys = ", ".join(ORDER_KEYS)
            raise FilterError(entry, position, f"a sort key ({keys})", repr(name), kind="order_by")
        descending = False
        if len(words) >= 2:
            position, direction = words[1]
            if direction.upper() not in ("ASC", "DESC"):
                raise FilterError(entry, position, "ASC or DESC", repr(direction), kind="order_by")
            descending = direction.upper() == "DESC"
        if len(words) > 2:
            position, extra = words[2]
            raise FilterError(entry, position, "end of the entry", repr(extra), kind="order_by")
        result.append((key, descending))
    return result
