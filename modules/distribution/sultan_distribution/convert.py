"""Distribution state records → `cosmos.distribution.v1beta1` protobuf messages."""

from __future__ import annotations

from typing import Any

from sultan_distribution.pb.cosmos.distribution.v1beta1 import distribution_pb2 as d
from sultan_distribution.state import ParamsRecord


def params_proto(p: ParamsRecord) -> Any:
    return d.Params(
        community_tax=str(p.community_tax),
        base_proposer_reward=str(p.base_proposer_reward),
        bonus_proposer_reward=str(p.bonus_proposer_reward),
        withdraw_addr_enabled=p.withdraw_addr_enabled,
    )
