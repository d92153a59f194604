"""The quickstart as a user runs it: a fresh interpreter, no server, nothing configured.

    import traceglass
    traceglass.set_experiment("quickstart")
    traceglass.openai.autolog()
    client.chat.completions.create(...)
    traceglass.search_traces(experiment_names=["quickstart"])
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.pricing import PRICED
from tests.replay import ReplayServer
from tests.tracking._helpers import clean_env, read_store, run_script, serve_openai

pytestmark = pytest.mark.slow

QUICKSTART = """
    import json, os
    import openai
    import traceglass

    traceglass.set_experiment("quickstart")
    traceglass.openai.autolog()

    client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])

    df = traceglass.search_traces(experiment_names=["quickstart"])
    row = df.iloc[0]
    print(json.dumps({
        "rows": len(df), "trace_id": row["trace_id"], "experiment": row["experiment"], "name": row["name"],
        "status": row["status"], "total_tokens": int(row["total_tokens"]), "cost_usd": row["cost_usd"],
        "request": row["request"],
        "response": row["response"], "tracking_uri": traceglass.get_tracking_uri(),
    }))
    trace = traceglass.get_trace(row["trace_id"])
    print(json.dumps({"spans": [span.name for span in trace.spans]}))
"""


def test_quickstart_records_and_finds_the_call_with_no_server(tmp_path: Path, replay: ReplayServer) -> None:
    serve_openai(replay)
    home = tmp_path / "user"
    env = clean_env(HOME=str(home), APP_OPENAI_BASE_URL=replay.url("/v1"))

    result = run_script(tmp_path, QUICKSTART, env)

    found, spans = (json.loads(line) for line in result.stdout.splitlines()[-2:])
    store = home / ".traceglass" / "traceglass.db"
    assert found["tracking_uri"] == f"sqlite:///{store.resolve()}"
    assert found["rows"] == 1
    assert found["experiment"] == "quickstart"
    assert found["name"] == "chat gpt-4o-mini"
    assert found["status"] == "OK"
    assert found["total_tokens"] == 12
    if PRICED:
        assert 0 < found["cost_usd"] < 0.0001  # gpt-4o-mini, 9 tokens in and 3 out
    # autolog() captures content by default: the trace shows what was asked and answered.
    assert "Say hi" in found["request"]
    assert "Hi there!" in found["response"]
    assert spans == {"spans": ["chat gpt-4o-mini"]}
    assert "Traceback" not in result.stderr, result.stderr
    # Still there for the next process.
    [trace] = read_store(f"sqlite:///{store}")
    assert trace.info.trace_id == found["trace_id"]


def test_otel_sdk_disabled_records_nothing_and_touches_no_store(tmp_path: Path, replay: ReplayServer) -> None:
    """OTEL_SDK_DISABLED=true turns the SDK into no-ops: the app still gets its answer, and
    traceglass starts no export thread and creates no store, experiment included."""
    serve_openai(replay)
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"), OTEL_SDK_DISABLED="true",
                    APP_OPENAI_BASE_URL=replay.url("/v1"))
    script = """
        import json, os, threading
        import openai
        import traceglass

        experiment = traceglass.set_experiment("quiet")
        traceglass.autolog()
        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hi"}])

        @traceglass.trace
        def step(x):
            return x + 1

        print(json.dumps({"experiment": repr(experiment), "answer": reply.choices[0].message.content,
                          "step": step(1), "last_trace": traceglass.get_last_active_trace_id(),
                          "threads": sorted(t.name for t in threading.enumerate())}))
    """

    result = run_script(tmp_path, script, env)

    out = json.loads(result.stdout.splitlines()[-1])
    assert out == {"experiment": "None", "answer": "Hi there!", "step": 2, "last_trace": None,
                   "threads": ["MainThread"]}
    assert not (tmp_path / "tg").exists()
    assert "Traceback" not in result.stderr, result.stderr


def test_traceglass_home_moves_the_default_store(tmp_path: Path, replay: ReplayServer) -> None:
    serve_openai(replay)
    traceglass_home = tmp_path / "tg"
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(traceglass_home),
                    APP_OPENAI_BASE_URL=replay.url("/v1"))

    run_script(tmp_path, QUICKSTART, env)

    assert (traceglass_home / "traceglass.db").is_file()
    assert not (tmp_path / "user" / ".traceglass").exists()


def test_a_short_script_is_flushed_at_exit(tmp_path: Path, replay: ReplayServer) -> None:
    """No search, no flush call: the spans still reach the store when the interpreter exits
    (the batch processor's 5 s delay has not elapsed)."""
    serve_openai(replay)
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"),
                    APP_OPENAI_BASE_URL=replay.url("/v1"))
    script = """
        import os
        import openai
        import traceglass

        traceglass.set_experiment("exit")
        traceglass.openai.autolog()
        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        for _ in range(3):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    """

    run_script(tmp_path, script, env)

    traces = read_store(f"sqlite:///{tmp_path / 'tg' / 'traceglass.db'}")
    assert [t.info.experiment_name for t in traces] == ["exit"] * 3
    assert [len(t.spans) for t in traces] == [1, 1, 1]


def test_a_stream_left_open_at_exit_is_ended_and_recorded(tmp_path: Path, replay: ReplayServer) -> None:
    """A stream read part of the way and kept in a global is collected only after the exit hooks
    have flushed the exporters: it is ended at exit instead, as cut short."""
    replay.load_cassette("openai/otel-contrib__test_chat_completion_streaming_not_complete.yaml")
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"),
                    APP_OPENAI_BASE_URL=replay.url("/v1"))
    script = """
        import os
        import openai
        import traceglass

        traceglass.openai.autolog()
        client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
        stream = client.chat.completions.create(model="gpt-4", stream=True,
                                                messages=[{"role": "user", "content": "Say this is a test"}])
        first = next(stream)
    """

    run_script(tmp_path, script, env)

    [trace] = read_store(f"sqlite:///{tmp_path / 'tg' / 'traceglass.db'}")
    [span] = trace.spans
    assert span.name == "chat gpt-4"
    assert span.attributes["gen_ai.response.finish_reasons"] == ["error"]
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_a_multiprocessing_child_is_flushed_when_it_exits(
    tmp_path: Path, replay: ReplayServer, start_method: str
) -> None:
    """Such a child ends with os._exit(), which runs no atexit hook: multiprocessing's own
    finalizers flush it."""
    serve_openai(replay)
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"),
                    APP_OPENAI_BASE_URL=replay.url("/v1"), START_METHOD=start_method)
    script = """
        import multiprocessing
        import os
        import openai
        import traceglass

        traceglass.set_experiment("child")
        traceglass.openai.autolog()

        def calls(count):
            client = openai.OpenAI(base_url=os.environ["APP_OPENAI_BASE_URL"], api_key="k", max_retries=0)
            for _ in range(count):
                client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

        if __name__ == "__main__":
            child = multiprocessing.get_context(os.environ["START_METHOD"]).Process(target=calls, args=(2,))
            child.start()
            child.join()
            assert child.exitcode == 0
            calls(1)
    """

    run_script(tmp_path, script, env)

    traces = read_store(f"sqlite:///{tmp_path / 'tg' / 'traceglass.db'}")
    assert [t.info.experiment_name for t in traces] == ["child"] * 3


@pytest.mark.parametrize("start_method", ["fork", "forkserver", "spawn"])
def test_the_workers_of_a_pool_left_with_with_are_flushed(tmp_path: Path, start_method: str) -> None:
    """`with Pool() as pool:` terminates its workers on leaving the block (SIGTERM): what they
    recorded is flushed first, and they still end as terminated. (Both workers are kept busy when
    the block is left: an idle one may take the pool's stop sentinel and exit by itself first.)"""
    env = clean_env(HOME=str(tmp_path / "user"), TRACEGLASS_HOME=str(tmp_path / "tg"), START_METHOD=start_method)
    script = """
        import multiprocessing
        import os
        import time
        import traceglass

        traceglass.set_experiment("pool")

        @traceglass.trace
        def square(x):
            return x * x

        if __name__ == "__main__":
            with multiprocessing.get_context(os.environ["START_METHOD"]).Pool(2) as pool:
                assert pool.map(square, range(6)) == [0, 1, 4, 9, 16, 25]
                workers = list(pool._pool)
                pool.map_async(time.sleep, [60, 60], chunksize=1)
                time.sleep(1)  # each worker is in its sleep
            for worker in workers:
                worker.join(30)
            print("exit codes", sorted({worker.exitcode for worker in workers}))
    """

    result = run_script(tmp_path, script, env)

    assert "exit codes [-15]" in result.stdout  # terminated, as without traceglass
    traces = read_store(f"sqlite:///{tmp_path / 'tg' / 'traceglass.db'}")
    assert [(t.info.name, t.info.experiment_name) for t in traces] == [("square", "pool")] * 6
