"""The C crypto core's throughput: batch signature verification and hashing.

What it measures (each figure the median of --runs runs, packing from Python included):
- secp256k1 ECDSA: one batch call on 1 thread and on 2 threads (target: 2 threads >= 1.7x
  one), and against calling libsecp256k1 one signature at a time from Python through
  coincurve, as the kernel did before the core (target: batch >= 1.5x that);
- ed25519: batch on 1 and 2 threads, and per call through `cryptography`;
- SHA-256 of many tx-sized inputs and RFC-6962 Merkle roots, against hashlib from Python.

Run: `.venv/bin/python -m bench crypto` or `.venv/bin/python bench/crypto.py [--sigs 2000]
[--runs 11] [--no-save]`. Prints a table and merges its figures into bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coincurve import PrivateKey, PublicKey
from coincurve._libsecp256k1 import ffi as cc_ffi
from coincurve._libsecp256k1 import lib as cc_lib
from coincurve.context import GLOBAL_CONTEXT
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench._results import RESULTS, machine, merge_results
from sultan.kernel.crypto import native


def median_time(fn: Callable[[], Any], runs: int) -> float:
    return interleaved([fn], runs)[0]


def _cpu_idle_ticks() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)


def wait_for_idle_cpus(min_idle: float = 0.9, window: float = 0.2, timeout: float = 10.0) -> bool:
    """Wait until the whole machine was >= `min_idle` idle over `window` seconds (so other
    jobs on a shared machine are not competing right now); False after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            idle0, total0 = _cpu_idle_ticks()
            time.sleep(window)
            idle1, total1 = _cpu_idle_ticks()
        except (OSError, ValueError, IndexError):
            return False  # no /proc/stat: measure as is
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) >= min_idle:
            return True
    return False


IDLE_ROUNDS = [0, 0]  # rounds that started on an idle machine, rounds in all


ROUNDS: dict[Callable[[], Any], list[float]] = {}  # every round's time of each variant


def paired_ratio(slow: Callable[[], Any], fast: Callable[[], Any]) -> float:
    """Median over rounds of slow/fast, each pair timed back to back (less noisy than the
    ratio of two medians when other jobs come and go)."""
    return statistics.median(a / b for a, b in zip(ROUNDS[slow], ROUNDS[fast], strict=True))


def interleaved(fns: list[Callable[[], Any]], runs: int) -> list[float]:
    """Median wall time of each function, timed in rounds (f1, f2, ..., f1, f2, ...) so that
    load from other processes on a shared machine falls on every variant alike; each round
    starts when the machine has been idle for a moment (see `wait_for_idle_cpus`)."""
    for fn in fns:
        fn()  # warm up (lazy contexts, caches)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        IDLE_ROUNDS[0] += wait_for_idle_cpus()
        IDLE_ROUNDS[1] += 1
        for fn, bucket in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    for fn, bucket in zip(fns, times, strict=True):
        ROUNDS[fn] = bucket
    return [statistics.median(bucket) for bucket in times]


def load_average() -> str:
    try:
        return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def secp256k1_items(n: int) -> list[tuple[bytes, bytes, bytes]]:
    items = []
    for i in range(n):
        key = PrivateKey((i + 1).to_bytes(32, "big"))
        msg = b"sign doc " + i.to_bytes(4, "big") * 40  # ~170 bytes, like a SignDoc
        sig = key.sign_recoverable(msg)[:64]
        items.append((key.public_key.format(compressed=True), msg, sig))
    return items


def coincurve_verify(pub: bytes, msg: bytes, sig: bytes) -> bool:
    """One signature through coincurve's libsecp256k1 binding, as the kernel verified before."""
    key = PublicKey(pub)
    raw = cc_ffi.new("secp256k1_ecdsa_signature *")
    if not cc_lib.secp256k1_ecdsa_signature_parse_compact(GLOBAL_CONTEXT.ctx, raw, sig):
        return False
    digest = hashlib.sha256(msg).digest()
    return bool(cc_lib.secp256k1_ecdsa_verify(GLOBAL_CONTEXT.ctx, raw, digest, key.public_key))


def ed25519_items(n: int) -> list[tuple[bytes, bytes, bytes]]:
    items = []
    for i in range(n):
        key = Ed25519PrivateKey.from_private_bytes((i + 1).to_bytes(32, "big"))
        msg = b"vote " + i.to_bytes(4, "big") * 30
        pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        items.append((pub, msg, key.sign(msg)))
    return items


def cryptography_ed25519_verify(pub: bytes, msg: bytes, sig: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except InvalidSignature:
        return False
    return True


def python_merkle_root(items: list[bytes]) -> bytes:
    """The kernel's previous pure-Python RFC-6962 root (hashlib), for comparison."""

    def root(hashes: list[bytes]) -> bytes:
        if len(hashes) == 1:
            return hashes[0]
        k = 1 << ((len(hashes) - 1).bit_length() - 1)
        return hashlib.sha256(b"\x01" + root(hashes[:k]) + root(hashes[k:])).digest()

    if not items:
        return hashlib.sha256(b"").digest()
    return root([hashlib.sha256(b"\x00" + x).digest() for x in items])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sigs", type=int, default=2000, help="signatures per batch")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    n, runs = args.sigs, args.runs
    where = f"{machine()}, shared and noisy; median of {runs} runs"
    rows: list[tuple[str, float, str, str]] = []

    def add(name: str, value: float, unit: str, conditions: str) -> None:
        rows.append((name, value, unit, conditions))
        print(f"  {name:<46} {value:>14,.2f} {unit}", flush=True)

    print(f"crypto core {native.version()} — {where}")

    items = secp256k1_items(n)
    assert all(native.secp256k1_verify_many(items))
    assert all(coincurve_verify(*item) for item in items[:50])
    cond = f"batch of {n} fresh signatures over ~170-byte messages (SHA-256 in the core)"
    variants = [
        lambda: native.secp256k1_verify_many(items, threads=1),
        lambda: native.secp256k1_verify_many(items, threads=2),
        lambda: [coincurve_verify(*item) for item in items],
        lambda: [native.secp256k1_verify_many([it], threads=1) for it in items],
    ]
    t1, t2, tpc, tnc = interleaved(variants, runs)
    add("crypto.secp256k1_verify.batch_1_thread", n / t1, "sigs/s", cond)
    add("crypto.secp256k1_verify.batch_2_threads", n / t2, "sigs/s", cond)
    speedup = paired_ratio(variants[0], variants[1])
    add("crypto.secp256k1_verify.speedup_2_vs_1_threads", speedup, "x", f"{cond}; target >= 1.7")
    add(
        "crypto.secp256k1_verify.per_call_coincurve",
        n / tpc,
        "sigs/s",
        "one signature per call from Python via coincurve (libsecp256k1), hashlib SHA-256",
    )
    add(
        "crypto.secp256k1_verify.per_call_core",
        n / tnc,
        "sigs/s",
        "one signature per call from Python through the core (metrics included)",
    )
    add(
        "crypto.secp256k1_verify.batch_vs_per_call_coincurve",
        paired_ratio(variants[2], variants[1]),
        "x",
        f"{cond}, 2 threads, vs per-call coincurve; target >= 1.5",
    )

    ed = ed25519_items(n)
    assert all(native.ed25519_verify_many(ed))
    cond = f"batch of {n} signatures over ~125-byte messages (OpenSSL)"
    ed_variants = [
        lambda: native.ed25519_verify_many(ed, threads=1),
        lambda: native.ed25519_verify_many(ed, threads=2),
        lambda: [cryptography_ed25519_verify(*item) for item in ed],
    ]
    e1, e2, epc = interleaved(ed_variants, runs)
    add("crypto.ed25519_verify.batch_1_thread", n / e1, "sigs/s", cond)
    add("crypto.ed25519_verify.batch_2_threads", n / e2, "sigs/s", cond)
    add(
        "crypto.ed25519_verify.speedup_2_vs_1_threads",
        paired_ratio(ed_variants[0], ed_variants[1]),
        "x",
        cond,
    )
    add(
        "crypto.ed25519_verify.per_call_cryptography",
        n / epc,
        "sigs/s",
        "one signature per call from Python via cryptography",
    )

    txs = [bytes([i % 256]) * 250 for i in range(5000)]
    cond = "5,000 inputs of 250 bytes (a block's txs)"
    h1, h2, hp = interleaved(
        [
            lambda: native.sha256_many(txs, threads=1),
            lambda: native.sha256_many(txs, threads=2),
            lambda: [hashlib.sha256(x).digest() for x in txs],
        ],
        runs,
    )
    add("crypto.sha256_many.tx_sized_1_thread", len(txs) / h1, "hashes/s", cond)
    add("crypto.sha256_many.tx_sized_2_threads", len(txs) / h2, "hashes/s", cond)
    add("crypto.sha256.tx_sized_hashlib_loop", len(txs) / hp, "hashes/s", cond)
    parts = [bytes([i]) * 65536 for i in range(64)]
    cond = "64 inputs of 64 KiB (block parts)"
    b1, b2 = interleaved(
        [
            lambda: native.sha256_many(parts, threads=1),
            lambda: native.sha256_many(parts, threads=2),
        ],
        runs,
    )
    add("crypto.sha256_many.bulk_1_thread", 64 * 65536 / b1 / 2**20, "MiB/s", cond)
    add("crypto.sha256_many.bulk_2_threads", 64 * 65536 / b2 / 2**20, "MiB/s", cond)

    for count in (5000, 100_000):
        leaves = [i.to_bytes(4, "big") * 8 for i in range(count)]
        assert native.merkle_root(leaves) == python_merkle_root(leaves)
        cond = f"{count:,} leaves of 32 bytes"
        m = median_time(lambda leaves=leaves: native.merkle_root(leaves), runs)
        mp = median_time(lambda leaves=leaves: python_merkle_root(leaves), max(3, runs // 2))
        label = f"{count // 1000}k"
        add(f"crypto.merkle_root.{label}_leaves_core", count / m, "leaves/s", cond)
        add(f"crypto.merkle_root.{label}_leaves_python", count / mp, "leaves/s", cond)

    where += (
        f"; {IDLE_ROUNDS[0]} of {IDLE_ROUNDS[1]} rounds started on an idle machine"
        f"; {load_average()} at the end"
    )
    print(f"  ({IDLE_ROUNDS[0]} of {IDLE_ROUNDS[1]} rounds started on an idle machine)")
    print(f"  ({load_average()})")
    entries = [
        {"name": name, "value": round(value, 3), "unit": unit, "conditions": f"{cond}; {where}"}
        for name, value, unit, cond in rows
    ]
    if not args.no_save:
        merge_results(entries)
        print(f"merged into {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
