"""Where the API services read the chain from: `ChainView`.

REST and gRPC answer block, tx, validator and node queries and broadcast transactions the
same way whichever engine drives the application; only the source differs:

- `EmbeddedChainView` (consensus_engine = "embedded"): the embedded engine's block store,
  tx index and mempool, in this process;
- `CometBFTChainView` (consensus_engine = "cometbft"): the local CometBFT node's JSON-RPC
  (`cometbft_rpc`, default `rpc.laddr`) — blocks, results, validator sets, `tx`,
  `tx_search`, `status`, and `broadcast_tx_sync` into CometBFT's own mempool — the way the
  Cosmos SDK's gRPC/REST services read them from CometBFT.

Both return the same protobuf messages (`tendermint.types.Block`, `BlockID`,
`ValidatorSet`, `tendermint.abci.TxResult`, `ResponseFinalizeBlock`, …), so the service
code in `services.py` / `tx_service.py` is shared. `blocks` offers the block store's
interface (`height`, `base`, `block`, `block_id`, `results`, `validators`,
`height_by_hash`). Committed blocks never change, so the CometBFT view caches them.

`CometBFTChainView.metrics_snapshot` gives the kernel's scrape-time chain series
(`sultan.kernel.metrics`) CometBFT's own numbers: its mempool, peers, validator set and the
round of its latest commit, read with a short timeout and cached for a second.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2

from sultan.kernel.engine.indexer import MAX_SEARCH_RESULTS, SearchTooBroadError
from sultan.kernel.mempool import MempoolError
from sultan.kernel.metrics import ChainSnapshot
from sultan.kernel.timeutil import now_ns, parse_rfc3339_nano
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.crypto import keys_pb2
from sultan.pb.tendermint.p2p import types_pb2 as p2p_pb
from sultan.pb.tendermint.types import (
    block_pb2,
    evidence_pb2,
    params_pb2,
    types_pb2,
    validator_pb2,
)
from sultan.pb.tendermint.version import types_pb2 as version_pb2

RPC_TIMEOUT_S = 10.0
CACHE_SIZE = 512
PER_PAGE = 100  # CometBFT's max per_page
MIN_HEALTH_WINDOW_MS = 10_000
# /metrics scrapes read CometBFT's RPC: a short timeout per call, so a hung CometBFT cannot
# stall a scrape past Prometheus' own timeout, and a short cache for concurrent scrapers.
SCRAPE_TIMEOUT_S = 2.0
SCRAPE_CACHE_S = 1.0


class ChainUnavailableError(RuntimeError):
    """The CometBFT RPC could not be reached or answered with an error."""


def chain_view(node: Any) -> Any:
    """`node.chain` (set by `Node`), else an embedded view over `node.engine`."""
    view = getattr(node, "chain", None)
    return view if view is not None else EmbeddedChainView(node)


# -- embedded -----------------------------------------------------------------------------------


class EmbeddedChainView:
    kind = "embedded"

    def __init__(self, node: Any) -> None:
        self.node = node

    @property
    def blocks(self) -> Any:
        return self.node.engine.blocks

    def consensus_params(self) -> Any:
        return self.node.engine.consensus_params

    def tx(self, tx_hash: bytes) -> Any | None:
        return self.node.engine.indexer.tx(tx_hash)

    def search_txs(self, query: str, conditions: Sequence[Any]) -> list[Any]:
        """Every TxResult matching, ordered by (height, index)."""
        blocks = self.blocks

        def block_txs(height: int) -> Any:
            block, results = blocks.block(height), blocks.results(height)
            if block is None or results is None:
                return
            for index, tx in enumerate(block.data.txs):
                yield (
                    height,
                    index,
                    abci.TxResult(
                        height=height, index=index, tx=tx, result=results.tx_results[index]
                    ),
                )

        return list(
            self.node.engine.indexer.search_txs(
                conditions, lambda tx: hashlib.sha256(tx).digest(), block_txs, blocks.height
            )
        )

    def broadcast(self, tx: bytes, sync: bool = True) -> Any:
        """CheckTx into the mempool; the ResponseCheckTx (raises MempoolError)."""
        return self.node.mempool.check_and_add(tx)

    def node_info(self) -> Any | None:
        return None  # the services build it from the node itself

    def syncing(self) -> bool:
        return False

    def mempool_stats(self) -> tuple[int, int]:
        return len(self.node.mempool), self.node.mempool.total_bytes


# -- CometBFT JSON → protobuf -----------------------------------------------------------------


def _hex(value: Any) -> bytes:
    return bytes.fromhex(value) if value else b""


def _b64(value: Any) -> bytes:
    return base64.b64decode(value) if value else b""


def _int(value: Any) -> int:
    return int(value) if value not in (None, "") else 0


def _time(text: Any) -> Any:
    ns = parse_rfc3339_nano(text) if text else parse_rfc3339_nano("0001-01-01T00:00:00Z")
    return timestamp_pb2.Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def block_id_from_json(d: dict[str, Any] | None) -> Any:
    d = d or {}
    parts = d.get("parts") or {}
    if not d.get("hash") and not parts.get("hash") and not _int(parts.get("total")):
        return types_pb2.BlockID()  # the zero BlockID (no previous block)
    return types_pb2.BlockID(
        hash=_hex(d.get("hash")),
        part_set_header=types_pb2.PartSetHeader(
            total=_int(parts.get("total")), hash=_hex(parts.get("hash"))
        ),
    )


def header_from_json(h: dict[str, Any]) -> Any:
    version = h.get("version") or {}
    return types_pb2.Header(
        version=version_pb2.Consensus(
            block=_int(version.get("block")), app=_int(version.get("app"))
        ),
        chain_id=h.get("chain_id", ""),
        height=_int(h.get("height")),
        time=_time(h.get("time")),
        last_block_id=block_id_from_json(h.get("last_block_id")),
        last_commit_hash=_hex(h.get("last_commit_hash")),
        data_hash=_hex(h.get("data_hash")),
        validators_hash=_hex(h.get("validators_hash")),
        next_validators_hash=_hex(h.get("next_validators_hash")),
        consensus_hash=_hex(h.get("consensus_hash")),
        app_hash=_hex(h.get("app_hash")),
        last_results_hash=_hex(h.get("last_results_hash")),
        evidence_hash=_hex(h.get("evidence_hash")),
        proposer_address=_hex(h.get("proposer_address")),
    )


def commit_from_json(c: dict[str, Any] | None) -> Any:
    c = c or {}
    commit = types_pb2.Commit(
        height=_int(c.get("height")),
        round=_int(c.get("round")),
        signatures=[
            types_pb2.CommitSig(
                block_id_flag=_int(s.get("block_id_flag")),  # type: ignore[arg-type]
                validator_address=_hex(s.get("validator_address")),
                timestamp=_time(s.get("timestamp")),
                signature=_b64(s.get("signature")),
            )
            for s in c.get("signatures") or []
        ],
    )
    block_id = block_id_from_json(c.get("block_id"))
    if block_id.ByteSize():
        commit.block_id.CopyFrom(block_id)
    return commit


def block_from_json(b: dict[str, Any]) -> Any:
    """A `block` RPC result's block. Evidence is not converted (Sultan chains have none
    until evidence handling lands; the list is left empty)."""
    data = b.get("data") or {}
    return block_pb2.Block(
        header=header_from_json(b.get("header") or {}),
        data=types_pb2.Data(txs=[_b64(t) for t in data.get("txs") or []]),
        evidence=evidence_pb2.EvidenceList(),
        last_commit=commit_from_json(b.get("last_commit")),
    )


def event_from_json(e: dict[str, Any]) -> Any:
    return abci.Event(
        type=e.get("type", ""),
        attributes=[
            abci.EventAttribute(
                key=a.get("key") or "", value=a.get("value") or "", index=bool(a.get("index"))
            )
            for a in e.get("attributes") or []
        ],
    )


def exec_tx_result_from_json(r: dict[str, Any]) -> Any:
    return abci.ExecTxResult(
        code=_int(r.get("code")),
        data=_b64(r.get("data")),
        log=r.get("log") or "",
        info=r.get("info") or "",
        gas_wanted=_int(r.get("gas_wanted")),
        gas_used=_int(r.get("gas_used")),
        events=[event_from_json(e) for e in r.get("events") or []],
        codespace=r.get("codespace") or "",
    )


def pub_key_from_json(pk: dict[str, Any] | None) -> Any:
    pk = pk or {}
    raw = _b64(pk.get("value"))
    if pk.get("type") == "tendermint/PubKeySecp256k1":
        return keys_pb2.PublicKey(secp256k1=raw)
    return keys_pb2.PublicKey(ed25519=raw)


def validator_from_json(v: dict[str, Any]) -> Any:
    return validator_pb2.Validator(
        address=_hex(v.get("address")),
        pub_key=pub_key_from_json(v.get("pub_key")),
        voting_power=_int(v.get("voting_power")),
        proposer_priority=_int(v.get("proposer_priority")),
    )


def results_from_json(r: dict[str, Any]) -> Any:
    out = abci.ResponseFinalizeBlock(
        events=[event_from_json(e) for e in r.get("finalize_block_events") or []],
        tx_results=[exec_tx_result_from_json(t) for t in r.get("txs_results") or []],
        app_hash=_b64(r.get("app_hash")),  # []byte in libs/json: base64
    )
    for u in r.get("validator_updates") or []:
        key = (u.get("pub_key") or {}).get("Sum", {}).get("value", {})
        out.validator_updates.add(
            pub_key=keys_pb2.PublicKey(
                **{k: _b64(v) for k, v in key.items() if k in ("ed25519", "secp256k1")}
            ),
            power=_int(u.get("power")),
        )
    return out


def tx_result_from_json(t: dict[str, Any]) -> Any:
    return abci.TxResult(
        height=_int(t.get("height")),
        index=_int(t.get("index")),
        tx=_b64(t.get("tx")),
        result=exec_tx_result_from_json(t.get("tx_result") or {}),
    )


def _duration(ns: int) -> Any:
    return duration_pb2.Duration(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def consensus_params_from_json(p: dict[str, Any]) -> Any:
    block, ev = p.get("block") or {}, p.get("evidence") or {}
    out = params_pb2.ConsensusParams()
    out.block.max_bytes = _int(block.get("max_bytes"))
    out.block.max_gas = _int(block.get("max_gas"))
    out.evidence.max_age_num_blocks = _int(ev.get("max_age_num_blocks"))
    out.evidence.max_age_duration.CopyFrom(_duration(_int(ev.get("max_age_duration"))))
    out.evidence.max_bytes = _int(ev.get("max_bytes"))
    out.validator.pub_key_types.extend((p.get("validator") or {}).get("pub_key_types") or [])
    out.version.app = _int((p.get("version") or {}).get("app"))
    out.abci.vote_extensions_enable_height = _int(
        (p.get("abci") or {}).get("vote_extensions_enable_height")
    )
    return out


def node_info_from_json(n: dict[str, Any]) -> Any:
    pv, other = n.get("protocol_version") or {}, n.get("other") or {}
    return p2p_pb.DefaultNodeInfo(
        protocol_version=p2p_pb.ProtocolVersion(
            p2p=_int(pv.get("p2p")), block=_int(pv.get("block")), app=_int(pv.get("app"))
        ),
        default_node_id=n.get("id", ""),
        listen_addr=n.get("listen_addr", ""),
        network=n.get("network", ""),
        version=n.get("version", ""),
        channels=_hex(n.get("channels")),
        moniker=n.get("moniker", ""),
        other=p2p_pb.DefaultNodeInfoOther(
            tx_index=other.get("tx_index", ""), rpc_address=other.get("rpc_address", "")
        ),
    )


# -- CometBFT RPC -------------------------------------------------------------------------------


class CometBFTRPC:
    """A small blocking JSON-RPC 2.0 client (the service code runs in worker threads)."""

    def __init__(self, url: str, timeout: float = RPC_TIMEOUT_S) -> None:
        self.url = url
        self.timeout = timeout
        self._ids = 0
        self._lock = threading.Lock()

    def call(self, method: str, **params: Any) -> Any:
        with self._lock:
            self._ids += 1
            rid = self._ids
        body = json.dumps(
            {"jsonrpc": "2.0", "id": rid, "method": method, "params": params}
        ).encode()
        request = urllib.request.Request(
            self.url, body, {"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except urllib.error.HTTPError as exc:  # CometBFT answers errors with HTTP 500 + JSON
            try:
                reply = json.loads(exc.read())
            except ValueError:
                raise ChainUnavailableError(f"CometBFT RPC {method}: HTTP {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise ChainUnavailableError(
                f"CometBFT RPC at {self.url} is unreachable ({method}): {exc}"
            ) from None
        if not isinstance(reply, dict):
            raise ChainUnavailableError(f"CometBFT RPC {method}: unexpected reply")
        if reply.get("error"):
            error = reply["error"]
            raise RPCCallError(method, str(error.get("data") or error.get("message") or error))
        return reply.get("result")


class RPCCallError(ChainUnavailableError):
    """CometBFT answered the call with a JSON-RPC error (e.g. height not available)."""

    def __init__(self, method: str, data: str) -> None:
        super().__init__(f"CometBFT RPC {method}: {data}")
        self.method = method
        self.data = data


class _LRU:
    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = load()
        if value is not None:
            with self._lock:
                self._items[key] = value
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return value


class RPCBlockStore:
    """The block store's read interface, answered by CometBFT's RPC."""

    def __init__(self, rpc: CometBFTRPC) -> None:
        self.rpc = rpc
        self._blocks = _LRU()
        self._results = _LRU()
        self._validators = _LRU()

    def status(self) -> dict[str, Any]:
        return dict(self.rpc.call("status"))

    @property
    def height(self) -> int:
        return _int(self.status()["sync_info"]["latest_block_height"])

    @property
    def base(self) -> int:
        return _int(self.status()["sync_info"].get("earliest_block_height"))

    def _block(self, height: int) -> tuple[Any, Any] | None:
        def load() -> tuple[Any, Any] | None:
            try:
                result = self.rpc.call("block", height=str(height))
            except RPCCallError:
                return None
            if not result or not result.get("block"):
                return None
            return block_from_json(result["block"]), block_id_from_json(result["block_id"])

        return self._blocks.get(height, load)  # type: ignore[no-any-return]

    def block(self, height: int) -> Any | None:
        found = self._block(height)
        return found[0] if found else None

    def block_id(self, height: int) -> Any | None:
        found = self._block(height)
        return found[1] if found else None

    def results(self, height: int) -> Any | None:
        def load() -> Any | None:
            try:
                return results_from_json(self.rpc.call("block_results", height=str(height)))
            except RPCCallError:
                return None

        return self._results.get(height, load)

    def validators(self, height: int) -> Any | None:
        def load() -> Any | None:
            validators: list[Any] = []
            page = 1
            while True:
                try:
                    result = self.rpc.call(
                        "validators", height=str(height), page=str(page), per_page=str(PER_PAGE)
                    )
                except RPCCallError:
                    return None
                validators += [validator_from_json(v) for v in result.get("validators") or []]
                if len(validators) >= _int(result.get("total")) or not result.get("validators"):
                    break
                page += 1
            vset = validator_pb2.ValidatorSet(validators=validators)
            vset.total_voting_power = sum(v.voting_power for v in validators)
            return vset

        return self._validators.get(height, load)

    def height_by_hash(self, block_hash: bytes) -> int | None:
        try:
            result = self.rpc.call("block_by_hash", hash=base64.b64encode(block_hash).decode())
        except RPCCallError:
            return None
        if not result or not result.get("block"):
            return None
        return _int(result["block"]["header"]["height"])


class CometBFTChainView:
    kind = "cometbft"

    def __init__(self, url: str, *, timeout_commit_ms: int = 1000) -> None:
        self.url = url
        self.rpc = CometBFTRPC(url)
        self.blocks = RPCBlockStore(self.rpc)
        self.timeout_commit_ms = timeout_commit_ms
        self._scrape_blocks = RPCBlockStore(CometBFTRPC(url, timeout=SCRAPE_TIMEOUT_S))
        self._scrape_lock = threading.Lock()
        self._snapshot: tuple[float, ChainSnapshot] | None = None
        self._commit_round: tuple[int, int] | None = None  # (height, round), immutable

    def consensus_params(self) -> Any:
        return consensus_params_from_json(self.rpc.call("consensus_params")["consensus_params"])

    def tx(self, tx_hash: bytes) -> Any | None:
        try:
            result = self.rpc.call("tx", hash=base64.b64encode(tx_hash).decode(), prove=False)
        except RPCCallError as exc:
            if "not found" in exc.data:
                return None
            raise
        return tx_result_from_json(result)

    def search_txs(self, query: str, conditions: Sequence[Any]) -> list[Any]:
        """Every TxResult matching `query` (CometBFT's tx_search, all pages, ascending)."""
        found: list[Any] = []
        page = 1
        while True:
            try:
                result = self.rpc.call(
                    "tx_search",
                    query=query,
                    prove=False,
                    page=str(page),
                    per_page=str(PER_PAGE),
                    order_by="asc",
                )
            except RPCCallError as exc:
                raise SearchTooBroadError(exc.data) from None
            total = _int(result.get("total_count"))
            if total > MAX_SEARCH_RESULTS:
                raise SearchTooBroadError(
                    f"query matches more than {MAX_SEARCH_RESULTS} txs; narrow it (e.g. tx.height range)"
                )
            txs = result.get("txs") or []
            found += [tx_result_from_json(t) for t in txs]
            if not txs or len(found) >= total:
                return found
            page += 1

    def broadcast(self, tx: bytes, sync: bool = True) -> Any:
        """broadcast_tx_sync (or _async) into CometBFT's mempool; a ResponseCheckTx."""
        method = "broadcast_tx_sync" if sync else "broadcast_tx_async"
        try:
            result = self.rpc.call(method, tx=base64.b64encode(tx).decode())
        except RPCCallError as exc:  # CometBFT reports mempool rejections as RPC errors
            raise MempoolError(exc.data) from None
        return abci.ResponseCheckTx(
            code=_int(result.get("code")),
            data=_hex(result.get("data")),
            log=result.get("log") or "",
            codespace=result.get("codespace") or "",
        )

    def node_info(self) -> Any:
        return node_info_from_json(self.blocks.status()["node_info"])

    def syncing(self) -> bool:
        return bool(self.blocks.status()["sync_info"].get("catching_up"))

    def mempool_stats(self) -> tuple[int, int]:
        result = self.rpc.call("num_unconfirmed_txs")
        return _int(result.get("total")), _int(result.get("total_bytes"))

    def metrics_snapshot(self) -> ChainSnapshot:
        """CometBFT's mempool, peers, validator set and latest commit round for /metrics.

        Each value comes from one RPC call; a call that fails leaves its value None (the
        series is absent from that scrape), and once CometBFT is found unreachable the
        remaining calls are skipped. The result is reused for SCRAPE_CACHE_S."""
        with self._scrape_lock:
            cached = self._snapshot
            if cached is not None and time.monotonic() - cached[0] < SCRAPE_CACHE_S:
                return cached[1]
            snapshot = self._read_snapshot()
            self._snapshot = (time.monotonic(), snapshot)
            return snapshot

    def _read_snapshot(self) -> ChainSnapshot:
        blocks = self._scrape_blocks
        rpc = blocks.rpc
        unreachable = False

        def ask(read: Callable[[], Any]) -> Any:
            nonlocal unreachable
            if unreachable:
                return None
            try:
                return read()
            except RPCCallError:
                return None
            except ChainUnavailableError:
                unreachable = True
                return None
            except (KeyError, TypeError, ValueError, AttributeError):
                return None  # an answer of an unexpected shape: no value, not a guess

        height = ask(lambda: _int(blocks.status()["sync_info"]["latest_block_height"]))
        if height is None:
            return ChainSnapshot()
        unconfirmed = ask(lambda: rpc.call("num_unconfirmed_txs"))
        peers = ask(lambda: _int(rpc.call("net_info")["n_peers"]))
        validators = round_ = None
        if height:
            vset = ask(lambda: blocks.validators(height))
            if vset is not None:
                validators = tuple(
                    (v.address.hex().upper(), int(v.voting_power)) for v in vset.validators
                )
            round_ = ask(lambda: self._round_of_commit(height))
        return ChainSnapshot(
            mempool_txs=ask(lambda: _int(unconfirmed["total"])) if unconfirmed else None,
            mempool_bytes=ask(lambda: _int(unconfirmed["total_bytes"])) if unconfirmed else None,
            validators=validators,
            round=round_,
            peers=peers,
        )

    def _round_of_commit(self, height: int) -> int:
        if self._commit_round is not None and self._commit_round[0] == height:
            return self._commit_round[1]
        commit = self._scrape_blocks.rpc.call("commit", height=str(height))
        round_ = int(commit["signed_header"]["commit"]["round"])
        self._commit_round = (height, round_)
        return round_

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(ok, body) for REST /health: CometBFT reachable, not catching up, blocks coming."""
        window_ms = max(3 * self.timeout_commit_ms, MIN_HEALTH_WINDOW_MS)
        try:
            sync = self.blocks.status()["sync_info"]
        except ChainUnavailableError as exc:
            return False, {"status": "unhealthy", "reason": str(exc), "engine": self.kind}
        height = _int(sync.get("latest_block_height"))
        age_ms = 0
        if sync.get("latest_block_time") and height:
            age_ms = max(0, (now_ns() - parse_rfc3339_nano(sync["latest_block_time"])) // 10**6)
        info = {
            "height": height,
            "last_block_age_ms": age_ms,
            "window_ms": window_ms,
            "engine": self.kind,
        }
        reason = ""
        if sync.get("catching_up"):
            reason = "CometBFT is catching up"
        elif height and age_ms > window_ms:
            reason = f"no block committed for {age_ms} ms (limit {window_ms} ms)"
        if reason:
            return False, {"status": "unhealthy", "reason": reason, **info}
        return True, {"status": "ok", **info}


__all__ = [
    "ChainUnavailableError",
    "CometBFTChainView",
    "EmbeddedChainView",
    "RPCBlockStore",
    "chain_view",
]
