"""Disk full under load, and snapshot write errors.

A node whose home is on a small tmpfs (mounted here, always unmounted) runs under a load of
counter txs with large random memos until the disk is full. It must stop by itself, exit 1
and say "disk full: ... No space left on device" in one line, without a traceback. While
the disk stays full it refuses to start with that message; once the filler file is deleted
it starts again at the last committed height: every app hash it logged is the chain's,
the counter equals the committed txs, and a replay from genesis gives the same app hash.

A snapshot directory that cannot be written (a file in its place) makes every snapshot fail,
logged and counted in `sultan_snapshot_failures_total`, while blocks go on; once the path
is fixed, snapshots are taken again.
"""

from __future__ import annotations

import re
import threading
import urllib.request

from crash_support import (
    committed_amount,
    counter_load,
    counter_value,
    enable_snapshots,
    free_bytes,
    last_logged_commit,
    logged_commits,
    replay_from_genesis,
    tmpfs,
)

from sultan.kernel.snapshots import SnapshotStore
from sultan.testing import NodeProcess, init_home, wait_until

START_TIMEOUT = 180  # a busy machine: starts and stops are awaited, never assumed
LEFT_FREE = 6 << 20  # what the filler file leaves for the load to fill


def test_disk_full_stops_the_node_cleanly_and_it_resumes_once_space_is_back(tmp_path):
    with tmpfs(tmp_path / "disk", 48) as disk:
        home = init_home(disk / "home", ["counter"], chain_id="diskfull-1")
        filler = disk / "filler"
        node = NodeProcess(home, timeout_commit="50ms")
        node.log_path = tmp_path / "node-full.log"  # logs elsewhere, as with journald
        stop = threading.Event()
        # ~16 KB of random memo per tx: incompressible, so RocksDB cannot squeeze it.
        load = threading.Thread(target=counter_load, args=(node, stop, 1, 16_000), daemon=True)
        try:
            node.start(timeout=START_TIMEOUT)
            node.wait_for_height(3, START_TIMEOUT)
            with open(filler, "wb") as f:
                f.write(b"\0" * max(0, free_bytes(disk) - LEFT_FREE))
            load.start()
            assert node.proc is not None
            code = node.proc.wait(timeout=START_TIMEOUT)  # it must stop by itself
        finally:
            stop.set()
            node.kill()
            if load.is_alive():
                load.join(timeout=30)
        log = node.log_text()
        assert code == 1, log[-3000:]
        assert free_bytes(disk) < 1 << 20, "the disk was not full"
        assert "Traceback" not in log, log[-5000:]
        stopped = re.findall(r"ERROR sultan.engine: block production stopped: (.*)", log)
        assert len(stopped) == 1 and stopped[0].startswith("disk full: "), stopped
        assert "No space left on device" in stopped[0]
        last, _ = last_logged_commit(log)
        assert f"the last committed block is {last};" in stopped[0]
        committed = logged_commits(log)

        # Still full: it refuses to start, with one line naming the problem.
        full = NodeProcess(home, timeout_commit="50ms")
        full.log_path = tmp_path / "node-still-full.log"
        try:
            full.start(wait=False)
            assert full.proc is not None
            assert full.proc.wait(timeout=START_TIMEOUT) == 1
        finally:
            full.kill()
        refused = full.log_text()
        assert "Error: disk full: " in refused and "No space left on device" in refused, refused
        assert "Traceback" not in refused, refused

        filler.unlink()  # space is back
        again = NodeProcess(home, timeout_commit="50ms")
        again.log_path = tmp_path / "node-again.log"
        try:
            again.start(timeout=START_TIMEOUT)
            again.wait_for_height(last + 2, START_TIMEOUT)
            # It continues from the last committed block: the banner names it (printed once
            # the servers are up, possibly after the first new block) and the next block
            # it makes is last + 1.
            wait_until(lambda: ", validator " in again.log_text(), START_TIMEOUT, "the banner")
            assert f"height {last}, validator" in again.log_text()
            assert min(logged_commits(again.log_text())) == last + 1
            # Every block it committed before the disk filled is there, unchanged.
            for height, app_hash in committed.items():
                header = again.rpc("block", height=str(height + 1))["block"]["header"]
                assert header["app_hash"] == app_hash, f"block {height} changed"
            value, at = counter_value(again)
            assert value == sum(committed_amount(again, h) for h in range(1, at + 1))
            assert again.stop() == 0
        finally:
            again.kill()
        top, replayed, stored = replay_from_genesis(home, tmp_path)
        assert replayed == stored and top > last
    print(
        f"\ndisk full: stopped at block {last} (exit 1, one line), resumed after it, {top} "
        "blocks replayed from genesis"
    )


def _metric(url: str, name: str) -> float:
    with urllib.request.urlopen(url, timeout=10) as res:
        text = res.read().decode()
    found = re.search(rf"(?m)^{name} (\S+)$", text)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def test_snapshot_write_errors_are_logged_counted_and_blocks_go_on(tmp_path):
    home = init_home(tmp_path / "home", ["counter", "metrics"], chain_id="snapio-1")
    enable_snapshots(home, interval=2, keep=2)
    snapshots = home / "data" / "snapshots"
    snapshots.write_text("a file where the snapshot directory should be\n")
    node = NodeProcess(home, timeout_commit="50ms")
    try:
        node.start(timeout=START_TIMEOUT)
        node.wait_for_height(10, START_TIMEOUT)
        failures = re.findall(
            r"ERROR sultan.snapshots: snapshot at height (\d+) failed", node.log_text()
        )
        assert len(failures) >= 3 and int(failures[0]) % 2 == 0, node.log_text()[-3000:]
        assert _metric(node.metrics_url, "sultan_snapshot_failures_total") >= 3
        assert _metric(node.metrics_url, "sultan_snapshots_taken_total") == 0
        snapshots.unlink()  # fixed: the next snapshot is written
        store = SnapshotStore(snapshots)
        wait_until(lambda: bool(store.list()), START_TIMEOUT, "a snapshot after the fix")
        wait_until(
            lambda: _metric(node.metrics_url, "sultan_snapshots_taken_total") >= 1,
            START_TIMEOUT,
            "the taken counter",
        )
        height = node.height()
        node.wait_for_height(height + 2, START_TIMEOUT)  # blocks never stopped
        assert "Traceback" not in node.log_text()
    finally:
        node.kill()
