"""Spans started in asyncio tasks and threads nest under the traced function that started them."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import traceglass
from tests.tracing.conftest import by_name, parent_id


def test_asyncio_tasks_inherit_the_span(tracing):
    @traceglass.trace
    async def fetch(i):
        await asyncio.sleep(0)
        return i

    @traceglass.trace
    async def gather():
        tasks = [asyncio.create_task(fetch(i)) for i in range(3)]
        return await asyncio.gather(*tasks, asyncio.to_thread(lambda: fetch_sync(9)))

    @traceglass.trace
    def fetch_sync(i):
        return i

    assert asyncio.run(gather()) == [0, 1, 2, 9]
    root = by_name(tracing)[gather.__qualname__]
    children = [s for s in tracing.spans() if s is not root]
    assert len(children) == 4
    assert all(parent_id(child) == root.context.span_id for child in children)


def test_threads_and_thread_pools_nest(tracing):
    assert traceglass.propagate_context_to_threads() is True

    @traceglass.trace
    def work(i):
        return i * i

    @traceglass.trace
    def fan_out():
        thread = threading.Thread(target=work, args=(1,))
        thread.start()
        thread.join()
        timer = threading.Timer(0, work, args=(2,))
        timer.start()
        timer.join()
        with ThreadPoolExecutor(max_workers=2) as pool:
            return [*pool.map(work, [3, 4]), pool.submit(work, 5).result()]

    assert fan_out() == [9, 16, 25]
    root = by_name(tracing)[fan_out.__qualname__]
    workers = [s for s in tracing.spans() if s is not root]
    assert len(workers) == 5
    assert all(parent_id(w) == root.context.span_id for w in workers)


def test_first_span_enables_thread_propagation(tracing):
    from opentelemetry.instrumentation.threading import ThreadingInstrumentor

    with traceglass.start_span("any"):
        pass
    assert ThreadingInstrumentor().is_instrumented_by_opentelemetry
