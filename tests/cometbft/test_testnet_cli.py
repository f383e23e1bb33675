"""`sultan testnet init` output, and `sultan run --abci socket --proxy_app unix://…` under a
single real CometBFT validator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from cmt_env import WAIT, free_port_block

from sultan.testing.wallet import Wallet
from sultan.testnet import PORTS_PER_NODE, Testnet, TestnetError, set_toml_values

pytestmark = pytest.mark.timeout(300)


def sultan(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "sultan.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_init_writes_homes_with_shared_genesis_and_tuned_cometbft_configs(
    cometbft_bin: Path, tmp_path: Path
) -> None:
    template = tmp_path / "template.toml"
    template.write_text(
        "[mempool]\nsize = 1234\ncache_size = 777\nmax_tx_bytes = 65536\nmax_txs_bytes = 9999999\n"
        '[consensus]\ntimeout_propose = "4s"\ntimeout_prevote = "1500ms"\n'
    )
    out_dir = tmp_path / "net"
    start = free_port_block(PORTS_PER_NODE * 3)
    funded = Wallet.from_seed("init-test").address
    result = sultan(
        "testnet", "init", "--validators", "3", "--output-dir", str(out_dir),
        "--chain-id", "tuned-1", "--starting-port", str(start),
        "--config-template", str(template), "--timeout-commit", "750ms",
        "--account", f"{funded}=5000usultan", "--cometbft", str(cometbft_bin),
    )  # fmt: skip
    assert "Initialised testnet tuned-1 with 3 validators" in result.stdout
    net = Testnet(out_dir)
    genesis = {
        (n.name, kind): (n.dir / kind / "config" / "genesis.json").read_bytes()
        for n in net.nodes
        for kind in ("sultan", "cometbft")
    }
    assert len(set(genesis.values())) == 1  # one genesis, byte for byte, in all six homes
    doc = json.loads(next(iter(genesis.values())))
    assert doc["chain_id"] == "tuned-1"
    assert [v["power"] for v in doc["validators"]] == ["10", "10", "10"]
    assert {v["address"] for v in doc["validators"]} == {n.validator_address for n in net.nodes}
    assert doc["app_state"]["bank"]["balances"] == [
        {"address": funded, "coins": [{"denom": "usultan", "amount": "5000"}]}
    ]
    ports = [p for n in net.nodes for p in n.ports.values()]
    assert len(set(ports)) == len(ports) and min(ports) == start
    for node in net.nodes:
        cmt = tomllib.loads((node.cometbft_home / "config" / "config.toml").read_text())
        app = tomllib.loads((node.sultan_home / "config" / "config.toml").read_text())
        assert cmt["proxy_app"] == app["proxy_app"] == f"tcp://127.0.0.1:{node.ports['abci']}"
        assert app["consensus_engine"] == "cometbft"
        assert cmt["rpc"]["laddr"] == app["rpc"]["laddr"]
        assert cmt["rpc"]["pprof_laddr"] == ""
        assert cmt["p2p"]["addr_book_strict"] is False
        assert cmt["p2p"]["allow_duplicate_ip"] is True
        peers = cmt["p2p"]["persistent_peers"].split(",")
        assert sorted(peers) == sorted(m.p2p_address for m in net.nodes if m is not node)
        # The original guide's tuning keys, carried from the Sultan config into CometBFT's.
        for key, value in {
            "size": 1234,
            "cache_size": 777,
            "max_tx_bytes": 65536,
            "max_txs_bytes": 9999999,
        }.items():
            assert cmt["mempool"][key] == app["mempool"][key] == value
        for key, value in {
            "timeout_propose": "4s",
            "timeout_prevote": "1.5s",
            "timeout_commit": "750ms",
        }.items():
            assert cmt["consensus"][key] == app["consensus"][key] == value
        assert cmt["tx_index"]["indexer"] == "kv"

    again = sultan("testnet", "init", "-n", "1", "-o", str(out_dir), check=False)
    assert again.returncode == 1 and "already holds a testnet" in again.stderr
    bad = sultan(
        "testnet", "init", "-n", "1", "-o", str(tmp_path / "x"), "--account", "nope",
        "--cometbft", str(cometbft_bin), check=False,
    )  # fmt: skip
    assert bad.returncode == 1 and "expected ADDRESS=COINS" in bad.stderr
    status = sultan("testnet", "status", str(out_dir))
    assert status.stdout.count("sultan stopped, cometbft stopped") == 3


def test_set_toml_values_keeps_layout_and_refuses_unknown_keys() -> None:
    text = 'a = 1\n# comment\n[x]\nb = "old"  \nc = true\n[y]\nb = 2\n'
    assert set_toml_values(text, {("x", "b"): "new", ("", "a"): 5}) == (
        'a = 5\n# comment\n[x]\nb = "new"\nc = true\n[y]\nb = 2\n'
    )
    with pytest.raises(TestnetError, match=r"\[y\] zz"):
        set_toml_values(text, {("y", "zz"): 1})


def test_abci_socket_flags_and_unix_socket_with_one_cometbft_validator(
    cometbft_bin: Path, tmp_path: Path
) -> None:
    net = Testnet.init(
        tmp_path / "solo",
        validators=1,
        cometbft=cometbft_bin,
        chain_id="solo-1",
        starting_port=free_port_block(PORTS_PER_NODE),
    )
    node = net.nodes[0]
    sock = tmp_path / "abci.sock"
    # The Sultan home says "embedded": the flags alone switch it to socket mode.
    cfg_path = node.sultan_home / "config" / "config.toml"
    cfg_path.write_text(
        cfg_path.read_text().replace(
            'consensus_engine = "cometbft"', 'consensus_engine = "embedded"'
        )
    )
    cmt_cfg = node.cometbft_home / "config" / "config.toml"
    cmt_cfg.write_text(set_toml_values(cmt_cfg.read_text(), {("", "proxy_app"): f"unix://{sock}"}))
    log = open(node.log_path("sultan"), "ab")
    app = subprocess.Popen(
        [
            sys.executable, "-m", "sultan.cli.main", "run", "--home", str(node.sultan_home),
            "--abci", "socket", "--proxy_app", f"unix://{sock}",
        ],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ),
    )  # fmt: skip
    log.close()
    try:
        deadline = time.monotonic() + WAIT
        while not sock.exists():
            assert app.poll() is None, node.log_text("sultan")
            assert time.monotonic() < deadline, "the ABCI unix socket never appeared"
            time.sleep(0.05)
        # Sultan must not bind CometBFT's RPC port in socket mode: CometBFT takes it.
        net.start_cometbft(0, timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while int(net.rpc(0, "status")["sync_info"]["latest_block_height"]) < 3:
            assert time.monotonic() < deadline, node.log_text("cometbft", 3000)
            time.sleep(0.2)
        status = net.rpc(0, "status")
        assert status["node_info"]["version"] == "0.38.26"
        text = node.log_text("sultan")
        assert f"ABCI  unix://{sock}" in text and "committed block height=3" in text
    finally:
        net.stop_process(0, "cometbft", 20)
        app.terminate()
        assert app.wait(30) == 0, node.log_text("sultan")[-3000:]
    assert not sock.exists()  # removed on a clean stop
