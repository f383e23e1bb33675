"""The wallet quick starts in docs/clients/ run unmodified against a running node."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from conftest import JS_SENDER_MNEMONIC, SENDER_MNEMONIC
from interop_env import cosmjs_dir, cosmpy_python

DOCS = Path(__file__).resolve().parents[2] / "docs" / "clients"


def _run(cmd: list[str], env: dict[str, str], cwd: Path | None = None) -> str:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=180, cwd=cwd, env={**os.environ, **env}
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout


def test_cosmpy_quickstart(chain):
    out = _run(
        [cosmpy_python(), str(DOCS / "cosmpy_quickstart.py")],
        {
            "SULTAN_URL": f"grpc+http://127.0.0.1:{chain.node.grpc_port}",
            "SULTAN_CHAIN_ID": chain.chain_id,
            "SULTAN_MNEMONIC": SENDER_MNEMONIC,
        },
    )
    assert "sent in tx" in out and "recipient has:" in out


def test_cosmjs_quickstart(chain):
    work = cosmjs_dir()
    shutil.copy(DOCS / "cosmjs_quickstart.mjs", work / "cosmjs_quickstart.mjs")
    out = _run(
        ["node", "cosmjs_quickstart.mjs"],
        {"SULTAN_RPC": chain.node.rpc_url, "SULTAN_MNEMONIC": JS_SENDER_MNEMONIC},
        cwd=work,
    )
    assert f"chain: {chain.chain_id}" in out and "code 0" in out
