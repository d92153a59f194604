"""Values at the edges of what OTLP and the SDK can carry: every span is stored, and no value of
one span can make a batch, or a later batch of the same trace, fail."""

from __future__ import annotations

from traceglass.collector.store import SpanRecord, Store
from traceglass.semconv import names as N

from .spans import span, span_id, trace_id

_INT64_MAX = 2**63 - 1


def test_token_counts_at_the_64_bit_limit_never_overflow_a_trace(store: Store) -> None:
    """Two spans of one trace each claiming 2**63 - 1 input tokens overflowed the trace's sum:
    "integer overflow" on SQLite (an OperationalError, which writers retry for ever), "bigint out
    of range" on PostgreSQL, for this batch and every later batch of the trace."""
    huge = {N.USAGE_INPUT_TOKENS: _INT64_MAX, N.USAGE_OUTPUT_TOKENS: _INT64_MAX}
    assert store.write_spans([span(1, 1, attributes=huge), span(1, 2, 1, attributes=huge)]) == 2
    assert store.write_spans([span(1, 3, 1, attributes={N.USAGE_INPUT_TOKENS: 2**70})]) == 1  # beyond 64 bits
    assert store.write_spans([span(1, 4, 1, attributes={N.USAGE_INPUT_TOKENS: 7})]) == 1
    found = store.get_trace(trace_id(1))
    assert found is not None and found.info.span_count == 4
    # Absurd counts are not counted; the attribute itself is kept as sent.
    assert (found.info.input_tokens, found.info.output_tokens, found.info.total_tokens) == (7, None, 7)
    assert found.spans[0].attributes[N.USAGE_INPUT_TOKENS] == _INT64_MAX
    # Ordinary counts are still summed, and so are the largest that are counted.
    store.write_spans([span(2, 1, attributes={N.USAGE_INPUT_TOKENS: 2**31 - 1, N.USAGE_OUTPUT_TOKENS: 3}),
                       span(2, 2, 1, attributes={N.USAGE_INPUT_TOKENS: 2**31 - 1})])
    info = store.get_trace(trace_id(2)).info  # type: ignore[union-attr]
    assert (info.input_tokens, info.output_tokens, info.total_tokens) == (2**32 - 2, 3, 2**32 + 1)


def test_timestamps_beyond_64_bits_are_kept_at_the_limit(store: Store) -> None:
    """OTLP times are unsigned 64-bit: a span from a clock gone wrong (2**64 - 1) could not be
    bound as a database integer, and was refused after the server had acknowledged it."""
    far = 2**64 - 1
    records = [
        SpanRecord(trace_id(1), span_id(1), "far future", far, far),
        SpanRecord(trace_id(1), span_id(2), "child", 1_000_000, far, parent_span_id=span_id(1)),
        SpanRecord(trace_id(2), span_id(1), "ordinary", 5_000_000, 7_000_000),
    ]
    assert store.write_spans(records) == 3
    found = store.get_trace(trace_id(1))
    assert found is not None and found.info.span_count == 2
    assert {s.span_id: (s.start_ns, s.end_ns) for s in found.spans} == {
        span_id(1): (_INT64_MAX, _INT64_MAX),
        span_id(2): (1_000_000, _INT64_MAX),
    }
    assert (found.info.timestamp_ms, found.info.execution_time_ms) == (1, 0)
    assert store.get_trace(trace_id(2)).info.execution_time_ms == 2  # type: ignore[union-attr]


def test_counts_and_flags_beyond_32_bits_are_stored(store: Store) -> None:
    """OTLP's dropped counts are uint32 and flags fixed32; PostgreSQL's integer is signed."""
    top = 2**32 - 1
    record = SpanRecord(trace_id(1), span_id(1), "root", 1, 2, flags=top, dropped_attributes_count=top,
                        dropped_events_count=top, dropped_links_count=top)
    assert store.write_spans([record]) == 1
    stored = store.get_trace(trace_id(1)).spans[0]  # type: ignore[union-attr]
    limit = 2**31 - 1
    assert (stored.flags, stored.dropped_attributes_count, stored.dropped_events_count,
            stored.dropped_links_count) == (limit, limit, limit, limit)
