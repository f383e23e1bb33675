"""Periodic snapshots on a running node, and `sultan snapshot list|create|export|restore|delete`."""

from __future__ import annotations

import re
import time

from crash_support import enable_snapshots

from sultan.testing import NodeProcess, init_home, sultan_cli


def _heights(home) -> list[int]:
    out = sultan_cli("snapshot", "list", "--home", str(home)).stdout
    return [int(h) for h in re.findall(r"height=(\d+)", out)]


def test_running_node_snapshots_and_the_cli_round_trip(tmp_path):
    home = init_home(tmp_path / "home", ["auth", "bank"], chain_id="snap-1")
    enable_snapshots(home, interval=5, keep=2)
    with NodeProcess(home, timeout_commit="200ms") as node:
        node.wait_for_height(11)
        deadline = time.monotonic() + 30
        while len(_heights(home)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        newest, older = _heights(home)[:2]
        node.wait_for_height(newest + 1)
        app_hash = node.rpc("block", height=str(newest + 1))["block"]["header"]["app_hash"]
        older_hash = node.rpc("block", height=str(older + 1))["block"]["header"]["app_hash"]
    heights = _heights(home)
    assert len(heights) == 2 and heights[0] - heights[1] == 5 and heights[0] % 5 == 0
    assert heights[0] >= newest and older % 5 == 0
    out = sultan_cli("snapshot", "list", "--home", str(home)).stdout
    if heights[0] == newest:
        assert f"height={newest} format=1" in out and f"app_hash={app_hash}" in out
    snap = heights[1]
    if snap == older:  # the snapshot holds the state the chain committed at that height
        assert f"height={older} format=1" in out and f"app_hash={older_hash}" in out

    res = sultan_cli("snapshot", "create", "--home", str(home), "--chunk-size", "1000")
    match = re.search(r"snapshot height=(\d+)", res.stdout)
    assert match, res.stdout
    # At the node's last height: past the newest automatic snapshot, or that very one when
    # the node happened to stop at a multiple of the interval (then it is kept as it is).
    latest = int(match.group(1))
    assert latest >= heights[0] and _heights(home)[0] == latest

    exported = tmp_path / "s.snap"
    res = sultan_cli("snapshot", "export", str(snap), str(exported), "--home", str(home))
    assert "export: chunk" in res.stderr

    # A truncated or corrupted file is refused and the target home is left untouched.
    target = init_home(tmp_path / "target", ["auth", "bank"], chain_id="snap-1")
    raw = exported.read_bytes()
    for name, data in (("trunc", raw[:-10]), ("bad", raw[:-10] + b"\xff" * 10)):
        bad = tmp_path / name
        bad.write_bytes(data)
        res = sultan_cli("snapshot", "restore", str(bad), "--home", str(target), check=False)
        assert res.returncode == 1, res.stderr
        assert "truncated" in res.stderr or "does not match" in res.stderr
    res = sultan_cli("snapshot", "restore", str(exported), "--home", str(target))
    assert "app_hash verified" in res.stdout
    res = sultan_cli("snapshot", "restore", str(exported), "--home", str(target), check=False)
    assert res.returncode == 1 and "already has application state" in res.stderr

    sultan_cli("snapshot", "delete", str(snap), "--home", str(home))
    assert snap not in _heights(home)
    res = sultan_cli("snapshot", "delete", str(snap), "--home", str(home), check=False)
    assert res.returncode == 1 and f"no snapshot at height {snap}" in res.stderr
