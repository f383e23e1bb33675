"""`sultan run --dev` on a fresh home: a funded dev account whose mnemonic and snippets work."""

from __future__ import annotations

import re
import stat
import subprocess

import pytest

from sultan.client.keyring import address_of, private_key_from_mnemonic
from sultan.kernel.crypto import secp256k1
from sultan.testing import NodeProcess

from .conftest import _CLEAN_ENV, json_out, ok, run_cli, run_cli_subprocess

pytestmark = pytest.mark.slow

DEV_FUNDS = 100_000_000_000
RECIPIENT = "sultan19rl4cm2hmr8afy4kldpxz3fka4jguq0av5s5es"


def _balance(rpc_url: str, address: str) -> int:
    out = json_out(
        run_cli("query", "bank", "balances", address, "--denom", "usultan", "--node", rpc_url)
    )
    return int(out["amount"])


def _section(log: str, title: str) -> list[str]:
    """The lines of one snippet section of the dev box (indent removed)."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  -- {title}"))
    out = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.startswith("  --") or line.startswith("====="):
            break
        out.append(line[2:])
    return out


def test_run_dev_creates_a_funded_dev_account_and_working_snippets(tmp_path):
    home = tmp_path / "devhome"
    node = NodeProcess(home, timeout_commit="150ms", extra_args=["--dev"])
    try:
        node.start()
        log = node.log_text()
        assert "DEVELOPMENT ONLY" in log
        address = re.search(r"dev account:\s+(sultan1\w+)", log).group(1)
        mnemonic = re.search(r"  mnemonic:\n\s+([a-z ]+)\n", log).group(1).strip()
        assert len(mnemonic.split()) == 24
        assert address_of(secp256k1.public_key(private_key_from_mnemonic(mnemonic))) == address
        # The key is in the (unencrypted, explicitly named) test keyring, mode 0600.
        shown = ok(
            run_cli("keys", "show", "dev", "-a", "--home", str(home), "--keyring-backend", "test")
        )
        assert shown.stdout.strip() == address
        key_file = home / "keyring-test" / "dev.json"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        # Funded in genesis through `genesis add-account`.
        assert _balance(node.rpc_url, address) == DEV_FUNDS
        genesis = (home / "config" / "genesis.json").read_text()
        assert address in genesis
        # The snippets point at this node's ports (the run's flags), not the defaults.
        assert node.rpc_url in log and node.rest_url in log
        assert f'url="rest+{node.rest_url}"' in log
        assert f'connectWithSigner(\n    "{node.rpc_url}"' in log
        # The printed `sultan tx bank send` command works as printed.
        command = "\n".join(_section(log, "sultan CLI")[:2])
        assert command.split()[2:5] == ["bank", "send", "dev"]
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=120, env=_CLEAN_ENV
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "code:    0 ok" in done.stdout
        assert _balance(node.rpc_url, RECIPIENT) == 1000
        assert _balance(node.rpc_url, address) == DEV_FUNDS - 1000 - 5000
    finally:
        node.kill()
    # A second `run --dev` keeps the home and only reminds of the account.
    again = NodeProcess(home, timeout_commit="150ms", extra_args=["--dev"])
    try:
        again.start()
        log = again.log_text()
        assert log.count("  mnemonic:") == 1
        assert f"DEVELOPMENT ONLY: dev account {address}" in log
        assert _balance(again.rpc_url, address) == DEV_FUNDS - 6000
    finally:
        again.kill()


def test_run_dev_without_bank_still_starts(tmp_path):
    home = tmp_path / "nobank"
    (home / "config").mkdir(parents=True)
    (home / "config" / "plugins.toml").write_text("modules = []\n")
    node = NodeProcess(home, timeout_commit="150ms", extra_args=["--dev"])
    try:
        node.start()
        log = node.log_text()
        assert "the dev account is not funded" in log
        assert "DEVELOPMENT ONLY" in log
    finally:
        node.kill()


def test_cli_entry_point_runs_as_a_process(tmp_path):
    result = run_cli_subprocess(
        "keys", "add", "x", "--home", str(tmp_path), "--keyring-backend", "test", "-o", "json"
    )
    assert result.returncode == 0, result.stderr
    assert '"mnemonic"' in result.stdout
    missing = run_cli_subprocess(
        "keys", "show", "y", "--home", str(tmp_path), "--keyring-backend", "test"
    )
    assert missing.returncode == 1
    assert "\nError: key 'y' not found" in "\n" + missing.stderr
    assert "Traceback" not in missing.stderr
