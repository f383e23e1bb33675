"""Memory of a real node holding N funded accounts (default 1,000,000).

What it does: `sultan init` a home with the default modules, adds N accounts with a balance
each to its genesis, starts `sultan run` as its own process and reads the process's memory
from /proc once it makes blocks: right after InitChain (which parsed the genesis file), then
after a restart (the steady state of a node that already holds the accounts), both while
producing blocks. Also reports the genesis file size, the InitChain time and the size of the
data directory.

Run: `.venv/bin/python bench/memory.py [--accounts 1000000] [--no-save]` (about 10 minutes
for 1M accounts). Prints a table and merges its figures into bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import machine, proc_memory, save, size_label  # noqa: E402

CHAIN_ID = "memory-1"
BLOCKS_AFTER_START = 5


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def add_accounts(genesis_path: Path, count: int, denom: str) -> None:
    """Append `count` deterministic accounts (20-byte addresses) with 1,000,000 `denom` each."""
    from sultan.kernel.address import ACCOUNT_CODEC

    doc = json.loads(genesis_path.read_text())
    app_state: dict[str, Any] = doc["app_state"]
    accounts = app_state["auth"].setdefault("accounts", [])
    balances = app_state["bank"].setdefault("balances", [])
    for i in range(count):
        address = ACCOUNT_CODEC.to_string(hashlib.sha256(b"memory-%d" % i).digest()[:20])
        accounts.append(
            {
                "@type": "/cosmos.auth.v1beta1.BaseAccount",
                "address": address,
                "pub_key": None,
                "account_number": "0",  # numbered at InitChain, as duplicates are
                "sequence": "0",
            }
        )
        balances.append({"address": address, "coins": [{"denom": denom, "amount": "1000000"}]})
    balances.sort(key=lambda b: b["address"])
    app_state["bank"]["supply"] = []  # computed at InitChain
    genesis_path.write_text(json.dumps(doc))


def run(count: int, timeout: float) -> dict[str, Any]:
    from sultan.testing.process import NodeProcess, sultan_cli

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sultan-bench-memory-") as tmp:
        home = Path(tmp) / "home"
        sultan_cli("init", "--home", str(home), "--chain-id", CHAIN_ID, "--moniker", "memory")
        genesis_path = home / "config" / "genesis.json"
        denom = "usultan"
        print(f"writing a genesis with {count:,} accounts ...", flush=True)
        add_accounts(genesis_path, count, denom)
        out["genesis_bytes"] = genesis_path.stat().st_size
        node = NodeProcess(home, timeout_commit="1s")
        try:
            started = time.monotonic()
            node.start(wait=False)
            assert node.proc is not None
            print("starting the node (InitChain) ...", flush=True)
            node.wait_for_height(1, timeout)
            out["init_s"] = time.monotonic() - started
            height = node.wait_for_height(1 + BLOCKS_AFTER_START, timeout)
            out["after_genesis"] = proc_memory(node.proc.pid)
            print(f"  height {height} after {out['init_s']:.0f} s: {out['after_genesis']}")
            node.stop()
            node.start(wait=False)
            node.wait_for_height(height + BLOCKS_AFTER_START, timeout)
            out["restarted"] = proc_memory(node.proc.pid)
            print(f"  restarted: {out['restarted']}", flush=True)
            out["data_bytes"] = dir_bytes(home / "data")
        finally:
            node.kill()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait for blocks")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.accounts, args.timeout)
    label = size_label(args.accounts)
    conditions = (
        f"`sultan run` with the default modules, {args.accounts:,} funded genesis accounts, "
        f"idle chain (timeout_commit 1s), {machine()}, load average {os.getloadavg()[0]:.2f}"
    )
    rows = [
        ("genesis file", f"{result['genesis_bytes'] / 2**20:,.0f} MiB"),
        ("InitChain until block 1", f"{result['init_s']:,.0f} s"),
        ("RSS after InitChain", f"{result['after_genesis']['VmRSS']:,.0f} MiB"),
        ("peak RSS during InitChain", f"{result['after_genesis']['VmHWM']:,.0f} MiB"),
        ("RSS after a restart", f"{result['restarted']['VmRSS']:,.0f} MiB"),
        ("data directory", f"{result['data_bytes'] / 2**20:,.0f} MiB"),
    ]
    print()
    print(f"node memory — {conditions}")
    for name, value in rows:
        print(f"{name:<32} {value:>12}")
    entries = [
        {
            "name": f"memory.rss_after_restart.{label}_accounts",
            "value": round(result["restarted"]["VmRSS"], 1),
            "unit": "MiB",
            "conditions": "node restarted on a state that holds the accounts; " + conditions,
        },
        {
            "name": f"memory.rss_after_genesis.{label}_accounts",
            "value": round(result["after_genesis"]["VmRSS"], 1),
            "unit": "MiB",
            "conditions": "same process that parsed the genesis file; " + conditions,
        },
        {
            "name": f"memory.peak_rss_genesis.{label}_accounts",
            "value": round(result["after_genesis"]["VmHWM"], 1),
            "unit": "MiB",
            "conditions": "VmHWM while parsing the genesis file and InitChain; " + conditions,
        },
        {
            "name": f"memory.init_chain.{label}_accounts",
            "value": round(result["init_s"], 1),
            "unit": "s",
            "conditions": "process start to block 1; " + conditions,
        },
        {
            "name": f"memory.data_dir.{label}_accounts",
            "value": round(result["data_bytes"] / 2**20, 1),
            "unit": "MiB",
            "conditions": conditions,
        },
    ]
    if not args.no_save:
        save(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
