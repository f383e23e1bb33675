"""Responses that change only when a block is committed, built once per committed block.

`/status`, `/chain_info` and the RPC's `status` describe the latest committed block; at
thousands of requests per second, decoding that block and rebuilding the answer for each
request was most of their cost. `PerCommit(key, build)` keeps the last value `build()`
returned together with the `key()` read just before building it, and rebuilds as soon as
`key()` differs. A value is therefore never older than the commit a request could have
seen when it arrived: the key is read on every request, and a commit that lands while a
value is being built only makes that value newer than its key, so the next request
rebuilds it again.

`committed_key(node)` is the key for the embedded engine (and a state-synced follower):
the block store's height and the application's committed height. Both are needed: one
write batch commits block and state, but the application's in-memory height, app hash
and roots follow only after the write, so for a moment the block store is one ahead.

Only for the embedded engine: with `consensus_engine = "cometbft"` the block store is
CometBFT's RPC, a network call that must not run on the event loop (the REST server keeps
serving those from worker threads, uncached).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from sultan.api.chain_view import chain_view

T = TypeVar("T")


class PerCommit(Generic[T]):
    """The last `build()` result, rebuilt whenever `key()` changes (see the module doc).

    Not thread-safe by design: each instance is used from one event loop."""

    def __init__(self, key: Callable[[], Hashable], build: Callable[[], T]) -> None:
        self._key = key
        self._build = build
        self._cached: tuple[Hashable, T] | None = None
        self.builds = 0  # how many times the value was built (tests, diagnostics)

    def get(self) -> T:
        key = self._key()
        cached = self._cached
        if cached is not None and cached[0] == key:
            return cached[1]
        value = self._build()
        self.builds += 1
        self._cached = (key, value)
        return value


def committed_key(node: Any) -> Callable[[], tuple[int, int]]:
    """(block store height, application height) of an embedded-engine node, as a key."""
    blocks = node.engine.blocks
    app = node.app

    def key() -> tuple[int, int]:
        return blocks.height, app.last_height

    return key


def embedded(node: Any) -> bool:
    """Whether this process's own engine (embedded or follower) holds the blocks."""
    return chain_view(node).kind == "embedded" and getattr(node, "engine", None) is not None
