"""`sultan stress` / scripts/stress_test.sh against a real node (short, bounded runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sultan.ops import stress
from sultan.testing import init_home

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]


def test_stress_script_short_run_passes_all_five_and_writes_json(ops_node, tmp_path: Path) -> None:
    node = ops_node.process
    output = tmp_path / "stress.json"
    env = dict(
        os.environ,
        TEST_DURATION="5",
        RPC_ENDPOINT=node.rpc_url,
        API_ENDPOINT=node.rest_url,
        METRICS_ENDPOINT=node.metrics_url,
        OUTPUT_FILE=str(output),
        SULTAN=str(Path(sys.executable).with_name("sultan")),
    )
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "stress_test.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Overall Score: 5/5 (100%)" in result.stdout
    for name in (
        "API endpoint stress",
        "Sustained load",
        "Memory stability",
        "Block production",
        "Error handling",
    ):
        assert name in result.stdout
    assert "[2/5 sustained load" in result.stderr  # the live progress line
    report = json.loads(output.read_text())
    assert report["score"] == 5 and report["max_score"] == 5 and report["passed"] is True
    by_name = {s["name"]: s for s in report["scenarios"]}
    assert by_name["API endpoint stress"]["measured"]["concurrency"] == 100
    assert by_name["API endpoint stress"]["measured"]["mean_ms"] < 100
    sustained = by_name["Sustained load"]["measured"]
    assert sustained["errors"] == 0 and sustained["requests_per_second"] > 50
    assert 4.5 <= sustained["duration_s"] <= 15
    assert by_name["Memory stability"]["measured"]["growth"] < 0.25
    assert by_name["Block production"]["measured"]["blocks"] > 0
    checks = by_name["Error handling"]["measured"]["checks"]
    assert len(checks) >= 8 and all(c["clean"] for c in checks)
    assert node.proc is not None and node.proc.poll() is None  # still running


def test_tx_rate_mode_commits_signed_transfers_and_reports_latency(
    ops_node, tmp_path: Path
) -> None:
    node = ops_node.process
    output = tmp_path / "tx.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sultan.cli.main",
            "stress",
            "--rpc",
            node.rpc_url,
            "--api",
            node.rest_url,
            "--tx-rate",
            "60",
            "--duration",
            "4",
            "--accounts-file",
            str(ops_node.accounts_file),
            "--quiet",
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    load = json.loads(output.read_text())["tx_load"]
    # Every tx passes CheckTx, even when it arrives while a block commits (the engine holds
    # the mempool from Commit to recheck), and every accepted tx is committed.
    # (A slot is skipped when all 12 accounts still await CheckTx: a loaded machine.)
    assert load["submitted"] >= 200 and load["rejected"] == 0, load
    assert load["committed"] == load["accepted"] == load["submitted"], load
    assert load["failed_in_block"] == 0 and load["not_committed"] == 0
    assert load["committed_tps"] > 10
    lat = load["latency"]
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"] < 10_000
    assert "committed tx/s" in result.stdout and "submit-to-commit" in result.stdout


def test_stress_accounts_funds_genesis_before_the_chain_starts(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home", ["auth", "bank"], chain_id="acc-1")
    out = tmp_path / "accounts.json"
    cmd = [sys.executable, "-m", "sultan.cli.main", "stress-accounts", "--count", "3"]
    result = subprocess.run(
        [*cmd, "--seed", "s", "--out", str(out), "--home", str(home), "--coins", "5usultan"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    accounts = stress.read_accounts_file(out)
    assert accounts == stress.generate_accounts(3, "s")
    genesis = json.loads((home / "config" / "genesis.json").read_text())
    balances = {b["address"]: b["coins"] for b in genesis["app_state"]["bank"]["balances"]}
    assert balances == {a.address: [{"denom": "usultan", "amount": "5"}] for a in accounts}
    (home / "data" / "application.db").mkdir()
    again = subprocess.run(
        [*cmd, "--out", str(tmp_path / "b.json"), "--home", str(home)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 1 and "already started its chain" in again.stderr


def test_stress_against_nothing_is_a_clear_error(tmp_path: Path) -> None:
    from sultan.testing import free_port

    port = free_port()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sultan.cli.main",
            "stress",
            "--rpc",
            f"http://127.0.0.1:{port}",
            "--duration",
            "1",
            "-o",
            str(tmp_path / "x.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Error: cannot reach the node" in result.stderr
    assert "Traceback" not in result.stderr


def test_error_classification_and_percentiles() -> None:
    classify = stress.classify_error_response
    assert classify(500, b'{"jsonrpc":"2.0","id":-1,"error":{"code":-32700}}')[0]
    assert classify(200, b'{"jsonrpc":"2.0","id":1,"result":{"code":2}}')[0]
    assert not classify(200, b'{"jsonrpc":"2.0","id":1,"result":{"code":0}}')[0]
    assert classify(404, b"404 page not found\n")[0]
    assert classify(501, b'{"code":12,"message":"Not Implemented","details":[]}')[0]
    assert not classify(500, b"Internal Server Error")[0]
    assert not classify(200, b"<html>")[0]
    assert stress.percentile([], 95) == 0.0
    assert stress.percentile(list(range(1, 101)), 95) == 95
    assert stress.percentile([3.0, 1.0, 2.0], 50) == 2.0
