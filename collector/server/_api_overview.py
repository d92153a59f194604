"""GET /api/v1/experiments/{experiment_id}/overview: an experiment's requests, latency
percentiles, errors and tokens over time, and per model (what the UI's Overview tab charts).

The range defaults to the experiment's first to last trace; it is cut into buckets of the
smallest round width (1 s, 5 min, 1 h, 1 day...) that makes at most `buckets` of them, aligned on
multiples of that width, so one more when the range does not start on such a multiple.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from traceglass.collector.store import Store

from ._api import _ERRORS, _ID, API_PREFIX, ApiError, ErrorBody

__all__ = ["overview_router"]

_MAX_MS = 2**62  # far beyond any timestamp in milliseconds, and safe to add to in SQL


class BucketModel(BaseModel):
    start_ms: int = Field(description="Start of the bucket (of the range, for totals), ms since the epoch")
    requests: int = Field(description="Traces that started in the bucket")
    errors: int = Field(description="Of those, traces whose status is ERROR")
    error_rate: float | None = Field(None, description="errors / requests; null without requests")
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(None, description="Estimated cost in USD of the traces that have one; null when "
                                   "none has")
    p50_ms: int | None = Field(None, description="Median execution time of the finished traces (nearest rank)")
    p95_ms: int | None = None
    p99_ms: int | None = None


class ModelStatsModel(BaseModel):
    model: str = Field(description="The calls' gen_ai.request.model (else gen_ai.response.model)")
    requests: int = Field(description="Calls to the model: chat, text completion and embeddings spans")
    errors: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = Field(None, description="Estimated cost in USD of the calls that were priced; "
                                   "null when none was")
    p50_ms: int | None = Field(None, description="Median call duration (nearest rank)")
    p95_ms: int | None = None
    p99_ms: int | None = None


class ModelBucketModel(BaseModel):
    start_ms: int
    model: str
    requests: int
    input_tokens: int
    output_tokens: int


class OverviewModel(BaseModel):
    experiment_id: int
    start_ms: int = Field(description="Start of the first bucket (the range's start, rounded down to bucket_ms)")
    end_ms: int = Field(description="End of the range (exclusive)")
    bucket_ms: int = Field(description="Width of every bucket")
    model_attribute: str = Field(description="The span attribute that names a call's model (when a call has "
                                 "none, gen_ai.response.model)")
    totals: BucketModel
    buckets: list[BucketModel] = Field(description="Every bucket of the range, oldest first, empty ones included")
    models: list[ModelStatsModel] = Field(description="Per model over the range, most called first")
    model_buckets: list[ModelBucketModel] = Field(description="Per model and bucket; buckets without calls left out")


def overview_router(store: Store) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, tags=["query"], responses=_ERRORS)

    @router.get("/experiments/{experiment_id}/overview", response_model=OverviewModel,
                responses={400: {"model": ErrorBody, "description": "end_ms not after start_ms"}, 404: _ERRORS[404]})
    def experiment_overview(
        experiment_id: int = _ID,
        start_ms: int | None = Query(None, ge=0, le=_MAX_MS, description="Start (ms since the epoch, inclusive); "
                                     "default: the experiment's first trace"),
        end_ms: int | None = Query(None, ge=0, le=_MAX_MS,
                                   description="End (exclusive); default: just after its last trace"),
        buckets: int = Query(60, ge=1, le=500,
                             description="The smallest round width giving at most this many time buckets is "
                             "used (one more bucket when the range starts between two)"),
        models: bool = Query(True, description="false: leave out the per-model figures (models, model_buckets "
                             "empty), the costly part on large experiments"),
    ) -> dict[str, Any]:
        """Requests, latency percentiles, errors and token usage over time, and per model."""
        if store.get_experiment(experiment_id) is None:
            raise ApiError(404, "NOT_FOUND", f"No experiment with id {experiment_id}")
        if start_ms is not None and end_ms is not None and end_ms <= start_ms:
            raise ApiError(400, "INVALID_ARGUMENT", f"end_ms ({end_ms}) must be after start_ms ({start_ms})")
        try:
            return store.overview(experiment_id, start_ms, end_ms, buckets, models).to_dict()
        except ValueError as exc:
            raise ApiError(400, "INVALID_ARGUMENT", str(exc)) from None

    return router
