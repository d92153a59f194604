"""Metrics and log requests, kept whole in the store's database.

The trace store holds spans; the metrics (token usage, durations) and log events (the
`gen_ai.client.inference.operation.details` event) that reach the server are kept as the
protobuf requests they came in, one row each, in the store's `otlp_requests` table (created by
the store's migrations like every other table).
Nothing is lost, nothing about them is interpreted yet, and the trace schema stays untouched:
a reader decodes a row with `ExportMetricsServiceRequest.FromString(payload)` (or the logs one).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from sqlalchemy import Engine, insert, select
from traceglass.collector.store._engine import WRITE
from traceglass.collector.store._tables import otlp_requests

__all__ = ["TelemetryRequest", "TelemetryTable", "otlp_requests"]


@dataclasses.dataclass(frozen=True)
class TelemetryRequest:
    signal: str
    payload: bytes
    item_count: int
    experiment: str | None = None
    received_ms: int = dataclasses.field(default_factory=lambda: time.time_ns() // 1_000_000)


class TelemetryTable:
    """The `otlp_requests` table of one store's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def write(self, requests: Sequence[TelemetryRequest]) -> None:
        if not requests:
            return
        rows = [dataclasses.asdict(request) for request in requests]
        with self._engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.execute(insert(otlp_requests), rows)

    def read(self, signal: str, limit: int = 1000) -> list[TelemetryRequest]:
        """The oldest `limit` requests of a signal, in arrival order."""
        query = (
            select(otlp_requests.c.signal, otlp_requests.c.payload, otlp_requests.c.item_count,
                   otlp_requests.c.experiment, otlp_requests.c.received_ms)
            .where(otlp_requests.c.signal == signal)
            .order_by(otlp_requests.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [TelemetryRequest(*row) for row in conn.execute(query)]
