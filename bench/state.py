"""Commit cost per written key of the authenticated state, at growing state sizes.

What it measures: one block's commit — `CommittedState.prepare_commit` (sparse Merkle tree
update, versioned history, pruning) + the atomic RocksDB write (fsync) + `apply_commit` —
divided by the keys the block writes. The target is a cost that grows with log(state size):
within 2x from 10,000 to 1,000,000 keys.

Run: `.venv/bin/python bench/state.py [--sizes 10000,100000,1000000] [--writes 1000,100]
[--runs 7]`. Prints a table and merges its figures into bench/results/latest.json (a list of
{name, value, unit, conditions}).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._results import save, size_label  # noqa: E402
from sultan.kernel.store.db import Database  # noqa: E402
from sultan.kernel.store.versioned import CommittedState  # noqa: E402

STORES = ["auth", "bank", "kernel", "staking"]
LOAD_CHUNK = 50_000
KEEP_RECENT = 100


def _key(rng: random.Random) -> bytes:
    # Bank-balance-like keys: prefix byte + 20-byte address + short denom.
    return b"bank/\x02" + rng.randbytes(20) + b"usultan"


def _commit(state: CommittedState, changes: list, sync: bool) -> tuple[float, float]:
    """(whole commit seconds, of which prepare_commit: tree + history, no I/O wait)."""
    version = state.height + 1
    start = time.perf_counter()
    ops, app_hash, roots = state.prepare_commit(changes, version, KEEP_RECENT)
    prepared = time.perf_counter()
    state.db.write(ops, sync=sync)
    state.apply_commit(version, app_hash, roots, KEEP_RECENT)
    return time.perf_counter() - start, prepared - start


def measure(size: int, block_sizes: list[int], runs: int, seed: int = 1) -> dict[int, dict]:
    """Load `size` keys, then commit `runs` blocks of each block size on that same state."""
    rng = random.Random(seed)
    keys: list[bytes] = []
    results: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sultan-bench-state-") as tmp:
        db = Database(os.path.join(tmp, "application.db"))
        try:
            state = CommittedState(db, STORES)
            load_start = time.perf_counter()
            while len(keys) < size:
                batch = [_key(rng) for _ in range(min(LOAD_CHUNK, size - len(keys)))]
                keys.extend(batch)
                _commit(state, [(k, rng.randbytes(32)) for k in batch], sync=False)
            load_seconds = time.perf_counter() - load_start
            # Steady state: a node that grew to N keys over many blocks has compacted its
            # LSM; without this the bulk load's pending compactions eat the measured blocks.
            for cf in ("smt", "smt_stale", "state", "history", "obsolete"):
                db.cf(cf).compact_range(None, None)
            for writes in block_sizes:
                # Two warm-up blocks, then the measured ones.
                per_key, prepare_per_key = [], []
                for run in range(runs + 2):
                    # A busy block: 50% updates, 40% new keys, 10% deletes (size stays ~N).
                    changes: dict[bytes, bytes | None] = {}
                    for k in rng.sample(keys, writes // 2):
                        changes[k] = rng.randbytes(32)
                    new = [_key(rng) for _ in range(writes * 4 // 10)]
                    for k in new:
                        changes[k] = rng.randbytes(32)
                    for k in rng.sample(keys, writes - len(changes)):
                        changes.setdefault(k, None)
                    seconds, prepare = _commit(state, list(changes.items()), sync=True)
                    if run >= 2:
                        per_key.append(seconds / len(changes))
                        prepare_per_key.append(prepare / len(changes))
                    dropped = {k for k, v in changes.items() if v is None}
                    # In place: a new N-element list each block would be scanned by the
                    # cyclic GC's young-generation pass inside the next timed commit
                    # (~25 ms at 1M keys) — a cost of this script, not of the commit.
                    keys[:] = [k for k in keys if k not in dropped]
                    keys.extend(new)
                results[writes] = {
                    "per_key_us": statistics.median(per_key) * 1e6,
                    "prepare_us": statistics.median(prepare_per_key) * 1e6,
                    "block_ms": statistics.median(per_key) * writes * 1e3,
                    "load_s": load_seconds,
                }
        finally:
            db.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--writes", default="1000,100", help="block sizes (written keys)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    block_sizes = [int(w) for w in args.writes.split(",")]
    conditions = (
        "blocks of 50% updates, 40% inserts, 10% deletes, 32-byte values, one store of N keys "
        f"among {len(STORES)}, keep_recent={KEEP_RECENT}, fsync'd RocksDB batch, LSM "
        f"compacted after loading, node hashes by the C core, median of {args.runs} blocks after 2 warm-up blocks, "
        f"{os.cpu_count()}-core machine shared with other work"
    )
    print(f"state commit cost per written key — {conditions}")
    print(
        f"{'state keys':>12} {'block':>6} {'us/written key':>15} {'prepare us/key':>15} "
        f"{'block ms':>10} {'load s':>8}"
    )
    table: dict[int, dict[int, dict]] = {}
    for size in sizes:
        table[size] = measure(size, block_sizes, args.runs)
        for writes, result in table[size].items():
            print(
                f"{size:>12,} {writes:>6} {result['per_key_us']:>15.1f} "
                f"{result['prepare_us']:>15.1f} "
                f"{result['block_ms']:>10.1f} {result['load_s']:>8.1f}",
                flush=True,
            )
    entries = []
    for writes in block_sizes:
        for size in sizes:
            entries.append(
                {
                    "name": f"state.commit_per_written_key.{size_label(size)}_keys.{writes}_per_block",
                    "value": round(table[size][writes]["per_key_us"], 2),
                    "unit": "us/key",
                    "conditions": f"N={size:,} keys, {writes} writes/block; {conditions}",
                }
            )
            entries.append(
                {
                    "name": f"state.prepare_commit_per_written_key.{size_label(size)}_keys."
                    f"{writes}_per_block",
                    "value": round(table[size][writes]["prepare_us"], 2),
                    "unit": "us/key",
                    "conditions": f"prepare_commit only (tree + history, no fsync); N={size:,} "
                    f"keys, {writes} writes/block; {conditions}",
                }
            )
        if len(sizes) > 1:
            first, last = sizes[0], sizes[-1]
            ratio = table[last][writes]["per_key_us"] / table[first][writes]["per_key_us"]
            print(
                f"growth {size_label(first)} -> {size_label(last)} keys, {writes} writes/block: "
                f"{ratio:.2f}x (target <= 2x)"
            )
            entries.append(
                {
                    "name": f"state.commit_per_written_key.growth_{size_label(first)}_to_"
                    f"{size_label(last)}.{writes}_per_block",
                    "value": round(ratio, 3),
                    "unit": "x",
                    "conditions": f"{writes} writes/block; {conditions}",
                }
            )
    if not args.no_save:
        save(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
