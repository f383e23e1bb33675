"""A running auth+bank node with funded accounts, for the real-client interop tests."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from interop_env import run_cosmpy

from sultan.testing import NodeProcess, init_home

# Well-known public test mnemonics (never use them for real funds).
SENDER_MNEMONIC = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
JS_SENDER_MNEMONIC = "test test test test test test test test test test test junk"
GAS_PRICE = "0.025"
DENOM = "usultan"
FUNDS = 50_000_000


def address_of(mnemonic: str) -> str:
    return run_cosmpy("address.py", {"mnemonic": mnemonic})["address"]


class Chain:
    def __init__(self, node: NodeProcess, senders: dict[str, str]) -> None:
        self.node = node
        self.senders = senders  # mnemonic -> address
        self.chain_id = "interop-1"


@pytest.fixture(scope="session")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    home: Path = init_home(
        tmp_path_factory.mktemp("interop") / "home", ["auth", "bank"], chain_id="interop-1"
    )
    senders = {m: address_of(m) for m in (SENDER_MNEMONIC, JS_SENDER_MNEMONIC)}
    genesis_path = home / "config" / "genesis.json"
    doc = json.loads(genesis_path.read_text())
    doc["app_state"]["bank"]["balances"] = sorted(
        (
            {"address": a, "coins": [{"denom": DENOM, "amount": str(FUNDS)}]}
            for a in senders.values()
        ),
        key=lambda b: b["address"],
    )
    genesis_path.write_text(json.dumps(doc, indent=2))
    app_toml = home / "config" / "app.toml"
    app_toml.write_text(
        re.sub(
            r"(?m)^minimum-gas-prices = .*$",
            f'minimum-gas-prices = "{GAS_PRICE}{DENOM}"',
            app_toml.read_text(),
        )
    )
    # SULTAN_TEST_API_WORKERS=2 runs these clients against REST and gRPC served by API
    # worker processes (`[api] workers`) instead of the node's own process.
    workers = os.environ.get("SULTAN_TEST_API_WORKERS", "0")
    node = NodeProcess(home, timeout_commit="300ms", extra_args=["--api.workers", workers])
    try:
        node.start()
        yield Chain(node, senders)
    finally:
        node.kill()
