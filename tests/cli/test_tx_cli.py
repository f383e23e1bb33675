"""`sultan genesis add-account`, `sultan tx bank send` and the `sultan query` commands.

The genesis tests edit a home created by `sultan init`; the rest run against a real node
(`NodeProcess`) started from such a home, driving the CLI in subprocesses as an operator.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from sultan.client.keyring import Keyring
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.testing import NodeProcess, init_home

from .conftest import json_out, ok, run_cli

ABANDON = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
ABANDON_ADDRESS = "sultan19rl4cm2hmr8afy4kldpxz3fka4jguq0av5s5es"
PASSPHRASE = "correct horse battery"
DENOM = "usultan"


def _genesis(home: Path) -> dict:
    return json.loads((home / "config" / "genesis.json").read_text())


# -- genesis add-account ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pristine_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_home(tmp_path_factory.mktemp("genesis") / "home", ["auth", "bank"])


@pytest.fixture
def home(pristine_home: Path, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "home"
    shutil.copytree(pristine_home, copy)
    return copy


def test_add_account_by_address_and_by_key(cli, home):
    keyring = Keyring(home, "test")
    dev, _ = keyring.add("dev")
    out = ok(
        cli("genesis", "add-account", ABANDON_ADDRESS, f"1000{DENOM},7stake", "--home", str(home))
    )
    assert ABANDON_ADDRESS in out.stdout and f"7stake,1000{DENOM}" in out.stdout
    ok(
        cli(
            "genesis",
            "add-account",
            "dev",
            f"500{DENOM}",
            "--home",
            str(home),
            "--keyring-backend",
            "test",
        )
    )
    state = _genesis(home)["app_state"]
    accounts = state["auth"]["accounts"]
    assert [(a["address"], a["account_number"]) for a in accounts] == [
        (ABANDON_ADDRESS, "0"),
        (dev.address, "1"),
    ]
    assert all(
        a["@type"] == "/cosmos.auth.v1beta1.BaseAccount" and a["sequence"] == "0" for a in accounts
    )
    balances = state["bank"]["balances"]
    assert [b["address"] for b in balances] == sorted(
        (ABANDON_ADDRESS, dev.address), key=ACCOUNT_CODEC.to_bytes
    )
    by_address = {b["address"]: b["coins"] for b in balances}
    assert by_address[ABANDON_ADDRESS] == [
        {"denom": "stake", "amount": "7"},
        {"denom": DENOM, "amount": "1000"},
    ]
    assert by_address[dev.address] == [{"denom": DENOM, "amount": "500"}]
    assert state["bank"]["supply"] == [
        {"denom": "stake", "amount": "7"},
        {"denom": DENOM, "amount": "1500"},
    ]


def test_add_account_append(cli, home):
    ok(cli("genesis", "add-account", ABANDON_ADDRESS, f"1000{DENOM}", "--home", str(home)))
    ok(
        cli(
            "genesis",
            "add-account",
            ABANDON_ADDRESS,
            f"1{DENOM},2stake",
            "--append",
            "--home",
            str(home),
        )
    )
    state = _genesis(home)["app_state"]
    assert len(state["auth"]["accounts"]) == 1
    assert state["bank"]["balances"][0]["coins"] == [
        {"denom": "stake", "amount": "2"},
        {"denom": DENOM, "amount": "1001"},
    ]
    assert state["bank"]["supply"] == state["bank"]["balances"][0]["coins"]


@pytest.mark.parametrize(
    "args, message",
    [
        ((ABANDON_ADDRESS, "0usultan"), "give a positive amount"),
        ((ABANDON_ADDRESS, "10"), "invalid coins '10'"),
        ((ABANDON_ADDRESS, "5.5usultan"), "invalid coin expression"),
        ((ABANDON_ADDRESS, "5usultan,3usultan"), "duplicate denomination usultan"),
        (("sultan1notanaddress", "5usultan"), "invalid address 'sultan1notanaddress'"),
        (("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4", "5usultan"), "not found in keyring"),
        (("nobody", "5usultan"), "key 'nobody' not found"),
    ],
)
def test_add_account_refuses_bad_input_and_leaves_genesis_alone(cli, home, args, message):
    before = (home / "config" / "genesis.json").read_bytes()
    result = cli("genesis", "add-account", *args, "--home", str(home), "--keyring-backend", "test")
    assert result.returncode == 1, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr
    assert (home / "config" / "genesis.json").read_bytes() == before


def test_add_account_refuses_duplicates(cli, home):
    ok(cli("genesis", "add-account", ABANDON_ADDRESS, f"1000{DENOM}", "--home", str(home)))
    before = (home / "config" / "genesis.json").read_bytes()
    again = cli("genesis", "add-account", ABANDON_ADDRESS, f"5{DENOM}", "--home", str(home))
    assert again.returncode == 1
    assert f"account {ABANDON_ADDRESS} is already in genesis" in again.stderr
    assert "--append" in again.stderr
    assert (home / "config" / "genesis.json").read_bytes() == before


def test_add_account_refuses_an_invalid_genesis(cli, home):
    path = home / "config" / "genesis.json"
    doc = json.loads(path.read_text())
    doc["app_state"]["bank"]["supply"] = [{"denom": DENOM, "amount": "5"}]  # ≠ sum of balances
    path.write_text(json.dumps(doc))
    result = cli("genesis", "add-account", ABANDON_ADDRESS, f"5{DENOM}", "--home", str(home))
    assert result.returncode == 1 and "bank genesis is invalid already" in result.stderr


def test_add_account_needs_bank(cli, tmp_path):
    home = init_home(tmp_path / "bare", [])
    result = cli("genesis", "add-account", ABANDON_ADDRESS, f"5{DENOM}", "--home", str(home))
    assert result.returncode == 1 and "needs the auth and bank modules" in result.stderr


# -- against a running node ---------------------------------------------------------------------


class Chain:
    def __init__(self, home: Path, node: NodeProcess, alice: str, carol: str) -> None:
        self.home = home
        self.node = node
        self.alice = alice  # test backend, funded
        self.carol = carol  # file backend, funded
        self.keys = ("--home", str(home), "--keyring-backend", "test")
        self.rpc = ("--node", node.rpc_url)

    def balance(self, address: str, denom: str = DENOM) -> int:
        out = json_out(run_cli("query", "bank", "balances", address, "--denom", denom, *self.rpc))
        assert out["denom"] == denom
        return int(out["amount"])

    def account(self, address: str) -> dict:
        return json_out(run_cli("query", "auth", "account", address, *self.rpc))["account"]

    def send(self, *args: str, keys: tuple[str, ...] | None = None, **kw):
        return run_cli("tx", "bank", "send", *args, *(keys or self.keys), *self.rpc, **kw)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    home = init_home(tmp_path_factory.mktemp("txcli") / "home", ["auth", "bank"])
    alice = json_out(
        run_cli(
            "keys", "add", "alice", "--home", str(home), "--keyring-backend", "test", "-o", "json"
        )
    )["address"]
    carol = json_out(
        run_cli(
            "keys", "add", "carol", "--home", str(home), "-o", "json",
            env={"SULTAN_KEYRING_PASSPHRASE": PASSPHRASE},
        )
    )["address"]  # fmt: skip
    ok(
        run_cli(
            "genesis",
            "add-account",
            "alice",
            f"10000000{DENOM},500stake",
            "--home",
            str(home),
            "--keyring-backend",
            "test",
        )
    )
    ok(run_cli("genesis", "add-account", carol, f"1000000{DENOM}", "--home", str(home)))
    node = NodeProcess(home, timeout_commit="150ms")
    try:
        node.start()
        yield Chain(home, node, alice, carol)
    finally:
        node.kill()


def _fee_of(chain: Chain, tx_hash: str) -> tuple[dict, int]:
    tx = json_out(run_cli("query", "tx", tx_hash, *chain.rpc))
    (coin,) = tx["tx"]["auth_info"]["fee"]["amount"]
    assert coin["denom"] == DENOM
    return tx, int(coin["amount"])


def _txhash(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith("txhash:"))
    return line.split()[1]


def test_send_moves_exact_amounts_and_queries_show_it(chain):
    bob = ACCOUNT_CODEC.to_string(bytes(range(20)))
    alice_before = chain.balance(chain.alice)
    sequence_before = int(chain.account(chain.alice)["sequence"])
    result = ok(chain.send("alice", bob, f"12345{DENOM}", "--fees", f"700{DENOM}"))
    assert "code:    0 ok" in result.stdout
    tx_hash = _txhash(result.stdout)
    assert chain.balance(bob) == 12345
    assert chain.balance(chain.alice) == alice_before - 12345 - 700
    assert chain.balance(chain.alice, "stake") == 500
    tx, fee = _fee_of(chain, tx_hash)
    assert fee == 700
    assert tx["txhash"] == tx_hash and tx["code"] == 0 and int(tx["height"]) > 0
    assert tx["timestamp"].endswith("Z")
    (msg,) = tx["tx"]["body"]["messages"]
    assert msg == {
        "@type": "/cosmos.bank.v1beta1.MsgSend",
        "from_address": chain.alice,
        "to_address": bob,
        "amount": [{"denom": DENOM, "amount": "12345"}],
    }
    assert any(e["type"] == "transfer" for e in tx["events"])
    account = chain.account(chain.alice)
    assert account["@type"] == "/cosmos.auth.v1beta1.BaseAccount"
    assert account["address"] == chain.alice
    assert int(account["sequence"]) == sequence_before + 1
    assert account["pub_key"]["@type"] == "/cosmos.crypto.secp256k1.PubKey"
    all_balances = json_out(run_cli("query", "bank", "balances", chain.alice, *chain.rpc))
    assert {c["denom"] for c in all_balances["balances"]} == {DENOM, "stake"}


def test_send_with_gas_auto_and_gas_prices(chain):
    before = chain.balance(chain.alice)
    result = ok(
        chain.send(
            "alice", ABANDON_ADDRESS, f"1000{DENOM}", "--gas", "auto", "--gas-prices", f"0.025{DENOM}",
            "-o", "json",
        )
    )  # fmt: skip
    out = json.loads(result.stdout)
    assert out["code"] == 0
    gas_wanted, gas_used = int(out["gas_wanted"]), int(out["gas_used"])
    assert gas_used <= gas_wanted < 2 * gas_used  # simulated × 1.5, not the 200000 default
    _tx, fee = _fee_of(chain, out["txhash"])
    assert fee == math.ceil(gas_wanted * 0.025)
    assert chain.balance(chain.alice) == before - 1000 - fee
    assert chain.balance(ABANDON_ADDRESS) >= 1000


def test_send_from_address_and_file_backend(chain, tmp_path):
    passphrase_file = tmp_path / "pass"
    passphrase_file.write_text(PASSPHRASE + "\n")
    keys = ("--home", str(chain.home), "--keyring-passphrase-file", str(passphrase_file))
    before = chain.balance(chain.carol)
    ok(chain.send(chain.carol, chain.alice, f"10{DENOM}", "--fees", f"5{DENOM}", keys=keys))
    assert chain.balance(chain.carol) == before - 15
    wrong_file = tmp_path / "wrong"
    wrong_file.write_text("not the passphrase")
    wrong = chain.send(
        "carol", chain.alice, f"10{DENOM}",
        keys=("--home", str(chain.home), "--keyring-passphrase-file", str(wrong_file)),
    )  # fmt: skip
    assert wrong.returncode == 1 and "wrong keyring passphrase" in wrong.stderr
    assert chain.balance(chain.carol) == before - 15


def test_insufficient_funds_with_gas_auto_changes_nothing(chain):
    before, sequence = chain.balance(chain.alice), chain.account(chain.alice)["sequence"]
    result = chain.send("alice", ABANDON_ADDRESS, f"10000000000{DENOM}", "--gas", "auto")
    assert result.returncode == 1
    assert "insufficient funds" in result.stderr and "code 5" in result.stderr
    assert "spendable balance" in result.stderr
    assert chain.balance(chain.alice) == before
    assert chain.account(chain.alice)["sequence"] == sequence


def test_fee_above_balance_is_refused_by_checktx_and_changes_nothing(chain):
    before, sequence = chain.balance(chain.alice), chain.account(chain.alice)["sequence"]
    result = chain.send("alice", ABANDON_ADDRESS, f"1{DENOM}", "--fees", f"99999999999{DENOM}")
    assert result.returncode == 1
    assert "refused by the node" in result.stderr and "insufficient funds" in result.stderr
    assert chain.balance(chain.alice) == before
    assert chain.account(chain.alice)["sequence"] == sequence


def test_insufficient_funds_in_the_block_exits_1_and_only_the_fee_is_taken(chain):
    # As in the Cosmos SDK: CheckTx runs the ante chain only, so the send fails in its block;
    # the fee and the sequence bump stay, the amount does not move.
    before, sequence = chain.balance(chain.alice), int(chain.account(chain.alice)["sequence"])
    recipient_before = chain.balance(ABANDON_ADDRESS)
    result = chain.send("alice", ABANDON_ADDRESS, f"10000000000{DENOM}", "--fees", f"300{DENOM}")
    assert result.returncode == 1
    assert "code:    5 FAILED" in result.stdout
    assert "failed in block" in result.stderr and "insufficient funds" in result.stderr
    assert chain.balance(chain.alice) == before - 300
    assert chain.balance(ABANDON_ADDRESS) == recipient_before
    assert int(chain.account(chain.alice)["sequence"]) == sequence + 1
    failed = json_out(run_cli("query", "tx", _txhash(result.stdout), *chain.rpc))
    assert failed["code"] == 5 and "insufficient funds" in failed["raw_log"]


def test_dry_run_signs_but_does_not_send(chain):
    sequence = chain.account(chain.alice)["sequence"]
    out = json_out(
        chain.send("alice", ABANDON_ADDRESS, f"1{DENOM}", "--fees", f"1{DENOM}", "--dry-run")
    )
    assert out["sequence"] == sequence and out["chain_id"] == "test-1"
    assert out["tx"]["body"]["messages"][0]["@type"] == "/cosmos.bank.v1beta1.MsgSend"
    assert len(out["tx"]["signatures"]) == 1
    assert chain.account(chain.alice)["sequence"] == sequence


def test_cli_errors(chain):
    unknown_key = chain.send("nobody", ABANDON_ADDRESS, f"1{DENOM}")
    assert unknown_key.returncode == 1 and "key 'nobody' not found" in unknown_key.stderr
    bad_coins = chain.send("alice", ABANDON_ADDRESS, "lots")
    assert bad_coins.returncode == 2 and "Invalid value for COINS" in bad_coins.stderr
    both = chain.send(
        "alice", ABANDON_ADDRESS, f"1{DENOM}", "--fees", f"1{DENOM}", "--gas-prices", f"1{DENOM}"
    )
    assert both.returncode == 1 and "either --fees or --gas-prices" in both.stderr
    never_funded = ACCOUNT_CODEC.to_string(bytes(20))
    missing = run_cli("query", "auth", "account", never_funded, *chain.rpc)
    assert missing.returncode == 1 and f"account {never_funded} not found" in missing.stderr
    no_tx = run_cli("query", "tx", "AB" * 32, *chain.rpc)
    assert no_tx.returncode == 1 and "not found" in no_tx.stderr
    bad_hash = run_cli("query", "tx", "xyz", *chain.rpc)
    assert bad_hash.returncode == 1 and "invalid tx hash" in bad_hash.stderr
    bad_address = run_cli("query", "bank", "balances", "sultan1nope", *chain.rpc)
    assert bad_address.returncode == 1 and "decoding bech32 failed" in bad_address.stderr
    from sultan.testing import free_port

    down = run_cli(
        "query", "bank", "balances", chain.alice, "--node", f"http://127.0.0.1:{free_port()}"
    )
    assert down.returncode == 1 and "cannot reach the node" in down.stderr
    for result in (unknown_key, both, missing, no_tx, bad_address, down):
        assert "Traceback" not in result.stderr


def test_node_defaults_to_the_home_config_and_query_block(chain):
    # No --node: the RPC address comes from <home>/config/config.toml, which the test node
    # overrides on its command line — so point a copy of the config at the real port.
    import re

    config = chain.home / "config" / "config.toml"
    original = config.read_text()
    config.write_text(
        re.sub(
            r'(?m)^laddr = "tcp://127\.0\.0\.1:26657"$',
            f'laddr = "tcp://0.0.0.0:{chain.node.rpc_port}"',
            original,
        )
    )
    try:
        out = json_out(run_cli("query", "bank", "balances", chain.alice, "--home", str(chain.home)))
        assert out["balances"]
        block = json_out(run_cli("query", "block", "2", "--home", str(chain.home)))
        assert block["block"]["header"]["height"] == "2"
    finally:
        config.write_text(original)
