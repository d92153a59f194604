"""traceglass.collector.store: experiments and traces in SQLite (the default) or PostgreSQL.

    store = Store.open("sqlite:///traces.db")      # or postgresql://user@host/db
    store.write_spans(records)                       # SpanRecord batches, idempotent
    page = store.search_traces([experiment_id], "trace.status = 'ERROR'")
    trace = store.get_trace(page.traces[0].trace_id)

The schema is created and upgraded by Alembic migrations when a store is opened.
"""

from traceglass._tracking import default_store_url

from ._errors import StoreError
from ._filter import FilterError
from ._models import Experiment, StoredSpan, Trace, TraceInfo, TracePage
from ._records import EventRecord, LinkRecord, SpanRecord
from ._store import Store
from ._writer import PreparedSpans

__all__ = [
    "EventRecord",
    "Experiment",
    "FilterError",
    "LinkRecord",
    "PreparedSpans",
    "SpanRecord",
    "Store",
    "StoreError",
    "StoredSpan",
    "Trace",
    "TraceInfo",
    "TracePage",
    "default_store_url",
]
