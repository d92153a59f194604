"""`traceglass demo`: where the traces go, the steps, and the summary printed at the end.

Destination, first match wins: --tracking-uri, TRACEGLASS_TRACKING_URI, a traceglass server
answering at http://127.0.0.1:5000 (what `traceglass ui` runs by default), else the local store.
An address given explicitly must answer: recording elsewhere would send the user to look in the
wrong place.
"""

from __future__ import annotations

import collections
import dataclasses
import importlib.util
import json
import shlex
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Literal

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from traceglass._cli_server import DEFAULT_PORT

__all__ = ["DEFAULT_SERVER", "DemoError", "Target", "choose_target", "probe", "run"]

DEFAULT_SERVER = f"http://127.0.0.1:{DEFAULT_PORT}"  # `traceglass ui` on its default port
_PROBE_TIMEOUT = 1.0
_SERVER_WRITE_WAIT = 10.0  # the server acknowledges spans before its writer commits them


class DemoError(Exception):
    """The demo cannot start; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Target:
    uri: str
    kind: Literal["server", "store"]
    why: str  # where, and why there: the first line printed


def _running_server(uri: str) -> Target | None:
    """The traceglass server at `uri` if one answers; DemoError if it wants a token."""
    state = probe(uri)
    if state == "unauthorized":
        raise DemoError(f"the traceglass server at {uri} requires a token: set TRACEGLASS_AUTH_TOKEN.")
    return Target(uri, "server", f"the traceglass server at {uri}") if state == "ok" else None


def choose_target(tracking_uri: str | None) -> Target:
    from traceglass._env import TRACKING_URI, TrackingEnv
    from traceglass._tracking import default_store_url, is_server_url, is_store_url

    env = TrackingEnv.resolve()
    uri, source = (tracking_uri, "--tracking-uri") if tracking_uri else (env.tracking_uri, TRACKING_URI)
    if uri:
        uri = uri.strip().rstrip("/") if is_server_url(uri.strip()) else uri.strip()
        if is_store_url(uri):
            return Target(uri, "store", f"the store {uri}")
        if not is_server_url(uri):
            raise DemoError(f"{source}: {uri!r} is neither a store URL (sqlite:///path.db, postgresql://...) "
                            f"nor a traceglass server's address (http://127.0.0.1:5000).")
        server = _running_server(uri)
        if server is None:
            raise DemoError(f"no traceglass server answers at {uri} ({source}): start one with `traceglass ui`, "
                            f"or leave the tracking URI out to record into the local store.")
        return server
    server = _running_server(DEFAULT_SERVER)
    if server is not None:
        return server
    store = default_store_url(env.home)
    return Target(store, "store", f"the local store {store} (no traceglass server answers at {DEFAULT_SERVER})")


def probe(base_url: str, timeout: float = _PROBE_TIMEOUT,
          token: str | None = None) -> Literal["ok", "unauthorized", "other", "down"]:
    """Whether a traceglass server answers at `base_url`: its /health says {"status": "ok"}.
    "other": something answers that is not a traceglass server (port 5000 is popular).
    `token`: the bearer token to send; default TRACEGLASS_AUTH_TOKEN."""
    from traceglass._env import server_auth_token

    token = token or server_auth_token()
    request = urllib.request.Request(base_url + "/health",
                                     headers={"Authorization": f"Bearer {token}"} if token else {})
    # No proxy: a loopback server must be asked directly, whatever HTTP_PROXY says.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            body = json.loads(response.read(4096))
    except urllib.error.HTTPError as error:
        error.close()
        return "unauthorized" if error.code == 401 else "other"
    except (OSError, ValueError):  # refused, timed out, reset; or not JSON
        return "down"
    return "ok" if isinstance(body, dict) and body.get("status") == "ok" else "other"


@dataclasses.dataclass
class _Root:
    trace_id: str
    name: str
    status: str  # as the store reports it: OK or ERROR


class _Recorder(SpanProcessor):
    """Notes each trace the demo ends (its root span) and how many spans it has, so the summary
    can name them and wait until the destination holds them all."""

    def __init__(self) -> None:
        self.roots: list[_Root] = []
        self.spans: collections.Counter[str] = collections.Counter()
        self.active = True
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        if not self.active or span.context is None:
            return
        trace_id = format(span.context.trace_id, "032x")
        with self._lock:
            self.spans[trace_id] += 1
            if span.parent is None:
                status = "ERROR" if span.status.status_code.name == "ERROR" else "OK"
                self.roots.append(_Root(trace_id, span.name, status))


def run(tracking_uri: str | None, experiment: str, echo: Callable[[str], None] = print) -> int:
    """Record the demo traces; returns the exit status (1 if a step failed or nothing was stored).
    Raises DemoError when there is nowhere to record."""
    target = choose_target(tracking_uri)
    import traceglass
    from traceglass import _pipeline
    from traceglass.demo._replay import Replay
    from traceglass.demo._steps import STEPS

    traceglass.set_tracking_uri(target.uri)
    traceglass.set_experiment(experiment)
    providers = _pipeline.ensure()
    if providers is None or not hasattr(providers.tracer_provider, "add_span_processor"):
        raise DemoError("the trace pipeline could not be set up; see the warning above.")
    recorder = _Recorder()
    providers.tracer_provider.add_span_processor(recorder)  # type: ignore[attr-defined]
    # The conversations are made up, so content is recorded whatever the environment says: seeing
    # prompts and answers is the point of the demo.
    traceglass.autolog(capture_content="SPAN_ONLY")

    echo(f"Recording demo traces into {target.why}.")
    echo("Provider answers are replayed by a local server: no network, no API key.\n")
    failed = 0
    with Replay() as replay:
        for step in STEPS:
            missing = [package for module, package in step.requires if importlib.util.find_spec(module) is None]
            if missing:
                echo(f"  skip  {step.title:<20} needs {', '.join(missing)}: pip install {' '.join(missing)}")
                continue
            before = len(recorder.roots)
            try:
                note = step.run(replay)
            except Exception as exc:  # one broken step must not stop the others
                failed += 1
                echo(f"  FAIL  {step.title:<20} {type(exc).__name__}: {exc}")
                continue
            names = ", ".join(f"{root.name} [{root.status}]" for root in recorder.roots[before:]) or "no trace"
            echo(f"  ok    {step.title:<20} {names}: {note}")
    _pipeline.flush()
    recorder.active = False

    stored = _wait_until_stored(recorder, _SERVER_WRITE_WAIT if target.kind == "server" else 0.0)
    echo("")
    echo(_summary(target, experiment, len(recorder.roots), stored))
    return 1 if failed or stored < len(recorder.roots) or not recorder.roots else 0


def _wait_until_stored(recorder: _Recorder, timeout: float) -> int:
    """How many of the demo's traces the destination holds whole (waiting up to `timeout`)."""
    import traceglass

    deadline = time.monotonic() + timeout
    pending = {root.trace_id for root in recorder.roots}
    while True:
        for trace_id in sorted(pending):
            try:
                trace = traceglass.get_trace(trace_id)
            except Exception:  # a server that stopped, a store that is locked: count it as missing
                trace = None
            if trace is not None and len(trace.spans) >= recorder.spans[trace_id]:
                pending.discard(trace_id)
        if not pending or time.monotonic() >= deadline:
            return len(recorder.roots) - len(pending)
        time.sleep(0.2)


def _summary(target: Target, experiment: str, recorded: int, stored: int) -> str:
    if not recorded:
        if importlib.util.find_spec("openai") is None:
            return "Nothing was recorded: most of the demo needs the openai package (pip install openai)."
        return "Nothing was recorded; see the messages above."
    if stored < recorded:
        lines = [f"Only {stored} of {recorded} demo traces reached {target.uri}, in experiment {experiment!r}; "
                 "see the messages above."]
    else:
        lines = [f"{recorded} traces recorded in experiment {experiment!r}."]
    quoted = shlex.quote(experiment)
    if target.kind == "server":
        lines.append(f"Browse them: {target.uri} (experiment {experiment!r})")
        lines.append(f"List them:   traceglass traces search -e {quoted} --tracking-uri {target.uri}")
        return "\n".join(lines)
    # `traceglass traces` and `traceglass ui` read the store the environment names unless told otherwise.
    named = target.uri == _environment_store()
    lines.append(f"List them:   traceglass traces search -e {quoted}"
                 + ("" if named else f" --tracking-uri {shlex.quote(target.uri)}"))
    ui = "traceglass ui" if named else f"traceglass ui --store {shlex.quote(target.uri)}"
    lines.append(f"Browse them: {ui}, then open {DEFAULT_SERVER} (experiment {experiment!r})")
    return "\n".join(lines)


def _environment_store() -> str:
    """TRACEGLASS_TRACKING_URI when it names a store, else the local store."""
    from traceglass._env import TrackingEnv
    from traceglass._tracking import default_store_url, is_store_url

    env = TrackingEnv.resolve()
    if env.tracking_uri and is_store_url(env.tracking_uri):
        return env.tracking_uri
    return default_store_url(env.home)
