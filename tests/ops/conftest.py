"""One real `sultan run` node (auth, bank, metrics; funded stress accounts) for the ops tests."""

from __future__ import annotations

import base64
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from sultan.ops import stress
from sultan.testing import NodeProcess, init_home
from sultan.testing.wallet import Wallet

ACCOUNTS = 12
FUNDS = "1000000000usultan"


@attrs.define
class OpsNode:
    process: NodeProcess
    home: Path
    accounts_file: Path
    accounts: list[stress.Account]

    def send_tx(self) -> dict:
        """One signed MsgSend through RPC broadcast_tx_commit (sequence read over REST)."""
        sender = self.accounts[0]
        url = f"{self.process.rest_url}/cosmos/auth/v1beta1/accounts/{sender.address}"
        with urllib.request.urlopen(url, timeout=10) as res:
            import json

            account = json.loads(res.read())["account"]
        tx = Wallet(sender.private_key).sign_tx(
            [stress.msg_send(sender.address, self.accounts[1].address, "usultan", 7)],
            sequence=int(account["sequence"]),
            account_number=int(account["account_number"]),
            chain_id="ops-1",
        )
        return self.process.rpc("broadcast_tx_commit", tx=base64.b64encode(tx).decode())


@pytest.fixture(scope="session")
def ops_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsNode]:
    root = tmp_path_factory.mktemp("ops")
    home = init_home(root / "home", ["auth", "bank", "metrics"], chain_id="ops-1", moniker="ops")
    accounts = stress.generate_accounts(ACCOUNTS, seed="ops-tests")
    stress.fund_in_genesis(home / "config" / "genesis.json", [a.address for a in accounts], FUNDS)
    accounts_file = root / "accounts.json"
    stress.write_accounts_file(accounts_file, accounts)
    process = NodeProcess(home, timeout_commit="200ms")
    try:
        process.start(timeout=120)
        yield OpsNode(process, home, accounts_file, accounts)
    finally:
        process.kill()
