"""pytest plugin for module authors (auto-loaded through the `pytest11` entry point).

    def test_increment(sultan_chain):
        chain = sultan_chain(["counter"])
        (result,) = chain.deliver(unsigned_tx(MsgIncrement(sender="a", amount=1)))
        assert result.code == 0

Every chain the factory makes runs on its own temporary RocksDB and is closed after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sultan.testing.harness import ChainHarness


@pytest.fixture
def sultan_chain(tmp_path: Any) -> Iterator[Callable[..., ChainHarness]]:
    """A factory: `sultan_chain(modules, **ChainHarness kwargs)` → a fresh ChainHarness."""
    made: list[ChainHarness] = []

    def make(modules: list[str], **kwargs: Any) -> ChainHarness:
        kwargs.setdefault("path", tmp_path / f"chain{len(made)}")
        chain = ChainHarness(modules, **kwargs)
        made.append(chain)
        return chain

    yield make
    for chain in made:
        chain.close()
