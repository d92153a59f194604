"""The GenAI client metrics, recorded in batches.

A histogram `record()` walks a few dozen SDK functions (attribute validation, hashing,
aggregation, exemplar offer). Called once per instrument at the end of every LLM call, that
code runs cold and costs several times what it costs in a loop. So each finished call appends
one small tuple here, and the tuples are turned into attribute sets and recorded together:
every 128 calls, and always before a metric reader collects (an observable instrument's
callback runs first in every collection, and it yields no data of its own). What a reader
exports is the same as with direct recording.

Spec: GenAI semconv gen-ai-dev 1.42.0-dev, model/gen-ai/metrics.yaml.
"""

from __future__ import annotations

import collections
import threading
import weakref
from collections.abc import Iterable
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation

from . import _names as N

__all__ = ["Metrics"]

_FLUSH_EVERY = 128


class Metrics:
    """Duration, token usage and time-to-first-chunk histograms of one instrumentor."""

    def __init__(self, meter: Meter) -> None:
        self._duration = meter.create_histogram(
            N.METRIC_OPERATION_DURATION, unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(N.DURATION_BUCKETS))
        self._tokens = meter.create_histogram(
            N.METRIC_TOKEN_USAGE, unit="{token}", description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(N.TOKEN_BUCKETS))
        self._ttfc = meter.create_histogram(
            N.METRIC_TIME_TO_FIRST_CHUNK, unit="s",
            description="Time from the request to the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=list(N.DURATION_BUCKETS))
        self._pending: collections.deque[tuple[Any, ...]] = collections.deque()
        _register_flush_hook(meter, self)

    def add(self, entry: tuple[Any, ...]) -> None:
        """Queue one call: (operation, provider, request_model, response_model, address, port,
        error_type, duration, ttfc, input_tokens, output_tokens, span)."""
        pending = self._pending
        pending.append(entry)
        if len(pending) >= _FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        pending = self._pending
        while True:
            try:
                (operation, provider, request_model, response_model, address, port, err, duration, ttfc,
                 input_tokens, output_tokens, span) = pending.popleft()
            except IndexError:
                return
            attrs: dict[str, Any] = {N.OPERATION_NAME: operation, N.PROVIDER_NAME: provider}
            if request_model:
                attrs[N.REQUEST_MODEL] = request_model
            if response_model:
                attrs[N.RESPONSE_MODEL] = response_model
            if address:
                attrs[N.SERVER_ADDRESS] = address
                if port:
                    attrs[N.SERVER_PORT] = port
            # Exemplars point at the call's own span.
            context = trace.set_span_in_context(span)
            if ttfc is not None:
                self._ttfc.record(ttfc, attrs, context)
            if input_tokens is not None:
                self._tokens.record(input_tokens, {**attrs, N.TOKEN_TYPE: "input"}, context)
            if output_tokens is not None:
                self._tokens.record(output_tokens, {**attrs, N.TOKEN_TYPE: "output"}, context)
            # error.type is declared on the duration metric only.
            if err is not None:
                attrs[N.ERROR_TYPE] = err
            self._duration.record(duration, attrs, context)


# The SDK hands back the instrument first created under a name and drops the callbacks given to
# later creations. So there is one flush hook per meter, flushing every Metrics made on it: one
# made when an instrumentor is instrumented again on the same meter provider (autolog() called
# twice) is flushed before collection too. The hook's closure keeps them alive, as a callback of
# their own would.
_hooks: weakref.WeakKeyDictionary[Meter, list[Metrics]] = weakref.WeakKeyDictionary()
_hooks_lock = threading.Lock()


def _register_flush_hook(meter: Meter, metrics: Metrics) -> None:
    with _hooks_lock:
        group = _hooks.get(meter)
        if group is None:
            group = []
            _hooks[meter] = group

            def flush_before_collect(options: CallbackOptions) -> Iterable[Observation]:
                for member in tuple(group):
                    member.flush()
                return ()

            meter.create_observable_gauge(N.METRIC_FLUSH_HOOK, callbacks=[flush_before_collect])
        group.append(metrics)
