"""Per-commit responses (`sultan.api.cache`): /status, /chain_info and RPC `status` are built
once per committed block, yet never answer with an older block than the one committed when
the request was sent, and their per-request parts (mempool figures) stay live."""

from __future__ import annotations

import base64
import time
from pathlib import Path

from api_env import Env, make_tx

from sultan.api import jsonfmt as fmt
from sultan.api.cache import PerCommit


def test_per_commit_rebuilds_only_when_the_key_changes() -> None:
    key = [1]
    built: list[int] = []

    def build() -> int:
        built.append(key[0])
        return key[0] * 10

    cache = PerCommit(lambda: key[0], build)
    assert cache.get() == 10 and cache.get() == 10 and built == [1]
    key[0] = 2
    assert cache.get() == 20 and built == [1, 2]


def test_per_commit_commit_during_build_is_rebuilt() -> None:
    """The key is read before building: a commit landing mid-build must not pin the value."""
    state = {"height": 5}

    def build() -> int:
        value = state["height"]
        state["height"] = 6  # a commit while building: the value saw 5, the store is at 6
        return value

    cache = PerCommit(lambda: state["height"], build)
    assert cache.get() == 5
    state_seen = cache.get()  # key is now 6 != 5: rebuilt
    assert state_seen == 6 and cache.builds == 2


def _check_against_store(env: Env, seen: dict[int, tuple[str, str, str]]) -> None:
    """Every (app hash, block hash, block time) answered for a height is that block's."""
    blocks = env.node.engine.blocks
    for height, (app_hash, block_hash, block_time) in seen.items():
        block, bid, results = blocks.block(height), blocks.block_id(height), blocks.results(height)
        assert block is not None and bid is not None and results is not None, height
        assert fmt.hexu(bid.hash) == block_hash, height
        assert fmt.time_field(block.header, "time") == block_time, height
        assert fmt.hexu(results.app_hash) == app_hash, height


def test_status_is_never_older_than_the_last_commit(env: Env) -> None:
    """Polled across many commits (100 ms blocks): each answer is at least at the height
    committed before the request left, and matches the block store for its height."""
    rest_seen: dict[int, tuple[str, str, str]] = {}
    rpc_heights: set[int] = set()
    deadline = time.monotonic() + 3.0
    polls = 0
    while time.monotonic() < deadline or len(rest_seen) < 5:
        assert polls < 20_000, "too few distinct heights seen"
        polls += 1
        before = env.node.engine.blocks.height
        status, body, _ = env.rest("/status")
        assert status == 200
        assert body["height"] >= before, (body["height"], before)
        rest_seen[body["height"]] = (
            body["app_hash"],
            body["latest_block_hash"],
            body["latest_block_time"],
        )

        before = env.node.engine.blocks.height
        sync = env.rpc("status")["sync_info"]
        height = int(sync["latest_block_height"])
        assert height >= before, (height, before)
        rpc_heights.add(height)
        block, bid = env.node.engine.blocks.block(height), env.node.engine.blocks.block_id(height)
        assert block is not None and bid is not None
        assert sync["latest_block_hash"] == fmt.hexu(bid.hash)
        assert sync["latest_app_hash"] == fmt.hexu(block.header.app_hash)

        before = env.node.engine.blocks.height
        code, uri = env.uri("/status")
        assert code == 200 and uri["id"] == -1
        assert int(uri["result"]["sync_info"]["latest_block_height"]) >= before

        code, info, _ = env.rest("/chain_info")
        assert code == 200 and info["validators"][0]["voting_power"] == "10"
    assert len(rest_seen) >= 5 and len(rpc_heights) >= 5
    _check_against_store(env, rest_seen)


def test_status_mempool_figures_are_per_request(tmp_path: Path) -> None:
    """Between two blocks the cached block part is reused, the mempool part is not."""
    env = Env(tmp_path / "slow", {"consensus.timeout_commit": "60s"})
    try:
        env.wait_height(1)
        status, first, _ = env.rest("/status")
        assert status == 200 and first["height"] == 1 and first["mempool_size"] == 0
        tx = make_tx("percommit", "1")
        result = env.rpc("broadcast_tx_sync", tx=base64.b64encode(tx).decode())
        assert result["code"] == 0
        status, second, _ = env.rest("/status")
        assert status == 200 and second["height"] == 1  # block 2 is a minute away
        assert second["mempool_size"] == 1 and second["mempool_bytes"] == len(tx)
        assert {k: v for k, v in second.items() if not k.startswith("mempool_")} == {
            k: v for k, v in first.items() if not k.startswith("mempool_")
        }
        assert list(second) == list(first)  # same keys, same order as before caching
    finally:
        env.close()
