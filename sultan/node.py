"""A node: one home's config, keys, genesis, modules, store, application and engine.

`sultan run` builds a Node, opens it, starts the engine and the API servers; tests and the
module-author harness build the same object, so what they exercise is what operators run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from prometheus_client import CollectorRegistry

from sultan.kernel import metrics as kernel_metrics
from sultan.kernel.abci.app import Application
from sultan.kernel.config import Config, apply_overrides, load_config
from sultan.kernel.crypto.keys import Ed25519PrivKey, load_node_key, load_priv_validator_key
from sultan.kernel.engine.base import StorageError, storage_failure
from sultan.kernel.engine.embedded import EmbeddedEngine
from sultan.kernel.engine.follower import FollowerEngine, FollowerMempool
from sultan.kernel.genesis import GenesisDoc, GenesisError, load_genesis_and_hash
from sultan.kernel.home import Home
from sultan.kernel.mempool import Mempool
from sultan.kernel.modules import ModuleSet, load_modules, read_plugins_toml
from sultan.kernel.snapshots import SnapshotManager, SnapshotStore
from sultan.kernel.store.db import Database
from sultan.kernel.timeutil import now_ns

log = logging.getLogger("sultan.node")

DB_DIRNAME = "application.db"
SNAPSHOTS_DIRNAME = "snapshots"


class Node:
    """Everything a running node holds. `open()` loads and checks; `close()` releases."""

    def __init__(
        self,
        home: Home | str | Path,
        config: Config | None = None,
        *,
        overrides: Mapping[str, str | bool | None] | None = None,
        plugins: Mapping[str, object] | None = None,
    ) -> None:
        self.home = home if isinstance(home, Home) else Home(home)
        self._config = config
        self._overrides = dict(overrides or {})
        self._plugins = plugins
        self.warnings: list[str] = []
        self.started_ns = now_ns()
        self.db: Database | None = None
        # Where the API reads blocks/txs (`sultan.api.chain_view`); None = the embedded engine.
        self.chain: Any = None
        # `sultan run` sets this (sultan.ops.backup.BackupWatcher); stopped by close().
        self.backup_watcher: Any = None

    def open(self) -> Node:
        home = self.home
        if not home.genesis_json.exists():
            raise FileNotFoundError(
                f"{home.root} is not initialised (no config/genesis.json): run `sultan init`"
            )
        self.modules: ModuleSet = load_modules(
            read_plugins_toml(str(home.plugins_toml)), self._plugins
        )
        sections = {
            module: args for module, args, _ in self.modules.collect("sultan_config_sections")
        }
        if self._config is None:
            names = [args[0] for args in sections.values()]
            self._config, self.warnings = load_config(home.root, extra_sections=names)
        if self._overrides:
            self._config = apply_overrides(self._config, self._overrides)
        self.config: Config = self._config
        for module_name, (section, defaults) in sections.items():
            module = self.modules.get(module_name)
            if module.configure is not None:
                module.configure({**defaults, **dict(self.config.app.extra.get(section, {}))})
        self.metrics_registry = CollectorRegistry(auto_describe=True)
        for _module, args, _ in self.modules.collect("sultan_prometheus_collectors"):
            self.metrics_registry.register(args[0])
        full_genesis, self.genesis_hash = load_genesis_and_hash(home.genesis_json)
        # The parsed app_state is needed only by InitChain, and a big genesis (1M accounts:
        # ~3 GB of Python objects) would otherwise stay in memory for the node's lifetime:
        # `self.genesis` keeps the rest; `full_genesis()` reads the file again when asked.
        app_state = full_genesis.app_state
        self.genesis: GenesisDoc = attrs.evolve(full_genesis, app_state={})
        del full_genesis
        self.priv_key: Ed25519PrivKey = load_priv_validator_key(home.priv_validator_key)
        self.node_key: Ed25519PrivKey = load_node_key(home.node_key)
        db_path = home.data_dir / DB_DIRNAME
        # A follower state-syncs a fresh home before the database exists: a failed sync
        # (wrong trust hash, lying or dead servers) then leaves data/ as it was.
        sync_ops = self._state_sync() if self.follower and not db_path.exists() else None
        self.db = self._open_database(db_path)
        try:
            keep_recent, _ = self.config.app.pruning_options
            self.app = Application(
                self.db,
                self.modules,
                max_tx_bytes=self.config.node.mempool.max_tx_bytes,
                keep_recent=keep_recent,
                min_gas_prices=self.config.app.min_gas_prices,
            )
            if self._serves_only:
                self._open_serving()
                return self
            ss = self.config.app.state_sync
            self.app.snapshots = SnapshotManager(
                self.db,
                SnapshotStore(home.data_dir / SNAPSHOTS_DIRNAME),
                list(self.app.committed.store_keys),
                interval=ss.snapshot_interval,
                keep_recent=ss.snapshot_keep_recent,
            )
            self.metrics_registry.register(self.app.snapshots)  # taken / failed counters
            if self.app.chain_id and self.app.chain_id != self.genesis.chain_id:
                raise RuntimeError(
                    f"data/ belongs to chain {self.app.chain_id!r} but genesis.json is for "
                    f"{self.genesis.chain_id!r}; run `sultan unsafe-reset-all` to start over"
                )
            # Encoded for InitChain only on a fresh database; the parsed form is freed here.
            app_state_bytes = (
                json.dumps(app_state, sort_keys=True).encode()
                if self.consensus_engine == "embedded"
                and not self.follower
                and self.app.last_height == 0
                else None
            )
            del app_state
            if self.consensus_engine == "cometbft":
                # An external CometBFT drives the app over ABCI (`api.servers` serves it):
                # no embedded engine or mempool here; blocks and txs come from its RPC.
                from sultan.api.chain_view import CometBFTChainView

                self.chain = CometBFTChainView(
                    self.config.node.cometbft_rpc_url,
                    timeout_commit_ms=self.config.node.consensus.timeout_commit_ms,
                )
                # The app refuses blocks past it; `sultan run` stops once it is committed.
                self.app.halt_height = self.config.app.halt_height
                self.kernel_metrics = kernel_metrics.instrument(self)
                return self
            if self.follower:
                self._open_follower(sync_ops)
                self.kernel_metrics = kernel_metrics.instrument(self)
                return self
            mp = self.config.node.mempool
            self.mempool = Mempool(
                self.app.check_tx,
                size=mp.size,
                cache_size=mp.cache_size,
                max_tx_bytes=mp.max_tx_bytes,
                max_txs_bytes=mp.max_txs_bytes,
                recheck=mp.recheck,
            )
            cons = self.config.node.consensus
            self.engine: EmbeddedEngine | FollowerEngine = EmbeddedEngine(
                self.app,
                self.genesis,
                self.priv_key,
                self.mempool,
                timeout_commit_ms=cons.timeout_commit_ms,
                create_empty_blocks=cons.create_empty_blocks,
                create_empty_blocks_interval_ms=cons.create_empty_blocks_interval_ms,
                halt_height=self.config.app.halt_height,
                app_state_bytes=app_state_bytes,
            )
            del app_state_bytes
            self.engine.bootstrap()
            self.kernel_metrics = kernel_metrics.instrument(self)
        except BaseException:
            self.close()
            raise
        return self

    # A subclass that only serves queries (`sultan.api.replica.ReplicaNode`, in API worker
    # processes) opens the database read-only and replaces the engine: these three hooks.
    _serves_only = False

    def _open_database(self, db_path: Path) -> Database:
        try:
            return Database(str(db_path))
        except Exception as exc:  # RocksDB replays its log on open: a full disk shows here
            problem = storage_failure(exc)
            if problem is None:
                raise
            raise StorageError(
                f"{problem} -- free space on (or repair) the disk holding {self.home.data_dir} "
                "and start again"
            ) from None

    def _open_serving(self) -> None:
        raise NotImplementedError

    @property
    def follower(self) -> bool:
        """Embedded engine with `[statesync] enable`: follows other nodes, makes no blocks."""
        return self.consensus_engine == "embedded" and bool(self.config.node.statesync.enable)

    def _state_sync(self) -> list[Any]:
        from sultan.kernel.abci.app import KERNEL_STORE
        from sultan.statesync import bootstrap_ops, server_urls

        ss = self.config.node.statesync
        return bootstrap_ops(
            server_urls(ss.rpc_servers),
            ss.trust_height,
            ss.trust_hash,
            self.genesis.chain_id,
            sorted([*self.modules.store_keys, KERNEL_STORE]),
            ss.trust_period_ms,
            now_ns(),  # the trust period is wall-clock time, as in a light client
        )

    def _open_follower(self, sync_ops: list[Any] | None) -> None:
        from sultan.statesync import FOLLOW_TIMEOUT_S, RPCSource, server_urls

        assert self.db is not None
        ss = self.config.node.statesync
        if self.app.last_height == 0:
            if sync_ops is None:  # the database existed but holds nothing yet
                sync_ops = self._state_sync()
            self.db.write(sync_ops)  # state, block and meta in one batch
            self.app.reload_committed()
            log.info(
                "state sync: restored height %d app_hash %s",
                self.app.last_height,
                self.app.last_app_hash.hex().upper(),
            )
        urls = server_urls(ss.rpc_servers)
        self.mempool = FollowerMempool(", ".join(urls))
        self.engine = FollowerEngine(
            self.app,
            self.genesis,
            self.priv_key,
            self.mempool,
            RPCSource(urls, timeout=FOLLOW_TIMEOUT_S),
            poll_ms=max(100, self.config.node.consensus.timeout_commit_ms // 2),
            halt_height=self.config.app.halt_height,
        )
        self.engine.bootstrap()

    @property
    def chain_id(self) -> str:
        return self.genesis.chain_id

    def full_genesis(self) -> GenesisDoc:
        """The genesis document with its app_state, read again from config/genesis.json
        (the node keeps only the rest in memory); refused if the file changed meanwhile."""
        path = self.home.genesis_json
        doc, digest = load_genesis_and_hash(path)
        if digest != self.genesis_hash:
            raise GenesisError(
                f"{path} changed since the node started; restart the node to serve it"
            )
        return doc

    @property
    def moniker(self) -> str:
        return self.config.node.moniker

    @property
    def node_id(self) -> str:
        return self.node_key.node_id

    @property
    def consensus_engine(self) -> str:
        """`embedded` (this process makes blocks) or `cometbft` (served over ABCI)."""
        return str(self.config.node.consensus_engine)

    def start(self) -> None:
        self.engine.start()

    def close(self) -> None:
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.stop()
        if self.backup_watcher is not None:
            self.backup_watcher.stop()
            self.backup_watcher = None
        app = getattr(self, "app", None)
        if app is not None and app.snapshots is not None:
            app.snapshots.wait(timeout=60)  # let a snapshot in progress finish its reads
        if self.db is not None:
            db, self.db = self.db, None
            try:
                db.close()
            except Exception as exc:  # disk full/failed: committed blocks are in the WAL
                log.error("closing the database: %s", exc)
