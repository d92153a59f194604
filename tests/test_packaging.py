"""The distribution as users get it: sdist -> wheel -> fresh virtualenv, nothing from this checkout.

The repository maps repo-root folders (semconv/, instrumentors/, exporters/) into ``traceglass.*`` through
``[tool.setuptools] package-dir``, and ``packages`` is a static list. Both are easy to get wrong silently:
the editable install used by the other tests resolves imports through its own finder and never shows a
package missing from the wheel, or a generic top-level ``semconv`` leaking into site-packages.

The source tree is copied (without build/, *.egg-info and caches, as a fresh clone would be), built with
``python -m build`` (sdist, then the wheel from the sdist, so the sdist is checked too) and installed with
its ``openai`` extra into a plain virtualenv from PyPI. All checks inside the venv run with the venv's
interpreter, from a directory outside the checkout, with no PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DIST = "traceglass"
# Where each import package's source lives (mirrors [tool.setuptools] package-dir in pyproject.toml).
SOURCE_ROOTS = {
    "traceglass": "traceglass",
    "traceglass.semconv": "semconv",
    "traceglass.instrumentors": "instrumentors",
    "traceglass.exporters": "exporters",
    "traceglass.collector": "collector",
}
REQUIRED_PACKAGES = (
    "traceglass",
    "traceglass.demo",
    "traceglass.semconv",
    "traceglass.instrumentors",
    "traceglass.instrumentors.openai",
    "traceglass.instrumentors.anthropic",
    "traceglass.instrumentors.ollama",
    "traceglass.instrumentors.langchain",
    "traceglass.exporters",
    "traceglass.collector",
    "traceglass.collector.store",
    "traceglass.collector.store.migrations",
    "traceglass.collector.store.migrations.versions",
    "traceglass.collector.server",
    "traceglass.collector.ui",
)
GENERIC_NAMES = ("semconv", "instrumentors", "exporters", "collector", "tests", "bench", "collector_config")
INSTRUMENTOR_GROUP = "opentelemetry_instrumentor"
EXPECTED_INSTRUMENTORS = {
    "traceglass_openai": "traceglass.instrumentors.openai:OpenAIInstrumentor",
    "traceglass_anthropic": "traceglass.instrumentors.anthropic:AnthropicInstrumentor",
    "traceglass_ollama": "traceglass.instrumentors.ollama:OllamaInstrumentor",
    "traceglass_langchain": "traceglass.instrumentors.langchain:LangChainInstrumentor",
}

BUILD_TIMEOUT = 240
VENV_TIMEOUT = 120
INSTALL_TIMEOUT = 300
CHECK_TIMEOUT = 60

_COPY_IGNORE = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".venv", ".*_cache", ".benchmarks", ".hypothesis"
)


@dataclass
class Installed:
    wheel: Path
    sdist: Path
    venv_python: Path
    workdir: Path  # an empty directory outside the checkout, the cwd of every venv command
    env: dict[str, str]
    timings: dict[str, float]


def _clean_env() -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONNOUSERSITE")
        and not name.startswith("OTEL_")
    }
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONNOUSERSITE="1")
    return env


def _run(command: list[Any], *, timeout: float, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [str(part) for part in command]
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"timed out after {timeout}s: {argv}\n{exc.stdout}\n{exc.stderr}")
    if result.returncode != 0:
        pytest.fail(f"exit {result.returncode}: {argv}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("packaging")
    env = _clean_env()
    timings: dict[str, float] = {}

    started = time.monotonic()
    source = base / "src"
    shutil.copytree(ROOT, source, ignore=_COPY_IGNORE)
    out = base / "dist"
    _run([sys.executable, "-m", "build", "--outdir", out, source], timeout=BUILD_TIMEOUT, cwd=base, env=env)
    timings["build sdist+wheel"] = time.monotonic() - started
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")

    started = time.monotonic()
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=VENV_TIMEOUT, cwd=base, env=env)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    timings["venv"] = time.monotonic() - started

    started = time.monotonic()
    _run([python, "-m", "pip", "install", f"{wheel}[openai]"], timeout=INSTALL_TIMEOUT, cwd=base, env=env)
    timings["pip install wheel[openai]"] = time.monotonic() - started

    workdir = base / "cwd"
    workdir.mkdir()
    yield Installed(wheel, sdist, python, workdir, env, timings)
    print("\npackaging timings:", ", ".join(f"{step} {seconds:.1f}s" for step, seconds in timings.items()))


# -- the wheel file itself -------------------------------------------------------------------------


def _source_packages() -> dict[str, Path]:
    """Every import package of the source tree (a folder with __init__.py), by its installed name."""
    found = {}
    for package, folder in SOURCE_ROOTS.items():
        root = ROOT / folder
        for init in sorted(root.rglob("__init__.py")):
            relative = init.parent.relative_to(root)
            if "__pycache__" in relative.parts:
                continue
            found[".".join((package, *relative.parts))] = init.parent
    return found


def test_wheel_holds_only_the_traceglass_namespace(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        dist_info = next(name.split("/")[0] for name in names if name.endswith(".dist-info/RECORD"))
        record = wheel.read(f"{dist_info}/RECORD").decode()
        top_level = wheel.read(f"{dist_info}/top_level.txt").decode().split()

    assert {name.split("/")[0] for name in names} == {"traceglass", dist_info}
    assert dist_info.startswith("traceglass-")
    assert top_level == ["traceglass"]
    recorded = {line.split(",")[0] for line in record.splitlines() if line}
    assert recorded == set(names), "RECORD and the archive disagree"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_wheel_holds_every_source_file(installed: Installed) -> None:
    """A folder missing from the static ``packages`` list would ship nothing, and fail only for users."""
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    missing = []
    for package, folder in _source_packages().items():
        for path in folder.iterdir():
            if path.is_file() and path.suffix not in (".pyc", ".pyo"):
                wanted = "/".join((*package.split("."), path.name))
                if wanted not in names:
                    missing.append(f"{path.relative_to(ROOT)} -> {wanted}")
    assert not missing, f"not in the wheel (add the package to [tool.setuptools] packages?): {missing}"
    assert set(REQUIRED_PACKAGES) <= set(_source_packages())


def test_sdist_has_no_build_leftovers(installed: Installed) -> None:
    # The wheel was built from the sdist, so the sdist is complete; it must not carry build output.
    with tarfile.open(installed.sdist) as sdist:
        members = [member.name for member in sdist.getmembers()]
    assert not [name for name in members if "/build/" in name or "__pycache__" in name or name.endswith(".pyc")]
    assert any(name.endswith("/pyproject.toml") for name in members)


# -- the installed distribution, checked with the venv's interpreter ---------------------------------

_CHECK = textwrap.dedent(
    """
    import importlib, importlib.metadata as md, importlib.util, json, os, sys, sysconfig

    from opentelemetry.instrumentation.dependencies import get_dist_dependency_conflicts
    from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

    packages = json.loads(sys.argv[1])
    generic = json.loads(sys.argv[2])
    report = {"errors": []}
    report["sys_path"] = [os.path.abspath(entry) for entry in sys.path]
    report["site_packages"] = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})

    report["files"] = {}
    for name in packages:
        try:
            module = importlib.import_module(name)
            report["files"][name] = module.__file__
        except Exception as exc:
            report["errors"].append(f"import {name}: {exc!r}")
    import traceglass
    report["module_version"] = traceglass.__version__

    dists = [d for d in md.distributions() if (d.metadata["Name"] or "").lower() == "traceglass"]
    report["dist_count"] = len(dists)
    dist = md.distribution("traceglass")
    report["dist_version"] = dist.version
    report["dist_files"] = [str(f) for f in dist.files or ()]
    report["conflict"] = str(get_dist_dependency_conflicts(dist) or "")

    report["entry_points"] = {}
    for ep in dist.entry_points:
        entry = {"group": ep.group, "name": ep.name, "value": ep.value}
        try:
            obj = ep.load()
            # a click command object (the console script) has no __qualname__; its name tells
            entry["loaded"] = f"{obj.__module__}:{getattr(obj, '__qualname__', getattr(obj, 'name', '?'))}"
            entry["is_instrumentor"] = isinstance(obj, type) and issubclass(obj, BaseInstrumentor)
            if entry["is_instrumentor"]:
                entry["dependencies"] = list(obj().instrumentation_dependencies())
        except Exception as exc:
            report["errors"].append(f"load {ep.group}:{ep.name}: {exc!r}")
        report["entry_points"][f"{ep.group}:{ep.name}"] = entry
    # What opentelemetry-instrument iterates: every distribution's instrumentors, by name.
    report["instrumentor_names"] = [ep.name for ep in md.entry_points(group="opentelemetry_instrumentor")]

    # The store's migrations run from the installed package (Alembic finds its scripts there).
    try:
        import tempfile
        from traceglass.collector.store import Store
        with tempfile.TemporaryDirectory() as tmp:
            store = Store.open("sqlite:///" + os.path.join(tmp, "t.db"))
            report["store_experiments"] = [e.name for e in store.list_experiments()]
            store.close()
    except Exception as exc:
        report["errors"].append(f"store: {exc!r}")

    report["generic_importable"] = [name for name in generic if importlib.util.find_spec(name) is not None]
    report["site_listing"] = sorted({n for p in report["site_packages"] if os.path.isdir(p) for n in os.listdir(p)})
    print(json.dumps(report))
    """
)


@pytest.fixture(scope="module")
def report(installed: Installed) -> dict[str, Any]:
    result = _run(
        [installed.venv_python, "-c", _CHECK, json.dumps(REQUIRED_PACKAGES), json.dumps(GENERIC_NAMES)],
        timeout=CHECK_TIMEOUT,
        cwd=installed.workdir,
        env=installed.env,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_subpackage_imports_from_the_venv(installed: Installed, report: dict[str, Any]) -> None:
    assert not report["errors"], report["errors"]
    site_packages = [Path(path) for path in report["site_packages"]]
    venv = installed.venv_python.parent.parent
    assert all(path.is_relative_to(venv) for path in site_packages), site_packages
    for package in REQUIRED_PACKAGES:
        file = Path(report["files"][package])
        assert any(file.is_relative_to(path) for path in site_packages), f"{package} imported from {file}"
        assert not file.is_relative_to(ROOT), f"{package} imported from the checkout: {file}"
    assert not [entry for entry in report["sys_path"] if Path(entry).resolve() == ROOT], report["sys_path"]
    assert report["dist_count"] == 1
    assert report["module_version"] == report["dist_version"], "traceglass.__version__ != pyproject version"


def test_entry_points_load_to_instrumentors(report: dict[str, Any]) -> None:
    entry_points = report["entry_points"]
    instrumentors = {e["name"]: e["value"] for e in entry_points.values() if e["group"] == INSTRUMENTOR_GROUP}
    assert instrumentors == EXPECTED_INSTRUMENTORS
    for key, entry in entry_points.items():
        assert "loaded" in entry, f"{key} did not load: {report['errors']}"
        if entry["group"] == INSTRUMENTOR_GROUP:
            assert entry["is_instrumentor"], f"{key} -> {entry['loaded']} is not a BaseInstrumentor subclass"
            assert entry["dependencies"], f"{key} declares no instrumented library"
    # Named apart from the official opentelemetry-instrumentation-openai-v2 entry point ("openai"),
    # so OTEL_PYTHON_DISABLED_INSTRUMENTATIONS can switch off either one.
    assert "openai" not in instrumentors
    assert report["instrumentor_names"].count("traceglass_openai") == 1


def test_opentelemetry_instrument_dependency_check_passes(report: dict[str, Any]) -> None:
    # opentelemetry-instrument skips an entry point whose distribution's `instruments` /
    # `instruments-any` extras are not satisfied; openai is installed, so there must be no conflict.
    assert report["conflict"] == ""


def test_no_generic_top_level_names_installed(report: dict[str, Any]) -> None:
    assert report["generic_importable"] == []
    leaked = [
        name
        for name in report["site_listing"]
        if name.removesuffix(".py") in GENERIC_NAMES or name.removesuffix(".pth") in GENERIC_NAMES
    ]
    assert leaked == []
    # the console script `traceglass` lands in the venv's bin/ (RECORD lists it as ../../../bin/traceglass)
    outside = [
        path
        for path in report["dist_files"]
        if not (path.startswith("traceglass/") or path.split("/")[0].startswith("traceglass-"))
        and Path(path).name != "traceglass"
    ]
    assert outside == [], "the installed RECORD lists files outside the traceglass package"


def test_opentelemetry_instrument_loads_the_wheel(installed: Installed) -> None:
    """The venv's own ``opentelemetry-instrument`` (no distro, no exporters) wraps openai from the wheel."""
    script = installed.workdir / "probe.py"
    script.write_text(
        "import traceglass\n"
        "from openai.resources.chat.completions import Completions\n"
        "print(type(vars(Completions)['create']).__name__, traceglass.__file__)\n",
        encoding="utf-8",
    )
    bindir = installed.venv_python.parent
    env = {
        **installed.env,
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
        "PATH": f"{bindir}{os.pathsep}{installed.env.get('PATH', '')}",
    }
    result = _run(
        [bindir / "opentelemetry-instrument", installed.venv_python, script],
        timeout=CHECK_TIMEOUT,
        cwd=installed.workdir,
        env=env,
    )
    kind, file = result.stdout.split()
    assert kind == "FunctionWrapper", result.stdout + result.stderr
    assert Path(file).is_relative_to(installed.venv_python.parent.parent)


def test_demo_runs_from_the_wheel_with_only_openai(installed: Installed) -> None:
    """`pip install traceglass[openai]` then `traceglass demo`: the OpenAI steps record, the others
    say what to install."""
    store = installed.workdir / "demo.db"
    bindir = installed.venv_python.parent
    env = {**installed.env, "TRACEGLASS_HOME": str(installed.workdir / "home"),
           "NO_PROXY": ",".join(filter(None, (installed.env.get("NO_PROXY"), "127.0.0.1")))}
    result = _run([bindir / "traceglass", "demo", "--tracking-uri", f"sqlite:///{store}"],
                  timeout=CHECK_TIMEOUT, cwd=installed.workdir, env=env)
    assert "needs anthropic: pip install anthropic" in result.stdout
    assert "needs langchain-core: pip install langchain-core" in result.stdout
    assert "4 traces recorded in experiment 'demo'." in result.stdout, result.stdout + result.stderr


# -- the web UI: its static files ship in the wheel and the installed server serves them ------------

_SERVE_UI = textwrap.dedent(
    """
    import json, sys, tempfile, os, urllib.request
    from traceglass.collector.server import Server, ServerConfig

    with tempfile.TemporaryDirectory() as tmp:
        config = ServerConfig(store_url="sqlite:///" + os.path.join(tmp, "t.db"), port=0, otlp_http_port=None,
                              grpc_port=None)
        with Server(config) as server:
            answers = {}
            for path in json.loads(sys.argv[1]):
                with urllib.request.urlopen(f"http://127.0.0.1:{server.ports['http']}{path}", timeout=10) as response:
                    answers[path] = [response.status, response.headers["content-type"], len(response.read())]
    print(json.dumps(answers))
    """
)


def test_wheel_ships_the_web_ui_and_the_installed_server_serves_it(installed: Installed) -> None:
    static = ROOT / "collector" / "ui" / "static"
    assets = sorted(path.name for path in static.iterdir() if path.is_file())
    assert {"index.html", "app.js", "trace-view.js", "trace-view.css", "favicon.svg"} <= set(assets)
    with zipfile.ZipFile(installed.wheel) as wheel:
        sizes = {info.filename: info.file_size for info in wheel.infolist()}
    missing = [name for name in assets if f"traceglass/collector/ui/static/{name}" not in sizes]
    assert not missing, f"UI files not in the wheel (package-data in pyproject.toml?): {missing}"

    paths = ["/", "/favicon.ico", *(f"/static/{name}" for name in assets)]
    result = _run([installed.venv_python, "-c", _SERVE_UI, json.dumps(paths)], timeout=CHECK_TIMEOUT,
                  cwd=installed.workdir, env=installed.env)
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["/"][:2] == [200, "text/html; charset=utf-8"]
    for name in assets:
        status, _, size = answers[f"/static/{name}"]
        assert (status, size) == (200, sizes[f"traceglass/collector/ui/static/{name}"]), name
