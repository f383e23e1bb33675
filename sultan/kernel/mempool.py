"""The embedded engine's mempool: bounded, deduplicated, rechecked after every block.

Bounds follow config.toml `[mempool]`: `size` txs, `max_txs_bytes` in total, `max_tx_bytes`
each; a `cache_size` LRU of recently seen tx hashes rejects duplicates, as CometBFT does.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from sultan.kernel.crypto.merkle import uvarint
from sultan.pb.tendermint.abci import types_pb2 as abci


class MempoolError(Exception):
    """A tx refused before CheckTx (CometBFT answers these as RPC errors)."""


class Mempool:
    def __init__(
        self,
        check_tx: Callable[[Any], Any],
        *,
        size: int = 5000,
        cache_size: int = 10000,
        max_tx_bytes: int = 1048576,
        max_txs_bytes: int = 1073741824,
        recheck: bool = True,
    ) -> None:
        self._check_tx = check_tx
        self.size_limit = size
        self.cache_size = cache_size
        self.max_tx_bytes = max_tx_bytes
        self.max_txs_bytes = max_txs_bytes
        self.recheck = recheck
        self._txs: OrderedDict[bytes, tuple[bytes, int]] = OrderedDict()  # hash -> (tx, gas)
        self._cache: OrderedDict[bytes, None] = OrderedDict()
        self._bytes = 0
        self._lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []

    def on_new_tx(self, callback: Callable[[], None]) -> None:
        self._listeners.append(callback)

    def __len__(self) -> int:
        return len(self._txs)

    @property
    def lock(self) -> threading.RLock:
        """Held by the engine from Commit to `update`, as CometBFT locks its mempool: a
        CheckTx must not run against the new state before the pending txs are rechecked."""
        return self._lock

    @property
    def total_bytes(self) -> int:
        return self._bytes

    def _remember(self, tx_hash: bytes) -> None:
        self._cache[tx_hash] = None
        self._cache.move_to_end(tx_hash)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def check_and_add(self, tx: bytes) -> Any:
        """Run CheckTx and keep the tx if it passes; returns the ResponseCheckTx."""
        if len(tx) > self.max_tx_bytes:
            raise MempoolError(f"tx too large. Max size is {self.max_tx_bytes}, but got {len(tx)}")
        tx_hash = hashlib.sha256(tx).digest()
        with self._lock:
            if tx_hash in self._cache or tx_hash in self._txs:
                raise MempoolError("tx already exists in cache")
            if len(self._txs) >= self.size_limit or self._bytes + len(tx) > self.max_txs_bytes:
                raise MempoolError(
                    f"mempool is full: number of txs {len(self._txs)} (max: {self.size_limit}), "
                    f"total txs bytes {self._bytes} (max: {self.max_txs_bytes})"
                )
            self._remember(tx_hash)
            response = self._check_tx(abci.RequestCheckTx(tx=tx, type=abci.NEW))
            if response.code != 0:
                # A failed tx may become valid later (e.g. once funded): forget it.
                self._cache.pop(tx_hash, None)
                return response
            self._txs[tx_hash] = (tx, response.gas_wanted)
            self._bytes += len(tx)
        for callback in self._listeners:
            callback()
        return response

    def reap(self, max_bytes: int, max_gas: int) -> list[bytes]:
        """Txs in arrival order while they fit the block's byte and gas limits (-1 = none)."""
        out, total_bytes, total_gas = [], 0, 0
        with self._lock:
            for tx, gas in self._txs.values():
                # Each tx costs its bytes plus its protobuf framing inside Data.txs.
                size = len(tx) + 1 + len(uvarint(len(tx)))
                if max_bytes > -1 and total_bytes + size > max_bytes:
                    break
                if max_gas > -1 and total_gas + gas > max_gas:
                    break
                out.append(tx)
                total_bytes += size
                total_gas += gas
        return out

    def update(self, committed: Sequence[bytes], results: Sequence[Any]) -> None:
        """Drop committed txs, then recheck the rest against the new state."""
        with self._lock:
            for tx, result in zip(committed, results, strict=True):
                tx_hash = hashlib.sha256(tx).digest()
                entry = self._txs.pop(tx_hash, None)
                if entry is not None:
                    self._bytes -= len(entry[0])
                if result.code == 0:
                    self._remember(tx_hash)
                else:
                    self._cache.pop(tx_hash, None)
            if not self.recheck:
                return
            for tx_hash, (tx, _) in list(self._txs.items()):
                response = self._check_tx(abci.RequestCheckTx(tx=tx, type=abci.RECHECK))
                if response.code != 0:
                    del self._txs[tx_hash]
                    self._bytes -= len(tx)
                    self._cache.pop(tx_hash, None)

    def txs(self, limit: int) -> list[bytes]:
        with self._lock:
            return [tx for tx, _ in list(self._txs.values())[:limit]]
