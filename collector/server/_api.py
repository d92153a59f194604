"""The query API under /api/v1: experiments, trace search, whole traces, tags, deletion.

JSON in and out; the bodies are pydantic models, so /openapi.json documents every route. Errors
are `{"error": {"code": ..., "message": ...}}` (a bad filter also carries `position`, `expected`,
`found` and `kind`, so clients can raise the same FilterError). Store calls block (SQLAlchemy),
so every endpoint is a plain `def`: FastAPI runs it in its threadpool, off the event loop.

Reads see what the writer has committed: a span is acknowledged once it is queued, and the writer
commits it with its batch, usually within a fraction of a second.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from traceglass.collector.store import FilterError, Store, StoreError

__all__ = ["API_PREFIX", "MAX_RESULTS_LIMIT", "query_router"]

API_PREFIX = "/api/v1"
MAX_RESULTS_LIMIT = 1000
_MAX_ID = 2**63 - 1  # ids are 64-bit integers in the store; larger ones cannot exist (nor be bound in SQL)


class ErrorDetail(BaseModel):
    code: str = Field(description="INVALID_FILTER, INVALID_ARGUMENT, NOT_FOUND or ALREADY_EXISTS")
    message: str
    position: int | None = Field(None, description="INVALID_FILTER: 0-based index into the filter")
    expected: str | None = None
    found: str | None = None
    kind: str | None = Field(None, description="INVALID_FILTER: 'filter' or the kind of text that failed")
    text: str | None = Field(None, description="INVALID_FILTER: the text that failed to parse")


class ErrorBody(BaseModel):
    error: ErrorDetail


class ExperimentModel(BaseModel):
    experiment_id: int
    name: str
    created_ms: int
    trace_count: int = 0
    last_activity_ms: int | None = None


class ExperimentList(BaseModel):
    experiments: list[ExperimentModel]


class ExperimentName(BaseModel):
    name: str = Field(min_length=1)


_TAG_KEY = Query(..., min_length=1, description="The tag's key")


class TraceInfoModel(BaseModel):
    trace_id: str
    experiment_id: int
    timestamp_ms: int
    end_ms: int | None = None
    execution_time_ms: int | None = None
    status: str
    name: str | None = None
    request_preview: str | None = None
    response_preview: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    span_count: int
    experiment_name: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, str] = Field(default_factory=dict)


class SpanModel(BaseModel):
    trace_id: str
    span_id: str
    name: str
    start_ns: int
    end_ns: int
    parent_span_id: str | None = None
    kind: str
    status_code: str
    status_message: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)
    links: list[dict[str, Any]] = Field(default_factory=list)
    resource_attributes: dict[str, Any] = Field(default_factory=dict)
    resource_schema_url: str | None = None
    scope_name: str | None = None
    scope_version: str | None = None
    scope_schema_url: str | None = None
    scope_attributes: dict[str, Any] | None = None
    trace_state: str | None = None
    flags: int | None = None
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0
    span_type: str | None = None
    cost_usd: float | None = None
    truncated_attributes: list[str] = Field(
        default_factory=list,
        description="With max_value_length: the attributes cut to that length (GET the span for them whole)")


class TraceModel(BaseModel):
    info: TraceInfoModel
    spans: list[SpanModel]


class TracePageModel(BaseModel):
    traces: list[TraceInfoModel]
    next_page_token: str | None = Field(None, description="Pass as page_token for the next page; null on the last")


class TagValue(BaseModel):
    value: str


class TraceIds(BaseModel):
    trace_ids: list[str]


class Deleted(BaseModel):
    deleted: int


class ApiError(Exception):
    """An error answer: raised anywhere in an endpoint, turned into its JSON body by the handler."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"code": self.code, "message": self.message, **self.extra}},
                            status_code=self.status)


def filter_error(error: FilterError) -> ApiError:
    return ApiError(400, "INVALID_FILTER", str(error), position=error.position, expected=error.expected,
                    found=error.found, kind=_kind(error), text=error.text)


def _kind(error: FilterError) -> str:
    # FilterError keeps its kind only inside the message ("Invalid <kind> at position ...").
    head = str(error).split(" at position ", 1)[0]
    return head.removeprefix("Invalid ") if head.startswith("Invalid ") else "filter"


_ID = Path(ge=0, le=_MAX_ID)

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid filter, order_by, page token or argument"},
    404: {"model": ErrorBody, "description": "No such experiment or trace"},
}


def query_router(store: Store) -> APIRouter:
    """The /api/v1 routes, answering from `store`."""
    # Every route may answer 400 (a body that is not UTF-8 text is refused before validation;
    # malformed JSON is a 422) and 404 (a path whose parts no route accepts, e.g. a tag key
    # holding a line break, matches nothing).
    router = APIRouter(prefix=API_PREFIX, tags=["query"], responses=_ERRORS)

    @router.get("/experiments", response_model=ExperimentList)
    def list_experiments() -> dict[str, Any]:
        """Every experiment, oldest first, with its trace count and latest trace start."""
        return {"experiments": [e.to_dict() for e in store.list_experiments()]}

    @router.post("/experiments", status_code=201, response_model=ExperimentModel,
                 responses={400: _ERRORS[400], 409: {"model": ErrorBody, "description": "The name is taken"}})
    def create_experiment(body: ExperimentName) -> dict[str, Any]:
        try:
            return store.create_experiment(_name(body.name)).to_dict()
        except StoreError as exc:
            raise ApiError(409, "ALREADY_EXISTS", str(exc)) from None
        except ValueError as exc:  # a name the store refuses (too long, a NUL character)
            raise ApiError(400, "INVALID_ARGUMENT", str(exc)) from None

    @router.patch("/experiments/{experiment_id}", response_model=ExperimentModel,
                  responses={**_ERRORS, 409: {"model": ErrorBody, "description": "The name is taken"}})
    def rename_experiment(body: ExperimentName, experiment_id: int = _ID) -> dict[str, Any]:
        name = _name(body.name)
        _experiment(store, experiment_id)
        try:
            return store.rename_experiment(experiment_id, name).to_dict()
        except StoreError as exc:
            if store.get_experiment(experiment_id) is None:  # deleted meanwhile
                raise ApiError(404, "NOT_FOUND", str(exc)) from None
            raise ApiError(409, "ALREADY_EXISTS", str(exc)) from None
        except ValueError as exc:
            raise ApiError(400, "INVALID_ARGUMENT", str(exc)) from None

    @router.delete("/experiments/{experiment_id}", status_code=204, response_class=Response,
                   responses={404: _ERRORS[404]})
    def delete_experiment(experiment_id: int = _ID) -> Response:
        """Delete an experiment with all its traces."""
        try:
            store.delete_experiment(experiment_id)
        except StoreError as exc:
            raise ApiError(404, "NOT_FOUND", str(exc)) from None
        return Response(status_code=204)

    @router.get("/traces", response_model=TracePageModel, responses=_ERRORS)
    def search_traces(
        experiment_id: list[int] | None = Query(None, description="Experiment to search (repeatable)"),  # noqa: B008
        experiment_name: list[str] | None = Query(None, description="Experiment to search (repeatable)"),  # noqa: B008
        filter: str | None = Query(None, description="e.g. trace.status = 'ERROR'"),
        order_by: list[str] | None = Query(None, description="e.g. 'timestamp_ms DESC' (repeatable)"),  # noqa: B008
        max_results: int = Query(100, ge=1, le=MAX_RESULTS_LIMIT),
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """A page of traces, newest first unless order_by says otherwise. No experiment: every one."""
        ids = _scope(store, experiment_id, experiment_name)
        try:
            page = store.search_traces(ids, filter or None, order_by or None, max_results, page_token or None)
        except FilterError as exc:
            raise filter_error(exc) from None
        except ValueError as exc:  # the page token
            raise ApiError(400, "INVALID_PAGE_TOKEN" if page_token else "INVALID_ARGUMENT", str(exc)) from None
        return page.to_dict()

    # exclude_unset: truncated_attributes appears only when max_value_length was asked for, so the
    # plain answer stays exactly Trace.to_dict() (what `traceglass traces export` writes).
    @router.get("/traces/{trace_id}", response_model=TraceModel, responses={404: _ERRORS[404]},
                response_model_exclude_unset=True)
    def get_trace(
        trace_id: str,
        max_value_length: int | None = Query(None, ge=16, description="Cut longer string attribute values"),
    ) -> dict[str, Any]:
        """A whole trace: its summary and every span, by start time. With max_value_length, long
        attribute values (prompts, documents) are cut and listed in each span's truncated_attributes."""
        trace = store.get_trace(trace_id)
        if trace is None:
            raise ApiError(404, "NOT_FOUND", f"No trace with id {trace_id!r}")
        data = trace.to_dict()
        if max_value_length is not None:
            for span in data["spans"]:
                _cut_values(span, max_value_length)
        return data

    @router.get("/traces/{trace_id}/spans/{span_id}", response_model=SpanModel, responses={404: _ERRORS[404]})
    def get_span(trace_id: str, span_id: str) -> dict[str, Any]:
        """One span in full (what a cut value of GET /traces/{trace_id} leaves out)."""
        trace = store.get_trace(trace_id)
        for span in trace.spans if trace is not None else ():
            if span.span_id == span_id:
                return span.to_dict()
        raise ApiError(404, "NOT_FOUND", f"No span {span_id!r} in trace {trace_id!r}")

    # `key:path`: a tag key may contain "/" (sent as %2F, which the router sees decoded).
    @router.put("/traces/{trace_id}/tags/{key:path}", status_code=204, response_class=Response, responses=_ERRORS)
    def set_trace_tag(trace_id: str, key: str, body: TagValue) -> Response:
        """Set or replace one tag."""
        try:
            store.set_trace_tag(trace_id, key, body.value)
        except StoreError as exc:
            raise ApiError(404, "NOT_FOUND", str(exc)) from None
        except ValueError as exc:
            raise ApiError(400, "INVALID_ARGUMENT", str(exc)) from None
        return Response(status_code=204)

    @router.delete("/traces/{trace_id}/tags/{key:path}", status_code=204, response_class=Response)
    def delete_trace_tag(trace_id: str, key: str) -> Response:
        """Remove one tag (nothing happens if the trace has no such tag)."""
        store.delete_trace_tag(trace_id, key)
        return Response(status_code=204)

    # The key as a query parameter: any key, "." and ".." included, which browsers and HTTP
    # clients resolve away when they are a path segment (what the web UI uses).
    @router.put("/traces/{trace_id}/tags", status_code=204, response_class=Response, responses=_ERRORS)
    def set_trace_tag_by_query(trace_id: str, body: TagValue, key: str = _TAG_KEY) -> Response:
        """Set or replace one tag, named by the query parameter `key`."""
        return set_trace_tag(trace_id, key, body)

    @router.delete("/traces/{trace_id}/tags", status_code=204, response_class=Response)
    def delete_trace_tag_by_query(trace_id: str, key: str = _TAG_KEY) -> Response:
        """Remove one tag, named by the query parameter `key`."""
        return delete_trace_tag(trace_id, key)

    @router.delete("/traces", response_model=Deleted)
    def delete_traces(body: TraceIds = Body(...)) -> dict[str, int]:  # noqa: B008
        """Delete traces with their spans, tags and metadata; `deleted` counts those that existed."""
        return {"deleted": store.delete_traces(body.trace_ids)}

    return router


def http_error(error: Any) -> JSONResponse:
    """FastAPI's own refusals (a body that is not JSON, an unknown route under /api) in the API's form."""
    codes = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    response = ApiError(error.status_code, codes.get(error.status_code, "ERROR"), str(error.detail)).response()
    response.headers.update(error.headers or {})
    return response


def _cut_values(span: dict[str, Any], limit: int) -> None:
    cut = []
    attributes = span["attributes"]
    for key, value in attributes.items():
        if isinstance(value, str) and len(value) > limit:
            attributes[key] = value[:limit]
            cut.append(key)
    span["truncated_attributes"] = cut


def _name(name: str) -> str:
    if not name.strip():
        raise ApiError(400, "INVALID_ARGUMENT", "The experiment name must not be blank")
    return name


def _experiment(store: Store, experiment_id: int) -> None:
    if store.get_experiment(experiment_id) is None:
        raise ApiError(404, "NOT_FOUND", f"No experiment with id {experiment_id}")


def _scope(store: Store, ids: list[int] | None, names: list[str] | None) -> list[int] | None:
    """The experiment ids to search (None: every experiment); 404 for an unknown one."""
    if not ids and not names:
        return None
    known = store.experiment_names()
    scope: set[int] = set()
    for experiment_id in ids or ():
        if experiment_id not in known.values():
            raise ApiError(404, "NOT_FOUND", f"No experiment with id {experiment_id}")
        scope.add(experiment_id)
    for name in names or ():
        if name not in known:
            raise ApiError(404, "NOT_FOUND", f"No experiment named {name!r}")
        scope.add(known[name])
    return sorted(scope)
