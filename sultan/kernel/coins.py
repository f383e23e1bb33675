"""Coins as the Cosmos SDK has them: denominated, 256-bit integer amounts, canonical sets.

A `Coin` is a denom and a non-negative Python int below 2**256 (Cosmos `math.Int`). `Coins`
is the canonical set the SDK calls `sdk.Coins`: sorted by denom, no duplicates, no zero or
negative amounts. Every constructor checks this, so a `Coins` value in hand is always valid;
arithmetic that would leave the canonical form (a negative result, a 257-bit amount) raises
instead of wrapping. `DecCoin` carries an 18-decimal fixed-point amount (Cosmos `LegacyDec`),
as gas prices do.

Strings follow the SDK: "10stake,5usultan" (coins concatenated, sorted by denom) and
"0.025usultan" for decimal coins.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from sultan.kernel.errors import ErrInsufficientFunds, ErrInvalidCoins

MAX_BITS = 256
MAX_AMOUNT = (1 << MAX_BITS) - 1
DEC_PRECISION = 18
DEC_ONE = 10**DEC_PRECISION

DENOM_PATTERN = r"[a-zA-Z][a-zA-Z0-9/:._-]{2,127}"
_DENOM_RE = re.compile(DENOM_PATTERN)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_COIN_RE = re.compile(r"\s*([0-9]+)\s*(" + DENOM_PATTERN + r")\s*")
_DEC_COIN_RE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(" + DENOM_PATTERN + r")\s*")


def validate_denom(denom: str) -> None:
    """Raise ErrInvalidCoins unless `denom` matches the SDK's denom regex."""
    if not isinstance(denom, str) or not _DENOM_RE.fullmatch(denom):
        raise ErrInvalidCoins(f"invalid denom: {denom}")


def is_valid_denom(denom: str) -> bool:
    return isinstance(denom, str) and _DENOM_RE.fullmatch(denom) is not None


def parse_int(text: str, what: str = "amount") -> int:
    """A decimal integer string (Cosmos `math.Int` text) bounded to 256 bits."""
    if not isinstance(text, str) or not _INT_RE.fullmatch(text):
        raise ErrInvalidCoins(f"invalid {what} {text!r}: not an integer")
    value = int(text)
    check_int_range(value, what)
    return value


def check_int_range(value: int, what: str = "amount") -> int:
    if abs(value) > MAX_AMOUNT:
        raise ErrInvalidCoins(f"{what} out of range: {value.bit_length()} bits > {MAX_BITS}")
    return value


@attrs.frozen
class Coin:
    """One denomination and amount. Amounts may be zero here; `Coins` drops zeros."""

    denom: str
    amount: int

    def __attrs_post_init__(self) -> None:
        validate_denom(self.denom)
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise ErrInvalidCoins(f"amount of {self.denom} must be an integer")
        if self.amount < 0:
            raise ErrInvalidCoins(f"negative coin amount: {self.amount}")
        check_int_range(self.amount)

    def __str__(self) -> str:
        return f"{self.amount}{self.denom}"

    def to_proto(self) -> Any:
        from sultan.pb.cosmos.base.v1beta1 import coin_pb2

        return coin_pb2.Coin(denom=self.denom, amount=str(self.amount))

    @classmethod
    def from_proto(cls, pb: Any) -> Coin:
        """A `cosmos.base.v1beta1.Coin`; negative or malformed amounts raise ErrInvalidCoins."""
        amount = parse_int(pb.amount or "0", f"amount of {pb.denom!r}")
        if amount < 0:
            raise ErrInvalidCoins(f"negative coin amount: {amount}")
        return cls(pb.denom, amount)

    @classmethod
    def parse(cls, text: str) -> Coin:
        m = _COIN_RE.fullmatch(text)
        if m is None:
            raise ErrInvalidCoins(f"invalid coin expression: {text}")
        return cls(m.group(2), check_int_range(int(m.group(1))))


def _validate_canonical(coins: tuple[Coin, ...]) -> None:
    """The SDK's `Coins.Validate`: sorted, unique, positive (messages name the first fault)."""
    previous: str | None = None
    for coin in coins:
        if previous is not None:
            if coin.denom < previous:
                raise ErrInvalidCoins(f"denomination {coin.denom} is not sorted")
            if coin.denom == previous:
                raise ErrInvalidCoins(f"duplicate denomination {coin.denom}")
        if coin.amount <= 0:
            raise ErrInvalidCoins(f"coin {coin} amount is not positive")
        previous = coin.denom


class Coins:
    """A canonical, immutable set of coins (`sdk.Coins`); the empty set is valid.

    `Coins(...)` takes coins that must already be canonical (as `Coins.Validate` wants);
    `Coins.new(...)` sorts and drops zeros first (as `sdk.NewCoins` does) but still rejects
    duplicates and negatives.
    """

    __slots__ = ("_coins",)

    def __init__(self, coins: Iterable[Coin] = ()) -> None:
        items = tuple(coins)
        for coin in items:
            if not isinstance(coin, Coin):
                raise TypeError(f"Coins holds Coin values, not {type(coin).__name__}")
        _validate_canonical(items)
        self._coins = items

    @classmethod
    def new(cls, *coins: Coin) -> Coins:
        kept = sorted((c for c in coins if c.amount != 0), key=lambda c: c.denom)
        for a, b in zip(kept, kept[1:], strict=False):
            if a.denom == b.denom:
                raise ErrInvalidCoins(f"duplicate denomination {a.denom}")
        return cls(kept)

    @classmethod
    def parse(cls, text: str) -> Coins:
        """ "10usultan,5stake" (any order, zeros dropped) → canonical Coins; "" is empty."""
        if not isinstance(text, str):
            raise ErrInvalidCoins("coins must be a string")
        if not text.strip():
            return cls()
        return cls.new(*(Coin.parse(part) for part in text.split(",")))

    @classmethod
    def from_proto(cls, pbs: Iterable[Any]) -> Coins:
        """Repeated `cosmos.base.v1beta1.Coin` as sent: must already be canonical."""
        return cls(Coin.from_proto(pb) for pb in pbs)

    @classmethod
    def from_dicts(cls, items: Iterable[Any], where: str = "coins") -> Coins:
        """Genesis JSON [{"denom": "stake", "amount": "10"}, ...] (must be canonical)."""
        coins = []
        for item in items:
            if not isinstance(item, dict) or set(item) - {"denom", "amount"}:
                raise ErrInvalidCoins(f"{where}: each coin must be {{denom, amount}}, got {item!r}")
            denom, amount = item.get("denom", ""), item.get("amount", "")
            value = parse_int(amount if isinstance(amount, str) else repr(amount), where)
            if value < 0:
                raise ErrInvalidCoins(f"{where}: negative coin amount: {value}")
            coins.append(Coin(denom, value))
        return cls(coins)

    def to_proto(self) -> list[Any]:
        return [c.to_proto() for c in self._coins]

    def to_dicts(self) -> list[dict[str, str]]:
        return [{"denom": c.denom, "amount": str(c.amount)} for c in self._coins]

    # -- reading --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Coin]:
        return iter(self._coins)

    def __len__(self) -> int:
        return len(self._coins)

    def __bool__(self) -> bool:
        return bool(self._coins)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Coins) and self._coins == other._coins

    def __hash__(self) -> int:
        return hash(self._coins)

    def __str__(self) -> str:
        return ",".join(str(c) for c in self._coins)

    def __repr__(self) -> str:
        return f"Coins({str(self)!r})"

    @property
    def denoms(self) -> list[str]:
        return [c.denom for c in self._coins]

    def amount_of(self, denom: str) -> int:
        for coin in self._coins:
            if coin.denom == denom:
                return coin.amount
        return 0

    def is_zero(self) -> bool:
        return not self._coins

    def is_all_gte(self, other: Coins) -> bool:
        """Every coin of `other` is covered by this set (true when `other` is empty)."""
        return all(self.amount_of(c.denom) >= c.amount for c in other)

    def is_any_gte(self, other: Coins) -> bool:
        """Some coin of `other` is covered (false when `other` is empty), as the SDK has it."""
        return any(self.amount_of(c.denom) >= c.amount for c in other)

    # -- arithmetic -----------------------------------------------------------------------

    def __add__(self, other: Coins) -> Coins:
        totals: dict[str, int] = {c.denom: c.amount for c in self._coins}
        for coin in other:
            totals[coin.denom] = totals.get(coin.denom, 0) + coin.amount
        for denom, amount in totals.items():
            if amount > MAX_AMOUNT:
                raise ErrInvalidCoins(f"integer overflow adding {denom}: result exceeds 256 bits")
        return Coins.new(*(Coin(d, a) for d, a in totals.items()))

    def __sub__(self, other: Coins) -> Coins:
        """Subtract; a result below zero in any denom raises ErrInsufficientFunds."""
        totals: dict[str, int] = {c.denom: c.amount for c in self._coins}
        for coin in other:
            left = totals.get(coin.denom, 0) - coin.amount
            if left < 0:
                raise ErrInsufficientFunds(f"{self or '0' + coin.denom} is smaller than {other}")
            totals[coin.denom] = left
        return Coins.new(*(Coin(d, a) for d, a in totals.items()))


@attrs.frozen
class DecCoin:
    """A denom and a non-negative 18-decimal fixed-point amount (`amount` = value × 10**18)."""

    denom: str
    amount: int

    def __attrs_post_init__(self) -> None:
        validate_denom(self.denom)
        if self.amount < 0:
            raise ErrInvalidCoins(f"negative decimal coin amount: {format_dec(self.amount)}")
        check_int_range(self.amount)

    def __str__(self) -> str:
        return f"{format_dec(self.amount)}{self.denom}"

    @classmethod
    def parse(cls, text: str) -> DecCoin:
        m = _DEC_COIN_RE.fullmatch(text)
        if m is None:
            raise ErrInvalidCoins(f"invalid decimal coin expression: {text}")
        return cls(m.group(2), parse_dec(m.group(1)))


def parse_dec(text: str) -> int:
    """ "0.025" → 25 × 10**15 (LegacyDec fixed point); more than 18 decimals is an error."""
    m = re.fullmatch(r"([0-9]+)(?:\.([0-9]+))?", text.strip())
    if m is None:
        raise ErrInvalidCoins(f"invalid decimal {text!r}")
    whole, frac = m.group(1), m.group(2) or ""
    if len(frac) > DEC_PRECISION:
        raise ErrInvalidCoins(f"invalid decimal {text!r}: more than {DEC_PRECISION} decimal places")
    return check_int_range(int(whole) * DEC_ONE + int(frac.ljust(DEC_PRECISION, "0") or "0"))


def format_dec(value: int) -> str:
    """LegacyDec text: always 18 decimals ("0.025000000000000000")."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), DEC_ONE)
    return f"{sign}{whole}.{frac:0{DEC_PRECISION}d}"


def parse_dec_coins(text: str) -> tuple[DecCoin, ...]:
    """ "0.025usultan,1stake" → DecCoins sorted by denom, zeros kept out, duplicates rejected."""
    if not text.strip():
        return ()
    coins = sorted((DecCoin.parse(p) for p in text.split(",")), key=lambda c: c.denom)
    for a, b in zip(coins, coins[1:], strict=False):
        if a.denom == b.denom:
            raise ErrInvalidCoins(f"duplicate denomination {a.denom}")
    return tuple(c for c in coins if c.amount)


def required_fees(gas_limit: int, gas_prices: Iterable[tuple[str, int]]) -> Coins:
    """ceil(price × gas) per denom (the SDK's validator min-gas-price fee), zeros dropped."""
    fees = []
    for denom, price in gas_prices:
        fees.append(Coin(denom, -((-price * gas_limit) // DEC_ONE)))
    return Coins.new(*fees)
