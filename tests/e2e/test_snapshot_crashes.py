"""Crashes around snapshots: a SIGKILLed `sultan snapshot restore`, torn writes and deletes.

(Kills of a node while it writes snapshots: `test_torture.py`.)

A killed restore must leave the target home either untouched (empty) or with the whole
snapshot installed -- never part of it -- and while a restore is unfinished the node must
refuse to start; running the restore again completes it. The restore is killed at chosen
points of its own progress output (while rebuilding the state in memory, while writing the
batch, just after), and each outcome is checked from the database itself.
"""

from __future__ import annotations

import logging
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from crash_support import filler_addresses, free_bytes, grow, store_keys, tmpfs
from sultan_counter.pb.counter.v1 import counter_pb2

import sultan.kernel.snapshots as snapshots_mod
from sultan.kernel.snapshots import (
    RESTORE_MARKER,
    SnapshotError,
    SnapshotInfo,
    SnapshotManager,
    SnapshotStore,
    create_snapshot,
)
from sultan.kernel.store.db import Database
from sultan.kernel.store.versioned import CommittedState
from sultan.ops import stress
from sultan.testing import ChainHarness, NodeProcess, init_home, sultan_cli, unsigned_tx

CHAIN = "restorekill-1"
START_TIMEOUT = 180


# -- the store: torn snapshots are never listed, leftovers are cleaned -------------------------


def _inc(n: int) -> bytes:
    return unsigned_tx(counter_pb2.MsgIncrement(sender="s", amount=n), memo=str(n))


@pytest.fixture
def snapshot(tmp_path):
    with ChainHarness(["counter"], path=tmp_path / "chain") as chain:
        for i in range(1, 4):
            chain.block(_inc(i))
        store = SnapshotStore(tmp_path / "snapshots")
        info = create_snapshot(
            chain.db,
            store,
            chain.height,
            list(chain.app.committed.store_keys),
            chain.app_hash,
            chunk_size=64,  # several chunks
        )
        yield store, info


def test_torn_snapshots_are_never_listed_and_recover_removes_them(snapshot, caplog):
    store, info = snapshot
    assert info.chunks >= 3 and [s.height for s in store.list()] == [info.height]
    good = store.root / str(info.height)
    # What kills and older versions could leave: a chunk missing, a short chunk, a
    # truncated description, a half-written snapshot, a half-deleted one.
    torn = {}
    for height, damage in ((101, "missing"), (102, "short"), (103, "meta")):
        d = store.root / str(height)
        shutil.copytree(good, d)
        meta = d / "snapshot.json"
        meta.write_text(meta.read_text().replace(f'"height": {info.height}', f'"height": {height}'))
        if damage == "missing":
            (d / "chunk-00001").unlink()
        elif damage == "short":
            chunk = d / "chunk-00002"
            chunk.write_bytes(chunk.read_bytes()[:-1])
        else:
            meta.write_text(meta.read_text()[:40])
        torn[height] = d
    shutil.copytree(good, store.root / ".tmp-104-1-2")
    (store.root / ".tmp-104-1-2" / "snapshot.json").unlink()
    shutil.copytree(good, store.root / ".del-99-1-2")
    (store.root / f".tmp-{RESTORE_MARKER}").write_text("{")

    assert [s.height for s in store.list()] == [info.height]
    for height in torn:
        with pytest.raises(SnapshotError, match=f"no snapshot at height {height}"):
            store.get(height)
    with caplog.at_level(logging.WARNING, logger="sultan.snapshots"):
        removed = store.recover()
    assert removed == [".del-99-1-2", ".tmp-104-1-2", "101", "102", "103"]
    for name in removed:
        assert f"snapshots: removed {store.root / name}" in caplog.text
    assert sorted(p.name for p in store.root.iterdir()) == [str(info.height)]
    assert store.get(info.height) == info


def test_a_delete_killed_half_way_never_leaves_a_listed_snapshot(snapshot, monkeypatch):
    store, info = snapshot
    real_rmtree = shutil.rmtree

    def killed_after_the_chunks(path, *args, **kwargs):
        # Remove the chunk files, then "die" before the description goes.
        if not Path(path).exists():
            return
        for chunk in sorted(Path(path).glob("chunk-*")):
            chunk.unlink()
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(snapshots_mod.shutil, "rmtree", killed_after_the_chunks)
    with pytest.raises(KeyboardInterrupt):
        store.delete(info.height)
    monkeypatch.setattr(snapshots_mod.shutil, "rmtree", real_rmtree)
    assert store.list() == []  # renamed away before any file went
    assert store.chunk(info.height, 0) == b""
    assert [n.startswith(".del-") for n in store.recover()] == [True]
    assert list(store.root.iterdir()) == []


def test_a_node_refuses_to_start_on_an_unfinished_restore(snapshot, tmp_path):
    store, info = snapshot
    store.begin_restore(info, "/backups/s.snap")
    with Database(str(tmp_path / "db")) as db, pytest.raises(SnapshotError) as exc:
        SnapshotManager(db, store, ["counter"], interval=0, keep_recent=0)
    assert "`sultan snapshot restore` (height 3, file /backups/s.snap)" in str(exc.value)
    assert "was interrupted" in str(exc.value)
    store.end_restore()
    with Database(str(tmp_path / "db")) as db:
        SnapshotManager(db, store, ["counter"], interval=0, keep_recent=0)


# -- `sultan snapshot restore` SIGKILLed ------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, SnapshotInfo]:
    """A chain with ~6k accounts of state, its snapshot exported to one file."""
    tmp_path = tmp_path_factory.mktemp("source")
    src = init_home(tmp_path / "src", ["auth", "bank"], chain_id=CHAIN)
    stress.fund_in_genesis(src / "config" / "genesis.json", filler_addresses(6_000), "1000usultan")
    node = NodeProcess(src, timeout_commit="50ms")
    try:
        node.start(timeout=START_TIMEOUT)
        node.wait_for_height(3, START_TIMEOUT)
    finally:
        node.stop()
    sultan_cli("snapshot", "create", "--home", str(src))
    info = SnapshotStore(src / "data" / "snapshots").list()[0]
    exported = tmp_path / "state.snap"
    sultan_cli("snapshot", "export", str(info.height), str(exported), "--home", str(src))
    return exported, info


def _restore_killed(file: Path, home: Path, after: str, delay: float) -> tuple[bool, str]:
    """Run the restore; SIGKILL it `delay` s after a stderr line containing `after`.

    Returns (killed, stderr): killed is False if it finished before the kill.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "sultan.cli.main", "snapshot", "restore", str(file)]
        + ["--home", str(home)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen = []
    try:
        deadline = time.monotonic() + 120
        while True:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            if line is None:
                break
            seen.append(line)
            if after in line:
                time.sleep(delay)
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        reader.join(timeout=30)
    return proc.returncode == -signal.SIGKILL, "".join(seen)


def _refused(node: NodeProcess) -> int:
    """Start `node`; its exit code. Fails at once if it starts serving instead."""
    node.start(wait=False)
    assert node.proc is not None
    deadline = time.monotonic() + START_TIMEOUT
    while node.proc.poll() is None:
        assert time.monotonic() < deadline, "the node neither started nor stopped"
        try:
            height = node.height()
        except Exception:  # not listening (yet): the expected case
            time.sleep(0.1)
            continue
        raise AssertionError(f"the node started (height {height}) on an unfinished restore")
    return node.proc.returncode


def _state(home: Path) -> tuple[int, bytes]:
    """(height, app hash) of the home's application state; (0, b"") if there is none."""
    with Database(str(home / "data" / "application.db")) as db:
        if db.get("meta", b"height") is None:
            return 0, b""
        keys = [k[len(b"root/") :].decode() for k, _ in db.iterate("meta", b"root/", b"root0")]
        state = CommittedState(db, keys)
        return state.height, state.app_hash


def test_restore_killed_at_any_point_is_all_or_nothing_and_reruns_to_completion(tmp_path, exported):
    rng = random.Random(20261127)
    started = time.monotonic()
    exported, info = exported
    target = init_home(tmp_path / "target", ["auth", "bank"], chain_id=CHAIN)
    marker = target / "data" / "snapshots" / RESTORE_MARKER
    assert store_keys(target) == store_keys(exported.parent / "src")
    outcomes = []
    points = [
        ("rebuilding the state", 0.0),
        ("rebuilding the state", rng.uniform(0.05, 0.4)),
        ("writing", 0.0),
        ("writing", rng.uniform(0.05, 0.25)),  # building the batch, or RocksDB writing it
        ("writing", rng.uniform(0.2, 0.5)),
    ]
    for i, (after, delay) in enumerate(points):
        killed, err = _restore_killed(exported, target, after, delay)
        assert after in err, err
        height, app_hash = _state(target)
        # All or nothing: no state, or exactly the snapshot's.
        assert (height, app_hash) in ((0, b""), (info.height, info.app_hash)), height
        outcome = "nothing written" if height == 0 else "state written"
        if marker.exists():
            outcome += ", restore marked unfinished"
        if marker.exists() and outcome not in {o[3] for o in outcomes}:
            # The node refuses to start on it, naming the cause; nothing changes.
            node = NodeProcess(target, timeout_commit="50ms")
            node.log_path = tmp_path / f"target-node-{i}.log"
            try:
                assert _refused(node) == 1
            finally:
                node.kill()
            log = node.log_text()
            assert "snapshot restore` (height" in log and "was interrupted" in log, log
            assert "Traceback" not in log
            assert _state(target) == (height, app_hash)
        outcomes.append((after, round(delay, 3), killed, outcome))
        if killed and height == 0:
            assert marker.exists(), "a restore killed before its write left no marker"
        # Running it again completes it (or confirms it), then the marker is gone.
        if marker.exists() or height == 0:
            res = sultan_cli("snapshot", "restore", str(exported), "--home", str(target))
            assert f"restored application state at height {info.height}" in res.stdout
        assert not marker.exists()
        assert _state(target) == (info.height, info.app_hash)
        if height or i == len(points) - 1:
            # The state a killed restore wrote (and a re-run's) is the whole snapshot:
            # snapshotting it again gives the same chunks, so the same snapshot hash.
            sultan_cli("snapshot", "create", "--home", str(target))
            again = SnapshotStore(target / "data" / "snapshots").get(info.height)
            assert again.hash == info.hash
        sultan_cli("unsafe-reset-all", "--home", str(target))
    print(f"\nrestore kills ({time.monotonic() - started:.0f}s):", *outcomes, sep="\n  ")
    # The kills landed before the write at least once (the case a marker exists for).
    assert any(o[2] and o[3].startswith("nothing written") for o in outcomes)


def test_restore_on_a_full_disk_says_so_and_reruns_once_there_is_room(tmp_path, exported):
    exported, info = exported
    # 4 MiB: room for the home and an empty database, not for the ~15 MB batch.
    with tmpfs(tmp_path / "disk", 4) as disk:
        target = init_home(disk / "home", ["auth", "bank"], chain_id=CHAIN)
        res = sultan_cli("snapshot", "restore", str(exported), "--home", str(target), check=False)
        assert res.returncode == 1, res.stdout + res.stderr
        assert "Error: disk full: " in res.stderr and "No space left on device" in res.stderr
        assert "nothing was restored" in res.stderr and "Traceback" not in res.stderr
        assert (target / "data" / "snapshots" / RESTORE_MARKER).exists()
        assert _state(target) == (0, b"")
        # An export onto a full disk fails the same way and leaves no partial file.
        (disk / "filler").write_bytes(b"\0" * free_bytes(disk))
        src, out = exported.parent / "src", disk / "copy.snap"
        res = sultan_cli(
            "snapshot", "export", str(info.height), str(out), "--home", str(src), check=False
        )
        assert res.returncode == 1 and "Error: disk full: " in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
        assert not out.exists() and not (disk / "copy.snap.partial").exists()
        grow(disk, 64)
        res = sultan_cli("snapshot", "restore", str(exported), "--home", str(target))
        assert f"restored application state at height {info.height}" in res.stdout
        assert _state(target) == (info.height, info.app_hash)
        assert not (target / "data" / "snapshots" / RESTORE_MARKER).exists()
