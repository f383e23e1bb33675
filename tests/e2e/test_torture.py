"""Crash torture: SIGKILL a node under tx load at random moments, many times, and check.

After every cycle (on a fresh start): the height never goes back, every block seen before is
unchanged (hash and app hash), and the committed counter equals the sum of the committed
txs. At the end (node stopped): the whole block store is replayed from genesis into a fresh
store, block by block with the stored txs, times and votes, and every FinalizeBlock result
and every app hash must equal the stored ones; the final app hash must equal the node's.

`SULTAN_KILL_CYCLES` (default 6) sets the cycles; `make torture` runs 200. Figures:
docs/reliability.md.

The second test kills the node while a state-sync snapshot is being written (seen from the
snapshot directory's `.tmp-*` entry, not guessed) under a load of signed bank sends, and
checks on restart that the unfinished snapshot was removed (with a log line), that every
listed snapshot verifies (chunk hashes, rebuilt app hash = the chain's), and the chain checks
above with balances instead of the counter (receiver's balance = its genesis balance plus
the committed sends; sender + receiver conserved). `SULTAN_SNAPSHOT_KILL_CYCLES` (default 3;
`make torture` runs 30).
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time

from crash_support import (
    balance,
    blocks,
    committed_amount,
    counter_load,
    counter_value,
    enable_snapshots,
    filler_addresses,
    leftovers,
    replay_from_genesis,
    send_load,
    store_keys,
    successful_txs,
    verify_snapshot,
)

from sultan.kernel.snapshots import SnapshotStore
from sultan.ops import stress
from sultan.testing import NodeProcess, init_home


def test_kill_9_torture_with_replay_from_genesis(tmp_path):
    cycles = int(os.environ.get("SULTAN_KILL_CYCLES", "6"))
    home = init_home(tmp_path / "home", ["counter"], chain_id="torture-1", moniker="t")
    rng = random.Random(int(os.environ.get("SULTAN_TORTURE_SEED", "20261127")))
    seen: dict[int, tuple[str, str]] = {}
    last = 0
    committed = counted_to = 0  # sum of committed increments up to height counted_to
    started = time.monotonic()
    for cycle in range(cycles):
        node = NodeProcess(home, timeout_commit="50ms")
        stop = threading.Event()
        try:
            node.start()
            sender = threading.Thread(target=counter_load, args=(node, stop, cycle), daemon=True)
            sender.start()
            time.sleep(rng.uniform(0.05, 0.8))  # a random moment, not a readiness wait
            node.kill(signal.SIGKILL)
        finally:
            stop.set()
            node.kill(signal.SIGKILL)
        with NodeProcess(home, timeout_commit="50ms") as check:
            height = check.height()
            assert height >= last, f"cycle {cycle}: height went back {last} -> {height}"
            # Blocks seen before must be unchanged: the newest ones (where a crash could
            # bite) and a random sample of older ones; the final replay covers them all.
            known = max(seen, default=0)
            sample = set(range(max(1, known - 20), known + 1))
            sample |= set(rng.sample(range(1, known + 1), min(known, 20)))
            for h in sorted(sample):
                assert seen[h] == blocks(check, h, h)[h], f"cycle {cycle}: block {h} changed"
            value, at = counter_value(check)
            for h in range(counted_to + 1, at + 1):
                committed += committed_amount(check, h)
            counted_to = at
            assert value == committed, f"cycle {cycle}: state {value} != committed txs {committed}"
            seen.update(blocks(check, known + 1, at))
            last = at
        # the check node is SIGKILLed too on leaving the `with`: one more crash per cycle
    top, replayed, stored = replay_from_genesis(home, tmp_path)
    assert replayed == stored, f"replay from genesis gives {replayed.hex()} != {stored.hex()}"
    assert top >= last and top > cycles
    assert sorted(seen) == list(range(1, max(seen) + 1))
    print(
        f"\ntorture: {cycles} cycles, {2 * cycles} SIGKILLs, {top} blocks replayed from genesis, "
        f"0 failures, {time.monotonic() - started:.0f}s"
    )


SNAPSHOT_CHAIN = "snapkill-1"
START_TIMEOUT = 180  # the machine may be busy: a start is awaited, never assumed


def _kill_during_snapshot(
    node: NodeProcess, snapshots, rng: random.Random, timeout: float = 120
) -> list[str]:
    """SIGKILL `node` while a snapshot is in progress; the unfinished entries left, if any.

    Waits until the snapshot directory shows a temporary `.tmp-*` entry (a snapshot being
    written), lets a random 0-30 ms pass (to land at different points of the write), kills.
    An empty list means the snapshot finished within those ms: the caller tries again.
    """
    deadline = time.monotonic() + timeout
    while not any(n.startswith(".tmp-") for n in leftovers(snapshots)):
        assert node.proc is not None and node.proc.poll() is None, node.log_text()[-3000:]
        assert time.monotonic() < deadline, "no snapshot was started"
        time.sleep(0.001)
    time.sleep(rng.uniform(0, 0.03))
    node.kill(signal.SIGKILL)
    return leftovers(snapshots)


def test_kill_9_while_snapshots_are_written(tmp_path):
    cycles = int(os.environ.get("SULTAN_SNAPSHOT_KILL_CYCLES", "3"))
    rng = random.Random(int(os.environ.get("SULTAN_TORTURE_SEED", "20261127")))
    home = init_home(tmp_path / "home", ["auth", "bank"], chain_id=SNAPSHOT_CHAIN)
    sender, receiver = stress.generate_accounts(2, seed="snapkill")
    genesis = home / "config" / "genesis.json"
    initial = 10**12
    stress.fund_in_genesis(genesis, [sender.address, receiver.address], f"{initial}usultan")
    # ~1.7 MB of state: each snapshot takes a measurable time to write (and fsync).
    stress.fund_in_genesis(genesis, filler_addresses(10_000), "1000usultan")
    enable_snapshots(home, interval=2, keep=2)
    snapshots = home / "data" / "snapshots"
    keys = store_keys(home)
    store = SnapshotStore(snapshots)
    verified: set[bytes] = set()
    seen: dict[int, tuple[str, str]] = {}
    last = counted_to = 0
    sent = 0  # successful sends committed up to counted_to
    kills = retries = 0
    started = time.monotonic()
    for cycle in range(cycles):
        left: list[str] = []
        for _attempt in range(10):
            node = NodeProcess(home, timeout_commit="50ms")
            stop = threading.Event()
            load = threading.Thread(
                target=send_load,
                args=(node, sender, receiver.address, SNAPSHOT_CHAIN, stop),
                daemon=True,
            )
            try:
                node.start(timeout=START_TIMEOUT)
                load.start()
                # Some blocks under load first, then the next snapshot in progress.
                node.wait_for_height(node.height() + rng.randint(3, 8), START_TIMEOUT)
                left = _kill_during_snapshot(node, snapshots, rng)
            finally:
                stop.set()
                node.kill(signal.SIGKILL)
                if load.is_alive():
                    load.join(timeout=30)
            kills += 1
            if left:
                break
            retries += 1  # the snapshot finished before the kill: try again
        assert left, f"cycle {cycle}: no kill landed while a snapshot was written"
        # Node down: every listed snapshot is whole and rebuilds to its app hash.
        listed = store.list()
        for info in listed:
            if info.hash not in verified:
                verify_snapshot(store, info, keys)
                verified.add(info.hash)

        check = NodeProcess(home, timeout_commit="50ms")
        log_from = len(check.log_text())
        try:
            check.start(timeout=START_TIMEOUT)
            # What the killed writer left is gone (the new node may be writing its own
            # snapshot already: only the names left by the kill are checked), and the log
            # says so.
            assert not set(left) & set(leftovers(snapshots)), leftovers(snapshots)
            new_log = check.log_text()[log_from:]
            for name in left:
                assert f"snapshots: removed {snapshots / name}" in new_log, new_log[-3000:]
            height = check.height()
            assert height >= last, f"cycle {cycle}: height went back {last} -> {height}"
            known = max(seen, default=0)
            for h, expected in sorted(seen.items()):
                if h > known - 20 or rng.random() < 0.2:
                    assert blocks(check, h, h)[h] == expected, f"cycle {cycle}: block {h} changed"
            # No committed send lost or applied twice; balances conserved.
            got, at = balance(check, receiver.address)
            held, _ = balance(check, sender.address, at)
            for h in range(counted_to + 1, at + 1):
                sent += successful_txs(check, h)
            counted_to = at
            assert got == initial + sent, f"cycle {cycle}: receiver {got} != {initial} + {sent}"
            assert held + got == 2 * initial, f"cycle {cycle}: balances not conserved"
            seen.update(blocks(check, known + 1, at))
            last = at
            # The snapshots hold the state the chain committed at their heights.
            for info in listed:
                check.wait_for_height(info.height + 1, START_TIMEOUT)
                header = check.rpc("block", height=str(info.height + 1))["block"]["header"]
                assert header["app_hash"] == info.app_hash.hex().upper(), info.height
        finally:
            check.kill(signal.SIGKILL)  # one more crash per cycle, anywhere
    for info in store.list():  # after the last crash too
        if info.hash not in verified:
            verify_snapshot(store, info, keys)
            verified.add(info.hash)
    top, replayed, stored = replay_from_genesis(home, tmp_path)
    assert replayed == stored, f"replay from genesis gives {replayed.hex()} != {stored.hex()}"
    assert top >= last and sent > 0 and verified
    print(
        f"\nsnapshot kills: {cycles} cycles, {kills - retries} SIGKILLs during a snapshot write "
        f"(+{retries} that came just after one, retried) + {cycles} at random, "
        f"{len(verified)} snapshots verified, {sent} sends, {top} blocks replayed from "
        f"genesis, 0 failures, {time.monotonic() - started:.0f}s"
    )
