"""An in-process chain for tests: real store, real Application, real block production."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import any_pb2

from sultan.kernel.abci.app import Application
from sultan.kernel.crypto.keys import Ed25519PrivKey
from sultan.kernel.engine.base import CommittedBlock
from sultan.kernel.engine.embedded import EmbeddedEngine
from sultan.kernel.genesis import GenesisDoc, GenesisValidator
from sultan.kernel.mempool import Mempool
from sultan.kernel.modules import load_modules
from sultan.kernel.store.db import Database
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2
from sultan.pb.tendermint.abci import types_pb2 as abci

GENESIS_TIME_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
BLOCK_INTERVAL_NS = 1_000_000_000


def unsigned_tx(
    *msgs: Any, gas_limit: int = 200_000, memo: str = "", timeout_height: int = 0
) -> bytes:
    """A TxRaw carrying `msgs` with no signatures (enough for modules without an ante)."""
    packed = []
    for msg in msgs:
        any_msg = any_pb2.Any()
        any_msg.Pack(msg, type_url_prefix="/")
        packed.append(any_msg)
    body = tx_pb2.TxBody(messages=packed, memo=memo, timeout_height=timeout_height)
    auth = tx_pb2.AuthInfo(fee=tx_pb2.Fee(gas_limit=gas_limit))
    return tx_pb2.TxRaw(
        body_bytes=body.SerializeToString(), auth_info_bytes=auth.SerializeToString()
    ).SerializeToString()


class ChainHarness:
    """A single-validator chain advanced one block per `block()` call.

    Block times are deterministic (genesis + n seconds), so two harnesses fed the same
    txs must reach the same app hashes — the determinism tests rely on that.
    """

    def __init__(
        self,
        modules: Sequence[str],
        *,
        plugins: Mapping[str, object] | None = None,
        app_state: Mapping[str, Any] | None = None,
        chain_id: str = "test-1",
        path: str | Path | None = None,
        validator_seed: bytes = b"\x07" * 32,
        keep_recent: int = 0,
    ) -> None:
        self._tmp = None if path is not None else tempfile.mkdtemp(prefix="sultan-harness-")
        self.path = Path(path if path is not None else self._tmp)  # type: ignore[arg-type]
        self.module_set = load_modules(list(modules), plugins)
        self.key = Ed25519PrivKey.from_seed(validator_seed)
        self.genesis = GenesisDoc(
            genesis_time_ns=GENESIS_TIME_NS,
            chain_id=chain_id,
            validators=(GenesisValidator.from_pub_key(self.key.pub_key, 10, "harness"),),
            app_state=dict(app_state or {}),
        )
        self.db = Database(str(self.path / "application.db"))
        self.app = Application(self.db, self.module_set, keep_recent=keep_recent)
        self.mempool = Mempool(self.app.check_tx)
        self._clock = GENESIS_TIME_NS
        self.engine = EmbeddedEngine(
            self.app, self.genesis, self.key, self.mempool, timeout_commit_ms=0, clock_ns=self._now
        )
        self.engine.bootstrap()

    def _now(self) -> int:
        return self._clock

    @property
    def height(self) -> int:
        return self.app.last_height

    @property
    def app_hash(self) -> bytes:
        return self.app.last_app_hash

    def check_tx(self, tx: bytes) -> Any:
        return self.app.check_tx(abci.RequestCheckTx(tx=tx, type=abci.NEW))

    def block(self, *txs: bytes, check: bool = False) -> CommittedBlock:
        """Commit one block holding exactly `txs` (CheckTx is skipped unless `check`)."""
        self._clock += BLOCK_INTERVAL_NS
        if check:
            for tx in txs:
                response = self.check_tx(tx)
                if response.code != 0:
                    raise AssertionError(f"CheckTx failed: {response.code} {response.log}")
        return self.engine.produce_block(list(txs))

    def deliver(self, *txs: bytes) -> list[Any]:
        """Commit one block with `txs` and return their ExecTxResults."""
        return list(self.block(*txs).results.tx_results)

    def query(self, method: str, request: Any, height: int = 0) -> Any:
        route = self.module_set.queries[method]
        raw, _ = self.app.run_query(method, request.SerializeToString(), height)
        return route.response_class.FromString(raw)

    def abci_query(self, path: str, data: bytes = b"", height: int = 0) -> Any:
        return self.app.query(abci.RequestQuery(path=path, data=data, height=height))

    def export_genesis(self) -> dict[str, Any]:
        ctx = self.app.query_context()
        return {m.name: m.export_genesis(ctx) for m in self.module_set.modules if m.export_genesis}

    def genesis_json(self) -> str:
        return json.dumps(self.genesis.app_state, sort_keys=True)

    def close(self) -> None:
        self.db.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> ChainHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
