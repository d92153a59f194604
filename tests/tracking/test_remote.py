"""A traceglass server as tracking URI: search_traces(), get_trace(), tags and the CLI answer through
its query API exactly as they do from its store."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from traceglass.collector.server import Server, ServerConfig
from traceglass.collector.store import FilterError, Store, StoreError, TraceInfo

import traceglass
from tests.replay import ReplayServer
from tests.tracking._helpers import chat
from tests.tracking.conftest import _undo as undo_pipeline
from traceglass._query import TraceList, UnknownExperimentError
from traceglass._remote import RemoteStore
from traceglass.cli import main

TOKEN = "remote-token"


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'server.db'}"


@pytest.fixture
def server(store_url: str) -> Iterator[Server]:
    with Server(ServerConfig(store_url=store_url, port=0, otlp_http_port=None, grpc_port=None)) as running:
        yield running


def _address(server: Server) -> str:
    return f"http://127.0.0.1:{server.ports['http']}"


def _written(server: Server) -> None:
    # The server acknowledges spans once queued; its writer commits them within its batch interval.
    traceglass._pipeline.flush()
    assert server.ingest.queue.wait_idle(10)


@pytest.fixture
def recorded(server: Server, openai_client: Callable[..., Any], replay: ReplayServer) -> Iterator[str]:
    """Three traces in "remote" (q1..q3, tagged "nightly") and one in "other", sent to the server
    over OTLP; yields the server's address, which is then the tracking URI."""
    address = _address(server)
    traceglass.set_tracking_uri(address)
    traceglass.openai.autolog()
    traceglass.set_experiment("remote")
    for text in ("q1", "q2", "q3"):
        with traceglass.start_span(f"ask {text}"):
            traceglass.update_current_trace(tags=["nightly"], session_id=f"s-{text}")
            chat(openai_client, replay, text)
    traceglass.set_experiment("other")
    chat(openai_client, replay, "elsewhere")
    traceglass.set_experiment(None)
    _written(server)
    yield address
    # Shut the pipeline down while the server still answers: its last metrics and logs go there,
    # and exporters would otherwise retry against a closed port for seconds.
    undo_pipeline()


def _both(store_url: str, address: str, call: Callable[[], Any]) -> tuple[Any, Any]:
    """(answer through the server, answer from its store) of the same call."""
    traceglass.set_tracking_uri(address)
    remote = call()
    traceglass.set_tracking_uri(store_url)
    local = call()
    traceglass.set_tracking_uri(address)
    return remote, local


def test_search_list_is_the_stores_answer(recorded: str, store_url: str) -> None:
    remote, local = _both(store_url, recorded, lambda: traceglass.search_traces(
        experiment_names=["remote"], filter_string="trace.status = 'OK'", return_type="list"))

    assert isinstance(remote, TraceList) and all(isinstance(info, TraceInfo) for info in remote)
    assert [info.name for info in remote] == ["ask q3", "ask q2", "ask q1"]
    assert [info.to_dict() for info in remote] == [info.to_dict() for info in local]
    assert remote[0].experiment_name == "remote" and remote[0].session_id == "s-q3"
    assert remote.next_page_token is local.next_page_token is None


def test_search_pandas_is_the_stores_answer(recorded: str, store_url: str) -> None:
    remote, local = _both(store_url, recorded, lambda: traceglass.search_traces(max_results=3))

    pd.testing.assert_frame_equal(remote, local)
    assert len(remote) == 3 and remote.attrs["next_page_token"] == local.attrs["next_page_token"]
    rest = traceglass.search_traces(max_results=3, page_token=remote.attrs["next_page_token"])
    assert list(rest["name"]) == ["ask q1"] and rest.attrs["next_page_token"] is None

    by_id = traceglass.search_traces(experiment_ids=[int(remote["experiment_id"][0])], return_type="list")
    assert {info.experiment_name for info in by_id} == {remote["experiment"][0]}


def test_traces_found_are_deleted_through_the_server(recorded: str, store_url: str) -> None:
    traceglass.set_tracking_uri(recorded)
    found = traceglass.search_traces(experiment_names=["remote"], filter_string="trace.name = 'ask q2'")

    assert traceglass.delete_traces(found["trace_id"]) == 1
    assert traceglass.delete_traces(found["trace_id"].iloc[0]) == 0  # one id, already gone
    assert traceglass.delete_traces([]) == 0
    left = Store.open(store_url).search_traces(filter_string="trace.name LIKE 'ask%'").traces
    assert sorted(info.name for info in left) == ["ask q1", "ask q3"]


def test_errors_are_the_stores(recorded: str, store_url: str) -> None:
    def failure(call: Callable[[], Any], kind: type[Exception]) -> tuple[str, str]:
        messages = []
        for uri in (recorded, store_url):
            traceglass.set_tracking_uri(uri)
            with pytest.raises(kind) as raised:
                call()
            messages.append(str(raised.value))
        return messages[0], messages[1]

    remote, local = failure(lambda: traceglass.search_traces(filter_string="trace.status = "), FilterError)
    assert remote == local and "position 15" in remote
    remote, local = failure(lambda: traceglass.search_traces(order_by=["sideways"]), FilterError)
    assert remote == local
    remote, local = failure(lambda: traceglass.search_traces(experiment_names=["nope"]), UnknownExperimentError)
    assert remote == local
    remote, _ = failure(lambda: traceglass.search_traces(page_token="bogus"), ValueError)
    assert "Invalid page token" in remote
    remote, _ = failure(lambda: traceglass.set_trace_tag("f" * 32, "k", "v"), StoreError)
    assert "No trace with id" in remote


def test_text_that_cannot_be_sent_fails_as_on_a_store(recorded: str, store_url: str) -> None:
    for arguments in ({"filter_string": "trace.name = '\ud800'"}, {"order_by": ["name \udc80"]}):
        errors = []
        for uri in (recorded, store_url):
            traceglass.set_tracking_uri(uri)
            with pytest.raises(FilterError) as raised:
                traceglass.search_traces(**arguments)
            errors.append((str(raised.value), raised.value.position))
        assert errors[0] == errors[1]


def test_a_filter_too_long_for_a_url_is_a_clear_error(recorded: str) -> None:
    trace_ids = ", ".join(f"'{n:032x}'" for n in range(10_000))
    with pytest.raises(ValueError, match="longer than it accepts: shorten the filter"):
        traceglass.search_traces(filter_string=f"trace.trace_id IN ({trace_ids})")


def test_max_results_above_the_servers_page_limit(recorded: str, store_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    remote, local = _both(store_url, recorded, lambda: traceglass.search_traces(max_results=5000, return_type="list"))
    assert [info.trace_id for info in remote] == [info.trace_id for info in local] and len(remote) == 4
    # Pages larger than what the server answers at once are joined from its pages.
    monkeypatch.setattr("traceglass._remote._MAX_PAGE", 1)
    remote, local = _both(store_url, recorded, lambda: traceglass.search_traces(max_results=3, return_type="list"))
    assert [info.trace_id for info in remote] == [info.trace_id for info in local]
    assert remote.next_page_token == local.next_page_token is not None


def test_get_trace_and_tags(recorded: str, store_url: str) -> None:
    traceglass.set_tracking_uri(recorded)
    [info] = traceglass.search_traces(filter_string="trace.name = 'ask q2'", return_type="list")
    remote, local = _both(store_url, recorded, lambda: traceglass.get_trace(info.trace_id))
    assert remote is not None and local is not None
    assert remote.to_dict() == local.to_dict()
    assert [span.name for span in remote.spans] == ["ask q2", "chat gpt-4o-mini"]
    assert traceglass.get_trace("f" * 32) is None
    assert traceglass.get_trace("") is None

    traceglass.set_trace_tag(info.trace_id, "reviewed", "yes")
    traceglass.set_trace_tag(info.trace_id, "team/owner", "search")
    found = traceglass.search_traces(filter_string="tag.reviewed = 'yes'", return_type="list")
    assert [t.trace_id for t in found] == [info.trace_id]
    assert {"reviewed": "yes", "team/owner": "search"}.items() <= found[0].tags.items()
    traceglass.delete_trace_tag(info.trace_id, "reviewed")
    traceglass.delete_trace_tag(info.trace_id, "team/owner")
    trace = Store.open(store_url).get_trace(info.trace_id)
    assert trace is not None and "reviewed" not in trace.info.tags and "team/owner" not in trace.info.tags


def test_the_token_is_sent(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = ServerConfig(store_url=store_url, port=0, otlp_http_port=None, grpc_port=None, auth_token=TOKEN)
    with Server(config) as guarded:
        assert guarded.store is not None
        guarded.store.create_experiment("guarded")
        traceglass.set_tracking_uri(_address(guarded))
        with pytest.raises(StoreError, match="requires a token: set TRACEGLASS_AUTH_TOKEN"):
            traceglass.search_traces(experiment_names=["guarded"])
        monkeypatch.setenv("TRACEGLASS_AUTH_TOKEN", "not-" + TOKEN)
        with pytest.raises(StoreError, match="refused the token in TRACEGLASS_AUTH_TOKEN"):
            traceglass.search_traces(experiment_names=["guarded"])
        monkeypatch.setenv("TRACEGLASS_AUTH_TOKEN", TOKEN)
        assert traceglass.search_traces(experiment_names=["guarded"], return_type="list") == []


def test_a_web_page_at_the_address_is_a_clear_error() -> None:
    class Page(BaseHTTPRequestHandler):  # a proxy's login page, another web application
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = b"<html><body>Please log in</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    page = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=page.serve_forever, args=(0.05,), daemon=True).start()
    address = f"http://127.0.0.1:{page.server_address[1]}"
    try:
        traceglass.set_tracking_uri(address)
        with pytest.raises(StoreError, match="something other than JSON: is it a traceglass server's main port"):
            traceglass.search_traces(return_type="list")
        result = CliRunner().invoke(main, ["experiments", "list", "--tracking-uri", address])
    finally:
        page.shutdown()
        page.server_close()

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: The server at {address} answered GET /api/v1/experiments with something")


def test_the_remote_store_manages_experiments(server: Server) -> None:
    remote = RemoteStore(_address(server) + "/")
    created = remote.create_experiment("made")
    assert remote.experiment_names() == {"made": created.experiment_id}
    with pytest.raises(StoreError, match="already exists"):
        remote.create_experiment("made")
    assert remote.rename_experiment(created.experiment_id, "renamed").name == "renamed"
    assert remote.delete_traces(["a" * 32]) == 0
    remote.delete_experiment(created.experiment_id)
    assert remote.list_experiments() == []
    with pytest.raises(StoreError, match="No experiment with id"):
        remote.delete_experiment(created.experiment_id)


# -- the command line --------------------------------------------------------------------------------


def _run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


@pytest.mark.parametrize("backend", ["store", "server"])
def test_experiments_commands(server: Server, store_url: str, backend: str) -> None:
    uri = store_url if backend == "store" else _address(server)
    listed = _run("experiments", "list", "--tracking-uri", uri)
    assert listed.exit_code == 0 and listed.stdout.strip() == "No experiments."

    created = _run("experiments", "create", "first", "--tracking-uri", uri)
    assert created.exit_code == 0, created.output
    assert "Created experiment 'first' (id 1)." in created.stdout
    duplicate = _run("experiments", "create", "first", "--tracking-uri", uri)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    assert _run("experiments", "create", "second", "--tracking-uri", uri).exit_code == 0

    renamed = _run("experiments", "rename", "1", "renamed", "--tracking-uri", uri)
    assert renamed.exit_code == 0 and "Experiment 1 is now 'renamed'." in renamed.stdout
    clash = _run("experiments", "rename", "1", "second", "--tracking-uri", uri)
    assert clash.exit_code == 1 and "already exists" in clash.stderr
    missing = _run("experiments", "rename", "99", "x", "--tracking-uri", uri)
    assert missing.exit_code == 1 and "No experiment with id 99" in missing.stderr

    table = _run("experiments", "list", "--tracking-uri", uri)
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["ID", "NAME", "TRACES", "LAST", "ACTIVITY", "(UTC)"]
    assert [row.split()[:3] for row in rows] == [["1", "renamed", "0"], ["2", "second", "0"]]

    refused = _run("experiments", "delete", "2", "--tracking-uri", uri, input="n\n")
    assert refused.exit_code == 1  # aborted at the confirmation
    deleted = _run("experiments", "delete", "2", "--tracking-uri", uri, input="y\n")
    assert deleted.exit_code == 0 and "Deleted experiment 2." in deleted.stdout
    assert _run("experiments", "delete", "2", "--yes", "--tracking-uri", uri).exit_code == 1

    as_json = json.loads(_run("experiments", "list", "--output", "json", "--tracking-uri", uri).stdout)
    assert [(e["experiment_id"], e["name"], e["trace_count"]) for e in as_json] == [(1, "renamed", 0)]


def test_traces_commands_through_a_server(recorded: str, store_url: str) -> None:
    def both(*args: str) -> tuple[str, str]:
        remote = _run(*args, "--tracking-uri", recorded)
        local = _run(*args, "--tracking-uri", store_url)
        assert remote.exit_code == local.exit_code == 0, remote.output
        return remote.stdout, local.stdout

    remote, local = both("traces", "search", "-e", "remote", "--output", "json", "-n", "2")
    assert remote == local and len(json.loads(remote)["traces"]) == 2
    remote, local = both("traces", "export", "--all-pages", "-n", "1")
    assert remote == local and len(remote.splitlines()) == 4
    remote, local = both("experiments", "list")
    assert remote == local and "remote" in remote

    bad = _run("traces", "search", "--filter", "trace.nope = 1", "--tracking-uri", recorded)
    assert bad.exit_code == 2 and "Invalid filter at position 6" in bad.stderr
