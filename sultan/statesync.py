"""State sync of an embedded follower node from other Sultan nodes' RPC (`[statesync]`).

`bootstrap_ops` (a fresh home, `statesync.enable = true`, consensus_engine = "embedded"):

1. read block `trust_height` from the servers and check that its header hashes to
   `trust_hash` (servers that disagree are dropped; none agrees: "trust hash mismatch")
   and that it is younger than `trust_period` (as a light client refuses an expired
   trusted header: its validators may have unbonded since and could sign another history);
2. pick the newest snapshot of height S with S + 1 <= trust_height that the servers list
   (ABCI query `/sultan/snapshots`), read headers S..trust_height and check that they
   hash-link down from the trusted one: header(S + 1).app_hash is then the trusted app hash;
3. fetch every chunk (`/sultan/snapshot_chunk`) and check it against the snapshot's chunk
   hashes (a bad chunk or a dead server: the next server), rebuild the state and check its
   app hash (`restore_ops`, all in memory);
4. add block S, its commit (verified: > 2/3 of the validators of S signed it), its results
   and the validator sets the follower needs (each checked against the headers' hashes).

It returns write ops and writes nothing: the node writes them in one batch, so a failed
sync leaves the data directory as it was. `RPCSource` then feeds the follower engine
(`sultan.kernel.engine.follower`) the blocks after S.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

from sultan.api.chain_view import (
    ChainUnavailableError,
    CometBFTRPC,
    RPCBlockStore,
    RPCCallError,
    block_from_json,
    block_id_from_json,
    commit_from_json,
    results_from_json,
)
from sultan.kernel.abci.app import SNAPSHOT_CHUNK_QUERY, SNAPSHOTS_QUERY
from sultan.kernel.engine import hashing
from sultan.kernel.engine.blockstore import BlockStore
from sultan.kernel.engine.follower import SourceUnavailableError, VerificationError, verify_commit
from sultan.kernel.engine.indexer import Indexer
from sultan.kernel.snapshots import FORMAT, SnapshotError, SnapshotInfo, restore_ops
from sultan.kernel.store.db import WriteOp
from sultan.kernel.timeutil import (
    NS_PER_MS,
    NS_PER_S,
    format_duration_ms,
    format_duration_ns,
    format_rfc3339_nano,
)
from sultan.pb.tendermint.abci import types_pb2 as abci

log = logging.getLogger("sultan.statesync")

RPC_TIMEOUT_S = 30.0  # a chunk is up to 4 MiB (5.6 MB of base64 JSON)
FOLLOW_TIMEOUT_S = 10.0  # a hung server delays following by this much per poll at most
T = TypeVar("T")


class StateSyncError(RuntimeError):
    """State sync cannot complete; nothing was written."""


def server_urls(rpc_servers: str) -> list[str]:
    """`http://a:26657,b:26657` -> URLs (a bare host:port means http://, tcp:// too)."""
    urls = []
    for raw in rpc_servers.split(","):
        url = raw.strip()
        if not url:
            continue
        if url.startswith("tcp://"):
            url = "http://" + url[len("tcp://") :]
        elif "://" not in url:
            url = "http://" + url
        urls.append(url)
    return urls


class RPCSource:
    """The chain as the `[statesync] rpc_servers` serve it; each read falls back in order."""

    def __init__(self, urls: list[str], timeout: float = RPC_TIMEOUT_S) -> None:
        self.urls = list(urls)
        self.rpcs = [CometBFTRPC(url, timeout=timeout) for url in self.urls]
        self._preferred = 0

    def each(self, read: Callable[[CometBFTRPC], T]) -> Iterator[tuple[str, T]]:
        """(server, read(server)) for every server where `read` succeeds."""
        for url, rpc in zip(self.urls, self.rpcs, strict=True):
            try:
                yield url, read(rpc)
            except ChainUnavailableError as exc:
                log.debug("statesync: %s: %s", url, exc)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                log.warning("statesync: %s answered something unexpected: %r", url, exc)

    def first(self, read: Callable[[CometBFTRPC], T], what: str) -> T:
        for _url, value in self.each(read):
            return value
        raise StateSyncError(f"no server of {', '.join(self.urls)} could give {what}")

    # -- BlockSource (the follower engine) ------------------------------------------------

    def signed_blocks(self, height: int) -> Iterator[tuple[str, Any, Any, Any]]:
        """(server, Block, BlockID, Commit) from each server that has `height`, the one that
        served last first. SourceUnavailableError (after trying all) if none answered."""
        order = sorted(range(len(self.urls)), key=lambda i: i != self._preferred)
        answered = False
        for i in order:
            url, rpc = self.urls[i], self.rpcs[i]
            try:
                block, block_id = signed_block_json(rpc, height)
                commit = rpc.call("commit", height=str(height))["signed_header"]["commit"]
                answered = True
            except RPCCallError:  # it answered: it does not have the height (yet)
                answered = True
                continue
            except ChainUnavailableError as exc:
                log.debug("follow: %s: %s", url, exc)
                continue
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                answered = True
                log.warning("follow: %s answered something unexpected: %r", url, exc)
                continue
            self._preferred = i
            yield url, block, block_id, commit_from_json(commit)
        if not answered:
            raise SourceUnavailableError(f"no server of {', '.join(self.urls)} answers")


def signed_block_json(rpc: CometBFTRPC, height: int) -> tuple[Any, Any]:
    result = rpc.call("block", height=str(height))
    return block_from_json(result["block"]), block_id_from_json(result["block_id"])


def _signed_block_at(height: int, rpc: CometBFTRPC) -> tuple[Any, Any]:
    return signed_block_json(rpc, height)


def _chunk_query(key: bytes, rpc: CometBFTRPC) -> bytes:
    return abci_query(rpc, SNAPSHOT_CHUNK_QUERY, key)


def abci_query(rpc: CometBFTRPC, path: str, data: bytes = b"") -> bytes:
    response = rpc.call("abci_query", path=path, data=data.hex(), height="0", prove=False)[
        "response"
    ]
    if int(response.get("code") or 0) != 0:
        raise ChainUnavailableError(f"abci_query {path}: {response.get('log')}")
    return base64.b64decode(response.get("value") or "")


def _snapshot_list(rpc: CometBFTRPC) -> list[SnapshotInfo]:
    out = []
    for s in json.loads(abci_query(rpc, SNAPSHOTS_QUERY)):
        snapshot = abci.Snapshot(
            height=int(s["height"]),
            format=int(s["format"]),
            chunks=int(s["chunks"]),
            hash=bytes.fromhex(s["hash"]),
            metadata=base64.b64decode(s["metadata"]),
        )
        if snapshot.format != FORMAT:
            continue
        try:
            out.append(SnapshotInfo.from_abci(snapshot))
        except SnapshotError as exc:
            log.warning("statesync: ignoring a listed snapshot: %s", exc)
    return out


def _validators(rpc: CometBFTRPC, height: int) -> Any:
    vset = RPCBlockStore(rpc).validators(height)
    if vset is None:
        raise ChainUnavailableError(f"no validator set for height {height}")
    return vset


def _check_trust_period(header: Any, height: int, trust_period_ms: int, now: int) -> None:
    made = header.time.seconds * NS_PER_S + header.time.nanos
    age = now - made
    if age > trust_period_ms * NS_PER_MS:
        raise StateSyncError(
            f"trusted block {height} was made {format_duration_ns(age)} ago "
            f"({format_rfc3339_nano(made)}), longer than statesync.trust_period "
            f"({format_duration_ms(trust_period_ms)}): the validators that signed it may have "
            "unbonded since; take a recent block's height and hash as trust_height and "
            "trust_hash"
        )


def bootstrap_ops(
    urls: list[str],
    trust_height: int,
    trust_hash: str,
    chain_id: str,
    store_keys: list[str],
    trust_period_ms: int,
    now: int,
) -> list[WriteOp]:
    """Everything a follower's empty store needs, verified; see the module doc. `now` is
    the wall clock in Unix nanoseconds (the trust period's reference). Raises
    StateSyncError (nothing is written by this function in any case)."""
    if trust_height < 2:
        raise StateSyncError("statesync.trust_height must be at least 2 (a snapshot lies below)")
    source = RPCSource(urls)
    want = trust_hash.upper()

    # a) the trusted header, from every server that agrees with it.
    agreeing: list[str] = []
    mismatch = ""
    trusted: Any = None  # the header of block trust_height, once a server agrees
    for url, (block, block_id) in source.each(lambda r: signed_block_json(r, trust_height)):
        got = hashing.header_hash(block.header).hex().upper()
        if got != want or block_id.hash.hex().upper() != got:
            mismatch = mismatch or (
                f"trust hash mismatch at height {trust_height}: server {url} says {got}, "
                f"config says {want}"
            )
            log.warning("statesync: %s", mismatch)
            continue
        if block.header.chain_id != chain_id:
            raise StateSyncError(
                f"the servers serve chain {block.header.chain_id!r}, genesis.json is {chain_id!r}"
            )
        agreeing.append(url)
        trusted = block.header
    if not agreeing:
        raise StateSyncError(
            mismatch or f"no server of {', '.join(urls)} could give block {trust_height}"
        )
    _check_trust_period(trusted, trust_height, trust_period_ms, now)
    log.info("statesync: trusted block %d %s (servers: %s)", trust_height, want, agreeing)
    source = RPCSource(agreeing)

    # b) the newest snapshot below the trusted height, and the headers down to it.
    offers: dict[tuple[int, bytes], tuple[SnapshotInfo, list[str]]] = {}
    for url, listed in source.each(_snapshot_list):
        for info in listed:
            offers.setdefault((info.height, info.hash), (info, []))[1].append(url)
    heights = sorted({h for h, _ in offers}, reverse=True)
    usable = [offers[k] for k in sorted(offers, reverse=True) if k[0] + 1 <= trust_height]
    if not usable:
        raise StateSyncError(
            f"no snapshot below trust_height {trust_height} on the servers "
            f"(they offer heights {heights or 'none'}); pick a later trust height"
        )
    info, holders = usable[0]
    height = info.height
    log.info("statesync: snapshot height=%d chunks=%d from %s", height, info.chunks, holders)
    blocks: dict[int, tuple[Any, Any]] = {}
    for h in range(trust_height, height - 1, -1):
        block, block_id = source.first(partial(_signed_block_at, h), f"block {h}")
        if hashing.header_hash(block.header) != block_id.hash or block.header.height != h:
            raise StateSyncError(f"block {h} from the servers does not hash to its id")
        if h < trust_height and block_id.hash != blocks[h + 1][0].header.last_block_id.hash:
            raise StateSyncError(f"block {h} does not link to block {h + 1}: a lying server")
        blocks[h] = (block, block_id)
    trusted_app_hash = bytes(blocks[height + 1][0].header.app_hash)
    if info.app_hash != trusted_app_hash:
        raise StateSyncError(
            f"snapshot {height} promises app hash {info.app_hash.hex().upper()} but block "
            f"{height + 1} says {trusted_app_hash.hex().upper()}"
        )

    # c) the chunks, each checked, then the state rebuilt and checked in memory.
    chunks: list[bytes] = []
    holder_source = RPCSource(holders)
    for index in range(info.chunks):
        key = height.to_bytes(8, "big") + index.to_bytes(4, "big")
        chunk = None
        for url, data in holder_source.each(partial(_chunk_query, key)):
            if hashlib.sha256(data).digest() == info.chunk_hashes[index]:
                chunk = data
                log.info(
                    "statesync: chunk %d/%d (%d bytes) from %s",
                    index + 1,
                    info.chunks,
                    len(data),
                    url,
                )
                break
            log.warning("statesync: chunk %d from %s does not match its hash", index, url)
        if chunk is None:
            raise StateSyncError(
                f"no server gave chunk {index} of snapshot {height} with the right hash; "
                "nothing was written"
            )
        chunks.append(chunk)
    try:
        ops, header = restore_ops(b"".join(chunks), height, trusted_app_hash, store_keys)
    except SnapshotError as exc:
        raise StateSyncError(f"snapshot {height} does not restore: {exc}") from None
    if header.get("chain_id") != chain_id:
        raise StateSyncError(f"snapshot of chain {header.get('chain_id')!r}, not {chain_id!r}")

    # d) block S with its commit, results and the validator sets the follower needs.
    block, block_id = blocks[height]
    following = blocks[height + 1][0]
    commit = following.last_commit
    vals = source.first(lambda r: _validators(r, height), f"validators of {height}")
    next_vals = source.first(lambda r: _validators(r, height + 1), f"validators of {height + 1}")
    if hashing.validator_set_hash(vals.validators) != block.header.validators_hash:
        raise StateSyncError(f"validators of height {height} do not match its header")
    if hashing.validator_set_hash(next_vals.validators) != following.header.validators_hash:
        raise StateSyncError(f"validators of height {height + 1} do not match its header")
    try:
        verify_commit(chain_id, vals, commit, block_id, height)
    except VerificationError as exc:
        raise StateSyncError(f"block {height}: {exc}") from None
    results = source.first(
        lambda r: results_from_json(r.call("block_results", height=str(height))),
        f"results of block {height}",
    )
    if hashing.results_hash(results.tx_results) != following.header.last_results_hash:
        raise StateSyncError(f"results of block {height} do not match block {height + 1}")
    txs = list(block.data.txs)
    ops += BlockStore.save_ops(
        block, block.SerializeToString(), block_id, commit, results, vals, next_vals
    )
    if hashing.validator_set_hash(next_vals.validators) != following.header.next_validators_hash:
        later = source.first(lambda r: _validators(r, height + 2), f"validators of {height + 2}")
        if hashing.validator_set_hash(later.validators) != following.header.next_validators_hash:
            raise StateSyncError(f"validators of height {height + 2} do not match the header")
        ops.append(("blocks", b"V" + (height + 2).to_bytes(8, "big"), later.SerializeToString()))
    ops += Indexer.block_ops(height, txs, [hashlib.sha256(tx).digest() for tx in txs], results)
    log.info(
        "statesync: snapshot %d verified (app_hash %s)", height, trusted_app_hash.hex().upper()
    )
    return ops
