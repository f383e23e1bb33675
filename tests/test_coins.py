"""sultan.kernel.coins: Cosmos coin rules (denoms, 256-bit amounts, canonical sets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sultan.kernel.coins import (
    MAX_AMOUNT,
    Coin,
    Coins,
    DecCoin,
    format_dec,
    parse_dec,
    parse_dec_coins,
)
from sultan.kernel.errors import ErrInsufficientFunds, ErrInvalidCoins
from sultan.pb.cosmos.base.v1beta1 import coin_pb2


def test_parse_sorts_and_prints_canonically():
    coins = Coins.parse("10usultan,5stake, 0atom")
    assert str(coins) == "5stake,10usultan"
    assert coins.amount_of("usultan") == 10 and coins.amount_of("none") == 0
    assert Coins.parse("") == Coins()


@pytest.mark.parametrize(
    "text, message",
    [
        ("10usultan,3usultan", "duplicate denomination usultan"),
        ("10u", "invalid coin expression"),
        ("-1stake", "invalid coin expression"),
        ("1.5stake", "invalid coin expression"),
        (f"{1 << 256}stake", "out of range"),
    ],
)
def test_parse_rejects_bad_input(text, message):
    with pytest.raises(ErrInvalidCoins, match=message) as err:
        Coins.parse(text)
    assert err.value.code == 10


@pytest.mark.parametrize("denom", ["ab", "1abc", "a b c", "ab$", "a" * 129, ""])
def test_invalid_denoms(denom):
    with pytest.raises(ErrInvalidCoins, match="invalid denom"):
        Coin(denom, 1)


@pytest.mark.parametrize(
    "denom",
    ["abc", "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2", "a:b.c_d-e"],
)
def test_valid_denoms(denom):
    assert Coin(denom, 1).denom == denom


def test_canonical_validation_matches_the_sdk():
    with pytest.raises(ErrInvalidCoins, match="denomination aaa is not sorted"):
        Coins([Coin("bbb", 1), Coin("aaa", 1)])
    with pytest.raises(ErrInvalidCoins, match="duplicate denomination aaa"):
        Coins([Coin("aaa", 1), Coin("aaa", 2)])
    with pytest.raises(ErrInvalidCoins, match="amount is not positive"):
        Coins([Coin("aaa", 0)])
    with pytest.raises(ErrInvalidCoins, match="negative coin amount"):
        Coin("aaa", -1)


def test_arithmetic_never_wraps_or_goes_negative():
    a = Coins.parse("10aaa,5bbb")
    assert str(a + Coins.parse("1bbb,2ccc")) == "10aaa,6bbb,2ccc"
    assert str(a - Coins.parse("5bbb")) == "10aaa"
    with pytest.raises(ErrInsufficientFunds):
        a - Coins.parse("6bbb")
    with pytest.raises(ErrInsufficientFunds):
        a - Coins.parse("1zzz")
    big = Coins([Coin("aaa", MAX_AMOUNT)])
    with pytest.raises(ErrInvalidCoins, match="overflow"):
        big + Coins.parse("1aaa")


def test_comparisons():
    have = Coins.parse("10aaa,5bbb")
    assert have.is_all_gte(Coins.parse("10aaa"))
    assert not have.is_all_gte(Coins.parse("11aaa"))
    assert have.is_all_gte(Coins())
    assert have.is_any_gte(Coins.parse("100aaa,5bbb"))
    assert not have.is_any_gte(Coins())


def test_proto_round_trip_and_bad_amounts():
    coins = Coins.parse("7stake,8usultan")
    assert Coins.from_proto(coins.to_proto()) == coins
    with pytest.raises(ErrInvalidCoins, match="not an integer"):
        Coin.from_proto(coin_pb2.Coin(denom="stake", amount="1e5"))
    with pytest.raises(ErrInvalidCoins, match="negative"):
        Coin.from_proto(coin_pb2.Coin(denom="stake", amount="-3"))


def test_dec_coins_are_18_decimal_fixed_point():
    assert parse_dec("0.025") == 25 * 10**15
    assert format_dec(25 * 10**15) == "0.025000000000000000"
    assert str(DecCoin.parse("1.5usultan")) == "1.500000000000000000usultan"
    assert [c.denom for c in parse_dec_coins("1stake,0.1atom,0usultan")] == ["atom", "stake"]
    with pytest.raises(ErrInvalidCoins, match="more than 18"):
        parse_dec("0." + "1" * 19)


@given(
    st.lists(
        st.tuples(st.sampled_from(["aaa", "bbb", "ccc"]), st.integers(0, 2**256 - 1)), max_size=6
    )
)
def test_new_is_canonical_or_rejects_duplicates(pairs):
    denoms = [d for d, a in pairs if a]
    try:
        coins = Coins.new(*(Coin(d, a) for d, a in pairs))
    except ErrInvalidCoins:
        assert len(set(denoms)) < len(denoms)
        return
    assert coins.denoms == sorted(set(denoms))
    assert Coins.parse(str(coins)) == coins
