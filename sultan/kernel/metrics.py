"""Kernel metrics: what the engine, mempool and validator set report to Prometheus.

Every series is fed by the code path it names; nothing is estimated or faked:

- `sultan_block_height`, `sultan_block_processing_duration_seconds`,
  `sultan_transactions_processed_total` — set by an engine commit listener, once per
  committed block (the duration is the engine's own measurement of that block, from reaping
  the mempool to the end of the RocksDB commit);
- `sultan_mempool_size`, `sultan_mempool_size_bytes` — read from the mempool at scrape time;
- `sultan_validator_power{validator}`, `sultan_consensus_round` — read from the block store
  at scrape time (the validator set for the next height, and the round of the latest
  commit — the embedded engine always commits in round 0, so that value is 0, truly);
- `sultan_p2p_peers` — the embedded engine has no P2P layer (one validator, no network):
  its peer count is 0 by construction, the same number RPC `net_info` reports;
- `sultan_node_info{chain_id,moniker,version,engine}` — always 1; lets rules tell an
  embedded single-validator node from a networked one.

`instrument(node)` creates these per node (two nodes in one process never share series)
and registers them into `node.metrics_registry`, next to what modules contribute through
`sultan_prometheus_collectors`. Process-wide metrics defined at module level in this file
— the crypto core's `sultan_ffi_calls_total{function}` / `sultan_ffi_duration_seconds{function}`,
recorded by `sultan.kernel.crypto.native` — are registered into every node's registry too:
see `process_wide_metrics`.

Metrics are observations, never state: nothing here feeds back into the state machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

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
ENGINE = "embedded"

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


class ChainStateCollector(Collector):
    """Series read from the node at scrape time (mempool, validator set, round, peers)."""

    def __init__(self, node: Any) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        node = self.node
        mempool = node.mempool
        size = GaugeMetricFamily(
            "sultan_mempool_size", "Transactions waiting in the mempool (passed CheckTx)"
        )
        size.add_metric([], float(len(mempool)))
        yield size
        size_bytes = GaugeMetricFamily(
            "sultan_mempool_size_bytes", "Total bytes of the transactions in the mempool"
        )
        size_bytes.add_metric([], float(mempool.total_bytes))
        yield size_bytes

        power = GaugeMetricFamily(
            "sultan_validator_power",
            "Voting power of each validator in the set for the next height",
            labels=["validator"],
        )
        round_ = GaugeMetricFamily(
            "sultan_consensus_round",
            "Round in which the latest block was committed (the embedded engine always "
            "commits in round 0)",
        )
        try:
            blocks = node.engine.blocks
            height = blocks.height
            vset = (blocks.validators(height + 1) or blocks.validators(height)) if height else None
            validators = (
                [(v.address.hex().upper(), v.voting_power) for v in vset.validators]
                if vset is not None
                else [(v.address_hex, v.power) for v in node.genesis.validators]
            )
            for address, voting_power in validators:
                power.add_metric([address], float(voting_power))
            seen = blocks.seen_commit(height) if height else None
            if seen is not None:
                round_.add_metric([], float(seen.round))
        except Exception:  # a closing database must not break the scrape
            log.debug("validator/round metrics unavailable", exc_info=True)
        yield power
        yield round_

        peers = GaugeMetricFamily(
            "sultan_p2p_peers",
            "Connected P2P peers (the embedded single-validator engine has no P2P layer: 0)",
        )
        peers.add_metric([], 0.0)
        yield peers


class NodeMetrics:
    """One node's kernel series; `attach` hooks them to its engine."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.block_height = Gauge(
            "sultan_block_height", "Height of the latest committed block", registry=None
        )
        self.block_processing = Histogram(
            "sultan_block_processing_duration_seconds",
            "Time to make, execute and commit one block (reap to RocksDB commit)",
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
        self.chain_state = ChainStateCollector(node)

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
        self.block_height.set(node.engine.height)
        self.info.labels(node.chain_id, node.moniker, __version__, ENGINE).set(1)
        node.engine.on_commit(self.on_commit)

    def on_commit(self, committed: Any) -> None:
        """Engine thread, right after a block is committed."""
        self.block_height.set(committed.height)
        durations = self.node.engine.block_durations
        if durations:
            self.block_processing.observe(durations[-1])
        self.transactions.inc(len(committed.block.data.txs))


def process_wide_metrics() -> list[Collector]:
    """Metric objects defined at module level in this file (e.g. the FFI counters).

    They count for the whole process; each node's registry exports the same objects.
    """
    return [value for value in globals().values() if isinstance(value, MetricWrapperBase)]


def instrument(node: Any) -> NodeMetrics:
    """Create the node's kernel metrics, hook them to its engine and register them."""
    metrics = NodeMetrics(node)
    metrics.attach()
    registry: CollectorRegistry = node.metrics_registry
    for collector in [*metrics.collectors(), *process_wide_metrics()]:
        registry.register(collector)
    return metrics
