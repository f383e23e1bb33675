"""The bank module's state, declared once as typed collections."""

from __future__ import annotations

import attrs

from sultan.kernel.coins import parse_int
from sultan.kernel.store.collections import Item, Map, RecordCodec, Schema
from sultan_bank.keys import (
    BALANCES_PREFIX,
    DENOM_METADATA_PREFIX,
    DENOM_OWNERS_PREFIX,
    PARAMS_PREFIX,
    SEND_ENABLED_PREFIX,
    SUPPLY_PREFIX,
)
from sultan_bank.pb.cosmos.bank.v1beta1 import bank_pb2


@attrs.frozen
class Params:
    default_send_enabled: bool = True


class IntValue:
    """A 256-bit amount as base-10 ASCII (the SDK's `math.Int` value encoding)."""

    def encode(self, value: int) -> bytes:
        return str(value).encode()

    def decode(self, data: bytes) -> int:
        return parse_int(data.decode())


class DenomKey:
    """A denom as the last key part: its UTF-8 bytes, unprefixed."""

    def encode(self, value: str) -> bytes:
        return value.encode()

    def decode(self, data: bytes) -> str:
        return data.decode()


class AddressDenomKey:
    """(address, denom): length-prefixed address, then the denom."""

    def encode(self, value: tuple[bytes, str]) -> bytes:
        address, denom = value
        return bytes([len(address)]) + address + denom.encode()

    def decode(self, data: bytes) -> tuple[bytes, str]:
        n = data[0]
        return data[1 : 1 + n], data[1 + n :].decode()


class DenomAddressKey:
    """(denom, address): length-prefixed denom, then the address."""

    def encode(self, value: tuple[str, bytes]) -> bytes:
        denom, address = value
        raw = denom.encode()
        return bytes([len(raw)]) + raw + address

    def decode(self, data: bytes) -> tuple[str, bytes]:
        n = data[0]
        return data[1 : 1 + n].decode(), data[1 + n :]


class Flag:
    def encode(self, value: bool) -> bytes:
        return b"\x01" if value else b"\x00"

    def decode(self, data: bytes) -> bool:
        return data == b"\x01"


class Empty:
    def encode(self, value: bytes) -> bytes:
        return b""

    def decode(self, data: bytes) -> bytes:
        return b""


class MetadataCodec:
    """`cosmos.bank.v1beta1.Metadata` protobuf (deterministic: no maps in it)."""

    def encode(self, value: bank_pb2.Metadata) -> bytes:
        return value.SerializeToString(deterministic=True)

    def decode(self, data: bytes) -> bank_pb2.Metadata:
        return bank_pb2.Metadata.FromString(data)


supply: Map[str, int] = Map(SUPPLY_PREFIX, "supply", DenomKey(), IntValue())
denom_metadata: Map[str, bank_pb2.Metadata] = Map(
    DENOM_METADATA_PREFIX, "denom_metadata", DenomKey(), MetadataCodec()
)
balances: Map[tuple[bytes, str], int] = Map(
    BALANCES_PREFIX, "balances", AddressDenomKey(), IntValue()
)
denom_owners: Map[tuple[str, bytes], bytes] = Map(
    DENOM_OWNERS_PREFIX, "denom_owners", DenomAddressKey(), Empty()
)
send_enabled: Map[str, bool] = Map(SEND_ENABLED_PREFIX, "send_enabled", DenomKey(), Flag())
params: Item[Params] = Item(PARAMS_PREFIX, "params", RecordCodec(Params))

SCHEMA = Schema(supply, denom_metadata, balances, denom_owners, send_enabled, params)
