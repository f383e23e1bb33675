"""Prometheus metrics of the bank module (registered by `sultan_prometheus_collectors`).

- `sultan_bank_transfers_total` — MsgSend / MsgMultiSend applied in finalized blocks;
- `sultan_bank_supply{denom}` — total supply per denom, as of the last finalized block.

Metrics are observations, never state: nothing here feeds back into the state machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

transfers_total = Counter(
    "sultan_bank_transfers_total",
    "Bank transfers (MsgSend, MsgMultiSend) applied in finalized blocks",
    ["msg"],
    registry=None,
)


class SupplyCollector(Collector):
    """Total supply per denom, refreshed by the bank at the end of each finalized block."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._supply: dict[str, int] = {}

    def update(self, supply: Mapping[str, int]) -> None:
        with self._lock:
            self._supply = dict(supply)

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "sultan_bank_supply", "Total supply per denom (last finalized block)", labels=["denom"]
        )
        with self._lock:
            for denom, amount in sorted(self._supply.items()):
                family.add_metric([denom], float(amount))
        yield family


supply_gauge = SupplyCollector()
