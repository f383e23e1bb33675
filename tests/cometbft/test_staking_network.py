"""Proof of stake on a real 4-validator CometBFT network (`sultan testnet` with staking).

`Testnet.init` makes the genesis the way operators do (an operator key per node, gentxs for
the CometBFT consensus keys, collect-gentxs); staking's validator updates then drive
CometBFT's validator set. The tests run in file order on one network: the genesis set, a
new validator that pushes the weakest one out and signs blocks, a delegation that reorders
the top set, an undelegation paid back after `unbonding_time`, and agreement everywhere.
The new validator is a fresh node that joined by state sync (a snapshot of the Sultan
apps, every 10 blocks) before it bonded.

Updates from EndBlock at height H take effect in CometBFT's set at H+2 (ABCI); the tests
check the set at exactly H+1 (old) and H+2 (new).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from cmt_env import DENOM, WAIT, Net, amount_of, events, fast_node_config, free_port_block
from sultan_staking.gentx import create_validator_msg
from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2 as stx

from sultan.client.keyring import Keyring, address_of, private_key_from_mnemonic
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import Coin, Coins
from sultan.kernel.config import Config
from sultan.kernel.crypto import secp256k1
from sultan.kernel.crypto.keys import load_priv_validator_key
from sultan.kernel.timeutil import parse_duration_ns, parse_rfc3339_nano
from sultan.pb.cosmos.base.v1beta1 import coin_pb2
from sultan.testing.wallet import Wallet
from sultan.testnet import PORTS_PER_NODE, Testnet

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

CHAIN_ID = "pos-test-1"
MODULES = ("auth", "bank", "staking", "distribution")
POWERS = [10, 20, 30, 40]  # node0 is the weakest genesis validator
SNAPSHOT_INTERVAL = 10
# Snapshots every 10 blocks, 10 kept: each outlives CometBFT's 15 s snapshot discovery.
SNAPSHOTS = attrs.evolve(
    Config().app,
    state_sync=attrs.evolve(
        Config().app.state_sync, snapshot_interval=SNAPSHOT_INTERVAL, snapshot_keep_recent=10
    ),
)
UNBONDING = "20s"
MILLION = 10**6
NEW_OPERATOR = Wallet.from_seed("pos-new-operator")
DELEGATOR = Wallet.from_seed("pos-delegator")
FEE = 4000
GAS = 400_000


def report(text: str) -> None:
    print(f"\n[staking-net] {text}", file=sys.stderr)


@attrs.define
class PosNet:
    net: Net
    # CometBFT address → node index, for every node that ever was a validator.
    by_address: dict[str, int] = attrs.field(factory=dict)
    # Filled by the tests as they go (file order).
    expected: dict[str, int] = attrs.field(factory=dict)

    @property
    def t(self) -> Testnet:
        return self.net.t

    def address(self, i: int) -> str:
        return self.t.nodes[i].validator_address

    def valoper(self, i: int) -> str:
        return VALIDATOR_CODEC.to_string(ACCOUNT_CODEC.to_bytes(self.t.nodes[i].operator_address))

    def named(self, vset: dict[str, int]) -> dict[str, int]:
        """{node name: power}, for readable failures."""
        return {f"node{self.by_address.get(a, '?')}": p for a, p in sorted(vset.items())}


@pytest.fixture(scope="module")
def pos(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PosNet]:
    base = fast_node_config()
    root = tmp_path_factory.mktemp("pos-testnet")
    started = time.monotonic()
    testnet = Testnet.init(
        root,
        validators=4,
        cometbft=cometbft_bin,
        chain_id=CHAIN_ID,
        # Room for the fifth node's ports right after the four validators'.
        starting_port=free_port_block(PORTS_PER_NODE * 5),
        modules=MODULES,
        powers=POWERS,
        accounts=[
            (NEW_OPERATOR.address, Coins.parse(f"{100 * MILLION}{DENOM}")),
            (DELEGATOR.address, Coins.parse(f"{100 * MILLION}{DENOM}")),
        ],
        app_state_overrides={
            "staking": {"params": {"max_validators": 4, "unbonding_time": UNBONDING}}
        },
        node_config=base,
        app_config=SNAPSHOTS,  # the fifth node joins by state sync
    )
    try:
        testnet.start(timeout=WAIT)
        net = Net(testnet)
        net.wait_height(2)
        report(f"4-validator PoS network up in {time.monotonic() - started:.1f}s")
        pos = PosNet(net, {n.validator_address: n.index for n in testnet.nodes})
        yield pos
    finally:
        testnet.stop(timeout=10)


def send(pos: PosNet, via: int, wallet: Wallet, msg: Any) -> dict[str, Any]:
    """Sign `msg`, broadcast it to node `via`'s CometBFT, wait until it is committed."""
    return pos.net.submit(via, wallet, [msg], fee=FEE, gas=GAS)


def assert_set_switches(pos: PosNet, height: int, before: dict[str, int]) -> None:
    """The updates of block `height` are CometBFT's set at height+2, not before."""
    pos.net.wait_height(height + 2, [0])
    at_next = pos.net.validator_set(0, height + 1)
    assert at_next == before, pos.named(at_next)
    at_switch = pos.net.validator_set(0, height + 2)
    assert at_switch == pos.expected, (pos.named(at_switch), pos.named(pos.expected))


def test_genesis_validators_are_cometbfts_set_with_powers_of_their_bonds(pos: PosNet) -> None:
    net = pos.net
    height = net.height(0)
    pos.expected = {pos.address(i): p for i, p in enumerate(POWERS)}
    for i in range(4):
        assert net.validator_set(i, height) == pos.expected, f"node{i}"
    # The staking module's Validators query (REST) says the same: bonded, tokens = power·10^6,
    # for the consensus keys CometBFT signs with, operated by each node's operator key.
    status, body = net.rest(1, "/cosmos/staking/v1beta1/validators?status=BOND_STATUS_BONDED")
    assert status == 200, body
    cmt = {
        v["pub_key"]["value"]: int(v["voting_power"])
        for v in net.rpc(1, "validators", height=str(height))["validators"]
    }
    staking = {v["consensus_pubkey"]["key"]: int(v["tokens"]) for v in body["validators"]}
    assert {k: t // MILLION for k, t in staking.items()} == cmt
    assert all(t % MILLION == 0 for t in staking.values())
    assert {v["operator_address"] for v in body["validators"]} == {pos.valoper(i) for i in range(4)}
    assert {v["description"]["moniker"] for v in body["validators"]} == {
        f"node{i}" for i in range(4)
    }


def test_new_validator_enters_the_top_set_pushes_out_the_weakest_and_signs(pos: PosNet) -> None:
    net, t = pos.net, pos.t
    # A fresh node joins by state sync (once the validators serve a snapshot) ...
    net.wait_height(SNAPSHOT_INTERVAL + 2, [0])
    started = time.monotonic()
    new = t.add_node(state_sync=True)
    t.start([new.index], timeout=WAIT)
    caught_up = net.wait_caught_up(new.index)
    earliest = int(net.rpc(new.index, "status")["sync_info"]["earliest_block_height"])
    report(
        f"node{new.index} state-synced from block {earliest} and caught up at height "
        f"{caught_up} in {time.monotonic() - started:.1f}s"
    )
    assert earliest > SNAPSHOT_INTERVAL, earliest  # it restored a snapshot, no replay
    assert "state restored from snapshot" in new.log_text("sultan")
    # ... and then becomes a validator.
    pos.by_address[new.validator_address] = new.index
    key_file = Path("config") / "priv_validator_key.json"
    pub_key = load_priv_validator_key(new.cometbft_home / key_file).pub_key
    # add_node gave the Sultan home the same consensus key (create-validator's default).
    assert load_priv_validator_key(new.sultan_home / key_file).pub_key == pub_key
    self_bond = 25 * MILLION  # more than node0's 10·10^6, less than node1's 20·10^6
    msg = create_validator_msg(
        NEW_OPERATOR.address_bytes, pub_key, Coin(DENOM, self_bond), moniker="node4"
    )
    before = dict(pos.expected)
    committed = send(pos, 2, NEW_OPERATOR, msg)
    height = int(committed["height"])
    pos.expected = {pos.address(i): POWERS[i] for i in (1, 2, 3)}
    pos.expected[new.validator_address] = 25
    assert_set_switches(pos, height, before)
    # Staking agrees: node4 bonded, node0 unbonding.
    status, body = net.rest(0, "/cosmos/staking/v1beta1/validators")
    assert status == 200, body
    by_operator = {v["operator_address"]: v["status"] for v in body["validators"]}
    new_valoper = VALIDATOR_CODEC.to_string(NEW_OPERATOR.address_bytes)
    assert by_operator[new_valoper] == "BOND_STATUS_BONDED"
    assert by_operator[pos.valoper(0)] == "BOND_STATUS_UNBONDING"
    # Block h's last_commit holds the votes of set(h-1): from height+3 on, that is the new
    # set. node4 signs (a COMMIT vote of its own in some block), node0 never again.
    first = height + 3
    signed_by_new: list[int] = []
    deadline = time.monotonic() + WAIT
    h = first
    while (not signed_by_new or h < first + 10) and time.monotonic() < deadline:
        net.wait_height(h, [0])
        sigs = net.rpc(0, "block", height=str(h))["block"]["last_commit"]["signatures"]
        assert len(sigs) == 4
        present = {s["validator_address"] for s in sigs if s["validator_address"]}
        assert present <= set(pos.expected), (h, present)
        if any(
            s["validator_address"] == new.validator_address and s["block_id_flag"] == 2
            for s in sigs
        ):
            signed_by_new.append(h)
        h += 1
    assert signed_by_new, f"node4 signed no block between {first} and {h - 1}"
    report(f"node4 signed blocks {signed_by_new[:5]}… (its set took effect at {height + 2})")
    net.wait_height(h + 5)  # the chain keeps going, on all five nodes


def test_delegation_reorders_the_top_set_at_the_expected_height(pos: PosNet) -> None:
    # 12·10^6 to node0 (unbonding, power 10) → 22 > node1's 20: node0 back, node1 out.
    msg = stx.MsgDelegate(
        delegator_address=DELEGATOR.address,
        validator_address=pos.valoper(0),
        amount=coin_pb2.Coin(denom=DENOM, amount=str(12 * MILLION)),
    )
    before = dict(pos.expected)
    committed = send(pos, 1, DELEGATOR, msg)
    height = int(committed["height"])
    pos.expected = dict(before)
    del pos.expected[pos.address(1)]
    pos.expected[pos.address(0)] = 22
    assert_set_switches(pos, height, before)
    status, body = pos.net.rest(3, f"/cosmos/staking/v1beta1/validators/{pos.valoper(1)}")
    assert status == 200 and body["validator"]["status"] == "BOND_STATUS_UNBONDING", body


def test_undelegated_tokens_return_exactly_after_the_unbonding_time(pos: PosNet) -> None:
    net = pos.net
    amount = 1 * MILLION
    msg = stx.MsgUndelegate(
        delegator_address=DELEGATOR.address,
        validator_address=pos.valoper(0),
        amount=coin_pb2.Coin(denom=DENOM, amount=str(amount)),
    )
    before = dict(pos.expected)
    committed = send(pos, 0, DELEGATOR, msg)
    tx_height = int(committed["height"])
    # The tx pays its fee and (distribution) withdraws the delegation's rewards; the
    # undelegated tokens themselves are not paid yet.
    (fee_event,) = [e for e in events(committed, "tx") if "fee" in e]
    fee = amount_of(fee_event["fee"])
    assert fee == FEE
    withdrawn = sum(
        amount_of(e["amount"])
        for e in events(committed, "withdraw_rewards")
        if e["delegator"] == DELEGATOR.address
    )
    (unbond,) = events(committed, "unbond")
    assert amount_of(unbond["amount"]) == amount
    balance_before = net.balance_at(0, DELEGATOR.address, tx_height - 1)
    after_tx = net.balance_at(0, DELEGATOR.address, tx_height)
    assert after_tx == balance_before - fee + withdrawn
    # node0's stake drops by one power unit: CometBFT has it at tx_height + 2.
    pos.expected = {**before, pos.address(0): 21}
    assert_set_switches(pos, tx_height, before)

    # Paid in the first block whose time is >= the tx block's time + unbonding_time.
    due_ns = net.block_time_ns(0, tx_height) + parse_duration_ns(UNBONDING)
    assert parse_rfc3339_nano(unbond["completion_time"]) == due_ns
    deadline = time.monotonic() + parse_duration_ns(UNBONDING) / 1e9 + WAIT
    while net.balance(0, DELEGATOR.address) == after_tx:
        assert time.monotonic() < deadline, "the unbonded tokens never came back"
        time.sleep(0.5)
    paid_height = net.height(0)
    h = tx_height
    while h <= paid_height and net.balance_at(0, DELEGATOR.address, h) == after_tx:
        h += 1
    paid_at = h
    assert net.balance_at(0, DELEGATOR.address, paid_at) == after_tx + amount
    assert net.block_time_ns(0, paid_at) >= due_ns > net.block_time_ns(0, paid_at - 1)
    report(
        f"undelegated at height {tx_height} (fee {fee}, rewards withdrawn {withdrawn}), "
        f"paid back at {paid_at} ({paid_at - tx_height} blocks later)"
    )
    finalize = net.rpc(0, "block_results", height=str(paid_at))["finalize_block_events"]
    completed = [
        {a["key"]: a["value"] for a in e["attributes"]}
        for e in finalize
        if e["type"] == "complete_unbonding"
    ]
    assert completed == [
        {
            "amount": f"{amount}{DENOM}",
            "validator": pos.valoper(0),
            "delegator": DELEGATOR.address,
            "mode": "EndBlock",
        }
    ]


def test_all_nodes_agree_on_block_and_app_hash_at_every_height(pos: PosNet) -> None:
    net = pos.net
    heights = net.wait_height(net.height(0) + 2)
    upto = min(heights.values())
    net.assert_agree(upto, [0, 1, 2, 3])
    # node4 state-synced: its blocks start after the snapshot it restored.
    earliest = int(net.rpc(4, "status")["sync_info"]["earliest_block_height"])
    assert net.chain_hashes(4, earliest, upto) == net.chain_hashes(0, earliest, upto)
    report(f"validators agree on heights 1..{upto}, node4 on {earliest}..{upto}")


# -- the CLI (no network needed) -------------------------------------------------------------


def sultan_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cli_init_makes_a_pos_genesis_and_add_node_adds_a_full_node(
    cometbft_bin: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "net"
    start = free_port_block(PORTS_PER_NODE * 3)
    common = ["--cometbft", str(cometbft_bin), "--modules", "auth,bank,staking,distribution"]
    # Bad input is refused before anything is written.
    for bad, message in (
        (["--genesis-set", "staking.params.max_validators=-1"], "max_validators"),
        (["--genesis-set", "stakin.params.max_validators=4"], "stakin"),
        (["--powers", "3,5,7"], "powers"),
    ):
        result = sultan_cli("testnet", "init", "-n", "2", "-o", str(out_dir), *common, *bad)
        assert result.returncode == 1 and "Error:" in result.stderr, result
        assert message in result.stderr
        assert not out_dir.exists() or not any(out_dir.iterdir())
    result = sultan_cli(
        "testnet", "init", "-n", "2", "-o", str(out_dir), "--chain-id", "pos-cli-1",
        "--starting-port", str(start), "--powers", "3,5",
        "--genesis-set", "staking.params.unbonding_time=60s",
        "--genesis-set", "staking.params.max_validators=7", *common,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    net = Testnet(out_dir)
    genesis = {
        (n.name, kind): (n.dir / kind / "config" / "genesis.json").read_bytes()
        for n in net.nodes
        for kind in ("sultan", "cometbft")
    }
    assert len(set(genesis.values())) == 1  # one genesis, byte for byte, in all four homes
    doc = json.loads(next(iter(genesis.values())))
    assert {(v["address"], v["power"]) for v in doc["validators"]} == {
        (net.nodes[0].validator_address, "3"),
        (net.nodes[1].validator_address, "5"),
    }
    staking = doc["app_state"]["staking"]
    assert staking["params"]["unbonding_time"] == "60s"
    assert staking["params"]["max_validators"] == 7
    assert len(staking["gen_txs"]) == 2
    balances = {b["address"]: b["coins"] for b in doc["app_state"]["bank"]["balances"]}
    for node, power in zip(net.nodes, (3, 5), strict=True):
        assert node.operator_address in result.stdout
        assert str(node.sultan_home / "keyring-test") in result.stdout
        assert Keyring(node.sultan_home, "test").get("validator").address == node.operator_address
        seed = json.loads((node.sultan_home / "key_seed.json").read_text())
        assert address_of(secp256k1.public_key(private_key_from_mnemonic(seed["mnemonic"]))) == (
            node.operator_address
        )
        assert balances[node.operator_address] == [
            {"denom": DENOM, "amount": str(power * MILLION + 1_000_000_000)}
        ]
        for name in ("priv_validator_key.json", "node_key.json"):  # what CometBFT signs with
            cmt = (node.cometbft_home / "config" / name).read_bytes()
            assert (node.sultan_home / "config" / name).read_bytes() == cmt
    assert sorted(p.name for p in (out_dir / "gentxs").iterdir()) == sorted(
        f"gentx-{n.node_id}.json" for n in net.nodes
    )

    result = sultan_cli("testnet", "add-node", str(out_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Added node2" in result.stdout
    net = Testnet(out_dir)
    new = net.nodes[2]
    assert new.ports["p2p"] == start + 2 * PORTS_PER_NODE and new.operator_address == ""
    for kind in ("sultan", "cometbft"):
        assert (new.dir / kind / "config" / "genesis.json").read_bytes() == genesis[
            ("node0", "sultan")
        ]
    cmt_key = (new.cometbft_home / "config" / "priv_validator_key.json").read_bytes()
    assert (new.sultan_home / "config" / "priv_validator_key.json").read_bytes() == cmt_key
    cmt_config = tomllib.loads((new.cometbft_home / "config" / "config.toml").read_text())
    peers = cmt_config["p2p"]["persistent_peers"].split(",")
    assert sorted(peers) == sorted(n.p2p_address for n in net.nodes[:2])
