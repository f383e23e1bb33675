"""Network partitions between four CometBFT validators, each in its own network namespace.

Every validator (its Sultan app and its CometBFT) runs in a namespace on a bridge the test
creates (`netns.NetnsLab`); a partition drops the packets between the sides with nftables
rules inside the namespaces. The tests run in file order on one network:

1. baseline: blocks over the bridge, all four agree;
2. one node cut off: the other three (30 of 40 power > 2/3) go on, the isolated one stalls;
   healed, it catches up and every height agrees (block hash and app hash);
3. 2+2: neither side has more than 2/3, so no height advances by more than one during a
   window of many block times; healed, blocks resume and there is no fork.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from cmt_env import CHAIN_ID, VALIDATORS, WAIT, Net, fast_node_config
from netns import NetnsError, NetnsLab, sweep_stale

from sultan.testnet import Testnet, TestnetError

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

MAJORITY_BLOCKS = 6  # blocks the 3-node side must make while node 3 is cut off
MIN_WINDOW_S = 10.0  # the 2+2 window lasts at least this long ...
WINDOW_BLOCK_TIMES = 10  # ... and at least this many baseline block times
LISTENER = (
    "import socket, sys; s = socket.socket(); s.bind((sys.argv[1], 7000)); s.listen();"
    " print('ready', flush=True); s.accept()"
)


def report(text: str) -> None:
    print(f"\n[partitions] {text}", file=sys.stderr)


@attrs.define
class Lab:
    net: Net
    lab: NetnsLab
    block_time: float = 0.0  # seconds per block, measured in the baseline


@pytest.fixture(scope="module")
def lab_net(cometbft_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    base = fast_node_config()
    lab = NetnsLab(VALIDATORS)
    try:
        lab.create()
    except NetnsError as exc:
        lab.destroy()
        pytest.fail(f"network namespaces do not work here: {exc}")
    testnet: Testnet | None = None
    try:
        testnet = Testnet.init(
            tmp_path_factory.mktemp("partitions"),
            validators=VALIDATORS,
            cometbft=cometbft_bin,
            chain_id=CHAIN_ID,
            modules=("auth", "bank"),
            node_config=base,
            hosts=lab.addresses,  # each namespace has its own address: default ports for all
        )
        for i in range(VALIDATORS):
            testnet.spawn_prefix[i] = lab.prefix(i)
        started = time.monotonic()
        testnet.start(timeout=WAIT)
        net = Net(testnet)
        net.wait_height(2)
        report(
            f"4 validators in namespaces {lab.namespaces[0]}.. on {lab.subnet} "
            f"up in {time.monotonic() - started:.1f}s"
        )
        yield Lab(net=net, lab=lab)
    finally:
        try:
            if testnet is not None:
                testnet.stop(timeout=10)
        finally:
            lab.destroy()
            assert lab.leftovers() == [], lab.leftovers()


def heights(net: Net) -> list[int]:
    out = []
    for i in range(VALIDATORS):
        try:
            out.append(net.height(i))
        except (OSError, RuntimeError, ValueError, KeyError):
            out.append(-1)
    return out


def assert_apps_agree_with_chain(net: Net) -> None:
    """Every Sultan app reports (ABCI Info) the app hash the chain's next header carries."""
    for i in range(VALIDATORS):
        height, app_hash = net.app_info(i)
        net.wait_height(height + 1, [i])
        header = net.rpc(i, "block", height=str(height + 1))["block"]["header"]
        assert header["app_hash"] == app_hash, (i, height)


def wait_all_agree(net: Net) -> int:
    """Wait until all four pass the highest height any has now (+2), then compare every
    height on all four; the compared height."""
    target = max(heights(net)) + 2
    net.wait_height(target)
    net.assert_agree(target)
    assert_apps_agree_with_chain(net)
    return target


def test_testnet_hosts_are_validated_and_written(cometbft_bin: Path, tmp_path: Path) -> None:
    bad = [
        (["10.0.0.1"], "expected 4 addresses"),
        (["10.0.0.1", "10.0.0.2", "10.0.0.3", "not-an-ip"], "not an IPv4 address"),
        (["10.0.0.1", "10.0.0.2", "10.0.0.3", "::1"], "not an IPv4 address"),
        (["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"], "its own address"),
    ]
    for hosts, message in bad:
        with pytest.raises(TestnetError, match=message):
            Testnet.init(tmp_path / "bad", validators=4, cometbft=cometbft_bin, hosts=hosts)
        assert not (tmp_path / "bad").exists()  # bad input changes nothing
    hosts = ["10.9.9.1", "10.9.9.2"]
    t = Testnet.init(tmp_path / "t", validators=2, cometbft=cometbft_bin, hosts=hosts)
    assert [n.host for n in t.nodes] == hosts
    assert Testnet(tmp_path / "t").nodes[1].rpc_url == f"http://10.9.9.2:{t.nodes[1].ports['rpc']}"
    cmt_toml = (t.nodes[0].cometbft_home / "config" / "config.toml").read_text()
    assert f'laddr = "tcp://10.9.9.1:{t.nodes[0].ports["p2p"]}"' in cmt_toml
    assert f'proxy_app = "tcp://10.9.9.1:{t.nodes[0].ports["abci"]}"' in cmt_toml
    assert f"@10.9.9.2:{t.nodes[1].ports['p2p']}" in cmt_toml  # the peer's own address
    sultan_toml = (t.nodes[1].sultan_home / "config" / "config.toml").read_text()
    assert f"tcp://10.9.9.2:{t.nodes[1].ports['abci']}" in sultan_toml
    # Without hosts: 127.0.0.1 everywhere and no "host" in the manifest (as before).
    d = Testnet.init(tmp_path / "d", validators=2, cometbft=cometbft_bin)
    assert all(
        "host" not in n for n in json.loads((tmp_path / "d" / "testnet.json").read_text())["nodes"]
    )
    assert d.nodes[0].rpc_url == f"http://127.0.0.1:{d.nodes[0].ports['rpc']}"


def test_baseline_blocks_over_the_bridge(lab_net: Lab) -> None:
    net, lab = lab_net.net, lab_net.lab
    # The processes really are in the namespaces, and the peers meet over the bridge.
    for i, node in enumerate(net.nodes):
        ns_inode = os.stat(f"/run/netns/{lab.namespaces[i]}").st_ino
        for kind in ("sultan", "cometbft"):
            pid = net.t.pid(node, kind)
            assert pid is not None, (i, kind)
            assert os.readlink(f"/proc/{pid}/ns/net") == f"net:[{ns_inode}]", (i, kind)
    deadline = time.monotonic() + WAIT
    while True:
        infos = [net.rpc(i, "net_info") for i in range(VALIDATORS)]
        if all(int(info["n_peers"]) == VALIDATORS - 1 for info in infos):
            break
        assert time.monotonic() < deadline, [info["n_peers"] for info in infos]
        time.sleep(0.5)
    for i, info in enumerate(infos):
        remote = sorted(p["remote_ip"] for p in info["peers"])
        assert remote == sorted(a for j, a in enumerate(lab.addresses) if j != i), (i, remote)

    start_h, start_t = max(heights(net)), time.monotonic()
    net.wait_height(start_h + 5)
    lab_net.block_time = (time.monotonic() - start_t) / 5
    upto = wait_all_agree(net)
    report(f"baseline: {lab_net.block_time:.2f}s per block; heights 1..{upto} agree on all 4")


def test_one_node_partitioned_then_healed(lab_net: Lab) -> None:
    net, lab = lab_net.net, lab_net.lab
    lab.partition([3])
    cut_at = time.monotonic()
    try:
        at_cut = heights(net)
        assert min(at_cut) > 0, at_cut
        # The cut is real: node 3 cannot open a connection to node 0, nor node 0 to node 3,
        # while the test (root namespace) still reaches both.
        assert not lab.can_connect(3, lab.addresses[0], net.nodes[0].ports["rpc"])
        assert not lab.can_connect(0, lab.addresses[3], net.nodes[3].ports["rpc"])
        net.wait_height(max(at_cut[:3]) + MAJORITY_BLOCKS, [0, 1, 2])
        now = heights(net)  # heights never go back: the last value bounds the whole window
        report(
            f"node3 cut off for {time.monotonic() - cut_at:.1f}s: nodes 0-2 went "
            f"{at_cut[:3]} -> {now[:3]}, node3 {at_cut[3]} -> {now[3]}"
        )
        assert now[3] <= at_cut[3] + 1, (at_cut, now)
    finally:
        lab.heal()
    healed_at = time.monotonic()
    assert lab.can_connect(3, lab.addresses[0], net.nodes[0].ports["rpc"])
    target = max(heights(net)[:3])
    net.wait_height(target, [3])
    caught_up = time.monotonic() - healed_at
    upto = wait_all_agree(net)
    report(f"healed: node3 reached {target} in {caught_up:.1f}s; heights 1..{upto} agree")


def test_two_two_partition_halts_then_resumes_without_fork(lab_net: Lab) -> None:
    net, lab = lab_net.net, lab_net.lab
    window = max(MIN_WINDOW_S, WINDOW_BLOCK_TIMES * lab_net.block_time)
    lab.partition([0, 1], [2, 3])
    end = time.monotonic() + window
    try:
        at_cut = heights(net)
        assert min(at_cut) > 0, at_cut
        assert not lab.can_connect(1, lab.addresses[2], net.nodes[2].ports["rpc"])
        assert lab.can_connect(2, lab.addresses[3], net.nodes[3].ports["rpc"])  # same side
        # Absence of progress is what is measured: poll through the whole window.
        highest = list(at_cut)
        while time.monotonic() < end:
            highest = [max(a, b) for a, b in zip(highest, heights(net), strict=True)]
            time.sleep(0.5)
        highest = [max(a, b) for a, b in zip(highest, heights(net), strict=True)]
        report(f"2+2 for {window:.1f}s: heights {at_cut} -> {highest}")
        for i in range(VALIDATORS):
            assert highest[i] <= at_cut[i] + 1, (i, at_cut, highest)
    finally:
        lab.heal()
    healed_at = time.monotonic()
    stuck = max(highest)
    net.wait_height(stuck + 3)
    resumed = time.monotonic() - healed_at
    upto = wait_all_agree(net)
    report(f"healed: all 4 past {stuck + 3} in {resumed:.1f}s; heights 1..{upto} agree, no fork")


def test_lab_recovers_from_leftovers_of_a_crashed_run() -> None:
    """A run killed before its teardown leaves namespaces, bridge and veths behind under
    the same names; the next create() removes them first, destroy() leaves nothing."""
    crashed = NetnsLab(2, tag=f"t{os.getpid()}")  # not a pid: sweep_stale() leaves it
    crashed.create()  # and never destroyed, as after a kill -9
    try:
        assert len(crashed.leftovers()) == 5
        again = NetnsLab(2, tag=crashed.tag)
        with again:
            assert sorted(again.leftovers()) == sorted(crashed.leftovers())
            # The recreated plumbing works: node 0 reaches a listener in node 1's namespace.
            listener = subprocess.Popen(
                [*again.prefix(1), sys.executable, "-c", LISTENER, again.addresses[1]],
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                assert listener.stdout is not None
                assert listener.stdout.readline().strip() == "ready"
                assert again.can_connect(0, again.addresses[1], 7000)
            finally:
                listener.kill()
                listener.wait()
        assert again.leftovers() == []
    finally:
        crashed.destroy()


def test_sweep_removes_labs_of_dead_runs() -> None:
    """A lab named after a test process that no longer exists (killed before teardown) is
    removed by the next run's sweep; a live run's lab is not."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["cat"], stdin=subprocess.PIPE)  # lives until its stdin closes
    live = NetnsLab(1, tag=str(alive.pid))
    orphan = NetnsLab(1, tag=str(dead.pid))
    try:
        live.create()
        orphan.create()  # last: its own create() sweeps before it makes anything
        removed = sweep_stale()
        assert sorted(removed) == sorted([orphan.bridge, *orphan.host_veths, *orphan.namespaces])
        assert orphan.leftovers() == []
        assert len(live.leftovers()) == 3
    finally:
        orphan.destroy()
        live.destroy()
        alive.kill()
        alive.wait()
