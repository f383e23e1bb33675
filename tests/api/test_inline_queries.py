"""`QueryRunner`: which queries run on the event loop and which in worker threads."""

from __future__ import annotations

import asyncio
import threading
import time

from api_env import Env, make_tx

from sultan.api.inline import WARMUP, QueryRunner


def _where(runner: QueryRunner, name: str, work: float = 0.0) -> str:
    """Run one call of `name` taking `work` seconds; say where it ran."""

    def fn() -> str:
        if work:
            time.sleep(work)
        return "loop" if threading.current_thread() is loop_thread else "thread"

    async def call() -> str:
        return await runner.run(name, fn)

    loop_thread = threading.current_thread()
    return asyncio.run(call())


def test_new_queries_start_in_threads_then_cheap_ones_run_inline() -> None:
    runner = QueryRunner()
    assert [_where(runner, "q") for _ in range(WARMUP)] == ["thread"] * WARMUP
    assert [_where(runner, "q") for _ in range(5)] == ["loop"] * 5


def test_a_blocking_query_stays_in_threads() -> None:
    runner = QueryRunner(budget_s=0.001)
    places = {_where(runner, "sleepy", work=0.005) for _ in range(WARMUP + 4)}
    assert places == {"thread"}


def test_one_outlier_keeps_a_cheap_query_inline_a_slow_run_moves_it() -> None:
    runner = QueryRunner(budget_s=0.002)
    for _ in range(WARMUP):
        _where(runner, "q")
    assert _where(runner, "q", work=0.004) == "loop"  # average moves by an eighth
    assert _where(runner, "q") == "loop"
    for _ in range(5):
        _where(runner, "q", work=0.03)  # the query became heavy
    assert _where(runner, "q") == "thread"
    for _ in range(60):  # and cheap again: back on the loop once the average says so
        _where(runner, "q")
    assert _where(runner, "q") == "loop"


def test_names_are_tracked_separately() -> None:
    runner = QueryRunner()
    for _ in range(WARMUP):
        _where(runner, "a")
    assert _where(runner, "a") == "loop" and _where(runner, "b") == "thread"


def test_errors_propagate_and_still_count() -> None:
    runner = QueryRunner()

    def boom() -> None:
        raise ValueError("bad request")

    async def call() -> None:
        await runner.run("e", boom)

    for _ in range(WARMUP + 1):
        try:
            asyncio.run(call())
        except ValueError as exc:
            assert str(exc) == "bad request"
        else:
            raise AssertionError("the error was swallowed")
    assert runner.inline("e")


def test_inline_module_queries_see_each_commit(env: Env) -> None:
    """Once a module query runs on the loop, it still reads the last committed state: a
    committed tx is visible to the very next query."""
    for _ in range(WARMUP + 2):
        status, body, _ = env.rest("/test/v1/total/inl")
        assert status == 200
    for expected in (3, 7):
        result = env.commit_tx(make_tx("inl", str(expected - int(body["amount"]))))
        assert result["tx_result"]["code"] == 0
        status, body, headers = env.rest("/test/v1/total/inl")
        assert status == 200 and body == {"denom": "inl", "amount": str(expected)}
        assert int(headers["Grpc-Metadata-X-Cosmos-Block-Height"]) >= int(result["height"])
