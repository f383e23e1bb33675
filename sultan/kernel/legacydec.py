"""Cosmos `LegacyDec` arithmetic on plain ints, and `DecCoins`, with the SDK's rounding.

A decimal is an int of 10**-18 units (`1.5` is `1_500_000_000_000_000_000`). Every operation
rounds exactly as `cosmossdk.io/math.LegacyDec` does, so reward and share computations give
the same atomics as a Cosmos SDK chain:

- `mul` / `quo` round half to even ("banker's rounding") after the 18th decimal;
- `mul_truncate` / `quo_truncate` / `quo_int` / `truncate_int` drop the remainder towards zero
  (Go's `big.Int.Quo`), never towards minus infinity.

No floats anywhere: state transitions that use this module are deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from sultan.kernel.coins import DEC_ONE, Coin, Coins, format_dec, parse_dec

PRECISION_SQUARED = DEC_ONE * DEC_ONE
_HALF = DEC_ONE // 2


def go_quo(a: int, b: int) -> int:
    """Integer division truncated towards zero (Go's `big.Int.Quo`)."""
    if b == 0:
        raise ZeroDivisionError("division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def chop_round(x: int) -> int:
    """x / 10**18 rounded half to even (the SDK's `chopPrecisionAndRound`)."""
    if x < 0:
        return -chop_round(-x)
    quo, rem = divmod(x, DEC_ONE)
    if rem < _HALF:
        return quo
    if rem > _HALF:
        return quo + 1
    return quo if quo % 2 == 0 else quo + 1


def chop_truncate(x: int) -> int:
    return go_quo(x, DEC_ONE)


def from_int(i: int) -> int:
    return i * DEC_ONE


def mul(a: int, b: int) -> int:
    return chop_round(a * b)


def mul_truncate(a: int, b: int) -> int:
    return chop_truncate(a * b)


def quo(a: int, b: int) -> int:
    return chop_round(go_quo(a * PRECISION_SQUARED, b))


def quo_truncate(a: int, b: int) -> int:
    return chop_truncate(go_quo(a * PRECISION_SQUARED, b))


def quo_int(a: int, i: int) -> int:
    return go_quo(a, i)


def truncate_int(a: int) -> int:
    """The integer part, towards zero (`LegacyDec.TruncateInt`)."""
    return go_quo(a, DEC_ONE)


def to_string(a: int) -> str:
    """`LegacyDec.String()`: "1.500000000000000000"."""
    return format_dec(a)


def from_string(text: str) -> int:
    """Parse "1.5" / "1.500000000000000000" (non-negative) into atomics."""
    return parse_dec(text)


class DecCoins:
    """Sorted, zero-free (denom, decimal amount) pairs: the SDK's `sdk.DecCoins`."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, int]] = ()) -> None:
        merged: dict[str, int] = {}
        for denom, amount in items:
            merged[denom] = merged.get(denom, 0) + amount
        self._items = tuple(sorted((d, a) for d, a in merged.items() if a != 0))

    # -- conversions -------------------------------------------------------------------

    @classmethod
    def from_coins(cls, coins: Coins) -> DecCoins:
        return cls((c.denom, from_int(c.amount)) for c in coins)

    @classmethod
    def from_proto(cls, pbs: Iterable[Any]) -> DecCoins:
        """From `cosmos.base.v1beta1.DecCoin` messages (amounts are atomics in protobuf)."""
        return cls((pb.denom, int(pb.amount or "0")) for pb in pbs)

    def to_proto(self) -> list[Any]:
        from sultan.pb.cosmos.base.v1beta1 import coin_pb2

        return [coin_pb2.DecCoin(denom=d, amount=str(a)) for d, a in self._items]

    def to_dicts(self) -> list[dict[str, str]]:
        """Genesis JSON: {"denom", "amount": "1.500000000000000000"}."""
        return [{"denom": d, "amount": format_dec(a)} for d, a in self._items]

    @classmethod
    def from_dicts(cls, items: Iterable[Any]) -> DecCoins:
        return cls((str(i["denom"]), parse_dec(str(i["amount"]))) for i in items)

    def to_record(self) -> list[Any]:
        """A canonical list for state records: [denom, amount, denom, amount, …]."""
        flat: list[Any] = []
        for denom, amount in self._items:
            flat.extend((denom, amount))
        return flat

    @classmethod
    def from_record(cls, flat: Iterable[Any]) -> DecCoins:
        values = list(flat)
        return cls(zip(values[0::2], values[1::2], strict=True))

    # -- container ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DecCoins) and self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"DecCoins({str(self)!r})"

    def __str__(self) -> str:
        return ",".join(f"{format_dec(a)}{d}" for d, a in self._items)

    def amount_of(self, denom: str) -> int:
        for d, a in self._items:
            if d == denom:
                return a
        return 0

    def is_zero(self) -> bool:
        return not self._items

    def is_any_negative(self) -> bool:
        return any(a < 0 for _, a in self._items)

    # -- arithmetic --------------------------------------------------------------------

    def __add__(self, other: DecCoins) -> DecCoins:
        return DecCoins((*self._items, *other._items))

    def __sub__(self, other: DecCoins) -> DecCoins:
        """Like the SDK's `Sub`: a negative result is an error (it panics there)."""
        result = DecCoins((*self._items, *((d, -a) for d, a in other._items)))
        if result.is_any_negative():
            raise ValueError(f"negative decimal coin amount: {self} - {other}")
        return result

    def mul_dec(self, d: int) -> DecCoins:
        return DecCoins((denom, mul(a, d)) for denom, a in self._items)

    def mul_dec_truncate(self, d: int) -> DecCoins:
        return DecCoins((denom, mul_truncate(a, d)) for denom, a in self._items)

    def quo_dec_truncate(self, d: int) -> DecCoins:
        return DecCoins((denom, quo_truncate(a, d)) for denom, a in self._items)

    def intersect(self, other: DecCoins) -> DecCoins:
        """Per denom, the smaller of the two amounts (denoms missing in `other` drop out)."""
        return DecCoins((d, min(a, other.amount_of(d))) for d, a in self._items)

    def truncate_decimal(self) -> tuple[Coins, DecCoins]:
        """(whole coins, decimal remainders), both without zero entries."""
        whole = [Coin(d, truncate_int(a)) for d, a in self._items if truncate_int(a) > 0]
        change = DecCoins((d, a - from_int(truncate_int(a))) for d, a in self._items)
        return Coins(whole), change


LEGACY_DEC_TYPE = "cosmossdk.io/math.LegacyDec"


def is_legacy_dec_field(field: Any) -> bool:
    """A string field the .proto marks `(gogoproto.customtype) = "…LegacyDec"`."""
    from google.protobuf.descriptor import FieldDescriptor

    from sultan.pb.gogoproto import gogo_pb2

    if field.type != FieldDescriptor.TYPE_STRING:
        return False
    options = field.GetOptions()
    return bool(
        options.HasExtension(gogo_pb2.customtype)
        and options.Extensions[gogo_pb2.customtype] == LEGACY_DEC_TYPE
    )


def convert_dec_fields(msg: Any, to_atomics: bool) -> None:
    """Rewrite every LegacyDec string in `msg` (recursively) in place.

    JSON (genesis files, REST) carries decimals as "1.500000000000000000"; protobuf bytes
    carry the integer of atomics "1500000000000000000". `to_atomics=True` converts the
    JSON form to the protobuf form (raising ValueError on a malformed or negative decimal),
    False the other way. Empty strings stay empty.
    """
    from google.protobuf.descriptor import FieldDescriptor

    for field, value in msg.ListFields():
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                continue
            children = value if _repeated(field) else [value]
            for child in children:
                convert_dec_fields(child, to_atomics)
        elif is_legacy_dec_field(field):
            if _repeated(field):
                converted = [_convert_one(v, to_atomics) for v in value]
                del value[:]
                value.extend(converted)
            else:
                setattr(msg, field.name, _convert_one(value, to_atomics))


def _repeated(field: Any) -> bool:
    repeated = getattr(field, "is_repeated", None)
    if repeated is not None:
        return bool(repeated)
    return bool(field.label == field.LABEL_REPEATED)


def _convert_one(text: str, to_atomics: bool) -> str:
    if not text:
        return text
    if to_atomics:
        try:
            return str(parse_dec(text))
        except Exception as exc:
            raise ValueError(f"invalid decimal {text!r}") from exc
    return format_dec(int(text))
