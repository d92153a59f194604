"""The GenAI metrics in a real Prometheus, and the Grafana dashboard's queries run on them.

The app serves its metrics with opentelemetry-exporter-prometheus; Prometheus scrapes them every
second; then every query of collector-config/grafana/dashboards answers, with the labels and
values the dashboard's panels show. Grafana's own variables are replaced as Grafana would.
"""

from __future__ import annotations

import json
import math
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, start_http_server
from traceglass.semconv import names as N

from tests.collector_config.genai_calls import FIRST_CHUNK_DELAY, make_calls
from tests.interop.backends import executable, free_port, http_status, poll, server
from tests.replay import ReplayServer

pytestmark = pytest.mark.slow

DASHBOARD = Path(__file__).resolve().parents[2] / "collector-config" / "grafana" / "dashboards" / "genai.json"
EXPERIMENT = "nightly-eval"
SCRAPE_SECONDS = 1
# Grafana's variables: every value of the dashboard's own, and ranges wide enough to hold the
# scrapes before and after the second round of calls.
GRAFANA = {"$__rate_interval": "30s", "$__range": "2m", "$experiment": ".*", "$provider": ".*", "$model": ".*"}


def _substitute(expr: str) -> str:
    for variable, value in GRAFANA.items():
        expr = expr.replace(variable, value)
    return expr


@pytest.fixture(scope="module")
def app_metrics() -> Iterator[tuple[int, MeterProvider]]:
    """(port, meter provider) of an app serving its metrics at /metrics."""
    registry = CollectorRegistry()
    reader = PrometheusMetricReader(registry=registry, resource_attribute_filter=lambda key: key == N.EXPERIMENT)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False,
                             resource=Resource.create({"service.name": "genai-app", N.EXPERIMENT: EXPERIMENT}))
    http_server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield http_server.server_port, provider
    finally:
        http_server.shutdown()
        thread.join(5)
        provider.shutdown()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, app_metrics: tuple[int, MeterProvider]) -> Iterator[str]:
    command = executable("TRACEGLASS_TEST_PROMETHEUS", "prometheus")
    workdir = tmp_path_factory.mktemp("prometheus")
    config = {"global": {"scrape_interval": f"{SCRAPE_SECONDS}s"},
              "scrape_configs": [{"job_name": "genai-app",
                                  "static_configs": [{"targets": [f"127.0.0.1:{app_metrics[0]}"]}]}]}
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with server([command, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{port}"], workdir, lambda: http_status(f"{base}/-/ready") == 200,
                {}):
        yield base


def _api(base: str, path: str, **params: Any) -> Any:
    url = f"{base}/api/v1/{path}?{urllib.parse.urlencode(params, doseq=True)}"
    with urllib.request.urlopen(url, timeout=30) as response:
        answer = json.load(response)
    assert answer["status"] == "success", answer
    return answer["data"]


def _scrapes(base: str, count: int) -> None:
    """Wait until Prometheus has scraped the app `count` more times."""
    def samples() -> int:
        result = _api(base, "query", query='count_over_time(up{job="genai-app"}[10m])')["result"]
        return int(result[0]["value"][1]) if result else 0

    target = samples() + count
    assert poll(lambda: samples() >= target, timeout=30), "Prometheus does not scrape the app"


@pytest.fixture(scope="module")
def scraped(prometheus: str, app_metrics: tuple[int, MeterProvider], _replay_server: ReplayServer) -> str:
    """Prometheus after two rounds of calls, each scraped (rates need a sample before and after)."""
    _scrapes(prometheus, 1)
    for _ in range(2):
        _replay_server.reset()
        make_calls(_replay_server, meter_provider=app_metrics[1])
        _scrapes(prometheus, 2)
    _replay_server.reset()
    return prometheus


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text("utf-8"))


def _query(base: str, expr: str) -> list[tuple[dict[str, str], float]]:
    result = _api(base, "query", query=_substitute(expr), time=time.time())["result"]
    return [(series["metric"], float(series["value"][1])) for series in result]


def _panel(title_start: str) -> dict[str, Any]:
    [panel] = [p for p in _dashboard()["panels"] if p["type"] != "row" and p["title"].startswith(title_start)]
    return panel


def test_every_dashboard_query_answers(scraped: str) -> None:
    for panel in _dashboard()["panels"]:
        for target in panel.get("targets", []):
            values = _query(scraped, target["expr"])
            assert values, f"{panel['title']}: no data for {target['expr']}"
            assert all(not math.isnan(value) for _, value in values), (panel["title"], target["expr"], values)


def test_request_and_error_rates(scraped: str) -> None:
    [requests] = _panel("Request rate")["targets"]
    rates = {labels["gen_ai_request_model"]: value for labels, value in _query(scraped, requests["expr"])}
    assert set(rates) == {"gpt-4o-mini", "gpt-4", "this-model-does-not-exist"}
    assert all(value > 0 for value in rates.values())
    by_type, share = _panel("Error rate")["targets"]
    [(labels, value)] = _query(scraped, by_type["expr"])
    assert labels == {"error_type": "openai.NotFoundError"} and value > 0
    [(_, failed)] = _query(scraped, share["expr"])
    # One call in three failed. rate() extrapolates each series to the window's edges from its own
    # first and last samples, so the quotient of two rates is near 1/3, not exactly 1/3.
    assert failed == pytest.approx(1 / 3, rel=0.1)


def test_latency_and_time_to_first_chunk_quantiles(scraped: str) -> None:
    for target in _panel("Latency")["targets"]:
        assert all(0 < value < 5 for _, value in _query(scraped, target["expr"]))
    for target in _panel("Time to first chunk")["targets"]:
        [(labels, value)] = _query(scraped, target["expr"])
        assert labels == {"gen_ai_request_model": "gpt-4"}  # the one streamed call
        # The replay server held the first chunk back 50 ms: the 0.04-0.08 s bucket (or the next,
        # on a slow machine).
        assert FIRST_CHUNK_DELAY * 0.8 <= value <= 0.16


def test_token_usage_by_model_provider_and_experiment(scraped: str) -> None:
    for title, label, values in (("Tokens per second by model", "gen_ai_request_model", {"gpt-4o-mini", "gpt-4"}),
                                 ("Tokens per second by provider", "gen_ai_provider_name", {"openai"}),
                                 ("Tokens per second by experiment", "traceglass_experiment", {EXPERIMENT})):
        [target] = _panel(title)["targets"]
        series = _query(scraped, target["expr"])
        assert {(labels[label], labels["gen_ai_token_type"]) for labels, _ in series} == {
            (value, kind) for value in values for kind in ("input", "output")}, title
        assert all(value > 0 for _, value in series), title
    [total] = _panel("Tokens in the time range")["targets"]
    totals = {(labels["gen_ai_request_model"], labels["gen_ai_token_type"]): value
              for labels, value in _query(scraped, total["expr"])}
    # Two rounds of 12 input and 5 output tokens per model; increase() extrapolates to the range.
    assert totals.keys() == {("gpt-4o-mini", "input"), ("gpt-4o-mini", "output"), ("gpt-4", "input"),
                             ("gpt-4", "output")}
    assert all(value > 0 for value in totals.values())


def test_dashboard_variables_list_what_was_recorded(scraped: str) -> None:
    expected = {"experiment": [EXPERIMENT], "provider": ["openai"],
                "model": ["gpt-4", "gpt-4o-mini", "this-model-does-not-exist"]}
    for variable in _dashboard()["templating"]["list"]:
        # label_values(selector, label) is Grafana's call of this API.
        selector, label = variable["query"]["query"].removeprefix("label_values(").removesuffix(")").rsplit(",", 1)
        values = _api(scraped, f"label/{label.strip()}/values", **{"match[]": _substitute(selector)})
        assert sorted(values) == expected[variable["name"]]


def test_experiment_joined_from_target_info(scraped: str) -> None:
    # Scraped straight from an app (no Collector, no resource_attribute_filter), the experiment is
    # only on target_info; README gives this join for that case.
    expr = ("sum by (traceglass_experiment) (rate(gen_ai_client_token_usage_sum[30s])"
            " * on (job, instance) group_left (traceglass_experiment) target_info)")
    [(labels, value)] = _query(scraped, expr)
    assert labels == {"traceglass_experiment": EXPERIMENT} and value > 0
