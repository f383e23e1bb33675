"""LegacyDec arithmetic rounds exactly as cosmossdk.io/math does."""

from __future__ import annotations

import pytest

from sultan.kernel import legacydec as ld
from sultan.kernel.coins import Coin, Coins
from sultan.kernel.legacydec import DecCoins

ONE = 10**18


def test_mul_rounds_half_to_even_and_truncate_goes_towards_zero() -> None:
    half_unit = ONE // 2  # 0.5 atomics after the product is chopped
    assert ld.chop_round(5 * ONE + half_unit) == 6  # 5.5 → 6 (even)
    assert ld.chop_round(4 * ONE + half_unit) == 4  # 4.5 → 4 (even)
    assert ld.chop_round(4 * ONE + half_unit + 1) == 5
    assert ld.chop_round(-(4 * ONE + half_unit + 1)) == -5
    assert ld.mul(ld.from_string("0.000000000000000001"), ld.from_string("0.5")) == 0
    assert ld.mul(ld.from_string("0.000000000000000003"), ld.from_string("0.5")) == 2
    assert ld.mul_truncate(ld.from_string("0.000000000000000003"), ld.from_string("0.5")) == 1
    assert ld.chop_truncate(-(ONE + 1)) == -1
    assert ld.go_quo(-7, 2) == -3


def test_quo_variants() -> None:
    one, three = ld.from_int(1), ld.from_int(3)
    assert ld.to_string(ld.quo(one, three)) == "0.333333333333333333"
    assert ld.to_string(ld.quo(ld.from_int(2), three)) == "0.666666666666666667"
    assert ld.to_string(ld.quo_truncate(ld.from_int(2), three)) == "0.666666666666666666"
    assert ld.quo_int(ld.from_int(10), 4) == ld.from_string("2.5")
    assert ld.truncate_int(ld.from_string("7.9")) == 7
    with pytest.raises(ZeroDivisionError):
        ld.quo(one, 0)


def test_dec_coins_arithmetic() -> None:
    a = DecCoins.from_coins(Coins([Coin("stake", 3), Coin("usultan", 10)]))
    b = DecCoins([("usultan", ld.from_string("2.25"))])
    assert str(a - b) == "3.000000000000000000stake,7.750000000000000000usultan"
    with pytest.raises(ValueError):
        b - a
    whole, change = (a - b).truncate_decimal()
    assert str(whole) == "3stake,7usultan" and str(change) == "0.750000000000000000usultan"
    assert a.intersect(b) == DecCoins([("usultan", ld.from_string("2.25"))])
    assert str(a.mul_dec_truncate(ld.from_string("0.5"))) == (
        "1.500000000000000000stake,5.000000000000000000usultan"
    )
    assert DecCoins.from_record(a.to_record()) == a
    assert DecCoins.from_proto(a.to_proto()) == a
