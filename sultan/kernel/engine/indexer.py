"""Tx and block event indexes for `tx`, `tx_search` and `block_search`.

Written in the commit batch of each block (column family `txindex`):
  b"T" tx hash -> tendermint.abci.TxResult
  b"E" esc(type.key) esc(value) be64(height) be32(index) -> "" (indexed tx attributes)
  b"K" esc(type.key) esc(value) be64(height) -> "" (indexed block-level event attributes)
Searching scans the narrowest index (an equality condition, else a key prefix, else
heights) and checks every condition against the candidate's full event set, so
`total_count` is always exact.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any

from sultan.kernel.engine.query import Condition, matches_all
from sultan.kernel.store.branch import prefix_end
from sultan.kernel.store.db import Database, WriteOp
from sultan.kernel.store.versioned import escape_key
from sultan.pb.tendermint.abci import types_pb2 as abci

_BE64 = struct.Struct(">Q")
_BE32 = struct.Struct(">I")
MAX_SEARCH_RESULTS = 10000


class SearchTooBroadError(ValueError):
    pass


def _attributes(events: Sequence[Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event in events:
        for attr in event.attributes:
            if attr.index and attr.key:
                out.setdefault(f"{event.type}.{attr.key}", []).append(attr.value)
    return out


class Indexer:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def block_ops(
        height: int, txs: Sequence[bytes], tx_hashes: Sequence[bytes], results: Any
    ) -> list[WriteOp]:
        ops: list[WriteOp] = []
        for index, (tx, tx_hash, result) in enumerate(
            zip(txs, tx_hashes, results.tx_results, strict=True)
        ):
            record = abci.TxResult(height=height, index=index, tx=tx, result=result)
            ops.append(("txindex", b"T" + tx_hash, record.SerializeToString()))
            suffix = _BE64.pack(height) + _BE32.pack(index)
            for key, values in _attributes(result.events).items():
                for value in values:
                    ops.append(
                        (
                            "txindex",
                            b"E" + escape_key(key.encode()) + escape_key(value.encode()) + suffix,
                            b"",
                        )
                    )
        for key, values in _attributes(results.events).items():
            for value in values:
                ops.append(
                    (
                        "txindex",
                        b"K"
                        + escape_key(key.encode())
                        + escape_key(value.encode())
                        + _BE64.pack(height),
                        b"",
                    )
                )
        return ops

    def tx(self, tx_hash: bytes) -> Any | None:
        raw = self.db.get("txindex", b"T" + tx_hash)
        if raw is None:
            return None
        record = abci.TxResult()
        record.ParseFromString(raw)
        return record

    # -- tx_search --------------------------------------------------------------------------

    def search_txs(
        self, conditions: Sequence[Condition], tx_hash_of: Any, block_txs: Any, latest: int
    ) -> list[Any]:
        """All TxResults matching, ordered by (height, index)."""
        found: dict[tuple[int, int], Any] = {}
        for height, index, record in self._tx_candidates(conditions, block_txs, latest):
            if (height, index) in found:
                continue
            attrs = _attributes(record.result.events)
            attrs["tx.height"] = [str(height)]
            attrs["tx.hash"] = [tx_hash_of(record.tx).hex().upper()]
            if matches_all(conditions, attrs):
                found[height, index] = record
                if len(found) > MAX_SEARCH_RESULTS:
                    raise SearchTooBroadError(
                        f"query matches more than {MAX_SEARCH_RESULTS} txs; narrow it (e.g. tx.height range)"
                    )
        return [found[k] for k in sorted(found)]

    def _tx_candidates(
        self, conditions: Sequence[Condition], block_txs: Any, latest: int
    ) -> Iterator[tuple[int, int, Any]]:
        for c in conditions:
            if c.key == "tx.hash" and c.op == "=" and isinstance(c.operand, str):
                try:
                    record = self.tx(bytes.fromhex(c.operand))
                except ValueError:
                    return
                if record is not None:
                    yield record.height, record.index, record
                return
        for c in conditions:
            if (
                c.key == "tx.height"
                and isinstance(c.operand, Decimal)
                and c.op in ("=", "<", "<=", ">", ">=")
            ):
                lo, hi = _height_range(c, latest)
                for height in range(lo, hi + 1):
                    yield from block_txs(height)
                return
        eq = next((c for c in conditions if c.op == "=" and isinstance(c.operand, str)), None)
        if eq is not None:
            prefix = b"E" + escape_key(eq.key.encode()) + escape_key(eq.operand.encode())  # type: ignore[union-attr]
        else:
            other = next((c for c in conditions if c.key not in ("tx.height", "tx.hash")), None)
            if other is None:
                lo, hi = 1, latest
                for height in range(lo, hi + 1):
                    yield from block_txs(height)
                return
            prefix = b"E" + escape_key(other.key.encode())
        for key, _ in self.db.iterate("txindex", prefix, prefix_end(prefix)):
            height, index = _BE64.unpack(key[-12:-4])[0], _BE32.unpack(key[-4:])[0]
            block = list(block_txs(height))
            if index < len(block):
                yield block[index]

    # -- block_search ---------------------------------------------------------------------

    def search_blocks(
        self, conditions: Sequence[Condition], block_events: Any, latest: int, base: int
    ) -> list[int]:
        heights: list[int] = []
        candidates: Iterator[int]
        height_cond = next(
            (c for c in conditions if c.key == "block.height" and isinstance(c.operand, Decimal)),
            None,
        )
        eq = next((c for c in conditions if c.op == "=" and isinstance(c.operand, str)), None)
        if height_cond is not None:
            lo, hi = _height_range(height_cond, latest)
            candidates = iter(range(max(lo, base), hi + 1))
        elif eq is not None:
            prefix = b"K" + escape_key(eq.key.encode()) + escape_key(eq.operand.encode())  # type: ignore[union-attr]
            candidates = (
                _BE64.unpack(k[-8:])[0]
                for k, _ in self.db.iterate("txindex", prefix, prefix_end(prefix))
            )
        else:
            candidates = iter(range(max(base, 1), latest + 1))
        seen: set[int] = set()
        for height in candidates:
            if height in seen:
                continue
            seen.add(height)
            attrs = _attributes(block_events(height))
            attrs["block.height"] = [str(height)]
            if matches_all(conditions, attrs):
                heights.append(height)
                if len(heights) > MAX_SEARCH_RESULTS:
                    raise SearchTooBroadError(
                        f"query matches more than {MAX_SEARCH_RESULTS} blocks"
                    )
        return sorted(heights)


def _height_range(c: Condition, latest: int) -> tuple[int, int]:
    assert isinstance(c.operand, Decimal)
    value = int(c.operand)
    lo, hi = 1, latest
    if c.op == "=":
        lo = hi = value
    elif c.op == ">":
        lo = value + 1
    elif c.op == ">=":
        lo = value
    elif c.op == "<":
        hi = value - 1
    elif c.op == "<=":
        hi = value
    return max(lo, 1), min(hi, latest)
