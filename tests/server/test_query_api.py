"""The query API under /api/v1: experiments, search, whole traces, tags, deletion, its OpenAPI
document, and the bearer token."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from traceglass.collector.server import Server, ServerConfig
from traceglass.collector.store import FilterError

from tests.server._helpers import StartServer, json_span, post, post_json, url, written

API = "/api/v1"
TOKEN = "query-token"
EXPERIMENT = "traceglass.experiment"


def call(server: Server, method: str, path: str, body: Any = None,
         headers: Mapping[str, str] | None = None) -> tuple[int, Any]:
    """(status, decoded JSON body or None) of one request to the main port."""
    data = json.dumps(body).encode() if body is not None else b""
    sent = {"Content-Type": "application/json", **(headers or {})} if body is not None else dict(headers or {})
    status, _, content = _request(url(server, API + path), method, data, sent)
    return status, json.loads(content) if content else None


def _request(target: str, method: str, data: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(target, data=data or None, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def _send(server: Server, trace_number: int, experiment: str, second: int, error: bool = False,
          name: str | None = None) -> str:
    trace_id = f"{trace_number:032x}"
    start = (1_700_000_000 + second) * 1_000_000_000
    fields: dict[str, Any] = {"startTimeUnixNano": str(start), "endTimeUnixNano": str(start + 250_000_000)}
    if error:
        fields["status"] = {"code": 2, "message": "boom"}
    document = json_span(trace_id=trace_id, span_id=f"{trace_number:016x}", name=name or f"root {trace_number}",
                         attributes={EXPERIMENT: experiment, "gen_ai.request.model": "gpt-4o"}, **fields)
    assert post_json(url(server), document)[0] == 200
    return trace_id


@pytest.fixture
def loaded(server: Server) -> Server:
    """Traces 1-3 in "alpha" (3 failed), 4 in "beta", oldest first; all written."""
    for number, (experiment, error) in enumerate(
            [("alpha", False), ("alpha", False), ("alpha", True), ("beta", False)], start=1):
        _send(server, number, experiment, second=number, error=error)
    written(server)
    return server


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(info["trace_id"], 16) for info in body["traces"]]


# -- experiments -------------------------------------------------------------------------------------


def test_experiments_list_create_rename_delete(loaded: Server) -> None:
    status, body = call(loaded, "GET", "/experiments")
    assert status == 200
    by_name = {e["name"]: e for e in body["experiments"]}
    assert by_name["alpha"]["trace_count"] == 3 and by_name["beta"]["trace_count"] == 1
    assert by_name["alpha"]["last_activity_ms"] == 1_700_000_003_000

    status, created = call(loaded, "POST", "/experiments", {"name": "gamma"})
    assert status == 201
    assert created["name"] == "gamma" and created["trace_count"] == 0 and created["last_activity_ms"] is None
    status, body = call(loaded, "POST", "/experiments", {"name": "gamma"})
    assert status == 409 and body["error"]["code"] == "ALREADY_EXISTS"
    assert call(loaded, "POST", "/experiments", {"name": "  "})[0] == 400
    assert call(loaded, "POST", "/experiments", {})[0] == 422

    gamma = created["experiment_id"]
    status, renamed = call(loaded, "PATCH", f"/experiments/{gamma}", {"name": "delta"})
    assert status == 200 and renamed == {**created, "name": "delta"}
    status, body = call(loaded, "PATCH", f"/experiments/{gamma}", {"name": "alpha"})
    assert status == 409 and "already exists" in body["error"]["message"]
    status, body = call(loaded, "PATCH", "/experiments/9999", {"name": "x"})
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"

    beta = by_name["beta"]["experiment_id"]
    assert call(loaded, "DELETE", f"/experiments/{beta}") == (204, None)
    assert call(loaded, "DELETE", f"/experiments/{beta}")[0] == 404
    assert call(loaded, "GET", f"/traces/{4:032x}")[0] == 404  # its traces went with it
    names = [e["name"] for e in call(loaded, "GET", "/experiments")[1]["experiments"]]
    assert names == ["alpha", "delta"]


def test_an_experiment_name_too_long_is_refused_with_its_reason(loaded: Server) -> None:
    status, body = call(loaded, "POST", "/experiments", {"name": "x" * 300})
    assert status == 400 and body["error"]["code"] == "INVALID_ARGUMENT"
    assert "longer than 256 characters" in body["error"]["message"]
    alpha = {e["name"]: e for e in call(loaded, "GET", "/experiments")[1]["experiments"]}["alpha"]
    status, body = call(loaded, "PATCH", f"/experiments/{alpha['experiment_id']}", {"name": "y" * 300})
    assert status == 400 and "longer than 256 characters" in body["error"]["message"]
    assert call(loaded, "POST", "/experiments", {"name": "x" * 256})[0] == 201


# -- search ------------------------------------------------------------------------------------------


def test_search_scopes_filters_and_order(loaded: Server) -> None:
    status, body = call(loaded, "GET", "/traces")
    assert status == 200
    assert _ids(body) == [4, 3, 2, 1] and body["next_page_token"] is None
    info = body["traces"][0]
    assert info["experiment_name"] == "beta" and info["status"] == "OK" and info["execution_time_ms"] == 250
    assert set(info) >= {"trace_id", "timestamp_ms", "span_count", "tags", "metadata", "request_preview"}

    assert _ids(call(loaded, "GET", "/traces?experiment_name=alpha")[1]) == [3, 2, 1]
    experiments = {e["name"]: e["experiment_id"] for e in call(loaded, "GET", "/experiments")[1]["experiments"]}
    query = urllib.parse.urlencode([("experiment_id", experiments["beta"]), ("experiment_name", "alpha"),
                                    ("order_by", "timestamp_ms ASC")])
    assert _ids(call(loaded, "GET", f"/traces?{query}")[1]) == [1, 2, 3, 4]
    query = urllib.parse.urlencode({"filter": "trace.status = 'ERROR'"})
    assert _ids(call(loaded, "GET", f"/traces?{query}")[1]) == [3]
    query = urllib.parse.urlencode({"filter": "span.attributes.gen_ai.request.model = 'gpt-4o'",
                                    "experiment_name": "beta"})
    assert _ids(call(loaded, "GET", f"/traces?{query}")[1]) == [4]


def test_pages(loaded: Server) -> None:
    seen: list[int] = []
    token = None
    pages = 0
    while True:
        suffix = f"&page_token={token}" if token else ""
        status, body = call(loaded, "GET", f"/traces?max_results=3{suffix}")
        assert status == 200
        seen += _ids(body)
        pages += 1
        token = body["next_page_token"]
        if token is None:
            break
    assert seen == [4, 3, 2, 1] and pages == 2


def test_a_bad_filter_is_400_with_its_position(loaded: Server) -> None:
    text = "trace.status = 'OK' AND trace.nope = 1"
    status, body = call(loaded, "GET", "/traces?" + urllib.parse.urlencode({"filter": text}))
    assert status == 400
    error = body["error"]
    assert error["code"] == "INVALID_FILTER"
    with pytest.raises(FilterError) as raised:
        written(loaded).search_traces(filter_string=text)
    assert error["message"] == str(raised.value)
    assert error["position"] == raised.value.position == text.index("nope")

    status, body = call(loaded, "GET", "/traces?order_by=sideways")
    assert status == 400 and body["error"]["code"] == "INVALID_FILTER"


@pytest.mark.parametrize(("query", "status", "code"), [
    ("page_token=not-a-token", 400, "INVALID_PAGE_TOKEN"),
    ("experiment_name=nope", 404, "NOT_FOUND"),
    ("experiment_id=9999", 404, "NOT_FOUND"),
    ("experiment_id=abc", 422, None),
    ("max_results=0", 422, None),
    ("max_results=1001", 422, None),
])
def test_bad_search_requests(loaded: Server, query: str, status: int, code: str | None) -> None:
    answered, body = call(loaded, "GET", f"/traces?{query}")
    assert answered == status
    if code is not None:
        assert body["error"]["code"] == code and body["error"]["message"]


def test_max_results_upper_bound_is_accepted(loaded: Server) -> None:
    assert call(loaded, "GET", "/traces?max_results=1000")[0] == 200


# -- one trace, tags, deletion -----------------------------------------------------------------------


def test_get_trace(loaded: Server) -> None:
    trace_id = f"{3:032x}"
    status, body = call(loaded, "GET", f"/traces/{trace_id}")
    assert status == 200
    stored = written(loaded).get_trace(trace_id)
    assert stored is not None and body == json.loads(json.dumps(stored.to_dict()))
    assert body["spans"][0]["status_code"] == "ERROR" and body["spans"][0]["attributes"][EXPERIMENT] == "alpha"

    status, body = call(loaded, "GET", f"/traces/{'f' * 32}")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"


def test_tags(loaded: Server) -> None:
    trace_id = f"{1:032x}"
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags/reviewed", {"value": "yes"}) == (204, None)
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags/reviewed", {"value": "twice"}) == (204, None)
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags/a%2Fb", {"value": "slash"}) == (204, None)
    assert call(loaded, "GET", f"/traces/{trace_id}")[1]["info"]["tags"] == {"a/b": "slash", "reviewed": "twice"}
    query = urllib.parse.urlencode({"filter": "tag.reviewed = 'twice'"})
    assert _ids(call(loaded, "GET", f"/traces?{query}")[1]) == [1]

    assert call(loaded, "DELETE", f"/traces/{trace_id}/tags/reviewed") == (204, None)
    assert call(loaded, "DELETE", f"/traces/{trace_id}/tags/reviewed") == (204, None)  # idempotent
    assert call(loaded, "GET", f"/traces/{trace_id}")[1]["info"]["tags"] == {"a/b": "slash"}

    assert call(loaded, "PUT", f"/traces/{'f' * 32}/tags/k", {"value": "v"})[0] == 404
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags/k", {"value": 3})[0] == 422
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags/k", {})[0] == 422


def test_tags_named_in_the_query_string_any_key_dots_included(loaded: Server) -> None:
    """"." and ".." cannot be path segments (clients resolve them away): the key goes in the query."""
    trace_id = f"{1:032x}"
    for key in (".", "..", "a/b", "ü ?&="):
        query = urllib.parse.urlencode({"key": key})
        assert call(loaded, "PUT", f"/traces/{trace_id}/tags?{query}", {"value": f"v{key}"}) == (204, None)
    assert call(loaded, "GET", f"/traces/{trace_id}")[1]["info"]["tags"] == {
        ".": "v.", "..": "v..", "a/b": "va/b", "ü ?&=": "vü ?&="}
    assert call(loaded, "DELETE", f"/traces/{trace_id}/tags?key=..") == (204, None)
    assert call(loaded, "DELETE", f"/traces/{trace_id}/tags?key=.") == (204, None)
    assert call(loaded, "GET", f"/traces/{trace_id}")[1]["info"]["tags"] == {"a/b": "va/b", "ü ?&=": "vü ?&="}
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags", {"value": "v"})[0] == 422  # no key
    assert call(loaded, "PUT", f"/traces/{trace_id}/tags?key=", {"value": "v"})[0] == 422
    assert call(loaded, "PUT", f"/traces/{'f' * 32}/tags?key=k", {"value": "v"})[0] == 404


def test_delete_traces(loaded: Server) -> None:
    status, body = call(loaded, "DELETE", "/traces", {"trace_ids": [f"{1:032x}", f"{2:032x}", "f" * 32]})
    assert status == 200 and body == {"deleted": 2}
    assert _ids(call(loaded, "GET", "/traces")[1]) == [4, 3]
    assert call(loaded, "DELETE", "/traces", {})[0] == 422


def test_spans_from_the_sdk_exporter_are_found(server: Server) -> None:
    provider = TracerProvider(resource=Resource.create({"service.name": "shop", EXPERIMENT: "sdk"}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=url(server))))
    with provider.get_tracer("shop").start_as_current_span("checkout"):
        with provider.get_tracer("shop").start_as_current_span("charge") as child:
            child.set_status(Status(StatusCode.ERROR, "declined"))
    provider.shutdown()
    written(server)

    status, body = call(server, "GET", "/traces?experiment_name=sdk")
    assert status == 200
    [info] = body["traces"]
    assert info["name"] == "checkout" and info["span_count"] == 2
    spans = call(server, "GET", f"/traces/{info['trace_id']}")[1]["spans"]
    assert [span["name"] for span in spans] == ["checkout", "charge"]


# -- OpenAPI, ports, auth ----------------------------------------------------------------------------


def test_openapi_documents_every_query_route(server: Server) -> None:
    status, _, content = post(url(server, "/openapi.json"), b"", method="GET")
    assert status == 200
    document = json.loads(content)
    routes = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == {
        (f"{API}/experiments", "get"), (f"{API}/experiments", "post"),
        (f"{API}/experiments/{{experiment_id}}", "patch"), (f"{API}/experiments/{{experiment_id}}", "delete"),
        (f"{API}/experiments/{{experiment_id}}/overview", "get"),
        (f"{API}/traces", "get"), (f"{API}/traces", "delete"),
        (f"{API}/traces/{{trace_id}}", "get"), (f"{API}/traces/{{trace_id}}/spans/{{span_id}}", "get"),
        (f"{API}/traces/{{trace_id}}/tags/{{key}}", "put"), (f"{API}/traces/{{trace_id}}/tags/{{key}}", "delete"),
        (f"{API}/traces/{{trace_id}}/tags", "put"), (f"{API}/traces/{{trace_id}}/tags", "delete"),
    }
    schemas = document["components"]["schemas"]
    assert {"ExperimentModel", "TracePageModel", "TraceModel", "TraceInfoModel", "ErrorBody", "TagValue",
            "TraceIds", "Deleted"} <= set(schemas)
    search = document["paths"][f"{API}/traces"]["get"]
    assert {p["name"] for p in search["parameters"]} == {"experiment_id", "experiment_name", "filter", "order_by",
                                                        "max_results", "page_token"}
    assert "400" in search["responses"] and "404" in search["responses"]


def test_the_otlp_port_serves_no_query_api(server: Server) -> None:
    assert post(url(server, f"{API}/traces", port="otlp_http"), b"", method="GET")[0] == 404
    assert post(url(server, "/openapi.json", port="otlp_http"), b"", method="GET")[0] == 404


@pytest.fixture
def guarded(start_server: StartServer) -> Iterator[Server]:
    yield start_server(auth_token=TOKEN)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/experiments", None),
    ("POST", "/experiments", {"name": "x"}),
    ("PATCH", "/experiments/1", {"name": "x"}),
    ("DELETE", "/experiments/1", None),
    ("GET", "/traces", None),
    ("GET", f"/traces/{'a' * 32}", None),
    ("PUT", f"/traces/{'a' * 32}/tags/k", {"value": "v"}),
    ("DELETE", f"/traces/{'a' * 32}/tags/k", None),
    ("DELETE", "/traces", {"trace_ids": []}),
])
def test_every_route_requires_the_token(guarded: Server, method: str, path: str, body: Any) -> None:
    assert call(guarded, method, path, body)[0] == 401
    assert call(guarded, method, path, body, {"Authorization": "Bearer wrong"})[0] == 401
    assert call(guarded, method, path, body, {"Authorization": f"Bearer {TOKEN}"})[0] != 401


def test_openapi_requires_the_token(guarded: Server) -> None:
    assert post(url(guarded, "/openapi.json"), b"", method="GET")[0] == 401
    assert post(url(guarded, "/openapi.json"), b"", {"Authorization": f"Bearer {TOKEN}"}, method="GET")[0] == 200


def test_a_second_server_on_the_same_store_answers_too(store_url: str) -> None:
    # Reads go to the store, not to the server's queue: whatever wrote the traces, every server sees them.
    with Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=0, grpc_port=0)) as first, \
            Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=0, grpc_port=0)) as second:
        _send(first, 1, "shared", second=1)
        written(first)
        assert _ids(call(second, "GET", "/traces")[1]) == [1]


def test_framework_refusals_use_the_error_body(server: Server) -> None:
    status, _, content = _request(url(server, f"{API}/experiments"), "POST", b"\x80\xff",
                                  {"Content-Type": "application/json"})
    assert status == 400 and json.loads(content)["error"]["code"] == "INVALID_ARGUMENT"
    status, body = call(server, "GET", "/nowhere")
    assert status == 404 and body["error"]["code"] == "NOT_FOUND"
    assert call(server, "DELETE", f"/experiments/{2**63}")[0] == 422  # larger than any stored id
    assert call(server, "DELETE", f"/experiments/{2**63 - 1}")[0] == 404
    # Outside /api, FastAPI's usual answers are unchanged.
    assert json.loads(post(url(server, "/nowhere"), b"", method="GET")[2]) == {"detail": "Not Found"}
