"""The provisioned Grafana dashboards: valid, complete, and querying only metrics and labels that
traceglass emits, named as Prometheus names them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from traceglass.semconv import names as N

from tests.collector_config.conftest import CONFIG_DIR
from tests.collector_config.genai_calls import Family, prometheus_label
from tests.collector_config.promql import names

DASHBOARDS = sorted((CONFIG_DIR / "grafana" / "dashboards").glob("*.json"))
# Labels Prometheus adds itself: le on histogram buckets, job and instance on every scrape.
PROMETHEUS_LABELS = {"le", "job", "instance"}
# The experiment: a resource attribute that collector.yaml copies onto every data point.
EXPERIMENT_LABEL = prometheus_label(N.EXPERIMENT)


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text("utf-8"))


def queries(dashboard: dict[str, Any]) -> list[str]:
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    exprs += [variable["query"]["query"] for variable in dashboard["templating"]["list"]]
    return exprs


def test_the_promql_reader() -> None:
    assert names('sum by (a, le) (rate(m_bucket{x=~"$v", y!=""}[$__rate_interval])) / sum(rate(n[5m]))') == (
        {"m_bucket", "n"}, {"a", "le", "x", "y"})
    assert names('label_values(m_count{x=~"$v"}, y)') == ({"m_count"}, {"x", "y"})
    assert names("histogram_quantile(0.95, sum by (le) (rate(m_bucket[1m])))") == ({"m_bucket"}, {"le"})


def test_emitted_metrics_are_the_semconv_instruments(emitted: dict[str, Family]) -> None:
    # The calls behind every other check here really produce all three GenAI instruments.
    assert {N.METRIC_OPERATION_DURATION, N.METRIC_TOKEN_USAGE, N.METRIC_TIME_TO_FIRST_CHUNK} <= set(emitted)
    assert emitted[N.METRIC_OPERATION_DURATION].series == {
        "gen_ai_client_operation_duration_seconds_bucket", "gen_ai_client_operation_duration_seconds_sum",
        "gen_ai_client_operation_duration_seconds_count"}
    assert emitted[N.METRIC_TOKEN_USAGE].base == "gen_ai_client_token_usage"  # {token} is an annotation
    assert prometheus_label(N.ERROR_TYPE) in emitted[N.METRIC_OPERATION_DURATION].labels
    assert prometheus_label(N.TOKEN_TYPE) in emitted[N.METRIC_TOKEN_USAGE].labels


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_is_valid_grafana_json(path: Path) -> None:
    dashboard = load(path)
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(set(ids)) == len(ids)
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert 0 <= grid["x"] and grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            refs = [target["refId"] for target in panel["targets"]]
            assert len(set(refs)) == len(refs), panel["title"]
    # No two panels on the same grid cell (Grafana would push one down, out of its row).
    grids = [panel["gridPos"] for panel in dashboard["panels"]]
    cells = [(x, y) for g in grids for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])]
    assert len(set(cells)) == len(cells)
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    for expr in queries(dashboard):
        used = set(re.findall(r"\$(\w+)", expr))
        assert {name for name in used if not name.startswith("__")} <= variables, expr


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_metric_and_label_queried_is_emitted(path: Path, emitted: dict[str, Family]) -> None:
    by_series = {series: family for family in emitted.values() for series in family.series}
    for expr in queries(load(path)):
        metrics, labels = names(expr)
        unknown = metrics - set(by_series)
        assert not unknown, f"{expr}\nnot emitted by traceglass: {sorted(unknown)}; emitted: {sorted(by_series)}"
        allowed = {EXPERIMENT_LABEL} | PROMETHEUS_LABELS
        for metric in metrics:
            allowed |= by_series[metric].labels
        assert labels <= allowed, f"{expr}\nlabels not on {sorted(metrics)}: {sorted(labels - allowed)}"


def test_the_dashboard_covers_the_genai_questions(emitted: dict[str, Family]) -> None:
    exprs = [expr for path in DASHBOARDS for expr in queries(load(path))]
    duration = emitted[N.METRIC_OPERATION_DURATION].base
    ttfc = emitted[N.METRIC_TIME_TO_FIRST_CHUNK].base
    tokens = emitted[N.METRIC_TOKEN_USAGE].base

    def having(*parts: str) -> list[str]:
        return [expr for expr in exprs if all(part in expr for part in parts)]

    for quantile in ("0.5", "0.95", "0.99"):
        assert having(f"histogram_quantile({quantile},", f"{duration}_bucket"), f"latency p{quantile}"
        assert having(f"histogram_quantile({quantile},", f"{ttfc}_bucket"), f"time to first chunk p{quantile}"
    assert having("rate(", f"{duration}_count")  # request rate
    assert having("by (error_type)", f"{duration}_count")  # error rate by error.type
    for label in ("gen_ai_request_model", "gen_ai_provider_name", EXPERIMENT_LABEL):
        assert having(f"by ({label}, gen_ai_token_type)", f"{tokens}_sum"), f"token usage by {label}"
