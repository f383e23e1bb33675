"""What every engine that commits blocks into the node's store shares.

The embedded engine (`embedded.py`: makes blocks) and the follower (`follower.py`: executes
blocks other nodes made) differ only in where the next block comes from. Both run one
thread that commits blocks through the Application, stop at `halt-height`, tell commit
listeners (metrics, snapshots) about each block, and stop with one clear line when the
disk fails under them. The API reads `blocks`, `indexer`, `height`, `error`,
`last_commit_ns` and `block_durations` of either.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from sultan.kernel.abci.app import Application
from sultan.kernel.crypto.keys import Ed25519PrivKey
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.indexer import Indexer
from sultan.kernel.genesis import GenesisDoc
from sultan.kernel.mempool import Mempool


class EngineStateError(RuntimeError):
    """The stored chain and the application disagree; refuse to produce blocks."""


class StorageError(RuntimeError):
    """The disk is full or failed under a commit: the node must stop (nothing half-written)."""


_DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
# RocksDB (rocksdict) raises a bare Exception("IO error: No space left on device: ...").
_DISK_FULL_TEXTS = ("No space left on device", "Disk quota exceeded")


def storage_failure(exc: BaseException) -> str | None:
    """'disk full: ...' / 'storage I/O error: ...' if `exc` is one, else None."""
    text = str(exc)
    full = isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS
    if full or any(t in text for t in _DISK_FULL_TEXTS):
        return f"disk full: {text}"
    if isinstance(exc, OSError) or text.startswith("IO error"):
        return f"storage I/O error: {text}"
    return None


@attrs.frozen
class CommittedBlock:
    height: int
    block: Any
    block_id: Any
    results: Any


class BlockEngine:
    """The committing thread's life cycle; subclasses say how the next block comes."""

    THREAD_NAME = "sultan-engine"
    WORK = "block production"  # what stops, in log lines and errors

    def __init__(
        self,
        app: Application,
        genesis: GenesisDoc,
        priv_key: Ed25519PrivKey,
        mempool: Mempool,
        *,
        halt_height: int,
        log: logging.Logger,
    ) -> None:
        self.app = app
        self.genesis = genesis
        self.priv_key = priv_key
        self.mempool = mempool
        self.blocks = BlockStore(app.db)
        self.indexer = Indexer(app.db)
        self.halt_height = halt_height
        self.halted = False
        self.log = log
        self._listeners: list[Callable[[CommittedBlock], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_block_time_ns = 0
        self.last_commit_ns = 0
        self.error: BaseException | None = None
        self.block_durations: list[float] = []
        self._bootstrapped = False

    def on_commit(self, callback: Callable[[CommittedBlock], None]) -> None:
        self._listeners.append(callback)

    @property
    def height(self) -> int:
        return self.blocks.height

    def bootstrap(self) -> None:
        """Make the engine ready to run, once: Node.open() bootstraps and start() would again,
        and bootstrapping a fresh home runs InitChain (minutes for a big genesis)."""
        if not self._bootstrapped:
            self._bootstrap()
            self._bootstrapped = True

    def _bootstrap(self) -> None:
        raise NotImplementedError

    def _stored_height(self) -> int:
        """The block store's height, which must be the application's (one batch commits
        both, so anything else is a store that was tampered with or mixed up)."""
        stored, app_height = self.blocks.height, self.app.last_height
        if stored != app_height:
            raise EngineStateError(
                f"block store is at height {stored} but application state is at {app_height}"
            )
        return stored

    def next_block(self) -> None:
        """Wait for, then commit, the next block (or return early when stopping)."""
        raise NotImplementedError

    def start(self) -> None:
        self.bootstrap()
        self._thread = threading.Thread(target=self._run, name=self.THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self.halt_height and self.height >= self.halt_height:
                    self.log.info("halt-height %d reached: %s stops", self.halt_height, self.WORK)
                    self.halted = True
                    return
                self.next_block()
        except BaseException as exc:  # surfaced by `sultan run`, which then exits non-zero
            if isinstance(exc, EngineStateError):  # the chain's state, said in one line
                self.log.error("%s stopped: %s", self.WORK, exc)
                self.error = exc
                return
            problem = storage_failure(exc)
            if problem is None:
                self.log.exception("%s stopped: %s", self.WORK, exc)
                self.error = exc
                return
            # An operator problem, not a bug: one clear line, no traceback. The failed
            # batch held the whole block, so the store is at the last committed block.
            try:
                last = str(self.blocks.height)
            except Exception:
                last = "unknown"
            self.error = StorageError(
                f"{problem} -- the last committed block is {last}; free space on (or repair) "
                f"the disk holding {self.app.db.path} and restart: the node continues from there"
            )
            self.log.error("%s stopped: %s", self.WORK, self.error)

    def _committed(self, committed: CommittedBlock, started: float) -> CommittedBlock:
        """Record a committed block's duration and tell the listeners."""
        self.block_durations.append(time.perf_counter() - started)
        del self.block_durations[:-100]
        for callback in self._listeners:
            try:
                callback(committed)
            except Exception:  # a broken listener must not stop the chain
                self.log.exception("commit listener failed")
        return committed
