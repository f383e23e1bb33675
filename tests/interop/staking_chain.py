"""A running auth+bank+staking+distribution node for the staking interop tests.

`sultan init` makes the node's validator (self-delegated at genesis); the client wallets are
funded with `sultan genesis add-account`, the unbonding time is shortened to a few seconds and
a minimum gas price is set so every tx pays a fee (which becomes rewards).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from sultan.client.keyring import Keyring
from sultan.kernel.address import VALIDATOR_CODEC
from sultan.testing import NodeProcess, init_home, sultan_cli

MODULES = ["auth", "bank", "staking", "distribution"]
UNBONDING_SECONDS = 4


class StakingChain:
    def __init__(self, node: NodeProcess, validator: str) -> None:
        self.node = node
        self.validator = validator
        self.chain_id = "interop-staking-1"


def start_staking_chain(
    root: Path, funded: dict[str, int], gas_price: str, denom: str
) -> Iterator[StakingChain]:
    home = init_home(root / "home", MODULES, chain_id="interop-staking-1")
    for address, amount in funded.items():
        sultan_cli("genesis", "add-account", address, f"{amount}{denom}", "--home", str(home),
                   "--keyring-backend", "test")  # fmt: skip
    genesis_path = home / "config" / "genesis.json"
    doc = json.loads(genesis_path.read_text())
    doc["app_state"]["staking"]["params"]["unbonding_time"] = f"{UNBONDING_SECONDS}s"
    genesis_path.write_text(json.dumps(doc, indent=2))
    app_toml = home / "config" / "app.toml"
    app_toml.write_text(
        re.sub(
            r"(?m)^minimum-gas-prices = .*$",
            f'minimum-gas-prices = "{gas_price}{denom}"',
            app_toml.read_text(),
        )
    )
    operator = Keyring(home, "test").get("validator")
    validator = VALIDATOR_CODEC.to_string(Keyring(home, "test").signer(operator.name).address_bytes)
    node = NodeProcess(home, timeout_commit="300ms")
    try:
        node.start()
        yield StakingChain(node, validator)
    finally:
        node.kill()


def tx_json(chain: StakingChain, tx_hash: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(
        f"{chain.node.rest_url}/cosmos/tx/v1beta1/txs/{tx_hash}", timeout=10
    ) as resp:
        return json.loads(resp.read())


def fee_of(chain: StakingChain, tx_hash: str, denom: str) -> int:
    (coin,) = tx_json(chain, tx_hash)["tx"]["auth_info"]["fee"]["amount"]
    assert coin["denom"] == denom
    return int(coin["amount"])


def withdrawn_rewards(chain: StakingChain, tx_hash: str, denom: str) -> int:
    """The amount of the tx's `withdraw_rewards` event(s), in `denom`."""
    total = 0
    for event in tx_json(chain, tx_hash)["tx_response"]["events"]:
        if event["type"] != "withdraw_rewards":
            continue
        for attr in event["attributes"]:
            if attr["key"] == "amount" and attr["value"].endswith(denom):
                total += int(attr["value"][: -len(denom)] or 0)
    return total
