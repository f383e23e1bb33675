"""`sultan_api_loop_lag_seconds`: how late the API event loop runs its 100 ms timer."""

from __future__ import annotations

import time

from api_env import Env

from sultan.api.metrics import LAG_INTERVAL_S
from sultan.testing import wait_until


def _lag(env: Env) -> dict[str, float]:
    (family,) = env.node.api_metrics.loop_lag.collect()
    return {
        s.name.removeprefix("sultan_api_loop_lag_seconds")
        + (f"_{s.labels['le']}" if "le" in s.labels else ""): s.value
        for s in family.samples
    }


def test_a_stalled_loop_is_recorded_with_its_length(env: Env) -> None:
    before = _lag(env)
    wait_until(lambda: _lag(env)["_count"] >= before["_count"] + 2, 30, "the watcher")

    async def hog() -> None:
        time.sleep(0.5)  # holds the loop, as a long handler or a GIL-holding thread would

    count = _lag(env)["_count"]
    env.run(hog())
    wait_until(lambda: _lag(env)["_count"] >= count + 2, 30, "observations after the stall")
    after = _lag(env)
    # The timer fell due within the 500 ms stall, so it ran 400-500 ms late: an observation
    # over 250 ms (a busy machine might add one of its own, never take this one away).
    late = (after["_count"] - after["_bucket_0.25"]) - (before["_count"] - before["_bucket_0.25"])
    assert late >= 1, after
    assert after["_sum"] - before["_sum"] >= 0.5 - LAG_INTERVAL_S


def test_the_watcher_stops_with_the_servers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = Env(tmp_path / "home")
    try:
        wait_until(lambda: _lag(env)["_count"] >= 1, 30, "a first observation")
    finally:
        env.close()  # stops the servers: the watcher task is cancelled and awaited
    assert env.servers is None
