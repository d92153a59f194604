"""The one path every received request takes, whatever the transport: decode, resolve the
experiment, queue for the store, forward. Receivers map the `Outcome` to their protocol's answer
(HTTP status or gRPC code) and never touch the store themselves.

The experiment of a span is its `traceglass.experiment` attribute, else its resource's, else the
request's `x-traceglass-experiment` header, else "Default": the store applies the first two and
takes the header (or "Default") as its `default_experiment`.
"""

from __future__ import annotations

import dataclasses
import logging

from traceglass.semconv import names as N

from ._forward import Forwarder
from ._otlp import item_count, span_records
from ._payload import Limits, Payload, PayloadError, decode, decompress
from ._queue import IngestQueue, SpanWork, TelemetryWork
from ._telemetry import TelemetryRequest

__all__ = ["EXPERIMENT_HEADER", "Ingest", "Outcome"]

EXPERIMENT_HEADER = "x-traceglass-experiment"

_log = logging.getLogger("traceglass.server")
_MAX_EXPERIMENT_NAME = 256


@dataclasses.dataclass(frozen=True)
class Outcome:
    """accepted: the request is queued (answer success, with `rejected` items and `error` as
    OTLP partial success); otherwise the queue is full or closing and the client should retry."""

    signal: str
    accepted: bool
    rejected: int = 0
    error: str = ""
    closing: bool = False


class Ingest:
    def __init__(self, queue: IngestQueue, forwarder: Forwarder, limits: Limits, admission_wait: float = 0.0) -> None:
        self.queue = queue
        self.forwarder = forwarder
        self.limits = limits
        # How long a request waits for room in a full queue before the answer is "retry": an
        # exporter told to retry sleeps about that long anyway, and meanwhile the server idles.
        self.admission_wait = admission_wait
        self.closing = False

    def receive_http(self, signal: str, body: bytes, encoding: str, content_encoding: str | None,
                     experiment: str | None) -> Outcome:
        """An OTLP/HTTP body as received (maybe compressed). Raises PayloadError for a bad one."""
        if len(body) > self.limits.max_request_size:
            raise PayloadError(413, f"The request is larger than {self.limits.max_request_size} bytes, the maximum "
                                    "request size.")
        raw = decompress(body, content_encoding, self.limits.max_decompressed_size)
        return self.receive(decode(signal, raw, encoding), experiment)

    def receive(self, payload: Payload, experiment: str | None) -> Outcome:
        """A decoded request: queue it for the store, then forward it."""
        if self.closing:
            return Outcome(payload.signal, accepted=False, closing=True)
        experiment_name = _experiment(experiment)
        if payload.signal == "traces":
            batch = span_records(payload.message)
            if batch.rejected:
                _log.debug("traceglass server: rejected %d spans: %s", batch.rejected, batch.error)
            accepted = not batch.records or self.queue.offer(
                SpanWork(batch.records, experiment_name, len(payload.protobuf)), self.admission_wait)
            outcome = Outcome("traces", accepted, batch.rejected, batch.error)
        else:
            count = item_count(payload.signal, payload.message)
            accepted = not count or self.queue.offer(TelemetryWork(
                TelemetryRequest(payload.signal, payload.protobuf, count, experiment_name)), self.admission_wait)
            outcome = Outcome(payload.signal, accepted)
        if outcome.accepted:
            self.forwarder.submit(payload.signal, payload.protobuf)
        return dataclasses.replace(outcome, closing=not outcome.accepted and self.closing)


def _experiment(header: str | None) -> str:
    name = (header or "").strip()
    return name[:_MAX_EXPERIMENT_NAME] if name else N.DEFAULT_EXPERIMENT
