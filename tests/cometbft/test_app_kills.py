"""SIGKILL a validator's Sultan application under a running 4-validator CometBFT network.

When its application dies, a CometBFT node loses its ABCI connections and stops itself;
restarted (application first), CometBFT's handshake (ABCI Info, then a replay of the
blocks the application lacks) must bring the application back to the chain's app hash.
Where the application can be, relative to CometBFT's block store (store) and state (state),
once its CometBFT has stopped:

- app == state == store: killed between blocks — nothing to replay;
- app == state == store - 1: killed between FinalizeBlock and the end of Commit's write —
  CometBFT re-executes the last block with the real application;
- app == store == state + 1: killed after Commit's write, before CometBFT saved its state —
  CometBFT replays the last block with a mock application (saved FinalizeBlock response);
- app far behind store: `test_app_crash_behind_running_cometbft_recovers_by_replay` in
  test_network.py (the application's data restored to an older copy).

`test_app_killed_at_chosen_point_recovers_by_handshake` forces the middle two cases with
crashing_app.py; `test_random_app_kills_under_load_recover_by_handshake` SIGKILLs a random
validator's application (SULTAN_CMT_KILL_CYCLES cycles, default 6; seed SULTAN_CMT_KILL_SEED,
printed) at a random moment, or a random few ms into FinalizeBlock or Commit, while bank txs
are sent, and after every restart checks the chain, every CometBFT's and application's app
hash, exact balances at one height on every node, and that every tx whose commit was
confirmed is found by hash on every node.

Two CometBFT v0.38 behaviours are handled, asserted and reported, not hidden: its stop can
hang after its app died (STOP_HANG_S), and it can lose the tx index of the block it
committed just before stopping (repair_tx_index: `cometbft reindex-event` restores it).

This module runs its own network (not test_network.py's), so the two never disturb each other.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cmt_env import CHAIN_ID, DENOM, FUNDS, VALIDATORS, WAIT, Net, fast_node_config, free_port_block
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx
from test_network import abci_info_direct

from sultan.kernel.coins import Coins
from sultan.testing.wallet import Wallet
from sultan.testnet import PORTS_PER_NODE, Testnet

CYCLES = int(os.environ.get("SULTAN_CMT_KILL_CYCLES") or "6")
SEED = int(os.environ.get("SULTAN_CMT_KILL_SEED") or secrets.randbits(32))
pytestmark = [pytest.mark.timeout(900 + 180 * CYCLES), pytest.mark.slow]

CRASHING_APP = str(Path(__file__).with_name("crashing_app.py"))
SENDERS = [Wallet.from_seed(f"cmt-kills-sender-{k}") for k in range(3)]
RECIPIENTS = [Wallet.from_seed(f"cmt-kills-recipient-{k}") for k in range(2)]
FEE = 2000
# CometBFT v0.38.26 can hang in its own shutdown after its app died: an ABCI call that
# consensus makes after the socket client has stopped (e.g. FinalizeBlock of a block it
# starts finalizing just then) waits forever, and stopping waits for consensus. (Upstream:
# the v0.38 socket client queues requests after stop; open cometbft PR #6054 makes them fail.)
# A normal stop takes milliseconds; after this long the hang is asserted and it is killed.
STOP_HANG_S = 15.0
COMMIT_WAIT = 20.0  # how long a sender waits to see its tx committed before asking again
REPLAY_LINE = re.compile(
    r"ABCI Replay Blocks .*appHeight=(\d+) storeHeight=(\d+) stateHeight=(\d+)"
)
# CometBFT's log lines at the start of a block's execution (then it saves the block and
# calls FinalizeBlock) and once FinalizeBlock has answered (then it calls Commit).
STAGE_LINES = {
    "FinalizeBlock": re.compile(rb"finalizing commit of block +module=\S+ height=(\d+) "),
    "Commit": re.compile(rb"executed block +module=\S+ height=(\d+) "),
}
COMMITTED_LINE = re.compile(r"committed block height=(\d+) txs=(\d+) app_hash=([0-9A-F]*)")


def report(text: str) -> None:
    print(f"\n[cmt-kills] {text}", file=sys.stderr)


# -- the bank load ---------------------------------------------------------------------------


@dataclass
class Sent:
    """One tx handed to a node. height 0 = not (yet) known to be committed."""

    tx_hash: str
    sender: int
    recipient: int
    amount: int
    height: int = 0
    code: int = -1
    confirmed: bool = False  # its sender saw it committed with code 0


class Load:
    """One thread per sender: sign a MsgSend, broadcast it to a random running node, wait
    until some node has it committed, next. Every tx is recorded *before* its broadcast: a
    node killed during the call may still have taken (and gossiped) it."""

    def __init__(self, net: Net, seed: int) -> None:
        self.net = net
        self.seed = seed
        self.lock = threading.Lock()
        self.down: set[int] = set()
        self.sent: list[Sent] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(k,), name=f"sender{k}", daemon=True)
            for k in range(len(SENDERS))
        ]
        self.verified: dict[int, set[str]] = {i: set() for i in range(len(net.nodes))}
        self.reindexed: list[tuple[int, list[int], int]] = []  # (node, heights, txs)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def set_down(self, index: int, down: bool) -> None:
        with self.lock:
            (self.down.add if down else self.down.discard)(index)

    def up_nodes(self) -> list[int]:
        with self.lock:
            return [i for i in range(len(self.net.nodes)) if i not in self.down]

    def records(self) -> list[Sent]:
        with self.lock:
            return list(self.sent)

    def confirmed(self) -> list[Sent]:
        return [r for r in self.records() if r.confirmed]

    def assert_healthy(self) -> None:
        assert not self.errors, self.errors
        assert all(t.is_alive() for t in self._threads), "a sender thread stopped"

    def _run(self, k: int) -> None:
        try:
            self._send_loop(k)
        except BaseException as exc:  # recorded: the checks report it
            self.errors.append(f"sender{k}: {type(exc).__name__}: {exc}")

    def _send_loop(self, k: int) -> None:
        rng = random.Random(self.seed * 100 + k)
        wallet = SENDERS[k]
        account_number, sequence = 0, -1  # -1: ask a node
        while not self._stop.is_set():
            via = rng.choice(self.up_nodes())
            try:
                if sequence < 0:
                    account_number, sequence = self.net.account(via, wallet.address)
                recipient, amount = rng.randrange(len(RECIPIENTS)), rng.randint(1, 999)
                msg = bank_tx.MsgSend(
                    from_address=wallet.address,
                    to_address=RECIPIENTS[recipient].address,
                    amount=[{"denom": DENOM, "amount": str(amount)}],
                )
                tx = wallet.sign_tx(
                    [msg],
                    sequence=sequence,
                    account_number=account_number,
                    chain_id=CHAIN_ID,
                    fee=f"{FEE}{DENOM}",
                    gas=200_000,
                )
                record = Sent(hashlib.sha256(tx).hexdigest().upper(), k, recipient, amount)
                with self.lock:
                    self.sent.append(record)
                res = self.net.rpc(via, "broadcast_tx_sync", tx=base64.b64encode(tx).decode())
            except (OSError, RuntimeError, ValueError, KeyError, AssertionError):
                sequence = -1  # the node is going down (or just came up): start over
                self._stop.wait(0.3)
                continue
            if int(res["code"]) != 0:
                sequence = -1  # e.g. a wrong sequence after a tx lost with a killed node
                self._stop.wait(0.3)
                continue
            sequence = sequence + 1 if self._await_commit(record, rng) else -1

    def _await_commit(self, record: Sent, rng: random.Random) -> bool:
        deadline = time.monotonic() + COMMIT_WAIT
        while not self._stop.is_set() and time.monotonic() < deadline:
            found = lookup_tx(self.net, rng.choice(self.up_nodes()), record.tx_hash)
            if found is None:
                self._stop.wait(0.2)
                continue
            with self.lock:
                record.height, record.code = found
                record.confirmed = record.code == 0
            return record.confirmed
        return False

    def resolve(self, via: int) -> None:
        """Look up, on node `via`, every tx not yet known to be committed."""
        for record in self.records():
            if record.height == 0:
                found = lookup_tx(self.net, via, record.tx_hash)
                if found is not None:
                    with self.lock:
                        record.height, record.code = found


# -- checks ----------------------------------------------------------------------------------


def lookup_tx(net: Net, i: int, tx_hash: str) -> tuple[int, int] | None:
    """(height, code) of a committed tx as node i's CometBFT finds it by hash, or None."""
    try:
        r = net.rpc(i, "tx", hash=base64.b64encode(bytes.fromhex(tx_hash)).decode())
    except (OSError, RuntimeError, ValueError):
        return None
    return int(r["height"]), int(r["tx_result"].get("code", 0))


def next_app_hash(net: Net, ref: int, height: int) -> str:
    """The app hash after block `height`: the one the header of block height + 1 carries."""
    net.wait_height(height + 1, [ref])
    return str(net.rpc(ref, "block", height=str(height + 1))["block"]["header"]["app_hash"])


def app_info_at_least(net: Net, i: int, height: int) -> Any:
    """Node i's app's ABCI Info once it has committed `height` (its CometBFT saves a block
    before the app executes it, so the app may still be finishing the latest one)."""
    deadline = time.monotonic() + WAIT
    while True:
        info: Any = abci_info_direct(net.nodes[i].ports["abci"])
        if info.last_block_height >= height or time.monotonic() > deadline:
            assert info.last_block_height >= height, (i, height, info)
            return info
        time.sleep(0.1)


def verify_network(
    net: Net,
    load: Load,
    victim: int,
    *,
    store_height: int | None = None,
    all_nodes_all_txs: bool = False,
) -> int:
    """After `victim` was restarted (its CometBFT's block store was at `store_height` when
    it stopped): it catches up and everything agrees. Returns the height at which balances
    were checked."""
    others = [i for i in range(len(net.nodes)) if i != victim]
    ref = others[0]
    target = max(net.wait_height(0, others).values()) + 2
    top = min(net.wait_height(target).values())
    net.assert_agree(top)  # block hash and header app hash at every height, on every node

    # Every CometBFT's latest block (status: its hash and header app hash) is the chain's,
    # and every application (ABCI Info from its own socket, as the handshake reads it)
    # stands at the app hash that the chain's next header carries.
    for i in range(len(net.nodes)):
        sync = net.rpc(i, "status")["sync_info"]
        height = int(sync["latest_block_height"])
        net.wait_height(height, [ref])
        meta = net.rpc(ref, "block", height=str(height))
        assert height >= top and (sync["latest_block_hash"], sync["latest_app_hash"]) == (
            meta["block_id"]["hash"],
            meta["block"]["header"]["app_hash"],
        ), (i, height, sync)
        info = app_info_at_least(net, i, top)
        app_hash = bytes(info.last_block_app_hash).hex().upper()
        app_height = int(info.last_block_height)
        assert app_hash == next_app_hash(net, ref, app_height), (i, info)

    # Balances at `top`, on every node, are exactly what the committed txs imply (nothing
    # lost, nothing applied twice): each sent tx is looked up first on the reference node.
    load.resolve(ref)
    committed = [r for r in load.records() if r.code == 0 and 0 < r.height <= top]
    expected = {w.address: FUNDS for w in SENDERS} | {w.address: 0 for w in RECIPIENTS}
    for r in committed:
        expected[SENDERS[r.sender].address] -= r.amount + FEE
        expected[RECIPIENTS[r.recipient].address] += r.amount
    for i in range(len(net.nodes)):
        got = {address: net.balance_at(i, address, top) for address in expected}
        assert got == expected, (i, top, got, expected)

    # No committed tx lost: each tx whose commit a sender saw (up to `top`) is found by hash,
    # at its height, on every node — on the restarted one all of them, elsewhere those not
    # checked before.
    confirmed = [r for r in load.confirmed() if r.height <= top]
    for i in range(len(net.nodes)):
        todo = [
            r
            for r in confirmed
            if i == victim or all_nodes_all_txs or r.tx_hash not in load.verified[i]
        ]
        missing = [r for r in todo if lookup_tx(net, i, r.tx_hash) != (r.height, 0)]
        if missing and i == victim and store_height is not None:
            repair_tx_index(net, load, victim, missing, store_height)
            missing = [r for r in missing if lookup_tx(net, i, r.tx_hash) != (r.height, 0)]
        assert not missing, (i, missing[:5])
        load.verified[i].update(r.tx_hash for r in todo)
    load.assert_healthy()
    return top


def repair_tx_index(
    net: Net, load: Load, victim: int, missing: list[Sent], store_height: int
) -> None:
    """The restarted node's CometBFT does not find these txs by hash. CometBFT v0.38
    indexes a block's txs asynchronously after committing it, and a node that stops right
    then (its app died) never indexes that block: nothing replays it, since its state is
    complete. The txs must be in its blocks (nothing lost) and only in the last blocks before
    it stopped; then the upstream remedy, `cometbft reindex-event` (offline), must restore
    the index."""
    t, node = net.t, net.nodes[victim]
    heights = sorted({r.height for r in missing})
    for r in missing:
        block = net.rpc(victim, "block", height=str(r.height))["block"]
        hashes = {
            hashlib.sha256(base64.b64decode(tx)).hexdigest().upper()
            for tx in block["data"]["txs"] or []
        }
        assert r.tx_hash in hashes, (victim, r, "not in the node's block")
    assert heights[0] >= store_height - 2, (victim, heights, store_height)
    load.set_down(victim, True)
    assert t.stop_process(victim, "cometbft", 30) == "stopped"
    result = subprocess.run(
        [
            str(t.cometbft),
            "reindex-event",
            "--start-height",
            str(heights[0]),
            "--end-height",
            str(heights[-1]),
            "--home",
            str(node.cometbft_home),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "event re-index finished" in result.stdout, result
    t.start_cometbft(victim, timeout=WAIT)
    load.set_down(victim, False)
    load.reindexed.append((victim, heights, len(missing)))
    report(f"node{victim}: {len(missing)} txs of heights {heights} unindexed; reindexed")


def current_segment(text: str, kind: str) -> str:
    """The log of the latest start of `kind` (the file keeps every start)."""
    return text.rsplit(f"starting {kind}", 1)[-1]


def restart(net: Net, victim: int) -> tuple[Any, tuple[int, int, int], str]:
    """Start the victim's (normal) app, read its ABCI Info, start its CometBFT; returns the
    Info, (appHeight, storeHeight, stateHeight) of the handshake and CometBFT's log."""
    t, node = net.t, net.nodes[victim]
    t.start_app(victim, timeout=WAIT)
    info: Any = abci_info_direct(node.ports["abci"])  # what the handshake will read
    t.start_cometbft(victim, timeout=WAIT)  # its RPC is up once the handshake is done
    log = current_segment(node.log_text("cometbft"), "cometbft")
    match = REPLAY_LINE.search(log)
    assert match, log[-3000:]
    assert "Completed ABCI Handshake" in log, log[-3000:]
    app_h, store_h, state_h = (int(g) for g in match.groups())
    assert app_h == info.last_block_height, (app_h, info)
    return info, (app_h, store_h, state_h), log


def wait_stage(net: Net, i: int, stage: str) -> int:
    """Poll node i's CometBFT log until it logs the start of `stage` (STAGE_LINES) for a
    new block; that block's height."""
    pattern = STAGE_LINES[stage]
    path = net.nodes[i].log_path("cometbft")
    offset = path.stat().st_size
    pending = b""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
        offset += len(chunk)
        pending += chunk
        lines = pending.split(b"\n")
        pending = lines.pop()  # a line not yet complete
        for line in lines:
            match = pattern.search(line)
            if match:
                return int(match.group(1))
        time.sleep(0.002)  # a local file: polling it costs little and reacts in ~ms
    raise TimeoutError(f"node{i} reached no {stage} in {WAIT}s")


def wait_app_and_cometbft_exit(net: Net, victim: int) -> bool:
    """Wait until the victim's app and CometBFT are gone. True if CometBFT hung while
    stopping and had to be SIGKILLed (see STOP_HANG_S)."""
    t, node = net.t, net.nodes[victim]
    assert t.wait_exit(victim, "sultan", WAIT), "the application did not die"
    # CometBFT stops itself when its app's connections break ("Did the application
    # crash?"; in block sync it may panic on the failed block instead).
    if t.wait_exit(victim, "cometbft", STOP_HANG_S):
        return False
    log = current_segment(node.log_text("cometbft"), "cometbft")
    # Not running on without its app: it noticed and began to stop, but its stop hangs.
    assert "Did the application crash" in log and "Stopping Node" in log, (
        "CometBFT kept running without its app:\n" + log[-3000:]
    )
    t.kill(victim, ["cometbft"])  # as a supervisor's stop timeout would
    return True


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def knet(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    base = fast_node_config()
    testnet = Testnet.init(
        tmp_path_factory.mktemp("kills-testnet"),
        validators=VALIDATORS,
        cometbft=cometbft_bin,
        chain_id=CHAIN_ID,
        starting_port=free_port_block(PORTS_PER_NODE * VALIDATORS),
        modules=("auth", "bank"),
        accounts=[(w.address, Coins.parse(f"{FUNDS}{DENOM}")) for w in SENDERS],
        node_config=base,
    )
    started = time.monotonic()
    try:
        testnet.start(timeout=WAIT)
        net = Net(testnet)
        net.wait_height(2)
        report(f"4-validator network up in {time.monotonic() - started:.1f}s")
        yield net
    finally:
        testnet.stop(timeout=10)


@pytest.fixture(scope="module")
def load(knet: Net) -> Iterator[Load]:
    report(f"seed {SEED} (SULTAN_CMT_KILL_SEED={SEED} to reuse it)")
    running = Load(knet, SEED)
    running.start()
    try:
        yield running
    finally:
        running.stop()


# -- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point", "victim"), [("finalize", 1), ("before-commit", 2), ("after-commit", 3)]
)
def test_app_killed_at_chosen_point_recovers_by_handshake(
    knet: Net, load: Load, point: str, victim: int
) -> None:
    t, node = knet.t, knet.nodes[victim]
    others = [i for i in range(VALIDATORS) if i != victim]
    started = time.monotonic()
    load.set_down(victim, True)
    t.stop([victim], timeout=30)
    crash_at = max(knet.wait_height(0, others).values()) + 4
    t.start_app(
        victim,
        python_args=[CRASHING_APP],
        env={"SULTAN_TEST_CRASH": f"{point}:{crash_at}"},
        timeout=WAIT,
    )
    t.start_cometbft(victim, timeout=WAIT)
    hung = wait_app_and_cometbft_exit(knet, victim)
    app_log = current_segment(node.log_text("sultan"), "sultan")
    assert f"crashing_app: SIGKILL at {point} height={crash_at}\n" in app_log, app_log[-3000:]

    # Restarted with the normal application: it has H - 1 (killed before Commit's write)
    # or H (after it), with the app hash the chain's headers carry for that height.
    app_height = crash_at if point == "after-commit" else crash_at - 1
    info, handshake, cmt_log = restart(knet, victim)
    ref = others[0]
    assert info.last_block_height == app_height
    app_hash = bytes(info.last_block_app_hash).hex().upper()
    assert app_hash == next_app_hash(knet, ref, app_height)
    # CometBFT had stored block H but not saved its state for it.
    assert handshake == (app_height, crash_at, crash_at - 1), handshake
    load.set_down(victim, False)
    if point == "after-commit":
        # The app already has H: CometBFT replays H's saved FinalizeBlock response (mock
        # app), and the app's next block is H + 1.
        assert "Replay last block using mock app" in cmt_log, cmt_log[-3000:]
        first = next_app_hash(knet, ref, crash_at + 1)
        verify_network(knet, load, victim, store_height=crash_at)
        app_log = current_segment(node.log_text("sultan"), "sultan")
        committed = [(int(h), int(n), a) for h, n, a in COMMITTED_LINE.findall(app_log)]
        assert committed[0][0] == crash_at + 1 and committed[0][2] == first, committed[:3]
    else:
        # H is executed again by the real app, to the chain's app hash for H.
        assert "Replay last block using real app" in cmt_log, cmt_log[-3000:]
        verify_network(knet, load, victim, store_height=crash_at)
        app_log = current_segment(node.log_text("sultan"), "sultan")
        committed = [(int(h), int(n), a) for h, n, a in COMMITTED_LINE.findall(app_log)]
        assert committed[0][0] == crash_at, committed[:3]
        assert committed[0][2] == next_app_hash(knet, ref, crash_at), committed[:3]
    txs = len(knet.rpc(ref, "block", height=str(crash_at))["block"]["data"]["txs"] or [])
    report(
        f"node{victim} killed at {point} of height {crash_at} ({txs} txs): app at "
        f"{app_height}, handshake app/store/state {handshake}, recovered in "
        f"{time.monotonic() - started:.1f}s" + ("; CometBFT hung stopping, killed" if hung else "")
    )


def test_random_app_kills_under_load_recover_by_handshake(knet: Net, load: Load) -> None:
    rng = random.Random(SEED)
    started = time.monotonic()
    kinds: collections.Counter[str] = collections.Counter()
    for cycle in range(1, CYCLES + 1):
        victim = rng.randrange(VALIDATORS)
        # Cycles 1, 4, 7, ...: any moment of the block cycle (a block executes in ~10-70 ms
        # of each ~0.6 s, so these mostly land between blocks). The others aim: a random
        # 0-30 ms after the victim's CometBFT logs that it starts a block (FinalizeBlock
        # runs), or 0-10 ms after it logs FinalizeBlock's answer (Commit runs). Not
        # synchronisation: wherever the kill lands, the checks are the same.
        if cycle % 3 == 1:
            delay = rng.uniform(0.0, 1.5)
            time.sleep(delay)
            moment = f"{delay:.3f}s in"
        else:
            stage = "FinalizeBlock" if cycle % 3 == 2 else "Commit"
            delay = rng.uniform(0.0, 0.03 if stage == "FinalizeBlock" else 0.01)
            height = wait_stage(knet, victim, stage)
            time.sleep(delay)
            moment = f"{delay * 1000:.0f} ms into {stage} of block {height}"
        assert knet.t.send_signal(victim, "sultan", signal.SIGKILL)
        load.set_down(victim, True)
        if wait_app_and_cometbft_exit(knet, victim):
            kinds[f"CometBFT hung while stopping (SIGKILLed after {STOP_HANG_S:.0f} s)"] += 1
        _info, (app_h, store_h, state_h), _log = restart(knet, victim)
        assert state_h <= store_h <= state_h + 1 and app_h <= store_h, (app_h, store_h, state_h)
        if app_h == store_h == state_h:
            kind = "app = store = state (nothing to replay)"
        elif app_h == state_h:
            kind = "app = state = store - 1 (last block re-executed by the app)"
        elif app_h == store_h:
            kind = "app = store = state + 1 (last block replayed on a mock app)"
        else:
            kind = f"app = store - {store_h - app_h} (blocks replayed)"
        kinds[kind] += 1
        load.set_down(victim, False)
        top = verify_network(
            knet, load, victim, store_height=store_h, all_nodes_all_txs=cycle == CYCLES
        )
        report(
            f"cycle {cycle}/{CYCLES}: node{victim} app SIGKILLed {moment}: {kind}; "
            f"app/store/state {app_h}/{store_h}/{state_h}; balances checked at {top}; "
            f"{len(load.verified[victim])} confirmed txs found on node{victim}"
        )
    report(
        f"{CYCLES} cycles, 0 failures, {time.monotonic() - started:.0f}s, seed {SEED}; "
        f"{len(load.confirmed())} confirmed txs ({len(load.records())} sent); "
        + ", ".join(f"{kind}: {n}" for kind, n in sorted(kinds.items()))
        + f"; tx index repaired (reindex-event) after {len(load.reindexed)} kills"
    )
