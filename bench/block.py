"""Block execution and CheckTx throughput with bank MsgSends, and the node's memory.

What it measures, on a real Application over a real RocksDB (auth + bank modules, the
embedded engine producing the blocks; no network):
- **block**: FinalizeBlock + Commit of blocks of `--txs` bank MsgSends (default 5,000), each
  tx from a different funded account with a fresh secp256k1 signature (never seen at
  CheckTx, so the block verifies every signature), state of `--accounts` funded accounts
  (default 100,000). Reported: tx/s over FinalizeBlock + Commit, and the split (signature
  batch, tx execution, state commit).
- **checktx**: CheckTx of fresh signed txs one at a time, as RPC `broadcast_tx_*` calls it.
- **rss**: the process's resident memory after genesis and after the measured blocks.

Run: `.venv/bin/python bench/block.py [--accounts 100000] [--txs 5000] [--blocks 5]
[--no-save]`. Signing happens before the clock starts. Prints a table and merges its figures
into bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import machine, proc_memory, save, size_label  # noqa: E402

CHAIN_ID = "bench-1"
DENOM = "usultan"


def rss_mib() -> float:
    """This process's current resident set size (not the peak)."""
    return proc_memory(os.getpid())["VmRSS"]


def genesis(addresses: list[str]) -> dict[str, Any]:
    return {
        "auth": {
            "accounts": [
                {
                    "@type": "/cosmos.auth.v1beta1.BaseAccount",
                    "address": address,
                    "pub_key": None,
                    "account_number": str(number),
                    "sequence": "0",
                }
                for number, address in enumerate(addresses)
            ]
        },
        "bank": {
            "balances": sorted(
                (
                    {"address": address, "coins": [{"denom": DENOM, "amount": "1000000000"}]}
                    for address in addresses
                ),
                key=lambda b: b["address"],
            )
        },
    }


class Accounts:
    """N deterministic keys (each derived on first use) and the senders' next sequences."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._wallets: dict[int, Any] = {}
        self.sequences: dict[int, int] = {}

    def wallet(self, index: int) -> Any:
        from sultan.testing.wallet import Wallet

        if index not in self._wallets:
            self._wallets[index] = Wallet.from_seed(f"bench-{index}")
        return self._wallets[index]

    def address(self, index: int) -> str:
        return self.wallet(index).address  # type: ignore[no-any-return]

    def sends(self, senders: range, offset: int) -> list[bytes]:
        """One signed MsgSend per sender to another account, with the sender's next sequence."""
        from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2 as bank_tx

        from sultan.pb.cosmos.base.v1beta1 import coin_pb2

        txs = []
        for index in senders:
            sequence = self.sequences.get(index, 0)
            to = (index + offset) % self.count
            msg = bank_tx.MsgSend(
                from_address=self.address(index),
                to_address=self.address(to),
                amount=[coin_pb2.Coin(denom=DENOM, amount="1")],
            )
            txs.append(
                self.wallet(index).sign_tx(
                    [msg],
                    sequence=sequence,
                    account_number=index,
                    chain_id=CHAIN_ID,
                    fee=f"2000{DENOM}",
                    gas=200_000,
                )
            )
            self.sequences[index] = sequence + 1
        return txs


def _timed(obj: Any, name: str, into: list[float]) -> None:
    """Wrap `obj.name` to append each call's wall time to `into`."""
    real = getattr(obj, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - start)

    setattr(obj, name, wrapper)


def run(accounts: int, txs_per_block: int, blocks: int, checktx: int) -> dict[str, Any]:
    from sultan.kernel.crypto import sigcache
    from sultan.testing import ChainHarness

    people = Accounts(accounts)
    print(f"deriving {accounts:,} keys ...", flush=True)
    started = time.perf_counter()
    addresses = [people.address(i) for i in range(accounts)]
    print(f"  {time.perf_counter() - started:.1f} s", flush=True)
    print(f"InitChain with {accounts:,} funded accounts ...", flush=True)
    started = time.perf_counter()
    sigcache.CACHE.clear()
    out: dict[str, Any] = {}
    with ChainHarness(["auth", "bank"], app_state=genesis(addresses), chain_id=CHAIN_ID) as h:
        h.block()
        out["genesis_s"] = time.perf_counter() - started
        print(f"  {out['genesis_s']:.1f} s", flush=True)
        del addresses
        out["rss_after_genesis_mib"] = rss_mib()
        app = h.app
        finalize: list[float] = []
        commit: list[float] = []
        prepare: list[float] = []
        verify: list[float] = []
        _timed(app, "finalize_block", finalize)
        _timed(app, "commit", commit)
        _timed(app.committed, "prepare_commit", prepare)
        _timed(sigcache, "verify_batch", verify)
        per_block = []
        # Senders rotate through the accounts so every block touches txs_per_block fresh
        # senders (plus as many recipients) spread over the whole state.
        stride = max(1, accounts // txs_per_block)
        for number in range(blocks + 1):
            first = (number * 7919) % stride
            senders = range(first, first + stride * txs_per_block, stride)
            senders = range(senders.start, min(senders.stop, accounts), stride)
            txs = people.sends(senders, offset=accounts // 2 + number)
            sigcache.CACHE.clear()
            del finalize[:], commit[:], prepare[:], verify[:]
            block = h.block(*txs)
            codes = {r.code for r in block.results.tx_results}
            if codes != {0}:
                bad = next(r for r in block.results.tx_results if r.code)
                raise SystemExit(f"a tx failed: code {bad.code}: {bad.log}")
            if number == 0:
                continue  # warm-up
            total = finalize[0] + commit[0]
            per_block.append(
                {
                    "txs": len(txs),
                    "tx_per_s": len(txs) / total,
                    "finalize_ms": finalize[0] * 1e3,
                    "commit_ms": commit[0] * 1e3,
                    "verify_ms": sum(verify) * 1e3,
                    "prepare_commit_ms": prepare[0] * 1e3,
                    "execute_ms": (finalize[0] - sum(verify) - prepare[0]) * 1e3,
                }
            )
            row = per_block[-1]
            print(
                f"  block {number}: {row['txs']} txs, {row['tx_per_s']:,.0f} tx/s "
                f"(signatures {row['verify_ms']:.0f} ms, execution {row['execute_ms']:.0f} ms, "
                f"state commitment {row['prepare_commit_ms']:.0f} ms, "
                f"Commit {row['commit_ms']:.0f} ms)",
                flush=True,
            )
        out["blocks"] = per_block
        out["rss_after_blocks_mib"] = rss_mib()

        if checktx:
            txs = people.sends(range(0, min(checktx, accounts)), offset=1)
            sigcache.CACHE.clear()
            from sultan.pb.tendermint.abci import types_pb2 as abci

            started = time.perf_counter()
            for tx in txs:
                response = app.check_tx(abci.RequestCheckTx(tx=tx, type=abci.NEW))
                if response.code != 0:
                    raise SystemExit(f"CheckTx failed: {response.code} {response.log}")
            out["checktx_per_s"] = len(txs) / (time.perf_counter() - started)
            out["checktx_txs"] = len(txs)
    return out


def median(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--txs", type=int, default=5_000, help="bank sends per block")
    parser.add_argument("--blocks", type=int, default=5, help="measured blocks (after 1 warm-up)")
    parser.add_argument("--checktx", type=int, default=5_000, help="txs for the CheckTx run")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    if args.txs > args.accounts:
        parser.error("--txs must not exceed --accounts (each tx has its own sender)")
    result = run(args.accounts, args.txs, args.blocks, args.checktx)
    rows = result["blocks"]
    load = os.getloadavg()[0]
    conditions = (
        f"auth+bank, {args.accounts:,} funded accounts, blocks of {args.txs:,} MsgSends from "
        f"distinct senders with fresh secp256k1 signatures, median of {args.blocks} blocks "
        f"after 1 warm-up, {machine()}, load average {load:.2f}"
    )
    tps = median(rows, "tx_per_s")
    print()
    print(f"block execution — {conditions}")
    print(f"{'figure':<44} {'median':>12}")
    lines = [
        ("FinalizeBlock + Commit", f"{tps:,.0f} tx/s"),
        ("  signature batch (in FinalizeBlock)", f"{median(rows, 'verify_ms'):,.0f} ms"),
        ("  tx execution (decode, ante, MsgSend)", f"{median(rows, 'execute_ms'):,.0f} ms"),
        ("  state commitment (prepare_commit)", f"{median(rows, 'prepare_commit_ms'):,.0f} ms"),
        ("  Commit (RocksDB write, fsync)", f"{median(rows, 'commit_ms'):,.0f} ms"),
        ("CheckTx, one at a time", f"{result.get('checktx_per_s', 0):,.0f} tx/s"),
        ("InitChain (genesis)", f"{result['genesis_s']:,.1f} s"),
        ("RSS after genesis", f"{result['rss_after_genesis_mib']:,.0f} MiB"),
        ("RSS after the blocks", f"{result['rss_after_blocks_mib']:,.0f} MiB"),
    ]
    for name, value in lines:
        print(f"{name:<44} {value:>12}")
    print("targets: >= 10,000 tx/s FinalizeBlock + Commit; >= 15,000 tx/s CheckTx")
    label = size_label(args.accounts)
    entries = [
        {
            "name": f"block.finalize_commit.{label}_accounts",
            "value": round(tps, 1),
            "unit": "tx/s",
            "conditions": conditions,
        },
        {
            "name": f"block.rss_after_blocks.{label}_accounts",
            "value": round(result["rss_after_blocks_mib"], 1),
            "unit": "MiB",
            "conditions": conditions + " (VmRSS of the benchmark process: node state + harness)",
        },
    ]
    for key in ("verify_ms", "execute_ms", "prepare_commit_ms", "commit_ms"):
        entries.append(
            {
                "name": f"block.{key[:-3]}_per_block.{label}_accounts",
                "value": round(median(rows, key), 1),
                "unit": "ms",
                "conditions": conditions,
            }
        )
    if "checktx_per_s" in result:
        entries.append(
            {
                "name": "block.checktx",
                "value": round(result["checktx_per_s"], 1),
                "unit": "tx/s",
                "conditions": f"{result['checktx_txs']:,} fresh txs one at a time; {conditions}",
            }
        )
    if not args.no_save:
        save(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
