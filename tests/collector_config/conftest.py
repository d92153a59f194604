"""What traceglass really emits, collected once per module from real instrumented calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.collector_config.genai_calls import Family, families, make_calls
from tests.otel_capture import OTelCapture
from tests.replay import ReplayServer

CONFIG_DIR = Path(__file__).resolve().parents[2] / "collector-config"


def load_yaml(name: str) -> dict:
    with open(CONFIG_DIR / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def emitted(_replay_server: ReplayServer) -> Iterator[dict[str, Family]]:
    """{OpenTelemetry metric name: Family} of a plain, a streamed and a failed OpenAI call."""
    _replay_server.reset()
    capture = OTelCapture()
    try:
        make_calls(_replay_server, tracer_provider=capture.tracer_provider, meter_provider=capture.meter_provider,
                   logger_provider=capture.logger_provider)
        yield families(capture.metric_list())
    finally:
        capture.shutdown()
        _replay_server.reset()
