"""Prometheus metrics of the staking module (registered by `sultan_prometheus_collectors`).

- `sultan_staking_validator_power{validator}` — consensus power of each bonded validator,
  labelled by operator address (the kernel's `sultan_validator_power` reports the consensus
  engine's set by consensus address; the two agree two blocks after a change);
- `sultan_staking_bonded_ratio` — bonded tokens / total supply of the bond denom;
- `sultan_staking_unbonding_queue_length` — unbonding delegation entries waiting to mature.

Refreshed at the end of each finalized block. Observations only: nothing here feeds back
into the state machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class StakingCollector(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._powers: dict[str, int] = {}
        self._bonded = 0
        self._supply = 0
        self._queue = 0

    def update(self, powers: Mapping[str, int], bonded: int, supply: int, queue: int) -> None:
        with self._lock:
            self._powers = dict(powers)
            self._bonded, self._supply, self._queue = bonded, supply, queue

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            power = GaugeMetricFamily(
                "sultan_staking_validator_power",
                "Consensus power of each bonded validator (last finalized block)",
                labels=["validator"],
            )
            for validator, value in sorted(self._powers.items()):
                power.add_metric([validator], float(value))
            yield power
            ratio = self._bonded / self._supply if self._supply else 0.0
            yield GaugeMetricFamily(
                "sultan_staking_bonded_ratio",
                "Bonded tokens divided by the total supply of the bond denom",
                value=ratio,
            )
            yield GaugeMetricFamily(
                "sultan_staking_unbonding_queue_length",
                "Unbonding delegations waiting for their unbonding time",
                value=float(self._queue),
            )


staking_collector = StakingCollector()
