"""Branch (nested write buffers) and PrefixStore against a plain-dict model."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from kernel_support import MemReader, model_range

from sultan.kernel.store.branch import Branch, PrefixStore, prefix_end
from sultan.kernel.store.versioned import LatestReader

# A tiny byte alphabet so keys collide, are prefixes of each other and hit 0x00/0xFF edges.
ALPHABET = [0x00, 0x01, 0x61, 0xFE, 0xFF]
KEYS = st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=3).map(bytes)
VALUES = st.binary(max_size=3)  # includes b"": an empty value is a value, not a delete
BOUNDS = st.none() | KEYS
MAX_LEVELS = 4  # the root branch plus three nested ones

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class BranchMachine(RuleBasedStateMachine):
    """Levels of Branch over a MemReader; the model is the base dict plus one overlay per level."""

    def __init__(self) -> None:
        super().__init__()
        self.base = MemReader()
        self.levels: list[Branch] = []
        self.overlays: list[dict[bytes, bytes | None]] = []
        self.universe: set[bytes] = set()

    @initialize(data=st.dictionaries(KEYS, VALUES, max_size=8))
    def setup(self, data: dict[bytes, bytes]) -> None:
        self.base.data = dict(data)
        self.universe |= set(data)
        self.levels = [Branch(self.base)]
        self.overlays = [{}]

    def view(self, level: int) -> dict[bytes, bytes]:
        state = dict(self.base.data)
        for overlay in self.overlays[: level + 1]:
            for key, value in overlay.items():
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
        return state

    def pick(self, index: int) -> int:
        return index % len(self.levels)

    @rule(index=st.integers(0, MAX_LEVELS - 1), key=KEYS, value=VALUES)
    def set(self, index: int, key: bytes, value: bytes) -> None:
        level = self.pick(index)
        self.levels[level].set(key, value)
        self.overlays[level][key] = value
        self.universe.add(key)

    @rule(index=st.integers(0, MAX_LEVELS - 1), key=KEYS)
    def delete(self, index: int, key: bytes) -> None:
        level = self.pick(index)
        self.levels[level].delete(key)
        self.overlays[level][key] = None
        self.universe.add(key)

    @precondition(lambda self: len(self.levels) < MAX_LEVELS)
    @rule()
    def branch(self) -> None:
        self.levels.append(self.levels[-1].branch())
        self.overlays.append({})

    @precondition(lambda self: len(self.levels) > 1)
    @rule(index=st.integers(1, MAX_LEVELS - 1))
    def write(self, index: int) -> None:
        # Any nested level may be written, even while it has children of its own.
        level = 1 + (index - 1) % (len(self.levels) - 1)
        self.levels[level].write()
        self.overlays[level - 1].update(self.overlays[level])
        self.overlays[level].clear()

    @rule(index=st.integers(0, MAX_LEVELS - 1))
    def discard(self, index: int) -> None:
        level = self.pick(index)
        self.levels[level].discard()
        self.overlays[level].clear()

    @precondition(lambda self: len(self.levels) > 1)
    @rule()
    def drop_top(self) -> None:
        self.levels.pop()
        self.overlays.pop()

    @rule()
    def root_write_is_refused(self) -> None:
        before = self.levels[0].changes()
        with pytest.raises(TypeError):
            self.levels[0].write()
        assert self.levels[0].changes() == before

    @rule(index=st.integers(0, MAX_LEVELS - 1), start=BOUNDS, end=BOUNDS, reverse=st.booleans())
    def check_range(
        self, index: int, start: bytes | None, end: bytes | None, reverse: bool
    ) -> None:
        level = self.pick(index)
        got = list(self.levels[level].iterate(start, end, reverse))
        assert got == model_range(self.view(level), start, end, reverse)

    @rule(reverse=st.booleans(), value=VALUES)
    def iterate_while_writing(self, reverse: bool, value: bytes) -> None:
        """Deleting (or overwriting) each key as it is yielded must not disturb the iteration."""
        top = len(self.levels) - 1
        before = model_range(self.view(top), None, None, reverse)
        seen = []
        for i, (key, val) in enumerate(self.levels[top].iterate(None, None, reverse)):
            seen.append((key, val))
            if i % 2:
                self.levels[top].delete(key)
                self.overlays[top][key] = None
            else:
                self.levels[top].set(key, value)
                self.overlays[top][key] = value
        assert seen == before

    @invariant()
    def gets_match(self) -> None:
        for level, branch in enumerate(self.levels):
            view = self.view(level)
            for key in self.universe:
                assert branch.get(key) == view.get(key)
                assert branch.has(key) == (key in view)

    @invariant()
    def buffers_match(self) -> None:
        for branch, overlay in zip(self.levels, self.overlays, strict=True):
            assert branch.changes() == sorted(overlay.items())
            assert len(branch) == len(overlay)


TestBranchStateMachine = BranchMachine.TestCase
TestBranchStateMachine.settings = settings(max_examples=150, stateful_step_count=50, deadline=None)


def test_branch_rejects_bad_keys_and_values() -> None:
    branch = Branch(MemReader())
    with pytest.raises(ValueError):
        branch.set(b"", b"v")
    with pytest.raises(ValueError):
        branch.delete(b"")
    with pytest.raises(TypeError):
        branch.set(b"k", "v")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        branch.set("k", b"v")  # type: ignore[arg-type]
    assert branch.changes() == []


def test_branch_over_rocksdb_latest_reader(db) -> None:
    base = {b"a": b"1", b"a\x00": b"2", b"a\xff": b"3", b"b": b"4", b"\xff\xff": b"5"}
    db.write([("state", k, v) for k, v in base.items()])
    branch = Branch(LatestReader(db))
    branch.delete(b"a\x00")
    branch.set(b"a\x00\x00", b"new")
    branch.set(b"b", b"")
    model = dict(base)
    del model[b"a\x00"]
    model[b"a\x00\x00"] = b"new"
    model[b"b"] = b""
    bounds = [None, b"a", b"a\x00", b"a\x00\x00", b"a\x01", b"a\xff", b"b", b"\xff", b"\xff\xff"]
    for start in bounds:
        for end in bounds:
            for reverse in (False, True):
                got = list(branch.iterate(start, end, reverse))
                assert got == model_range(model, start, end, reverse), (start, end, reverse)
    # The committed state is untouched until the caller commits the branch's changes.
    assert db.get("state", b"a\x00") == b"2"


# -- PrefixStore ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "end"),
    [
        (b"a", b"b"),
        (b"a/", b"a0"),
        (b"\x00", b"\x01"),
        (b"a\xff", b"b"),
        (b"a\xff\xff", b"b"),
        (b"a\x00\xff", b"a\x01"),
        (b"\xfe\xff", b"\xff"),
        (b"\xff", None),
        (b"\xff\xff\xff", None),
        (b"", None),
    ],
)
def test_prefix_end_edges(prefix: bytes, end: bytes | None) -> None:
    assert prefix_end(prefix) == end


@given(prefix=KEYS, key=st.binary(max_size=5))
@FAST
def test_prefix_end_bounds_exactly_the_prefixed_keys(prefix: bytes, key: bytes) -> None:
    end = prefix_end(prefix)
    inside = key >= prefix and (end is None or key < end)
    assert inside == key.startswith(prefix)


def _prefixed_model(data: dict[bytes, bytes], prefix: bytes) -> dict[bytes, bytes]:
    return {k[len(prefix) :]: v for k, v in data.items() if k.startswith(prefix)}


@given(
    data=st.dictionaries(KEYS, VALUES, max_size=12),
    prefix=st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=2).map(bytes),
    start=BOUNDS,
    end=BOUNDS,
    reverse=st.booleans(),
)
@FAST
def test_prefix_store_reads_only_its_prefix(
    data: dict[bytes, bytes],
    prefix: bytes,
    start: bytes | None,
    end: bytes | None,
    reverse: bool,
) -> None:
    branch = Branch(MemReader(data))
    store = PrefixStore(branch, prefix)
    model = _prefixed_model(data, prefix)
    got = list(store.iterate(start, end, reverse))
    assert got == model_range(model, start, end, reverse)
    for key in data:
        suffix = key[len(prefix) :] if key.startswith(prefix) else None
        if suffix:
            assert store.get(suffix) == data[key]
    for key in {*data, b"\x00", b"\xff"}:
        if prefix + key not in data:
            assert store.get(key) is None


@given(
    data=st.dictionaries(KEYS, VALUES, max_size=8),
    prefix=st.lists(st.sampled_from(ALPHABET), min_size=1, max_size=2).map(bytes),
    ops=st.lists(st.tuples(KEYS, st.none() | VALUES), max_size=10),
)
@FAST
def test_prefix_store_writes_stay_inside_prefix(
    data: dict[bytes, bytes],
    prefix: bytes,
    ops: list[tuple[bytes, bytes | None]],
) -> None:
    branch = Branch(MemReader(data))
    store = PrefixStore(branch, prefix)
    model = dict(data)
    for key, value in ops:
        if value is None:
            store.delete(key)
            model.pop(prefix + key, None)
        else:
            store.set(key, value)
            model[prefix + key] = value
    assert all(k.startswith(prefix) for k, _ in branch.changes())
    assert list(branch.iterate()) == model_range(model)
    assert list(store.iterate()) == model_range(_prefixed_model(model, prefix))


def test_prefix_store_with_all_ff_prefix_and_neighbours() -> None:
    data = {
        b"\xfe": b"below",
        b"\xfe\xff": b"below2",
        b"\xff": b"exact",
        b"\xff\x00": b"in0",
        b"\xff\xff": b"in1",
        b"\xff\xff\xff": b"in2",
    }
    store = PrefixStore(Branch(MemReader(data)), b"\xff")
    assert list(store.iterate()) == [
        (b"", b"exact"),
        (b"\x00", b"in0"),
        (b"\xff", b"in1"),
        (b"\xff\xff", b"in2"),
    ]
    assert list(store.iterate(b"\xff", None, reverse=True)) == [
        (b"\xff\xff", b"in2"),
        (b"\xff", b"in1"),
    ]
    assert list(store.iterate_prefix(b"\xff")) == [(b"\xff", b"in1"), (b"\xff\xff", b"in2")]
    assert list(store.iterate_prefix(b"\x00", reverse=True)) == [(b"\x00", b"in0")]

    inner = PrefixStore(Branch(MemReader(data)), b"\xfe")
    assert list(inner.iterate()) == [(b"", b"below"), (b"\xff", b"below2")]
    assert list(inner.iterate_prefix(b"\xff")) == [(b"\xff", b"below2")]


def test_nested_prefix_stores_and_bad_keys() -> None:
    branch = Branch(MemReader({b"a/x/1": b"1", b"a/x0": b"no", b"a/y/1": b"no", b"a/x/": b"e"}))
    outer = PrefixStore(branch, b"a/")
    inner = PrefixStore(outer, b"x/")  # type: ignore[arg-type]
    inner.set(b"2", b"2")
    assert list(inner.iterate()) == [(b"", b"e"), (b"1", b"1"), (b"2", b"2")]
    assert branch.get(b"a/x/2") == b"2"
    inner.delete(b"1")
    assert branch.get(b"a/x/1") is None
    assert list(inner.iterate(b"1")) == [(b"2", b"2")]
    with pytest.raises(ValueError):
        PrefixStore(branch, b"")
    for bad in (inner.get, inner.delete):
        with pytest.raises(ValueError):
            bad(b"")
    with pytest.raises(ValueError):
        inner.set(b"", b"v")
