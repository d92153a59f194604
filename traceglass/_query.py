"""Finding traces again: search_traces(), get_trace(), set_trace_tag(), delete_trace_tag(),
delete_traces().

They read where `get_tracking_uri()` points, after flushing the spans this process has ended, so
a trace just recorded is found. `_backend()` is the one place that picks what answers: a store
URL is opened directly; a traceglass server's address is asked through its query API (/api/v1).
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from traceglass import _pipeline
from traceglass._experiment import get_experiment_name
from traceglass._tracking import get_tracking_uri, is_server_url, is_store_url, open_store

if TYPE_CHECKING:
    import pandas

    from traceglass._remote import RemoteStore
    from traceglass.collector.store import Store, Trace, TraceInfo

    # What answers queries: a store opened in this process, or a server's query API.
    Backend = Store | RemoteStore

__all__ = [
    "DATAFRAME_COLUMNS",
    "TraceList",
    "UnknownExperimentError",
    "delete_trace_tag",
    "delete_traces",
    "get_trace",
    "search_page",
    "search_traces",
    "set_trace_tag",
]

# One row per trace. request_time is timestamp_ms as a UTC pandas Timestamp.
DATAFRAME_COLUMNS = (
    "trace_id",
    "experiment_id",
    "experiment",
    "request_time",
    "timestamp_ms",
    "execution_time_ms",
    "status",
    "name",
    "request",
    "response",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost_usd",
    "session_id",
    "user_id",
    "span_count",
    "tags",
    "metadata",
)
_INTS = ("experiment_id", "timestamp_ms", "span_count")
_NULLABLE_INTS = ("execution_time_ms", "input_tokens", "output_tokens", "total_tokens")


class UnknownExperimentError(ValueError):
    """An experiment name or id given to search_traces() is not in the store."""


class TraceList(list):  # type: ignore[type-arg]
    """search_traces(return_type="list"): TraceInfo objects, plus the token of the next page."""

    def __init__(self, traces: Iterable[TraceInfo] = (), next_page_token: str | None = None) -> None:
        super().__init__(traces)
        self.next_page_token = next_page_token


def search_traces(
    experiment_ids: Sequence[int | str] | None = None,
    experiment_names: Sequence[str] | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = None,
    page_token: str | None = None,
    return_type: Literal["pandas", "list"] = "pandas",
) -> pandas.DataFrame | TraceList:
    """Find traces, newest first unless `order_by` says otherwise.

    experiment_ids / experiment_names: where to look (together: the union). Neither: the
        experiment set by set_experiment() or TRACEGLASS_EXPERIMENT, else every experiment.
        An unknown name or id raises UnknownExperimentError (a ValueError) naming the known ones.
    filter_string: MLflow's grammar, e.g. `trace.status = 'ERROR' AND
        span.attributes.gen_ai.request.model = 'gpt-4o-mini' AND trace.text ILIKE '%refund%'`.
        A bad filter raises FilterError (a ValueError) saying where and what was expected.
    order_by: e.g. ["timestamp_ms DESC"], ["trace.execution_time_ms ASC"].
    max_results: by default (None), as in MLflow, every matching trace; a number asks for a page
        of that many, and page_token for the next one: the token is `df.attrs["next_page_token"]`
        (pandas) or `.next_page_token` (list), None on the last page.
    return_type: "pandas" (a DataFrame, one row per trace: DATAFRAME_COLUMNS; spans through
        get_trace(trace_id)) or "list" (TraceInfo objects).
    """
    if return_type not in ("pandas", "list"):
        raise ValueError(f"search_traces(): return_type must be 'pandas' or 'list', got {return_type!r}")
    pd = _pandas() if return_type == "pandas" else None
    page_traces, token = search_page(
        _backend(), experiment_ids, experiment_names, filter_string, order_by, max_results, page_token
    )
    if pd is None:
        return TraceList(page_traces, token)
    return _dataframe(pd, page_traces, token)


def search_page(
    store: Backend,
    experiment_ids: Sequence[int | str] | None = None,
    experiment_names: Sequence[str] | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    max_results: int | None = 100,
    page_token: str | None = None,
) -> tuple[list[TraceInfo], str | None]:
    """One page of search results from `store` (search_traces() and the CLI share it)."""
    if any(isinstance(value, (str, int)) for value in (experiment_ids, experiment_names, order_by)):
        raise TypeError("search_traces(): experiment_ids, experiment_names and order_by take a list, "
                        "e.g. experiment_names=['quickstart']")
    if max_results is None:  # MLflow's way of asking for every matching trace
        max_results = sys.maxsize
    if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
        raise ValueError(f"search_traces(): max_results must be a positive integer, got {max_results!r}")
    _pipeline.flush()
    ids = _experiment_ids(store, experiment_ids, experiment_names)
    if ids == []:
        return [], None  # the active experiment has no trace yet
    page = store.search_traces(
        experiment_ids=ids, filter_string=filter_string or None, order_by=list(order_by) if order_by else None,
        max_results=max_results, page_token=page_token or None,
    )
    return list(page.traces), page.next_page_token


def get_trace(trace_id: str) -> Trace | None:
    """The whole trace (`.info`, `.spans` by start time; `.to_dict()` for JSON), None if unknown."""
    _pipeline.flush()
    return _backend().get_trace(trace_id)


def set_trace_tag(trace_id: str, key: str, value: str) -> None:
    """Tag a stored trace (`tag.<key> = '<value>'` in filters). Replaces the key's value."""
    _pipeline.flush()
    _backend().set_trace_tag(trace_id, key, value)


def delete_trace_tag(trace_id: str, key: str) -> None:
    """Remove one tag from a stored trace."""
    _pipeline.flush()
    _backend().delete_trace_tag(trace_id, key)


def delete_traces(trace_ids: str | Iterable[str]) -> int:
    """Delete stored traces (with their spans, tags and metadata) by id; returns how many existed.

    Takes one id, or any iterable of them, such as a `search_traces()` frame's `trace_id` column.
    """
    ids = [trace_ids] if isinstance(trace_ids, str) else [str(trace_id) for trace_id in trace_ids]
    if not ids:
        return 0
    _pipeline.flush()
    return _backend().delete_traces(ids)


def _backend(tracking_uri: str | None = None) -> Backend:
    """What answers queries for `tracking_uri` (default: get_tracking_uri()): the store for a store
    URL, the server's query API for an http(s) address."""
    uri = tracking_uri or get_tracking_uri()
    if is_store_url(uri):
        return open_store(uri)
    if is_server_url(uri):
        from traceglass._remote import RemoteStore

        return RemoteStore(uri)
    raise ValueError(
        f"Unsupported tracking URI {uri!r}: use a store URL (sqlite:////path/to/traces.db, "
        f"postgresql://user:password@host/db) or a traceglass server's address (http://127.0.0.1:5000)."
    )


def _experiment_ids(
    store: Backend, experiment_ids: Sequence[int | str] | None, experiment_names: Sequence[str] | None
) -> list[int] | None:
    """The ids to search: None for every experiment, [] when nothing can match."""
    known = store.experiment_names()  # one small query; the experiments' trace counts are not needed
    if experiment_ids is None and experiment_names is None:
        active = get_experiment_name()
        if active is None:
            return None
        return [known[active]] if active in known else []
    ids: list[int] = []
    # `is None`, not truthiness: a numpy array or pandas Series (df.experiment_id.unique()) has none.
    for raw in () if experiment_ids is None else experiment_ids:
        try:
            if isinstance(raw, bool):
                raise TypeError
            # operator.index takes numpy's integers too, but never cuts 1.9 down to experiment 1.
            experiment_id = int(raw) if isinstance(raw, str) else operator.index(raw)
        except (TypeError, ValueError):
            raise ValueError(f"search_traces(): experiment ids are integers, got {raw!r}") from None
        if experiment_id not in known.values():
            raise UnknownExperimentError(f"No experiment with id {experiment_id}. {_known(known)}")
        ids.append(experiment_id)
    for name in () if experiment_names is None else experiment_names:
        if name not in known:
            raise UnknownExperimentError(f"No experiment named {name!r}. {_known(known)}")
        ids.append(known[name])
    return sorted(set(ids))


def _known(known: dict[str, int]) -> str:
    if not known:
        return "The store has no experiments yet."
    listed = ", ".join(f"{name!r} (id {experiment_id})" for name, experiment_id in list(known.items())[:20])
    more = f" and {len(known) - 20} more" if len(known) > 20 else ""
    return f"Known experiments: {listed}{more}."


def _pandas() -> Any:
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "search_traces() returns a pandas DataFrame by default, and pandas is not installed: "
            "pip install 'traceglass[pandas]', or call search_traces(..., return_type='list')."
        ) from None
    return pandas


def _row(info: TraceInfo) -> dict[str, Any]:
    return {
        "trace_id": info.trace_id,
        "experiment_id": info.experiment_id,
        "experiment": info.experiment_name,
        "request_time": info.timestamp_ms,
        "timestamp_ms": info.timestamp_ms,
        "execution_time_ms": info.execution_time_ms,
        "status": info.status,
        "name": info.name,
        "request": info.request_preview,
        "response": info.response_preview,
        "input_tokens": info.input_tokens,
        "output_tokens": info.output_tokens,
        "total_tokens": info.total_tokens,
        "cost_usd": info.cost_usd,
        "session_id": info.session_id,
        "user_id": info.user_id,
        "span_count": info.span_count,
        "tags": dict(info.tags),
        "metadata": dict(info.metadata),
    }


def _dataframe(pd: Any, traces: list[TraceInfo], token: str | None) -> pandas.DataFrame:
    frame = pd.DataFrame([_row(info) for info in traces], columns=list(DATAFRAME_COLUMNS))
    frame["request_time"] = pd.to_datetime(frame["request_time"], unit="ms", utc=True)
    for column in _INTS:  # integers even when the page is empty
        frame[column] = frame[column].astype("int64")
    for column in _NULLABLE_INTS:  # integers with gaps, not floats with NaN
        frame[column] = frame[column].astype("Int64")
    frame["cost_usd"] = frame["cost_usd"].astype("float64")  # NaN where no call was priced
    frame.attrs["next_page_token"] = token
    return frame
