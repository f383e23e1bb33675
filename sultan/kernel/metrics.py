"""Kernel metrics: what the engine, mempool and validator set report to Prometheus.

Every series is fed by the code path it names; nothing is estimated or faked. Which code
path depends on who makes the blocks (`consensus_engine`):

- `sultan_block_height`, `sultan_block_processing_duration_seconds`,
  `sultan_transactions_processed_total` — set once per committed block by one function,
  `NodeMetrics.record_block`. Embedded: an engine commit listener; the duration is the
  engine's own measurement of the block, from reaping the mempool to the end of the RocksDB
  commit. CometBFT (socket mode): an `Application` commit listener; the duration runs from
  the start of ABCI FinalizeBlock to the end of Commit in the application (consensus
  rounds and CometBFT's own work are not included);
- `sultan_mempool_size`, `sultan_mempool_size_bytes`, `sultan_validator_power{validator}`,
  `sultan_consensus_round`, `sultan_p2p_peers` — read at scrape time into a
  `ChainSnapshot`. Embedded: from the mempool and the block store (the validator set for
  the next height; the round of the latest commit, always 0 for the embedded engine; no
  P2P layer, so 0 peers, the number RPC `net_info` reports). CometBFT: from its JSON-RPC
  (`num_unconfirmed_txs`, `validators`, `commit`, `net_info`; see
  `sultan.api.chain_view.CometBFTChainView.metrics_snapshot`) — a value CometBFT does not
  give this scrape is absent, never made up;
- `sultan_node_info{chain_id,moniker,version,engine}` — always 1; `engine` is `embedded` or
  `cometbft`, so rules can tell a single-validator node from a networked one.

`instrument(node)` creates these per node (two nodes in one process never share series)
and registers them into `node.metrics_registry`, next to what modules contribute through
`sultan_prometheus_collectors`. Process-wide metrics defined at module level in this file
— the crypto core's `sultan_ffi_calls_total{function}` / `sultan_ffi_duration_seconds{function}`,
recorded by `sultan.kernel.crypto.native` — are registered into every node's registry too:
see `process_wide_metrics`.

Metrics are observations, never state: nothing here feeds back into the state machine.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.registry import Collector

log = logging.getLogger("sultan.metrics")

# Block execution takes milliseconds (empty blocks) to seconds (full ones).
BLOCK_DURATION_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)
EMBEDDED, COMETBFT = "embedded", "cometbft"

# Help texts that differ by engine: each says where its numbers come from.
HELP: dict[str, dict[str, str]] = {
    EMBEDDED: {
        "block_processing": "Time to make, execute and commit one block (reap to RocksDB commit)",
        "mempool_size": "Transactions waiting in the mempool (passed CheckTx)",
        "mempool_size_bytes": "Total bytes of the transactions in the mempool",
        "validator_power": "Voting power of each validator in the set for the next height",
        "consensus_round": "Round in which the latest block was committed (the embedded "
        "engine always commits in round 0)",
        "p2p_peers": "Connected P2P peers (the embedded single-validator engine has no P2P "
        "layer: 0)",
    },
    COMETBFT: {
        "block_processing": "Time the application takes to execute and commit one block "
        "(ABCI FinalizeBlock start to Commit end; consensus rounds are CometBFT's and not "
        "included)",
        "mempool_size": "Transactions in CometBFT's mempool (RPC num_unconfirmed_txs; absent "
        "while CometBFT's RPC does not answer)",
        "mempool_size_bytes": "Total bytes of the transactions in CometBFT's mempool (RPC "
        "num_unconfirmed_txs)",
        "validator_power": "Voting power of each validator in CometBFT's set at its latest "
        "height (RPC validators)",
        "consensus_round": "Round in which CometBFT committed its latest block (RPC commit)",
        "p2p_peers": "Connected P2P peers of the CometBFT node (RPC net_info n_peers)",
    },
}

# Calls into the C crypto core (`sultan.kernel.crypto.native`) take from about a microsecond
# (one small hash) to a second (a block's signatures on one core).
FFI_DURATION_BUCKETS = (
    0.000001,
    0.000005,
    0.00001,
    0.00005,
    0.0001,
    0.0005,
    0.001,
    0.005,
    0.01,
    0.05,
    0.1,
    0.5,
    1.0,
)
# Process-wide (the crypto core is shared by everything in the process): `instrument`
# registers these same objects into every node's registry through `process_wide_metrics`.
FFI_CALLS = Counter(
    "sultan_ffi_calls_total",
    "Calls into the C crypto core, by entry point (errors included)",
    ["function"],
    registry=None,
)
FFI_DURATION = Histogram(
    "sultan_ffi_duration_seconds",
    "Wall time of calls into the C crypto core, by entry point (argument packing included)",
    ["function"],
    buckets=FFI_DURATION_BUCKETS,
    registry=None,
)


@attrs.frozen
class ChainSnapshot:
    """The scrape-time chain values; None = not known this scrape (the series is absent)."""

    mempool_txs: int | None = None
    mempool_bytes: int | None = None
    validators: tuple[tuple[str, int], ...] | None = None  # (hex address, voting power)
    round: int | None = None
    peers: int | None = None


def embedded_snapshot(node: Any) -> ChainSnapshot:
    """The embedded engine's values: its mempool and block store (no P2P layer: 0 peers)."""
    mempool = node.mempool
    validators: tuple[tuple[str, int], ...] | None = None
    round_: int | None = None
    try:
        blocks = node.engine.blocks
        height = blocks.height
        vset = (blocks.validators(height + 1) or blocks.validators(height)) if height else None
        validators = tuple(
            [(v.address.hex().upper(), v.voting_power) for v in vset.validators]
            if vset is not None
            else [(v.address_hex, v.power) for v in node.genesis.validators]
        )
        seen = blocks.seen_commit(height) if height else None
        if seen is not None:
            round_ = int(seen.round)
    except Exception:  # a closing database must not break the scrape
        log.debug("validator/round metrics unavailable", exc_info=True)
    return ChainSnapshot(
        mempool_txs=len(mempool),
        mempool_bytes=mempool.total_bytes,
        validators=validators,
        round=round_,
        peers=0,
    )


class ChainStateCollector(Collector):
    """Series read at scrape time (mempool, validator set, round, peers) from `source`."""

    def __init__(self, source: Callable[[], ChainSnapshot], help_texts: dict[str, str]) -> None:
        self.source = source
        self.help = help_texts

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        h = self.help
        return (
            GaugeMetricFamily("sultan_mempool_size", h["mempool_size"]),
            GaugeMetricFamily("sultan_mempool_size_bytes", h["mempool_size_bytes"]),
            GaugeMetricFamily("sultan_validator_power", h["validator_power"], labels=["validator"]),
            GaugeMetricFamily("sultan_consensus_round", h["consensus_round"]),
            GaugeMetricFamily("sultan_p2p_peers", h["p2p_peers"]),
        )

    def describe(self) -> Iterator[Metric]:
        # Registration asks for names only: no mempool or RPC read at start-up.
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        try:
            snap = self.source()
        except Exception:  # a scrape must never fail because a source did
            log.debug("chain-state metrics unavailable", exc_info=True)
            snap = ChainSnapshot()
        size, size_bytes, power, round_, peers = self._families()
        if snap.mempool_txs is not None:
            size.add_metric([], float(snap.mempool_txs))
        if snap.mempool_bytes is not None:
            size_bytes.add_metric([], float(snap.mempool_bytes))
        for address, voting_power in snap.validators or ():
            power.add_metric([address], float(voting_power))
        if snap.round is not None:
            round_.add_metric([], float(snap.round))
        if snap.peers is not None:
            peers.add_metric([], float(snap.peers))
        yield from (size, size_bytes, power, round_, peers)


class NodeMetrics:
    """One node's kernel series; `attach` hooks them to whatever commits its blocks."""

    def __init__(self, node: Any, engine: str = EMBEDDED) -> None:
        if engine not in HELP:
            raise ValueError(f"unknown consensus engine {engine!r}")
        self.node = node
        self.engine = engine
        self.block_height = Gauge(
            "sultan_block_height", "Height of the latest committed block", registry=None
        )
        self.block_processing = Histogram(
            "sultan_block_processing_duration_seconds",
            HELP[engine]["block_processing"],
            buckets=BLOCK_DURATION_BUCKETS,
            registry=None,
        )
        self.transactions = Counter(
            "sultan_transactions_processed_total",
            "Transactions executed in committed blocks (failed ones included: they pay fees)",
            registry=None,
        )
        self.info = Gauge(
            "sultan_node_info",
            "Node identity; always 1",
            ["chain_id", "moniker", "version", "engine"],
            registry=None,
        )
        source: Callable[[], ChainSnapshot]
        if engine == COMETBFT:
            source = node.chain.metrics_snapshot  # CometBFT's RPC (sultan.api.chain_view)
        else:
            source = functools.partial(embedded_snapshot, node)
        self.chain_state = ChainStateCollector(source, HELP[engine])

    def collectors(self) -> list[Collector]:
        return [
            self.block_height,
            self.block_processing,
            self.transactions,
            self.info,
            self.chain_state,
        ]

    def attach(self) -> None:
        from sultan import __version__

        node = self.node
        self.info.labels(node.chain_id, node.moniker, __version__, self.engine).set(1)
        if self.engine == COMETBFT:
            # CometBFT drives the application over ABCI: the app reports each Commit.
            self.block_height.set(node.app.last_height)
            node.app.on_commit(self.on_app_commit)
        else:
            self.block_height.set(node.engine.height)
            node.engine.on_commit(self.on_commit)

    def record_block(self, height: int, txs: int, duration_s: float | None) -> None:
        """One committed block, whichever engine committed it."""
        self.block_height.set(height)
        if duration_s is not None:
            self.block_processing.observe(duration_s)
        self.transactions.inc(txs)

    def on_commit(self, committed: Any) -> None:
        """Embedded engine thread, right after a block is committed."""
        durations = self.node.engine.block_durations
        self.record_block(
            committed.height, len(committed.block.data.txs), durations[-1] if durations else None
        )

    def on_app_commit(self, commit: Any) -> None:
        """ABCI consensus thread, at the end of the application's Commit."""
        self.record_block(commit.height, commit.txs, commit.duration_s)


def process_wide_metrics() -> list[Collector]:
    """Metric objects defined at module level in this file (e.g. the FFI counters).

    They count for the whole process; each node's registry exports the same objects.
    """
    return [value for value in globals().values() if isinstance(value, MetricWrapperBase)]


def instrument(node: Any) -> NodeMetrics:
    """Create the node's kernel metrics, hook them to its engine and register them."""
    metrics = NodeMetrics(node, str(getattr(node, "consensus_engine", EMBEDDED)))
    metrics.attach()
    registry: CollectorRegistry = node.metrics_registry
    for collector in [*metrics.collectors(), *process_wide_metrics()]:
        registry.register(collector)
    return metrics
