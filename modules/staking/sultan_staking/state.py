"""The staking module's state, declared once as typed collections (layout in keys.py)."""

from __future__ import annotations

import struct
from typing import Any

import attrs
import msgpack

from sultan.kernel.store.collections import BYTES_KEY, U64, Item, Map, RecordCodec, Schema, Sequence
from sultan_staking import keys

_U64 = struct.Struct(">Q")
DAY_NS = 86_400 * 1_000_000_000


@attrs.frozen
class ParamsRecord:
    """Staking params; `min_commission_rate` is a LegacyDec (atomics)."""

    unbonding_time_ns: int = 21 * DAY_NS
    max_validators: int = 100
    max_entries: int = 7
    historical_entries: int = 10000
    bond_denom: str = "usultan"
    min_commission_rate: int = 0


@attrs.frozen
class ValidatorRecord:
    """A validator. Decimal fields (`delegator_shares`, commission rates) are LegacyDec atomics;
    times are ns since the epoch."""

    operator: bytes
    consensus_pubkey: bytes  # 32-byte ed25519 key
    jailed: bool = False
    status: int = keys.UNBONDED
    tokens: int = 0
    delegator_shares: int = 0
    moniker: str = ""
    identity: str = ""
    website: str = ""
    security_contact: str = ""
    details: str = ""
    unbonding_height: int = 0
    unbonding_time_ns: int = 0
    commission_rate: int = 0
    commission_max_rate: int = 0
    commission_max_change_rate: int = 0
    commission_update_time_ns: int = 0
    min_self_delegation: int = 1
    unbonding_on_hold_ref_count: int = 0
    unbonding_ids: tuple[int, ...] = ()

    @property
    def is_bonded(self) -> bool:
        return self.status == keys.BONDED

    @property
    def is_unbonded(self) -> bool:
        return self.status == keys.UNBONDED

    @property
    def is_unbonding(self) -> bool:
        return self.status == keys.UNBONDING

    @property
    def consensus_power(self) -> int:
        """Voting power: bonded tokens / 10^6 (0 unless bonded)."""
        return self.potential_power if self.is_bonded else 0

    @property
    def potential_power(self) -> int:
        return self.tokens // keys.POWER_REDUCTION

    @property
    def invalid_ex_rate(self) -> bool:
        return self.tokens == 0 and self.delegator_shares > 0


@attrs.frozen
class UnbondingEntry:
    creation_height: int
    completion_time_ns: int
    initial_balance: int
    balance: int
    unbonding_id: int
    unbonding_on_hold_ref_count: int = 0


@attrs.frozen
class RedelegationEntry:
    creation_height: int
    completion_time_ns: int
    initial_balance: int
    shares_dst: int
    unbonding_id: int
    unbonding_on_hold_ref_count: int = 0


@attrs.frozen
class EntriesRecord:
    """Stored form of an unbonding delegation's or redelegation's entries (rows of ints)."""

    rows: tuple[tuple[int, ...], ...] = ()


def encode_ubd_entries(entries: tuple[UnbondingEntry, ...]) -> EntriesRecord:
    return EntriesRecord(tuple(attrs.astuple(e) for e in entries))


def decode_ubd_entries(record: EntriesRecord) -> tuple[UnbondingEntry, ...]:
    return tuple(UnbondingEntry(*row) for row in record.rows)


def encode_red_entries(entries: tuple[RedelegationEntry, ...]) -> EntriesRecord:
    return EntriesRecord(tuple(attrs.astuple(e) for e in entries))


def decode_red_entries(record: EntriesRecord) -> tuple[RedelegationEntry, ...]:
    return tuple(RedelegationEntry(*row) for row in record.rows)


class BigRecordCodec(RecordCodec[Any]):
    """An attrs record as a msgpack array, with every int written as base-10 text.

    msgpack integers stop at 64 bits while token amounts and LegacyDec atomics need up to
    256; text keeps the encoding canonical at any size. Fields annotated `int`,
    `tuple[int, ...]` or `tuple[tuple[int, ...], ...]` are turned back into ints."""

    def encode(self, value: Any) -> bytes:
        row = [_ints_to_text(getattr(value, name)) for name in self.fields]
        return msgpack.packb(row, use_bin_type=True)

    def decode(self, data: bytes) -> Any:
        row = msgpack.unpackb(data, raw=False, strict_map_key=True, use_list=True)
        if not isinstance(row, list) or len(row) != len(self.fields):
            raise ValueError(f"corrupt {self.cls.__name__} record")
        hints = {f.name: f.type for f in attrs.fields(self.cls)}
        values = [_text_to_ints(v, str(hints[n])) for n, v in zip(self.fields, row, strict=True)]
        return self.cls(*values)


def _ints_to_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list | tuple):
        return [_ints_to_text(v) for v in value]
    return value


def _text_to_ints(value: Any, hint: str) -> Any:
    if hint == "int":
        return int(value)
    if hint == "tuple[int, ...]":
        return tuple(int(v) for v in value)
    if hint == "tuple[tuple[int, ...], ...]":
        return tuple(tuple(int(v) for v in row) for row in value)
    return value


class IntValue:
    """An int of any sign up to 256 bits, as base-10 ASCII."""

    def encode(self, value: int) -> bytes:
        return str(value).encode()

    def decode(self, data: bytes) -> int:
        return int(data.decode())


class RawBytes:
    def encode(self, value: bytes) -> bytes:
        return bytes(value)

    def decode(self, data: bytes) -> bytes:
        return bytes(data)


class PartsKey:
    """A tuple of byte strings, each length-prefixed (composite address keys)."""

    def encode(self, value: tuple[bytes, ...]) -> bytes:
        return b"".join(BYTES_KEY.encode(bytes(part)) for part in value)

    def decode(self, data: bytes) -> tuple[bytes, ...]:
        parts, i = [], 0
        while i < len(data):
            n = data[i]
            parts.append(data[i + 1 : i + 1 + n])
            i += 1 + n
        return tuple(parts)


PARTS = PartsKey()
INT = IntValue()
RAW = RawBytes()


class HistoricalInfoCodec:
    def encode(self, value: bytes) -> bytes:
        return value

    def decode(self, data: bytes) -> bytes:
        return data


def time_key(time_ns: int) -> bytes:
    return _U64.pack(max(0, time_ns))


def power_index_key(power: int, operator: bytes) -> bytes:
    """power (u64 BE) ‖ len ‖ operator with every bit flipped (the SDK's power index)."""
    return _U64.pack(power) + bytes([len(operator)]) + bytes(b ^ 0xFF for b in operator)


params: Item[ParamsRecord] = Item(keys.PARAMS_PREFIX, "params", BigRecordCodec(ParamsRecord))
last_validator_power: Map[bytes, int] = Map(
    keys.LAST_VALIDATOR_POWER_PREFIX, "last_validator_power", BYTES_KEY, INT
)
last_total_power: Item[int] = Item(keys.LAST_TOTAL_POWER_PREFIX, "last_total_power", INT)
validators: Map[bytes, ValidatorRecord] = Map(
    keys.VALIDATORS_PREFIX, "validators", BYTES_KEY, BigRecordCodec(ValidatorRecord)
)
validators_by_cons: Map[bytes, bytes] = Map(
    keys.VALIDATORS_BY_CONS_PREFIX, "validators_by_cons", BYTES_KEY, RAW
)
validators_by_power: Map[bytes, bytes] = Map(
    keys.VALIDATORS_BY_POWER_PREFIX, "validators_by_power", RAW, RAW
)
delegations: Map[tuple[bytes, ...], int] = Map(keys.DELEGATIONS_PREFIX, "delegations", PARTS, INT)
unbonding_delegations: Map[tuple[bytes, ...], EntriesRecord] = Map(
    keys.UNBONDING_DELEGATIONS_PREFIX,
    "unbonding_delegations",
    PARTS,
    BigRecordCodec(EntriesRecord),
)
ubd_by_validator: Map[tuple[bytes, ...], bytes] = Map(
    keys.UBD_BY_VALIDATOR_PREFIX, "ubd_by_validator", PARTS, RAW
)
redelegations: Map[tuple[bytes, ...], EntriesRecord] = Map(
    keys.REDELEGATIONS_PREFIX, "redelegations", PARTS, BigRecordCodec(EntriesRecord)
)
red_by_src: Map[tuple[bytes, ...], bytes] = Map(keys.RED_BY_SRC_PREFIX, "red_by_src", PARTS, RAW)
red_by_dst: Map[tuple[bytes, ...], bytes] = Map(keys.RED_BY_DST_PREFIX, "red_by_dst", PARTS, RAW)
unbonding_id = Sequence(keys.UNBONDING_ID_PREFIX, "unbonding_id")
ubd_queue: Map[bytes, bytes] = Map(keys.UBD_QUEUE_PREFIX, "ubd_queue", RAW, RAW)
red_queue: Map[bytes, bytes] = Map(keys.RED_QUEUE_PREFIX, "red_queue", RAW, RAW)
validator_queue: Map[bytes, bytes] = Map(keys.VALIDATOR_QUEUE_PREFIX, "validator_queue", RAW, RAW)
historical_info: Map[int, bytes] = Map(
    keys.HISTORICAL_INFO_PREFIX, "historical_info", U64, HistoricalInfoCodec()
)

SCHEMA = Schema(
    params,
    last_validator_power,
    last_total_power,
    validators,
    validators_by_cons,
    validators_by_power,
    delegations,
    unbonding_delegations,
    ubd_by_validator,
    redelegations,
    red_by_src,
    red_by_dst,
    unbonding_id,
    ubd_queue,
    red_queue,
    validator_queue,
    historical_info,
)
