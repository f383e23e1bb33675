"""Typed collections: the canonical record codec and its decode memo."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sultan.kernel.store.collections import RecordCodec


@attrs.frozen
class Frozen:
    number: int
    name: str = ""
    tags: tuple[str, ...] = ()


@attrs.define
class Mutable:
    number: int
    tags: list[str] = attrs.field(factory=list)


@settings(max_examples=200, deadline=None)
@given(
    number=st.integers(-(1 << 63), (1 << 64) - 1),  # what msgpack stores
    name=st.text(max_size=20),
    tags=st.lists(st.text(max_size=5), max_size=4).map(tuple),
)
def test_round_trip_with_and_without_the_memo(number: int, name: str, tags: tuple) -> None:
    codec = RecordCodec(Frozen)
    value = Frozen(number, name, tags)
    raw = codec.encode(value)
    assert codec.decode(raw) == value
    assert codec.decode(raw) == value  # from the memo now
    assert codec.decode(raw) is codec.decode(raw)


def test_frozen_records_are_shared_mutable_ones_never_are() -> None:
    frozen = RecordCodec(Frozen)
    raw = frozen.encode(Frozen(1, "a", ("x",)))
    assert frozen.decode(raw) is frozen.decode(raw)

    mutable = RecordCodec(Mutable)
    raw = mutable.encode(Mutable(1, ["x"]))
    first = mutable.decode(raw)
    first.number = 2  # a caller may change its copy ...
    assert mutable.decode(raw) == Mutable(1, ("x",))  # ... without affecting the next one


def test_the_memo_is_bounded_and_corrupt_records_still_fail() -> None:
    codec = RecordCodec(Frozen)
    for i in range(RecordCodec.MEMO_SIZE + 10):
        assert codec.decode(codec.encode(Frozen(i))).number == i
    assert codec._memo is not None and len(codec._memo) <= RecordCodec.MEMO_SIZE
    with pytest.raises(ValueError, match="corrupt Frozen record"):
        codec.decode(RecordCodec(Mutable).encode(Mutable(1)))


def test_big_records_are_not_memoized() -> None:
    codec = RecordCodec(Frozen)
    raw = codec.encode(Frozen(1, "x" * (RecordCodec.MEMO_MAX_BYTES + 1)))
    first, second = codec.decode(raw), codec.decode(raw)
    assert first == second and first is not second
    assert codec._memo == {}
