"""Notebook display when the OpenTelemetry settings choose where traces go: with an exporter that
cannot be read back nothing is shown and no local store is made; with the `traceglass` exporter
(which writes into the local store) the trace is shown as usual."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

nbformat = pytest.importorskip("nbformat", reason="pip install nbformat nbclient ipykernel (the test extra)")
nbclient = pytest.importorskip("nbclient", reason="pip install nbformat nbclient ipykernel (the test extra)")
pytest.importorskip("ipykernel", reason="pip install ipykernel (the test extra)")

SETUP = "import traceglass\ntraceglass.set_experiment('otel-notebook')\n"
RUN = "with traceglass.start_span('cell_run'):\n    pass\nprint('ran')\n"


def _execute(directory: Path, **variables: str) -> Any:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in (SETUP, RUN)]
    with pytest.MonkeyPatch.context() as monkeypatch:  # the kernel inherits the environment
        for name in list(os.environ):
            if name.startswith(("OTEL_", "TRACEGLASS_")):
                monkeypatch.delenv(name)
        monkeypatch.setenv("TRACEGLASS_HOME", str(directory / "home"))
        for name, value in variables.items():
            monkeypatch.setenv(name, value)
        client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                                         resources={"metadata": {"path": str(directory)}})
        client.execute()
    return notebook


def _outputs(notebook: Any, kind: str) -> list[Any]:
    return [output for cell in notebook.cells for output in cell.outputs if output["output_type"] == kind]


def test_traces_sent_to_another_backend_are_not_looked_for_in_a_local_store(tmp_path: Path) -> None:
    notebook = _execute(tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="none",
                        OTEL_LOGS_EXPORTER="none")

    assert _outputs(notebook, "error") == []
    assert _outputs(notebook, "display_data") == []
    assert "ran" in "".join(o["text"] for o in _outputs(notebook, "stream"))
    assert not (tmp_path / "home").exists()  # no store made where the user never sends traces


def test_the_traceglass_exporter_s_traces_are_shown(tmp_path: Path) -> None:
    notebook = _execute(tmp_path, OTEL_TRACES_EXPORTER="traceglass", OTEL_METRICS_EXPORTER="none",
                        OTEL_LOGS_EXPORTER="none")

    assert _outputs(notebook, "error") == []
    (display,) = _outputs(notebook, "display_data")
    assert display["data"]["text/plain"].endswith(": cell_run (OK, 1 spans)")
