"""The GenAI metrics on their two ways to Prometheus, after real instrumented calls:

- scraped from the app: opentelemetry-exporter-prometheus serves /metrics (the names, units,
  buckets and labels Prometheus stores, read from the HTTP endpoint as Prometheus reads it);
- over OTLP to the Collector, whose prometheus exporter applies the same conversion: the OTLP
  request carries the OpenTelemetry names, units, boundaries and attributes it converts.
"""

from __future__ import annotations

import gzip
import shutil
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as parse_text_format
from traceglass.semconv import names as N

from tests.collector_config.genai_calls import Family, make_calls
from tests.interop.backends import free_port
from tests.replay import ReplayServer
from tests.tracking._helpers import clean_env, run_script

EXPERIMENT = "nightly-eval"
RESOURCE = Resource.create({"service.name": "genai-app", N.EXPERIMENT: EXPERIMENT})
DURATION = "gen_ai_client_operation_duration_seconds"
TTFC = "gen_ai_client_operation_time_to_first_chunk_seconds"
TOKENS = "gen_ai_client_token_usage"


def _le(bounds: tuple[float, ...]) -> list[float]:
    return [*(float(bound) for bound in bounds), float("inf")]


@pytest.fixture
def scraped(replay: ReplayServer) -> Iterator[dict[str, Any]]:
    """{family name: prometheus_client Metric} scraped over HTTP after the calls."""
    registry = CollectorRegistry()
    # The experiment is a resource attribute; the filter makes it a label, as the Collector's
    # transform/experiment processor does (without it, it would only be on target_info).
    reader = PrometheusMetricReader(registry=registry, resource_attribute_filter=lambda key: key == N.EXPERIMENT)
    provider = MeterProvider(metric_readers=[reader], resource=RESOURCE, shutdown_on_exit=False)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        make_calls(replay, meter_provider=provider)
        request = urllib.request.Request(f"http://127.0.0.1:{server.server_port}/metrics",
                                         headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("application/openmetrics-text")
            text = response.read().decode()
        yield {family.name: family for family in text_string_to_metric_families(text)}
    finally:
        server.shutdown()
        thread.join(5)
        provider.shutdown()


def _samples(family: Any, suffix: str) -> list[Any]:
    return [sample for sample in family.samples if sample.name == family.name + suffix]


def test_scraped_names_units_and_types(scraped: dict[str, Any], emitted: dict[str, Family]) -> None:
    assert {name: (scraped[name].type, scraped[name].unit) for name in (DURATION, TTFC, TOKENS)} == {
        DURATION: ("histogram", "seconds"),
        TTFC: ("histogram", "seconds"),
        TOKENS: ("histogram", ""),  # "{token}" is a UCUM annotation: no unit suffix
    }
    # The names the dashboards are checked against (derived from the in-memory metrics) are the
    # names this exporter really serves.
    for otel_name in (N.METRIC_OPERATION_DURATION, N.METRIC_TIME_TO_FIRST_CHUNK, N.METRIC_TOKEN_USAGE):
        family = scraped[emitted[otel_name].base]
        assert {sample.name for sample in family.samples} == emitted[otel_name].series
        assert {label for sample in family.samples for label in sample.labels} - {"le"} >= emitted[otel_name].labels


def test_scraped_buckets_are_the_advised_boundaries(scraped: dict[str, Any]) -> None:
    for name, bounds in ((DURATION, N.DURATION_BUCKETS), (TTFC, N.DURATION_BUCKETS), (TOKENS, N.TOKEN_BUCKETS)):
        per_series: dict[tuple[Any, ...], list[float]] = {}
        for sample in _samples(scraped[name], "_bucket"):
            key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            per_series.setdefault(key, []).append(float(sample.labels["le"]))
        assert per_series and all(les == _le(bounds) for les in per_series.values()), name


def test_scraped_labels_and_values(scraped: dict[str, Any], replay: ReplayServer) -> None:
    common = {"gen_ai_operation_name": "chat", "gen_ai_provider_name": "openai", "server_address": "127.0.0.1",
              "server_port": str(replay.port), "traceglass_experiment": EXPERIMENT}

    def counts(name: str) -> dict[tuple[str, ...], float]:
        result = {}
        for sample in _samples(scraped[name], "_count"):
            # An empty value is no label to Prometheus (this exporter writes one where a point
            # lacks a key that another point of the family has).
            labels = {k: v for k, v in sample.labels.items() if v and not k.startswith("otel_scope_")}
            assert {k: labels.pop(k) for k in common} == common
            result[tuple(sorted(labels.items()))] = sample.value
        return result

    assert counts(DURATION) == {
        (("gen_ai_request_model", "gpt-4"), ("gen_ai_response_model", "gpt-4-0613")): 1,
        (("gen_ai_request_model", "gpt-4o-mini"), ("gen_ai_response_model", "gpt-4o-mini-2024-07-18")): 1,
        (("error_type", "openai.NotFoundError"), ("gen_ai_request_model", "this-model-does-not-exist")): 1,
    }
    # Only the streamed call has a first chunk; the replay server held it back 50 ms.
    assert counts(TTFC) == {(("gen_ai_request_model", "gpt-4"), ("gen_ai_response_model", "gpt-4-0613")): 1}
    [ttfc] = _samples(scraped[TTFC], "_sum")
    assert 0.05 <= ttfc.value < 1
    tokens = {(s.labels["gen_ai_request_model"], s.labels["gen_ai_token_type"]): s.value
              for s in _samples(scraped[TOKENS], "_sum")}
    assert tokens == {("gpt-4o-mini", "input"): 12, ("gpt-4o-mini", "output"): 5,
                      ("gpt-4", "input"): 12, ("gpt-4", "output"): 5}


# --- over OTLP ------------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path == "/v1/metrics":
            self.server.received.append(body)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def otlp_receiver() -> Iterator[tuple[str, list[bytes]]]:
    """(endpoint, received request bodies) of a loopback OTLP/HTTP metrics receiver."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/metrics", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        thread.join(5)


def test_otlp_carries_what_the_collector_converts(replay: ReplayServer, otlp_receiver: tuple[str, list[bytes]],
                                                  emitted: dict[str, Family]) -> None:
    endpoint, received = otlp_receiver
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=endpoint), export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader], resource=RESOURCE, shutdown_on_exit=False)
    make_calls(replay, meter_provider=provider)
    provider.shutdown()  # exports what was collected

    metrics = {}
    for body in received:
        request = ExportMetricsServiceRequest.FromString(body)
        for resource_metrics in request.resource_metrics:
            resource = {kv.key: kv.value.string_value for kv in resource_metrics.resource.attributes}
            # collector.yaml copies this resource attribute onto each data point.
            assert resource[N.EXPERIMENT] == EXPERIMENT
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.WhichOneof("data") == "histogram":
                        metrics[metric.name] = metric
    assert {name: metric.unit for name, metric in metrics.items()} == {
        N.METRIC_OPERATION_DURATION: "s", N.METRIC_TIME_TO_FIRST_CHUNK: "s", N.METRIC_TOKEN_USAGE: "{token}"}
    for name, bounds in ((N.METRIC_OPERATION_DURATION, N.DURATION_BUCKETS),
                         (N.METRIC_TIME_TO_FIRST_CHUNK, N.DURATION_BUCKETS), (N.METRIC_TOKEN_USAGE, N.TOKEN_BUCKETS)):
        points = metrics[name].histogram.data_points
        assert points and all(list(point.explicit_bounds) == list(bounds) for point in points), name
        keys = {kv.key.replace(".", "_") for point in points for kv in point.attributes}
        assert keys == emitted[name].labels, name
    # Cumulative, as Prometheus needs (a delta histogram would need deltatocumulative first).
    assert metrics[N.METRIC_OPERATION_DURATION].histogram.aggregation_temporality == 2


# --- zero code ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_zero_code_app_serves_its_metrics(tmp_path: Path, replay: ReplayServer) -> None:
    """`pip install "traceglass[prometheus]"` and OTEL_METRICS_EXPORTER=prometheus: an unmodified
    app run under opentelemetry-instrument serves the GenAI metrics on /metrics."""
    replay.load_cassette("openai/otel-contrib__test_chat_completion_with_content.yaml")
    port = free_port()
    app = """
        import os
        import urllib.request

        import openai

        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])
        url = f"http://127.0.0.1:{os.environ['OTEL_EXPORTER_PROMETHEUS_PORT']}/metrics"
        print(urllib.request.urlopen(url, timeout=10).read().decode())
    """
    env = clean_env(APP_OPENAI_BASE_URL=replay.url("/v1"), OTEL_METRICS_EXPORTER="prometheus",
                    OTEL_EXPORTER_PROMETHEUS_HOST="127.0.0.1", OTEL_EXPORTER_PROMETHEUS_PORT=str(port),
                    OTEL_TRACES_EXPORTER="none", OTEL_LOGS_EXPORTER="none", OTEL_SERVICE_NAME="genai-app",
                    OTEL_RESOURCE_ATTRIBUTES=f"{N.EXPERIMENT}={EXPERIMENT}")
    instrument = shutil.which("opentelemetry-instrument", path=str(Path(sys.executable).parent))
    assert instrument, "opentelemetry-instrument is not installed beside the test interpreter"

    result = run_script(tmp_path, app, env, command=[instrument])

    # Prometheus's text format (what a scrape without an OpenMetrics Accept header gets).
    families = {family.name: family for family in parse_text_format(result.stdout)}
    tokens = {s.labels["gen_ai_token_type"]: s.value for s in _samples(families[TOKENS], "_sum")}
    assert tokens == {"input": 12, "output": 5}
    [duration] = _samples(families[DURATION], "_count")
    assert duration.labels["gen_ai_request_model"] == "gpt-4o-mini" and duration.value == 1
    # Here the experiment is on target_info, joined in PromQL with
    # `* on (job, instance) group_left (traceglass_experiment) target_info` (see README).
    [info] = families["target_info"].samples
    assert info.labels["traceglass_experiment"] == EXPERIMENT
