"""traceglass as a contender of the GenAI-instrumentation peer overhead harness ($PEER_BENCH).

    BENCH_VENVS=/tmp/bench-venvs BENCH_RESULTS=/tmp/bench-results \\
    BENCH_EXTRA_CONTENDERS=$PWD/bench/contender.py \\
        $PEER_BENCH/run_all.sh baseline traceglass otel-official openinference openllmetry mlflow

The harness loads this file (``Contender`` is injected into its namespace, nothing to import)
and installs this repository into the contender's own virtualenv with the same pinned core
packages (openai, httpx2, pydantic, opentelemetry-sdk, ...) as every peer.

The install is a regular (non-editable) one, built from this checkout. A fingerprint of the
sources rides along as a comment in ``pip_constraints``: the harness stamps each venv with its
requirements *and* constraints, so editing the instrumentor makes run_all.sh rebuild the
traceglass venv (only that one) on its next run instead of benchmarking stale code.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# package-dir roots of the distribution (see pyproject.toml [tool.setuptools])
_SOURCES = ("traceglass", "semconv", "instrumentors", "exporters")


def source_fingerprint() -> str:
    """Short hash of the distribution's sources (pyproject.toml + every .py it packages)."""
    h = hashlib.sha256()
    files = [REPO / "pyproject.toml"]
    for root in _SOURCES:
        files += sorted((REPO / root).rglob("*.py"))
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def setup(tel) -> None:
    tel.install_sdk()
    from traceglass.instrumentors.openai import OpenAIInstrumentor

    inst = OpenAIInstrumentor()
    inst.instrument(tracer_provider=tel.tracer_provider, meter_provider=tel.meter_provider,
                    logger_provider=tel.logger_provider, capture_content="SPAN_ONLY")
    # instrument() of an OTel BaseInstrumentor silently does nothing on a dependency conflict
    tel.require_instrumented(inst)
    # which sources this venv was built from (run_all.sh keeps the constraints it built with)
    built = Path(sys.prefix, ".bench-constraints.txt")
    if built.is_file():
        tel.notes += [f"venv built from {line[2:]}" for line in built.read_text().splitlines()
                      if line.startswith("# traceglass sources")]


if "Contender" in globals():  # injected by the harness; absent when bench/overhead.py imports this file
    CONTENDERS = [
        Contender(  # noqa: F821
            "traceglass",
            [f"traceglass[openai] @ {REPO.as_uri()}"],
            setup,
            "traceglass OpenAI instrumentor (this repository)",
            content_capture="capture_content=SPAN_ONLY (content as span attributes)",
            pip_constraints=[f"# traceglass sources {source_fingerprint()} (a comment: rebuilds the venv on change)"],
        ),
    ]
