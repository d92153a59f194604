"""collector.yaml, checked as the Collector would check it before starting, without the binary (no
package of it can be installed here): every component exists in the contrib distribution, every
pipeline is wired, and the experiment is resolved as the bundled collector resolves it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from traceglass.semconv import names as N

from tests.collector_config.conftest import load_yaml

COMPONENTS = yaml.safe_load((Path(__file__).with_name("otelcol_contrib_components.yaml")).read_text("utf-8"))
KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")
SIGNALS = ("traces", "metrics", "logs")
# Module names whose config name is not the module name minus its kind.
_IRREGULAR = {"memorylimiterprocessor": "memory_limiter", "healthcheckextension": "health_check",
              "filestorage": "file_storage", "zpagesextension": "zpages", "pprofextension": "pprof",
              "headerssetterextension": "headers_setter", "dbstorage": "db_storage",
              "redisstorageextension": "redis_storage"}


def config_type(module: str, kind: str) -> str:
    if module in _IRREGULAR:
        return _IRREGULAR[module]
    suffix = kind.rstrip("s")
    return module.removesuffix(suffix)


AVAILABLE = {kind: {config_type(module, kind) for module in COMPONENTS[kind]} for kind in KINDS}


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_yaml("collector.yaml")


def component_type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def pipelines(config: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    return config["service"]["pipelines"]


def test_only_known_sections(config: dict[str, Any]) -> None:
    assert set(config) <= {*KINDS, "service"}
    assert set(config["service"]) <= {"extensions", "pipelines", "telemetry"}


def test_the_component_list_is_the_contrib_distribution_the_compose_file_runs() -> None:
    image = load_yaml("compose.yaml")["services"]["otel-collector"]["image"]
    assert image == COMPONENTS["image"] == f"otel/opentelemetry-collector-contrib:{COMPONENTS['version']}"
    # The irregular names are real modules of the list, not typos that would hide one.
    assert all(any(module in COMPONENTS[kind] for kind in KINDS) for module in _IRREGULAR)


@pytest.mark.parametrize("kind", KINDS)
def test_every_component_exists_in_the_contrib_distribution(config: dict[str, Any], kind: str) -> None:
    unknown = {cid for cid in config.get(kind) or {} if component_type(cid) not in AVAILABLE[kind]}
    assert not unknown, f"{kind} not in otelcol-contrib {COMPONENTS['version']}: {sorted(unknown)}"


def test_every_pipeline_uses_declared_components(config: dict[str, Any]) -> None:
    receivers = set(config["receivers"]) | set(config.get("connectors") or {})
    exporters = set(config["exporters"]) | set(config.get("connectors") or {})
    for name, pipeline in pipelines(config).items():
        assert component_type(name) in SIGNALS, name
        assert set(pipeline) <= {"receivers", "processors", "exporters"}, name
        assert pipeline["receivers"] and pipeline["exporters"], name
        assert set(pipeline["receivers"]) <= receivers, name
        assert set(pipeline.get("processors") or []) <= set(config["processors"]), name
        assert set(pipeline["exporters"]) <= exporters, name
    assert set(config["service"]["extensions"]) <= set(config["extensions"])


def test_every_declared_component_is_used(config: dict[str, Any]) -> None:
    used = {cid for pipeline in pipelines(config).values() for ids in pipeline.values() for cid in ids}
    for kind in ("receivers", "processors", "exporters", "connectors"):
        assert set(config.get(kind) or {}) <= used, kind
    assert set(config["extensions"]) == set(config["service"]["extensions"])


def test_connectors_join_pipelines(config: dict[str, Any]) -> None:
    # The Collector refuses a connector that is not both an exporter of one pipeline and a
    # receiver of another.
    for connector in config["connectors"]:
        feeding = [name for name, p in pipelines(config).items() if connector in p["exporters"]]
        fed = [name for name, p in pipelines(config).items() if connector in p["receivers"]]
        assert feeding and fed, connector


def test_routing_targets_are_pipelines_it_feeds(config: dict[str, Any]) -> None:
    routing = config["connectors"]["routing/experiment"]
    targets = set(routing["default_pipelines"]) | {p for row in routing["table"] for p in row["pipelines"]}
    fed = {name for name, p in pipelines(config).items() if "routing/experiment" in p["receivers"]}
    assert targets == fed
    # A traces connector can only route to traces pipelines.
    assert {component_type(name) for name in fed} == {"traces"}


def test_memory_limiter_first_and_batch_before_every_exporter(config: dict[str, Any]) -> None:
    for name, pipeline in pipelines(config).items():
        processors = pipeline.get("processors") or []
        if "otlp" in pipeline["receivers"]:
            assert processors[:1] == ["memory_limiter"], name
        if set(pipeline["exporters"]) & set(config["exporters"]):
            assert processors[-1:] == ["batch"], name


def test_env_references_are_passed_by_compose(config: dict[str, Any]) -> None:
    text = (Path(__file__).resolve().parents[2] / "collector-config" / "collector.yaml").read_text("utf-8")
    referenced = set(re.findall(r"\$\{env:([A-Z_][A-Z0-9_]*)", text))
    passed = set(load_yaml("compose.yaml")["services"]["otel-collector"]["environment"])
    assert referenced == passed == {"TRACEGLASS_SERVER_ENDPOINT", "TRACEGLASS_AUTH_TOKEN"}


def test_exporters_reach_the_compose_services(config: dict[str, Any]) -> None:
    compose = load_yaml("compose.yaml")
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert config["exporters"]["otlp/tempo"]["endpoint"] == "tempo:4317"
    assert {"jaeger", "tempo"} <= set(compose["services"])
    tempo = load_yaml("tempo.yaml")
    assert tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].endswith(":4317")
    port = config["exporters"]["prometheus"]["endpoint"].rsplit(":", 1)[1]
    scraped = [target for job in load_yaml("prometheus.yml")["scrape_configs"]
               for static in job["static_configs"] for target in static["targets"]]
    assert f"otel-collector:{port}" in scraped
    # The collector's OTLP ports are the ones apps use by default, published on the host.
    published = {port.split(":")[0] for port in compose["services"]["otel-collector"]["ports"]}
    assert {"4317", "4318"} <= published


# --- the experiment, resolved by the transform processor's OTTL statements -----------------------
# A small evaluator for the statement shapes collector.yaml uses, enough to run them on examples:
#   set(<path>, <path or "literal">) where <cond> [and <cond>]   with <cond>: <path> (==|!=) (nil|"literal")

_PATH = r'(?:resource\.)?attributes\["[^"]+"\]'
_STATEMENT = re.compile(rf'^set\(({_PATH}), ({_PATH}|"[^"]*")\)(?: where (.+))?$')
_CONDITION = re.compile(rf'^({_PATH}) (==|!=) (nil|"[^"]*")$')


def _read(path_or_literal: str, record: dict[str, dict[str, str]]) -> str | None:
    if path_or_literal.startswith('"'):
        return path_or_literal.strip('"')
    scope = "resource" if path_or_literal.startswith("resource.") else "item"
    key = re.search(r'\["([^"]+)"\]', path_or_literal)
    assert key
    return record[scope].get(key.group(1))


def _holds(condition: str, record: dict[str, dict[str, str]]) -> bool:
    parts = [c.strip() for c in condition.split(" and ")]
    for part in parts:
        match = _CONDITION.match(part)
        assert match, f"statement shape not understood: {part!r}"
        left, op, right = match.groups()
        value = _read(left, record)
        expected = None if right == "nil" else right.strip('"')
        if (value == expected) != (op == "=="):
            return False
    return True


def run_statements(statements: list[str], item: dict[str, str], resource: dict[str, str]) -> dict[str, str]:
    record = {"item": dict(item), "resource": dict(resource)}
    for statement in statements:
        match = _STATEMENT.match(statement)
        assert match, f"statement shape not understood: {statement!r}"
        target, value, condition = match.groups()
        if condition is None or _holds(condition, record):
            resolved = _read(value, record)
            if resolved is not None:  # OTTL's set() does nothing with a nil value
                key = re.search(r'\["([^"]+)"\]', target)
                assert key and not target.startswith("resource.")
                record["item"][key.group(1)] = resolved
    return record["item"]


# (span or data point attribute, resource attribute) -> the experiment, as collector/server resolves it.
CASES = [
    (("nightly", "batch"), "nightly"),
    ((None, "batch"), "batch"),
    (("nightly", None), "nightly"),
    ((None, None), N.DEFAULT_EXPERIMENT),
]


def _statements(config: dict[str, Any], signal: str, context: str) -> list[str]:
    [group] = config["processors"]["transform/experiment"][f"{signal}_statements"]
    assert group["context"] == context
    return group["statements"]


@pytest.mark.parametrize("signal, context", [("trace", "span"), ("metric", "datapoint")])
@pytest.mark.parametrize("given, expected", CASES)
def test_experiment_is_resolved_like_the_bundled_collector(config: dict[str, Any], signal: str, context: str,
                                                           given: tuple[str | None, str | None],
                                                           expected: str) -> None:
    own, resource = given
    item = {N.EXPERIMENT: own} if own else {}
    resource_attrs = {N.EXPERIMENT: resource} if resource else {}
    result = run_statements(_statements(config, signal, context), {**item, "other": "kept"}, resource_attrs)
    assert result == {N.EXPERIMENT: expected, "other": "kept"}


@pytest.mark.parametrize("experiment, routes", [
    (N.DEFAULT_EXPERIMENT, {"traces/backends"}),
    ("nightly", {"traces/backends", "traces/traceglass"}),
])
def test_routing_by_experiment(config: dict[str, Any], experiment: str, routes: set[str]) -> None:
    routing = config["connectors"]["routing/experiment"]
    span = {"item": {N.EXPERIMENT: experiment}, "resource": {}}
    matched = [row for row in routing["table"] if row["context"] == "span" and _holds(row["condition"], span)]
    chosen = {p for row in matched for p in row["pipelines"]} if matched else set(routing["default_pipelines"])
    assert chosen == routes
    # Only named experiments reach the traceglass server.
    assert ("otlphttp/traceglass" in {e for p in chosen for e in pipelines(config)[p]["exporters"]}) == (
        experiment != N.DEFAULT_EXPERIMENT)
