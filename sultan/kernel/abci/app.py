"""The ABCI 2.0 application, independent of how it is driven.

The embedded engine calls these methods in-process; the socket server calls them for an
external CometBFT. Both pass and receive `tendermint.abci` protobuf messages, so neither
transport can change what the application computes.

Threads: consensus calls (InitChain, PrepareProposal, ProcessProposal, FinalizeBlock,
Commit) come from one thread at a time; CheckTx and Query may run concurrently with them.
Queries read a committed version, never the block in flight.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
from google.protobuf.message import DecodeError

from sultan import __version__
from sultan.kernel.crypto import sigcache
from sultan.kernel.errors import ErrTxDecode, ErrUnknownRequest, QueryError, ResultError, SdkError
from sultan.kernel.modules import ModuleSet
from sultan.kernel.snapshots import FORMAT as SNAPSHOT_FORMAT
from sultan.kernel.snapshots import (
    RestoreSession,
    SnapshotError,
    SnapshotInfo,
    SnapshotManager,
    restore_ops,
)
from sultan.kernel.store import ics23
from sultan.kernel.store.branch import Branch, KVReader
from sultan.kernel.store.db import Database, WriteOp
from sultan.kernel.store.versioned import (
    CommittedState,
    ProofUnavailableError,
    VersionUnavailableError,
)
from sultan.kernel.tx.ante import (
    AnteDecorator,
    TxSizeDecorator,
    basic_validation,
    gas_limit_check,
)
from sultan.kernel.tx.context import BlockInfo, Context, ExecMode, VoteInfo
from sultan.kernel.tx.decode import DecodedTx, decode_tx
from sultan.kernel.tx.events import Event, EventManager
from sultan.kernel.tx.gas import GasMeter, InfiniteGasMeter
from sultan.pb.cosmos.base.abci.v1beta1 import abci_pb2 as sdk_abci
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.crypto import proof_pb2 as crypto_proof
from sultan.pb.tendermint.types import params_pb2

log = logging.getLogger("sultan.app")

KERNEL_STORE = "kernel"
META_CHAIN_ID = b"chain_id"
META_CONSENSUS_PARAMS = b"consensus_params"
META_INITIAL_HEIGHT = b"initial_height"
# ABCI query paths that serve this node's snapshots (state sync of an embedded follower
# reads them through RPC `abci_query`, from an embedded node or one under CometBFT).
SNAPSHOTS_QUERY = "/sultan/snapshots"
SNAPSHOT_CHUNK_QUERY = "/sultan/snapshot_chunk"
APP_VERSION = 1
BLOCK_ID_FLAG_ABSENT = 1  # tendermint.types.BlockIDFlag


class GenesisStateError(ValueError):
    """app_state in genesis does not fit the enabled modules."""


class HaltHeightError(RuntimeError):
    """FinalizeBlock for a height beyond app.toml's halt-height: refused, nothing executed."""


@attrs.frozen
class AppCommit:
    """What `on_commit` listeners learn about a committed block (observations only)."""

    height: int
    txs: int
    duration_s: float  # FinalizeBlock start to the end of Commit, in this process


def events_to_abci(events: Sequence[Event]) -> list[Any]:
    event, attribute = abci.Event, abci.EventAttribute  # ~12 events per bank send
    return [
        event(
            type=e.type,
            attributes=[attribute(key=a.key, value=a.value, index=a.index) for a in e.attributes],
        )
        for e in events
    ]


class Application:
    """One chain's state machine: the enabled modules over one committed store."""

    def __init__(
        self,
        db: Database,
        modules: ModuleSet,
        *,
        max_tx_bytes: int = 1048576,
        keep_recent: int = 0,
        min_gas_prices: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.db = db
        self.modules = modules
        self.keep_recent = keep_recent
        self.min_gas_prices = min_gas_prices
        self.committed = CommittedState(db, [*modules.store_keys, KERNEL_STORE])
        # Periodic state-sync snapshots (the node sets this from app.toml [state-sync]) and
        # the snapshot being received over ABCI state sync, if any.
        self.snapshots: SnapshotManager | None = None
        self._restore: RestoreSession | None = None
        self.chain_id = (db.get("meta", META_CHAIN_ID) or b"").decode()
        raw_params = db.get("meta", META_CONSENSUS_PARAMS)
        self.consensus_params = params_pb2.ConsensusParams()
        if raw_params:
            self.consensus_params.ParseFromString(raw_params)
        raw_initial = db.get("meta", META_INITIAL_HEIGHT)
        self.initial_height = int(raw_initial) if raw_initial else 1
        self.ante_chain: list[AnteDecorator] = [
            TxSizeDecorator(max_tx_bytes),
            basic_validation,
            gas_limit_check,
        ]
        for module in modules.modules:
            self.ante_chain.extend(module.ante_decorators)
        self.keepers = modules.keepers
        # Writes of the block in flight (genesis writes land here too, committed with the
        # first block, as the Cosmos SDK does).
        self._deliver: Branch | None = None
        self._pending: tuple[list[WriteOp], bytes, dict[str, bytes], int] | None = None
        self._pending_meta: list[WriteOp] = []
        # ProcessProposal's decoded txs, by raw bytes, for the FinalizeBlock that follows it
        # (decoding is ~10 % of a bank send's execution; the same block is decoded once).
        self._proposal_decoded: dict[bytes, DecodedTx] = {}
        # Node-level query services (tx lookup, simulate, blocks) that the API layer adds so
        # that abci_query reaches them too: method -> (request class, call(request)).
        self.node_queries: dict[str, tuple[Any, Any]] = {}
        self._check_lock = threading.Lock()
        self._check_state = Branch(self.committed.latest())
        self._check_block = self._block_info(self.committed.height + 1, 0)
        # app.toml halt-height (0 = never): blocks above it are refused. The node sets it when
        # CometBFT drives the app; the embedded engine stops before making such blocks.
        self.halt_height = 0
        self._commit_listeners: list[Callable[[AppCommit], None]] = []
        self._write_listeners: list[Callable[[int], None]] = []
        self._block_started = 0.0
        self._block_txs = 0

    def on_commit(self, callback: Callable[[AppCommit], None]) -> None:
        """Call `callback` at the end of every Commit (consensus thread; metrics, halt)."""
        self._commit_listeners.append(callback)

    def before_commit_write(self, callback: Callable[[int], None]) -> None:
        """Call `callback(height)` just before Commit writes that height's batch: readers
        in other processes (API workers) learn that a newer state is on its way, so that
        none of them answers from an older one once this process has shown the new one.
        Runs on the consensus thread; it must be quick and must not raise."""
        self._write_listeners.append(callback)

    # -- helpers -------------------------------------------------------------------------

    @property
    def last_height(self) -> int:
        return self.committed.height

    @property
    def last_app_hash(self) -> bytes:
        return self.committed.app_hash

    @property
    def max_gas(self) -> int:
        return (
            int(self.consensus_params.block.max_gas)
            if self.consensus_params.HasField("block")
            else -1
        )

    def _block_info(self, height: int, time_ns: int, proposer: bytes = b"") -> BlockInfo:
        return BlockInfo(height, time_ns, self.chain_id, proposer, self.max_gas)

    def _context(self, store: Any, block: BlockInfo, mode: ExecMode, **kw: Any) -> Context:
        return Context(
            store, block, mode, keepers=self.keepers, min_gas_prices=self.min_gas_prices, **kw
        )

    # -- ABCI: info and genesis -----------------------------------------------------------

    def info(self, req: Any) -> Any:
        return abci.ResponseInfo(
            data="sultan",
            version=__version__,
            app_version=APP_VERSION,
            last_block_height=self.committed.height,
            last_block_app_hash=self.committed.app_hash if self.committed.height else b"",
        )

    def init_chain(self, req: Any) -> Any:
        if self.committed.height != 0:
            raise RuntimeError("InitChain called on a chain that already has committed blocks")
        self.chain_id = req.chain_id
        self.initial_height = req.initial_height or 1
        if req.HasField("consensus_params"):
            self.consensus_params.CopyFrom(req.consensus_params)
        try:
            app_state = json.loads(req.app_state_bytes or b"{}")
        except json.JSONDecodeError as exc:
            raise GenesisStateError(f"app_state is not valid JSON: {exc}") from None
        if not isinstance(app_state, dict):
            raise GenesisStateError("app_state must be a JSON object keyed by module name")
        unknown = sorted(set(app_state) - set(self.modules.names))
        if unknown:
            raise GenesisStateError(
                f"app_state has sections for modules that are not enabled: {', '.join(unknown)}"
            )
        self._pending = None  # a restarted CometBFT may send InitChain again before block 1
        self._deliver = Branch(self.committed.latest())
        ctx = self._context(
            self._deliver,
            self._block_info(self.initial_height, _time_ns(req.time)),
            ExecMode.GENESIS,
        )
        validator_updates: list[Any] = []
        for module in self.modules.modules:
            # Popped, so each module's JSON is freed once it is in the state: a big genesis
            # (1M accounts) is gigabytes of Python objects.
            section = app_state.pop(module.name, None)
            if section is None:
                section = module.default_genesis() if module.default_genesis else {}
            if module.validate_genesis:
                try:
                    module.validate_genesis(section)
                except (ValueError, SdkError) as exc:
                    raise GenesisStateError(f"genesis of module {module.name!r}: {exc}") from None
            if module.init_genesis:
                updates = module.init_genesis(ctx, section)
                if updates:
                    validator_updates.extend(updates)
            del section
        self._write_module_versions(ctx)
        self._pending_meta = [
            ("meta", META_CHAIN_ID, self.chain_id.encode()),
            ("meta", META_CONSENSUS_PARAMS, self.consensus_params.SerializeToString()),
            ("meta", META_INITIAL_HEIGHT, str(self.initial_height).encode()),
        ]
        self._check_block = self._block_info(self.initial_height, _time_ns(req.time))
        return abci.ResponseInitChain(
            validators=validator_updates, app_hash=self.committed.app_hash
        )

    def _write_module_versions(self, ctx: Context) -> None:
        kv = ctx.kv(KERNEL_STORE)
        for module in self.modules.modules:
            kv.set(b"version/" + module.name.encode(), str(module.consensus_version).encode())

    def _run_migrations(self, ctx: Context) -> None:
        """Bring each module's state to its declared consensus_version, in module order."""
        kv = ctx.kv(KERNEL_STORE)
        for module in self.modules.modules:
            raw = kv.get(b"version/" + module.name.encode())
            stored = int(raw) if raw else 0
            if stored == module.consensus_version:
                continue
            if stored == 0:
                # A module added to a running chain: start it from its default genesis.
                if module.init_genesis:
                    module.init_genesis(
                        ctx, module.default_genesis() if module.default_genesis else {}
                    )
            else:
                for version in range(stored, module.consensus_version):
                    step = module.migrations.get(version)
                    if step is None:
                        raise RuntimeError(
                            f"module {module.name!r} has no migration from consensus version "
                            f"{version} to {version + 1}"
                        )
                    step(ctx)
            kv.set(b"version/" + module.name.encode(), str(module.consensus_version).encode())

    # -- ABCI: mempool --------------------------------------------------------------------

    def check_tx(self, req: Any) -> Any:
        recheck = req.type == abci.RECHECK
        with self._check_lock:
            ctx = self._context(
                self._check_state,
                self._check_block,
                ExecMode.RECHECK if recheck else ExecMode.CHECK,
            )
            result = self._run_tx(ctx, req.tx, ExecMode.RECHECK if recheck else ExecMode.CHECK)
        return abci.ResponseCheckTx(
            code=result.code,
            data=result.data,
            log=result.log,
            gas_wanted=result.gas_wanted,
            gas_used=result.gas_used,
            events=result.events,
            codespace=result.codespace,
        )

    def simulate(self, tx_bytes: bytes) -> tuple[Any, Any]:
        """Run a tx against the check state without keeping anything (gas estimation).

        Returns (ExecTxResult, the SDK `Result` proto) — raises SdkError on failure.
        """
        with self._check_lock:
            branch = Branch(self._check_state)
            ctx = self._context(branch, self._check_block, ExecMode.SIMULATE)
            result = self._run_tx(ctx, tx_bytes, ExecMode.SIMULATE)
        return result

    # -- ABCI: consensus ------------------------------------------------------------------

    def prepare_proposal(self, req: Any) -> Any:
        """Take mempool txs in order while they fit the block's byte limit."""
        txs, total = [], 0
        for tx in req.txs:
            size = len(tx)
            if req.max_tx_bytes > 0 and total + size > req.max_tx_bytes:
                break
            txs.append(tx)
            total += size
        return abci.ResponsePrepareProposal(txs=txs)

    def process_proposal(self, req: Any) -> Any:
        decoded: dict[bytes, DecodedTx] = {}
        for tx in req.txs:
            try:
                decoded[tx] = decode_tx(tx, self.modules.msg_routes)
            except SdkError:
                self._proposal_decoded = {}
                return abci.ResponseProcessProposal(status=abci.ResponseProcessProposal.REJECT)
        self._proposal_decoded = decoded
        return abci.ResponseProcessProposal(status=abci.ResponseProcessProposal.ACCEPT)

    def finalize_block(self, req: Any) -> Any:
        if self.halt_height and req.height > self.halt_height:
            # As the Cosmos SDK's BaseApp: checked first, so nothing of the block runs.
            raise HaltHeightError(
                f"halt-height {self.halt_height} reached: refusing to execute block "
                f"{req.height} (the application is at height {self.committed.height}); "
                "raise or remove halt-height in app.toml to continue"
            )
        started = time.perf_counter()
        expected = self.committed.height + 1 if self.committed.height else self.initial_height
        if req.height != expected:
            raise RuntimeError(f"FinalizeBlock for height {req.height}, expected {expected}")
        if self._pending is not None:
            # The same height again without a Commit: a restarted CometBFT replays it, so
            # the earlier execution is dropped. (At genesis CometBFT sends InitChain first.)
            if self.committed.height == 0:
                raise RuntimeError("FinalizeBlock of the first block again without InitChain")
            self._pending = None
            self._deliver = None
        if self._deliver is None:
            self._deliver = Branch(self.committed.latest())
        block = attrs.evolve(
            self._block_info(req.height, _time_ns(req.time), req.proposer_address),
            votes=tuple(
                VoteInfo(
                    bytes(v.validator.address),
                    int(v.validator.power),
                    v.block_id_flag != BLOCK_ID_FLAG_ABSENT,
                )
                for v in req.decided_last_commit.votes
            ),
            app_hash=self.committed.app_hash,
            next_validators_hash=bytes(req.next_validators_hash),
        )
        ctx = self._context(self._deliver, block, ExecMode.FINALIZE)
        if self.committed.height:
            self._run_migrations(ctx)
        block_events = EventManager()
        begin_ctx = ctx.with_store(self._deliver, events=block_events)
        for module in self.modules.modules:
            if module.begin_block:
                module.begin_block(begin_ctx)
        begin_events = _with_mode(block_events.events, "BeginBlock")
        decoded = self._preverify_signatures(ctx, req.txs)
        tx_results = [
            self._run_tx(
                ctx.with_store(self._deliver, EventManager()), tx, ExecMode.FINALIZE, decoded[i]
            )
            for i, tx in enumerate(req.txs)
        ]
        end_events_mgr = EventManager()
        end_ctx = ctx.with_store(self._deliver, events=end_events_mgr)
        validator_updates: list[Any] = []
        for module in self.modules.modules:
            if module.end_block:
                updates = module.end_block(end_ctx)
                if updates:
                    validator_updates.extend(updates)
        end_events = _with_mode(end_events_mgr.events, "EndBlock")
        ops, app_hash, roots = self.committed.prepare_commit(
            self._deliver.changes(), req.height, self.keep_recent
        )
        self._pending = (ops, app_hash, roots, req.height)
        self._block_started, self._block_txs = started, len(req.txs)
        return abci.ResponseFinalizeBlock(
            events=events_to_abci(begin_events + end_events),
            tx_results=tx_results,
            validator_updates=validator_updates,
            app_hash=app_hash,
        )

    def commit(self, req: Any = None, extra_ops: Sequence[WriteOp] = ()) -> Any:
        """Persist the finalized block's state (and the engine's `extra_ops`) in one batch."""
        if self._pending is None:
            raise RuntimeError("Commit without a finalized block")
        ops, app_hash, roots, height = self._pending
        for announce in self._write_listeners:
            announce(height)
        self.db.write([*ops, *self._pending_meta, *extra_ops])
        self.committed.apply_commit(height, app_hash, roots, self.keep_recent)
        if self.snapshots is not None:
            self.snapshots.on_commit(height, app_hash)
        self._pending = None
        self._pending_meta = []
        self._deliver = None
        with self._check_lock:
            self._check_state = Branch(self.committed.latest())
            self._check_block = self._block_info(height + 1, 0)
        if self._commit_listeners:
            done = AppCommit(height, self._block_txs, time.perf_counter() - self._block_started)
            for callback in self._commit_listeners:
                try:
                    callback(done)
                except Exception:  # an observer must not fail a committed block
                    log.exception("commit listener failed")
        return abci.ResponseCommit(retain_height=0)

    # -- transactions ---------------------------------------------------------------------

    def _preverify_signatures(self, ctx: Context, txs: Sequence[bytes]) -> list[Any]:
        """Verify the block's signatures in one crypto-core batch; return the decoded txs.

        Each module's `signature_batch` lists what its ante will check, read from the state
        at block start on a throwaway branch; `sigcache.verify_batch` verifies those not
        already verified (at CheckTx, say) over all cores and caches the successes, which
        the ante then finds. Txs that do not decode are None (they fail in `_run_tx`).
        """
        decoded: list[Any] = []
        known, self._proposal_decoded = self._proposal_decoded, {}
        for raw in txs:
            found = known.get(raw)
            if found is not None:
                decoded.append(found)
                continue
            try:
                decoded.append(decode_tx(raw, self.modules.msg_routes))
            except SdkError:
                decoded.append(None)
        providers = [m.signature_batch for m in self.modules.modules if m.signature_batch]
        if not providers or not txs:
            return decoded
        assert self._deliver is not None
        view = ctx.with_store(self._deliver.branch(), events=EventManager())
        checks: list[Any] = []
        for tx in decoded:
            for provide in providers if tx is not None else ():
                try:
                    checks.extend(provide(view, tx))
                except SdkError:
                    pass  # the ante reports it when the tx runs
        sigcache.verify_batch(checks)
        return decoded

    def _run_tx(
        self, ctx: Context, raw: bytes, mode: ExecMode, decoded: DecodedTx | None = None
    ) -> Any:
        """Decode, ante, then messages; a failure after the ante keeps fee and sequence."""
        simulate = mode == ExecMode.SIMULATE
        try:
            tx = decoded if decoded is not None else decode_tx(raw, self.modules.msg_routes)
        except SdkError as exc:
            return _error_result(exc, 0, 0)
        gas_limit = tx.gas_limit
        meter: GasMeter = (
            InfiniteGasMeter() if simulate else GasMeter(min(gas_limit, (1 << 63) - 1))
        )
        parent = ctx.with_gas_meter(meter)
        if not isinstance(parent.store, Branch):
            raise TypeError("transactions run on a branch")
        ante_ctx = parent.with_store(parent.store.branch(), events=EventManager())
        try:
            for decorator in self.ante_chain:
                decorator(ante_ctx, tx, simulate)
        except SdkError as exc:
            return _error_result(exc, gas_limit, meter.consumed)
        ante_ctx.commit_branch(parent)
        if mode in (ExecMode.CHECK, ExecMode.RECHECK):
            # CheckTx only runs the ante chain, as the Cosmos SDK does.
            return abci.ExecTxResult(
                code=0,
                gas_wanted=gas_limit,
                gas_used=meter.consumed,
                events=events_to_abci(parent.events.events),
            )
        msg_ctx = parent.with_store(parent.store.branch(), events=EventManager())
        try:
            msg_responses = self._run_msgs(msg_ctx, tx)
        except SdkError as exc:
            return _error_result(exc, gas_limit, meter.consumed, parent.events.events)
        msg_ctx.commit_branch(parent)
        data = sdk_abci.TxMsgData(msg_responses=msg_responses).SerializeToString()
        return abci.ExecTxResult(
            code=0,
            data=data,
            log="",
            gas_wanted=gas_limit,
            gas_used=meter.consumed,
            events=events_to_abci(parent.events.events),
        )

    def _run_msgs(self, ctx: Context, tx: DecodedTx) -> list[Any]:
        from google.protobuf import any_pb2

        responses = []
        for index, (type_url, msg) in enumerate(tx.msgs):
            route = self.modules.msg_routes[type_url]
            msg_events = EventManager()
            mctx = ctx.with_store(ctx.store, events=msg_events)
            try:
                response = route.handler(mctx, msg)
            except SdkError as exc:
                # The SDK prefixes message failures with their index; clients show this text.
                raise ResultError(
                    exc.codespace,
                    exc.code,
                    f"failed to execute message; message index: {index}: {exc.log}",
                ) from exc
            signers = route.signers(msg) if route.signers else []
            attrs_: list[tuple[str, str]] = [("action", type_url)]
            if signers:
                attrs_.append(("sender", signers[0]))
            attrs_.append(("module", route.module))
            attrs_.append(("msg_index", str(index)))
            ctx.emit(Event.of("message", *attrs_))
            for event in msg_events.events:
                ctx.emit(
                    Event.of(
                        event.type,
                        *((a.key, a.value) for a in event.attributes),
                        ("msg_index", str(index)),
                    )
                )
            packed = any_pb2.Any()
            if response is not None:
                packed.Pack(response, type_url_prefix="/")
            responses.append(packed)
        return responses

    # -- ABCI: queries --------------------------------------------------------------------

    def reader_at(self, height: int) -> tuple[KVReader, int]:
        """A reader of committed state at `height` (0 = latest) and the height used."""
        latest = self.committed.height
        if height == 0 or height == latest:
            return self.committed.at(latest) if latest else self.committed.latest(), latest
        if height > latest:
            raise QueryError(
                "InvalidArgument",
                f"cannot query with height in the future; please provide a valid height (latest {latest})",
            )
        try:
            return self.committed.at(height), height
        except VersionUnavailableError as exc:
            raise QueryError("InvalidArgument", str(exc)) from None

    def query_context(self, height: int = 0) -> Context:
        reader, used = self.reader_at(height)
        return self._context(reader, self._block_info(used, 0), ExecMode.QUERY)

    def register_node_query(self, method: str, request_class: Any, call: Any) -> None:
        if method in self.modules.queries:
            raise ValueError(f"query method {method} is already served by a module")
        self.node_queries[method] = (request_class, call)

    def run_query(self, method: str, data: bytes, height: int = 0) -> tuple[bytes, int]:
        """Run a registered query method on protobuf bytes; returns (response bytes, height)."""
        route = self.modules.queries.get(method)
        if route is None and method in self.node_queries:
            request_class, call = self.node_queries[method]
            try:
                node_request = request_class.FromString(data)
            except (DecodeError, RuntimeError, ValueError) as exc:
                raise QueryError("InvalidArgument", f"invalid request: {exc}") from None
            return call(node_request).SerializeToString(), self.committed.height
        if route is None:
            raise QueryError("Unimplemented", f"unknown query path {method}")
        request = route.request_class()
        try:
            request.ParseFromString(data)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise QueryError("InvalidArgument", f"invalid request: {exc}") from None
        ctx = self.query_context(height)
        response = route.handler(ctx, request)
        if height and self.committed.pruned(ctx.height):
            # Pruned by a commit written while the handler read it: what it read may be
            # partly deleted, so no answer rather than a wrong one.
            raise QueryError(
                "InvalidArgument", f"version {ctx.height} was pruned while the query ran"
            )
        return response.SerializeToString(), ctx.height

    def query(self, req: Any) -> Any:
        path = req.path
        try:
            if path == "/app/version":
                return abci.ResponseQuery(
                    code=0, value=__version__.encode(), height=self.committed.height
                )
            if path.startswith("/store/"):
                return self._store_query(req)
            if path in (SNAPSHOTS_QUERY, SNAPSHOT_CHUNK_QUERY):
                return self._snapshot_query(req)
            value, height = self.run_query(path, req.data, req.height)
            return abci.ResponseQuery(code=0, value=value, height=height)
        except QueryError as exc:
            code = QueryError.GRPC_CODES[exc.status]
            # CometBFT clients treat code != 0 as failure and show the log.
            return abci.ResponseQuery(
                code=code if code != 12 else ErrUnknownRequest.code,
                log=exc.log,
                codespace="sdk" if code == 12 else "",
                height=self.committed.height,
            )
        except SdkError as exc:
            return abci.ResponseQuery(
                code=exc.code, log=exc.log, codespace=exc.codespace, height=self.committed.height
            )

    def _store_query(self, req: Any) -> Any:
        parts = req.path.split("/")
        if len(parts) != 4 or parts[3] != "key" or parts[2] not in self.committed.store_keys:
            raise QueryError(
                "InvalidArgument",
                f"invalid store query path {req.path!r} (want /store/<store>/key)",
            )
        reader, height = self.reader_at(req.height)
        if not req.data:
            raise QueryError("InvalidArgument", "store query needs a key in data")
        if not req.prove:
            value = reader.get(parts[2].encode() + b"/" + req.data)
            if req.height and self.committed.pruned(height):  # see run_query
                raise QueryError("InvalidArgument", f"version {height} was pruned while reading")
            return abci.ResponseQuery(code=0, key=req.data, value=value or b"", height=height)
        # As the Cosmos SDK multistore: the store's proof of the key (ICS-23 SmtSpec here),
        # then the multistore's proof of the store root under the app hash of `height`,
        # which is the app hash in the header of block height + 1.
        try:
            value, store_proof, top_proof = self.committed.prove(parts[2], req.data, height)
        except (VersionUnavailableError, ProofUnavailableError) as exc:
            raise QueryError("InvalidArgument", str(exc)) from None
        proof_ops = crypto_proof.ProofOps(
            ops=[
                crypto_proof.ProofOp(
                    type=ics23.PROOF_OP_SMT, key=req.data, data=store_proof.SerializeToString()
                ),
                crypto_proof.ProofOp(
                    type=ics23.PROOF_OP_SIMPLE,
                    key=parts[2].encode(),
                    data=top_proof.SerializeToString(),
                ),
            ]
        )
        return abci.ResponseQuery(
            code=0, key=req.data, value=value or b"", proof_ops=proof_ops, height=height
        )

    # -- ABCI: state-sync snapshots (kernel/snapshots.py); vote extensions (unused) ------

    def _snapshot_query(self, req: Any) -> Any:
        """`/sultan/snapshots`: JSON list; `/sultan/snapshot_chunk`: data = be64 height |
        be32 index, the chunk bytes as value. Unknown snapshot or chunk: NotFound."""
        store = self.snapshots.store if self.snapshots is not None else None
        if req.path == SNAPSHOTS_QUERY:
            listed = [
                {
                    "height": s.height,
                    "format": s.format,
                    "chunks": s.chunks,
                    "hash": s.hash.hex().upper(),
                    "metadata": base64.b64encode(s.metadata()).decode(),
                }
                for s in (store.list() if store is not None else [])
            ]
            value = json.dumps(listed, sort_keys=True).encode()
            return abci.ResponseQuery(code=0, value=value, height=self.committed.height)
        data = bytes(req.data)
        if len(data) != 12:
            raise QueryError(
                "InvalidArgument", "snapshot chunk query wants data = 8-byte height + 4-byte index"
            )
        height, index = int.from_bytes(data[:8], "big"), int.from_bytes(data[8:], "big")
        try:
            if store is None:
                raise SnapshotError(f"no snapshot at height {height}")
            info = store.get(height)
        except SnapshotError as exc:
            raise QueryError("NotFound", str(exc)) from None
        if index >= info.chunks:
            raise QueryError(
                "NotFound", f"snapshot at height {height} has {info.chunks} chunks, not {index + 1}"
            )
        chunk = store.chunk(height, index)
        return abci.ResponseQuery(code=0, key=data, value=chunk, height=self.committed.height)

    def list_snapshots(self, req: Any) -> Any:
        if self.snapshots is None:
            return abci.ResponseListSnapshots()
        return abci.ResponseListSnapshots(
            snapshots=[
                abci.Snapshot(
                    height=s.height,
                    format=s.format,
                    chunks=s.chunks,
                    hash=s.hash,
                    metadata=s.metadata(),
                )
                for s in self.snapshots.store.list()
            ]
        )

    def offer_snapshot(self, req: Any) -> Any:
        Result = abci.ResponseOfferSnapshot
        if self.committed.height != 0:
            return Result(result=Result.ABORT)  # state sync only into an empty store
        if req.snapshot.format != SNAPSHOT_FORMAT:
            return Result(result=Result.REJECT_FORMAT)
        try:
            info = SnapshotInfo.from_abci(req.snapshot)
        except SnapshotError as exc:
            log.warning("offered snapshot rejected: %s", exc)
            return Result(result=Result.REJECT)
        if info.app_hash != bytes(req.app_hash):
            log.warning("offered snapshot rejected: its app hash is not the trusted one")
            return Result(result=Result.REJECT)
        self._restore = RestoreSession(info, bytes(req.app_hash))
        return Result(result=Result.ACCEPT)

    def load_snapshot_chunk(self, req: Any) -> Any:
        if self.snapshots is None:
            return abci.ResponseLoadSnapshotChunk()
        if req.format != SNAPSHOT_FORMAT:
            return abci.ResponseLoadSnapshotChunk()
        chunk = self.snapshots.store.chunk(int(req.height), int(req.chunk))
        return abci.ResponseLoadSnapshotChunk(chunk=chunk)

    def apply_snapshot_chunk(self, req: Any) -> Any:
        Result = abci.ResponseApplySnapshotChunk
        session = self._restore
        if session is None:
            return Result(result=Result.ABORT)
        if not session.add(int(req.index), bytes(req.chunk)):
            # Fetch it again, from another peer than the one that sent this.
            return Result(
                result=Result.RETRY,
                refetch_chunks=[req.index],
                reject_senders=[req.sender] if req.sender else [],
            )
        if not session.complete:
            return Result(result=Result.ACCEPT)
        self._restore = None
        try:
            ops, _header = restore_ops(
                session.payload(),
                session.info.height,
                session.trusted_app_hash,
                list(self.committed.store_keys),
            )
        except SnapshotError as exc:
            log.warning("snapshot at height %d rejected: %s", session.info.height, exc)
            return Result(result=Result.REJECT_SNAPSHOT)
        self.db.write(ops)
        self.reload_committed()
        log.info(
            "state restored from snapshot: height=%d app_hash=%s",
            self.committed.height,
            self.committed.app_hash.hex().upper(),
        )
        return Result(result=Result.ACCEPT)

    def reload_committed(self) -> None:
        """Re-read committed state and chain meta from the DB (after a snapshot restore)."""
        self.committed = CommittedState(self.db, list(self.committed.store_keys))
        self.chain_id = (self.db.get("meta", META_CHAIN_ID) or b"").decode()
        raw_params = self.db.get("meta", META_CONSENSUS_PARAMS)
        if raw_params:
            self.consensus_params.ParseFromString(raw_params)
        raw_initial = self.db.get("meta", META_INITIAL_HEIGHT)
        self.initial_height = int(raw_initial) if raw_initial else 1
        with self._check_lock:
            self._check_state = Branch(self.committed.latest())
            self._check_block = self._block_info(self.committed.height + 1, 0)

    def extend_vote(self, req: Any) -> Any:
        return abci.ResponseExtendVote()

    def verify_vote_extension(self, req: Any) -> Any:
        return abci.ResponseVerifyVoteExtension(status=abci.ResponseVerifyVoteExtension.ACCEPT)

    def echo(self, req: Any) -> Any:
        return abci.ResponseEcho(message=req.message)

    def flush(self, req: Any) -> Any:
        return abci.ResponseFlush()


def _time_ns(ts: Any) -> int:
    return int(ts.seconds) * 1_000_000_000 + int(ts.nanos)


def _with_mode(events: list[Event], mode: str) -> list[Event]:
    return [
        Event.of(e.type, *((a.key, a.value) for a in e.attributes), ("mode", mode)) for e in events
    ]


def _error_result(
    exc: SdkError, gas_wanted: int, gas_used: int, events: Sequence[Event] = ()
) -> Any:
    return abci.ExecTxResult(
        code=exc.code,
        log=exc.log,
        codespace=exc.codespace,
        gas_wanted=gas_wanted,
        gas_used=gas_used,
        events=events_to_abci(list(events)),
    )


__all__ = ["AppCommit", "Application", "GenesisStateError", "HaltHeightError", "ErrTxDecode"]
