"""The distribution module's state, declared once as typed collections (layout in keys.py).

DecCoins are stored as flat [denom, amount, …] lists with amounts (LegacyDec atomics) as
base-10 text, since msgpack integers stop at 64 bits.
"""

from __future__ import annotations

from typing import Any

import attrs
import msgpack

from sultan.kernel.coins import DEC_ONE
from sultan.kernel.legacydec import DecCoins
from sultan.kernel.store.collections import BYTES_KEY, U64, Item, Map, Schema
from sultan_distribution import keys


@attrs.frozen
class ParamsRecord:
    community_tax: int = DEC_ONE * 2 // 100
    base_proposer_reward: int = 0
    bonus_proposer_reward: int = 0
    withdraw_addr_enabled: bool = True


@attrs.frozen
class StartingInfo:
    previous_period: int
    stake: int  # LegacyDec atomics
    height: int


@attrs.frozen
class HistoricalRewards:
    cumulative_reward_ratio: DecCoins
    reference_count: int


@attrs.frozen
class CurrentRewards:
    rewards: DecCoins
    period: int


def _pack(row: list[Any]) -> bytes:
    return msgpack.packb(row, use_bin_type=True)


def _unpack(data: bytes) -> list[Any]:
    row = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
    if not isinstance(row, list):
        raise ValueError("corrupt distribution record")
    return row


def _coins_row(coins: DecCoins) -> list[str]:
    out: list[str] = []
    for denom, amount in coins:
        out.extend((denom, str(amount)))
    return out


def _coins_from_row(row: list[str]) -> DecCoins:
    return DecCoins((row[i], int(row[i + 1])) for i in range(0, len(row), 2))


class DecCoinsCodec:
    def encode(self, value: DecCoins) -> bytes:
        return _pack(_coins_row(value))

    def decode(self, data: bytes) -> DecCoins:
        return _coins_from_row(_unpack(data))


class ParamsCodec:
    def encode(self, p: ParamsRecord) -> bytes:
        return _pack(
            [
                str(p.community_tax),
                str(p.base_proposer_reward),
                str(p.bonus_proposer_reward),
                p.withdraw_addr_enabled,
            ]
        )

    def decode(self, data: bytes) -> ParamsRecord:
        tax, base, bonus, enabled = _unpack(data)
        return ParamsRecord(int(tax), int(base), int(bonus), bool(enabled))


class StartingInfoCodec:
    def encode(self, s: StartingInfo) -> bytes:
        return _pack([str(s.previous_period), str(s.stake), str(s.height)])

    def decode(self, data: bytes) -> StartingInfo:
        period, stake, height = _unpack(data)
        return StartingInfo(int(period), int(stake), int(height))


class HistoricalCodec:
    def encode(self, h: HistoricalRewards) -> bytes:
        return _pack([_coins_row(h.cumulative_reward_ratio), h.reference_count])

    def decode(self, data: bytes) -> HistoricalRewards:
        coins, count = _unpack(data)
        return HistoricalRewards(_coins_from_row(coins), int(count))


class CurrentCodec:
    def encode(self, c: CurrentRewards) -> bytes:
        return _pack([_coins_row(c.rewards), str(c.period)])

    def decode(self, data: bytes) -> CurrentRewards:
        coins, period = _unpack(data)
        return CurrentRewards(_coins_from_row(coins), int(period))


class PairKey:
    """(valoper, delegator) or (valoper, period): length-prefixed address, then the rest."""

    def __init__(self, second: Any) -> None:
        self.second = second

    def encode(self, value: tuple[bytes, Any]) -> bytes:
        return BYTES_KEY.encode(value[0]) + self.second.encode(value[1])

    def decode(self, data: bytes) -> tuple[bytes, Any]:
        n = data[0]
        return data[1 : 1 + n], self.second.decode(data[1 + n :])


class RawBytes:
    def encode(self, value: bytes) -> bytes:
        return bytes(value)

    def decode(self, data: bytes) -> bytes:
        return bytes(data)


fee_pool: Item[DecCoins] = Item(keys.FEE_POOL_PREFIX, "fee_pool", DecCoinsCodec())
previous_proposer: Item[bytes] = Item(
    keys.PREVIOUS_PROPOSER_PREFIX, "previous_proposer", RawBytes()
)
outstanding_rewards: Map[bytes, DecCoins] = Map(
    keys.OUTSTANDING_REWARDS_PREFIX, "outstanding_rewards", BYTES_KEY, DecCoinsCodec()
)
withdraw_addresses: Map[bytes, bytes] = Map(
    keys.WITHDRAW_ADDRESSES_PREFIX, "withdraw_addresses", BYTES_KEY, RawBytes()
)
starting_infos: Map[tuple[bytes, bytes], StartingInfo] = Map(
    keys.STARTING_INFOS_PREFIX, "starting_infos", PairKey(BYTES_KEY), StartingInfoCodec()
)
historical_rewards: Map[tuple[bytes, int], HistoricalRewards] = Map(
    keys.HISTORICAL_REWARDS_PREFIX, "historical_rewards", PairKey(U64), HistoricalCodec()
)
current_rewards: Map[bytes, CurrentRewards] = Map(
    keys.CURRENT_REWARDS_PREFIX, "current_rewards", BYTES_KEY, CurrentCodec()
)
accumulated_commission: Map[bytes, DecCoins] = Map(
    keys.ACCUMULATED_COMMISSION_PREFIX, "accumulated_commission", BYTES_KEY, DecCoinsCodec()
)
params: Item[ParamsRecord] = Item(keys.PARAMS_PREFIX, "params", ParamsCodec())
block_provision: Item[DecCoins] = Item(
    keys.BLOCK_PROVISION_PREFIX, "block_provision", DecCoinsCodec()
)

SCHEMA = Schema(
    fee_pool,
    previous_proposer,
    outstanding_rewards,
    withdraw_addresses,
    starting_infos,
    historical_rewards,
    current_rewards,
    accumulated_commission,
    params,
    block_provision,
)
