"""A real 4-validator network: CometBFT v0.38 (built once with `go install`, then cached)
driving four Sultan applications over the ABCI socket, on free loopback ports.

Nothing here is skipped: without Go and the Go module proxy these tests fail, with the
installer's message saying what is missing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cmt_env import (
    ALICE,
    CAROL,
    CHAIN_ID,
    DENOM,
    FUNDS,
    VALIDATORS,
    WAIT,
    Net,
    fast_node_config,
    free_port_block,
)

from sultan.kernel.coins import Coins
from sultan.testing.cometbft import CometBFTUnavailableError, cometbft_binary
from sultan.testnet import PORTS_PER_NODE, Testnet


@pytest.fixture(scope="session")
def cometbft_bin() -> Path:
    print(
        "\n[cometbft] locating CometBFT (the first run builds it: a few minutes)", file=sys.stderr
    )
    started = time.monotonic()
    try:
        path = cometbft_binary()
    except CometBFTUnavailableError as exc:
        pytest.fail(f"CometBFT is required for tests/cometbft: {exc}")
    print(f"[cometbft] ready in {time.monotonic() - started:.1f}s: {path}", file=sys.stderr)
    return path


@pytest.fixture(scope="session")
def network(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    base = fast_node_config()
    root = tmp_path_factory.mktemp("testnet")
    testnet = Testnet.init(
        root,
        validators=VALIDATORS,
        cometbft=cometbft_bin,
        chain_id=CHAIN_ID,
        starting_port=free_port_block(PORTS_PER_NODE * VALIDATORS),
        modules=("auth", "bank"),
        accounts=[
            (ALICE.address, Coins.parse(f"{FUNDS}{DENOM}")),
            (CAROL.address, Coins.parse(f"{FUNDS}{DENOM}")),
        ],
        node_config=base,
    )
    started = time.monotonic()
    try:
        testnet.start(timeout=WAIT)
        net = Net(testnet)
        net.wait_height(2)
        print(
            f"\n[cometbft] 4-validator network up in {time.monotonic() - started:.1f}s "
            f"(ports from {testnet.nodes[0].ports['p2p']})",
            file=sys.stderr,
        )
        yield net
    finally:
        testnet.stop(timeout=10)
