"""Run a query on the event loop once it is known to be quick, else in a worker thread.

Most API queries are a few point lookups in committed state (a balance, an account):
tens of µs of work. Sending each to a worker thread (`asyncio.to_thread`) cost more than
the query itself — a queue hop, a thread wake-up, a hop back to the loop, GIL hand-offs
between up to 6 threads — and under 100 concurrent clients it was most of a balance
query's serving time. A query does not wait behind block execution either way: it reads
the last committed version from RocksDB, which takes no lock the committing thread holds.

`QueryRunner.run(name, fn, *args)` keeps, per query name, a moving average of how long
its calls take (wall time, so a query that sleeps or waits on I/O counts as slow). A name
starts in worker threads; after `WARMUP` calls it runs inline while the average is within
`budget_s`, and goes back to threads as soon as it is not. So:
- a query never seen before, or one that blocks, cannot stall the loop (and the servers'
  request timeouts, which need the loop, keep working for it);
- one slow call of a cheap query (a cold cache) moves the average by an eighth of its cost,
  so a single outlier does not send it to threads, while a heavy query gets there within
  a call or two.
Only for work that reads local state and takes no lock a block commit holds: the REST
server's module queries. Its node services (blocks, txs, broadcast, CometBFT's RPC) stay
in threads; the gRPC server runs every call in its own thread pool (grpc.aio on the loop
measured slower: ~420 µs of CPU per balance query against ~300, see docs/performance.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("sultan.api")

INLINE_BUDGET_S = 0.001  # mean time per call up to which a query runs on the loop
WEIGHT = 0.125  # of the newest call in the moving average
WARMUP = 8  # calls observed (in threads) before a query may run on the loop


class QueryRunner:
    def __init__(self, budget_s: float = INLINE_BUDGET_S, warmup: int = WARMUP) -> None:
        self.budget_s = budget_s
        self.warmup = warmup
        self._cost: dict[str, float] = {}  # name -> moving average of seconds per call
        self._calls: dict[str, int] = {}

    def inline(self, name: str) -> bool:
        """Whether the next call of `name` runs on the loop."""
        return self._calls.get(name, 0) >= self.warmup and self._cost[name] <= self.budget_s

    async def run(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        if self.inline(name):
            return self._timed(name, fn, *args)
        return await asyncio.to_thread(self._timed, name, fn, *args)

    def _timed(self, name: str, fn: Callable[..., T], *args: Any) -> T:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self._record(name, time.perf_counter() - started)

    def _record(self, name: str, seconds: float) -> None:
        # From the loop or a worker thread; a lost update under a race only delays a switch.
        was_inline = self.inline(name)
        before = self._cost.get(name)
        self._cost[name] = seconds if before is None else before + WEIGHT * (seconds - before)
        self._calls[name] = self._calls.get(name, 0) + 1
        now_inline = self.inline(name)
        if now_inline != was_inline:
            log.debug(
                "query %s: ~%.3f ms per call, now served %s",
                name,
                self._cost[name] * 1000,
                "on the event loop" if now_inline else "from worker threads",
            )
