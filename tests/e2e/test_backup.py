"""`sultan backup` of a running node under tx load, and `sultan restore` into a new home."""

from __future__ import annotations

import json
import shutil
import threading

from crash_support import send_load

from sultan.ops import stress
from sultan.testing import NodeProcess, init_home, sultan_cli

CHAIN = "bk-1"


def _committed_txs(node: NodeProcess, upto: int) -> int:
    return sum(
        len(node.rpc("block", height=str(h))["block"]["data"]["txs"] or [])
        for h in range(1, upto + 1)
    )


def test_online_backup_under_load_restores_to_the_same_height_and_app_hash(tmp_path):
    home = init_home(tmp_path / "home", ["auth", "bank"], chain_id=CHAIN)
    accounts = stress.generate_accounts(2, seed="backup-tests")
    stress.fund_in_genesis(
        home / "config" / "genesis.json", [a.address for a in accounts], "10000000000usultan"
    )
    backup = tmp_path / "backup"
    stop = threading.Event()
    with NodeProcess(home, timeout_commit="50ms") as node:
        sender = threading.Thread(
            target=send_load,
            args=(node, accounts[0], accounts[1].address, CHAIN, stop),
            daemon=True,
        )
        sender.start()
        try:
            node.wait_for_height(8)
            out = sultan_cli("backup", str(backup), "--home", str(home), "--include-keys")
            assert "node is running" in out.stderr
            manifest = json.loads((backup / "manifest.json").read_text())
            height = manifest["height"]
            assert height >= 8 and manifest["chain_id"] == "bk-1"
            node.wait_for_height(height + 3)  # the node kept producing blocks
            # The state the backup holds is what the chain committed at that height.
            header = node.rpc("block", height=str(height + 1))["block"]["header"]
            assert header["app_hash"] == manifest["app_hash"]
            committed = _committed_txs(node, height)
        finally:
            stop.set()
            sender.join()
    assert committed > 0, "the load committed nothing before the backup"
    assert "config/priv_validator_key.json" in manifest["files"]

    # A corrupted backup is refused before anything is written.
    bad = tmp_path / "bad"
    shutil.copytree(backup, bad)
    sst = next(p for p in (bad / "data" / "application.db").iterdir() if p.suffix == ".sst")
    sst.write_bytes(sst.read_bytes()[:-1] + b"\0")
    target = tmp_path / "restored"
    res = sultan_cli("restore", str(bad), "--home", str(target), check=False)
    assert res.returncode == 1 and "sha256" in res.stderr
    assert not (target / "data" / "application.db").exists()

    sultan_cli("restore", str(backup), "--home", str(target))
    # A second restore over the now non-empty data dir needs --force.
    res = sultan_cli("restore", str(backup), "--home", str(target), check=False)
    assert res.returncode == 1 and "--force" in res.stderr
    sultan_cli("restore", str(backup), "--home", str(target), "--force")

    with NodeProcess(target, timeout_commit="50ms") as restored:
        restored.wait_for_height(height + 2)
        header = restored.rpc("block", height=str(height + 1))["block"]["header"]
        assert header["app_hash"] == manifest["app_hash"]
        assert _committed_txs(restored, height) == committed


def test_backup_of_a_stopped_node_and_restore_checks(tmp_path):
    home = init_home(tmp_path / "home", ["auth", "bank"], chain_id="bk-2")
    with NodeProcess(home, timeout_commit="50ms") as node:
        node.wait_for_height(3)
    out = sultan_cli("backup", str(tmp_path / "b"), "--home", str(home))
    assert "node is stopped" in out.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["height"] >= 3
    assert not any(k.endswith("priv_validator_key.json") for k in manifest["files"])
    res = sultan_cli("backup", str(tmp_path / "b"), "--home", str(home), check=False)
    assert res.returncode == 1 and "not empty" in res.stderr
    # Restoring over the live home while its node runs is refused.
    with NodeProcess(home, timeout_commit="50ms") as node:
        res = sultan_cli(
            "restore", str(tmp_path / "b"), "--home", str(home), "--force", check=False
        )
        assert res.returncode == 1 and "running node" in res.stderr
        node.wait_for_height(manifest["height"] + 1)
