"""Prometheus metrics of the distribution module.

- `sultan_distribution_community_pool{denom}` — the community pool (whole coins);
- `sultan_distribution_outstanding_rewards{denom}` — rewards owed to validators and
  delegators, not yet withdrawn (whole coins).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class DistributionCollector(Collector):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: dict[str, int] = {}
        self._outstanding: dict[str, int] = {}

    def update(self, pool: Mapping[str, int], outstanding: Mapping[str, int]) -> None:
        with self._lock:
            self._pool, self._outstanding = dict(pool), dict(outstanding)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            for name, values, text in (
                ("sultan_distribution_community_pool", self._pool, "Community pool"),
                (
                    "sultan_distribution_outstanding_rewards",
                    self._outstanding,
                    "Rewards allocated to validators and delegators, not yet withdrawn",
                ),
            ):
                family = GaugeMetricFamily(name, text, labels=["denom"])
                for denom, amount in sorted(values.items()):
                    family.add_metric([denom], float(amount))
                yield family


distribution_collector = DistributionCollector()
