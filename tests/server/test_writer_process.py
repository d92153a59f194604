"""The store is written from a child process; the server survives it dying and loses nothing."""

from __future__ import annotations

import multiprocessing
import os
import signal

from tests.server._helpers import StartServer, post, protobuf_request, url, written


def _writers() -> list[multiprocessing.Process]:
    return [child for child in multiprocessing.active_children() if child.name == "traceglass-store-writer"]


def test_a_killed_writer_process_is_replaced_and_nothing_is_lost(start_server: StartServer) -> None:
    server = start_server()
    protobuf = {"Content-Type": "application/x-protobuf"}
    assert post(url(server), protobuf_request(1, 100), protobuf)[0] == 200
    written(server)
    (writer,) = _writers()
    os.kill(writer.pid, signal.SIGKILL)
    writer.join(5)

    assert post(url(server), protobuf_request(101, 100), protobuf)[0] == 200
    store = written(server)
    assert sum(experiment.trace_count for experiment in store.list_experiments()) == 200
    assert len(_writers()) == 1 and _writers()[0].pid != writer.pid


def test_the_writer_process_ignores_interrupts_and_exits_with_the_server(start_server: StartServer) -> None:
    server = start_server()
    (writer,) = _writers()
    os.kill(writer.pid, signal.SIGINT)  # a Ctrl-C reaches the whole process group
    assert post(url(server), protobuf_request(1, 10), {"Content-Type": "application/x-protobuf"})[0] == 200
    written(server)
    assert writer.is_alive()
    server.stop()
    writer.join(5)
    assert not writer.is_alive()
