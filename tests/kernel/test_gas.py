"""Gas meters and the gas-charging store, against the Cosmos SDK's numbers (store/gaskv)."""

from __future__ import annotations

import pytest
from kernel_support import MemReader

from sultan.kernel.errors import ErrOutOfGas, SdkError
from sultan.kernel.store.branch import Branch
from sultan.kernel.tx.context import BlockInfo, Context, ExecMode
from sultan.kernel.tx.gas import (
    DEFAULT_KV_GAS,
    MAX_GAS,
    GasKVStore,
    GasMeter,
    InfiniteGasMeter,
)


class RecordingMeter(GasMeter):
    """A GasMeter that also records every charge (zero charges included)."""

    def __init__(self, limit: int = MAX_GAS) -> None:
        super().__init__(limit)
        self.charges: list[tuple[int, str]] = []

    def consume(self, amount: int, descriptor: str) -> None:
        self.charges.append((amount, descriptor))
        super().consume(amount, descriptor)

    def take(self) -> list[tuple[int, str]]:
        """Charges since the last call, without the zero ones (they change nothing)."""
        charges, self.charges = self.charges, []
        return [c for c in charges if c[0]]


def key_fmt(i: int) -> bytes:  # Cosmos gaskv tests: fmt.Sprintf("key%0.8d", i)
    return b"key%08d" % i


def val_fmt(i: int) -> bytes:  # fmt.Sprintf("value%0.8d", i)
    return b"value%08d" % i


def new_store(limit: int = MAX_GAS) -> tuple[GasKVStore, RecordingMeter, Branch]:
    meter = RecordingMeter(limit)
    parent = Branch(MemReader())
    return GasKVStore(parent, meter), meter, parent


# -- GasMeter ---------------------------------------------------------------------------------


def test_default_costs_are_cosmos_kv_gas_config() -> None:
    c = DEFAULT_KV_GAS
    assert (c.has_cost, c.delete_cost, c.read_cost_flat, c.read_cost_per_byte) == (
        1000,
        1000,
        1000,
        3,
    )
    assert (c.write_cost_flat, c.write_cost_per_byte, c.iter_next_cost_flat) == (2000, 30, 30)


def test_gas_meter_limit_and_out_of_gas_message() -> None:
    meter = GasMeter(100)
    meter.consume(60, "a")
    meter.consume(40, "b")  # reaching the limit exactly is fine
    assert meter.consumed == 100 and meter.remaining == 0
    with pytest.raises(ErrOutOfGas) as info:
        meter.consume(1, "WriteFlat")
    err = info.value
    assert isinstance(err, SdkError)
    assert (err.codespace, err.code) == ("sdk", 11)
    assert str(err) == "out of gas in location: WriteFlat; gasWanted: 100, gasUsed: 101"
    assert err.log == "out of gas in location: WriteFlat; gasWanted: 100, gasUsed: 101: out of gas"
    # As in the SDK, the charge that ran out is counted (gas_used of the failed tx).
    assert meter.consumed == 101 and meter.remaining == 0


def test_gas_meter_validation_and_refund() -> None:
    for bad in (-1, MAX_GAS + 1):
        with pytest.raises(ValueError):
            GasMeter(bad)
    meter = GasMeter(0)
    meter.consume(0, "free")
    with pytest.raises(ErrOutOfGas):
        meter.consume(1, "x")
    meter = GasMeter(50)
    with pytest.raises(ValueError):
        meter.consume(-1, "x")
    meter.consume(30, "x")
    meter.refund(10)
    assert meter.consumed == 20 and meter.remaining == 30


def test_infinite_gas_meter() -> None:
    meter = InfiniteGasMeter()
    meter.consume(MAX_GAS, "a")
    meter.consume(10**30, "b")
    assert meter.consumed == MAX_GAS


# -- GasKVStore: the Cosmos SDK gaskv test vectors --------------------------------------------


def test_cosmos_gaskv_basic_vector() -> None:
    """cosmos-sdk store/gaskv TestGasKVStoreBasic: 6858 gas."""
    st, meter, _ = new_store(10000)
    assert st.get(key_fmt(1)) is None
    st.set(key_fmt(1), val_fmt(1))
    assert st.get(key_fmt(1)) == val_fmt(1)
    st.delete(key_fmt(1))
    assert st.get(key_fmt(1)) is None
    assert meter.consumed == 6858


def test_cosmos_gaskv_iterator_vector() -> None:
    """cosmos-sdk store/gaskv TestGasKVStoreIterator (14565 after two Next, 14667 after three).

    Creating an iterator charges the first item plus the flat cost; every Next charges the item
    it leaves plus the flat cost. The SDK test's final 15135 includes two Next calls on an
    exhausted iterator (30 each) that a Python for-loop never makes: 15135 - 60 = 15075.
    """
    st, meter, _ = new_store(100000)
    assert not st.has(key_fmt(1))
    for i in (1, 2, 3):
        assert st.get(key_fmt(i)) is None
    st.set(key_fmt(1), val_fmt(1))
    assert st.has(key_fmt(1))
    st.set(key_fmt(2), val_fmt(2))
    assert st.has(key_fmt(2))
    st.set(key_fmt(3), val_fmt(0))
    assert meter.consumed == 14259

    it = st.iterate()
    consumed_after_each = []
    items = []
    for item in it:
        items.append(item)
        consumed_after_each.append(meter.consumed)
    assert items == [(key_fmt(1), val_fmt(1)), (key_fmt(2), val_fmt(2)), (key_fmt(3), val_fmt(0))]
    # Seeing item 3 took the creation charge and two Next calls: the SDK's 14565.
    assert consumed_after_each == [14361, 14463, 14565]
    assert meter.consumed == 14667

    assert [k for k, _ in st.iterate(reverse=True)] == [key_fmt(3), key_fmt(2), key_fmt(1)]
    assert meter.consumed == 15135 - 60


def test_each_operation_charges_like_cosmos() -> None:
    st, meter, parent = new_store()
    key, value = b"abcd", b"0123456789"

    st.set(key, value)
    assert meter.take() == [
        (2000, "WriteFlat"),
        (30 * 4, "WritePerByte"),
        (30 * 10, "WritePerByte"),
    ]
    assert st.get(key) == value
    assert meter.take() == [(1000, "ReadFlat"), (3 * 4, "ReadPerByte"), (3 * 10, "ReadPerByte")]
    assert st.get(b"missing") is None
    assert meter.take() == [(1000, "ReadFlat"), (3 * 7, "ReadPerByte")]
    assert st.has(key) and not st.has(b"missing")
    assert meter.take() == [(1000, "Has"), (1000, "Has")]
    st.delete(b"missing")
    assert meter.take() == [(1000, "Delete")]
    st.set(b"k", b"")
    assert meter.take() == [(2000, "WriteFlat"), (30, "WritePerByte")]
    assert parent.get(b"k") == b""


def test_iteration_charges_like_cosmos() -> None:
    st, meter, parent = new_store()
    parent.set(b"a", b"xx")
    parent.set(b"bb", b"yyy")
    assert list(st.iterate()) == [(b"a", b"xx"), (b"bb", b"yyy")]
    first = [(3 * 1, "ValuePerByte"), (3 * 2, "ValuePerByte"), (30, "IterNextFlat")]
    second = [(3 * 2, "ValuePerByte"), (3 * 3, "ValuePerByte"), (30, "IterNextFlat")]
    # creation (first item), Next from the first, Next from the second, reaching the end.
    assert meter.take() == first + first + second

    assert list(st.iterate(b"zz")) == []
    assert meter.take() == [(30, "IterNextFlat")]  # an empty iterator still pays the seek

    for _key, _value in st.iterate(reverse=True):
        break  # stopping at once: only the creation charge
    assert meter.take() == second


def test_out_of_gas_stops_the_write_and_reports_sdk_gas_used() -> None:
    key, value = b"key", b"value"
    # Enough for the flat cost and the key bytes, not the value bytes.
    limit = 2000 + 30 * len(key)
    st, meter, parent = new_store(limit)
    with pytest.raises(ErrOutOfGas) as info:
        st.set(key, value)
    assert parent.get(key) is None
    assert meter.consumed == limit + 30 * len(value)
    assert "location: WritePerByte" in str(info.value)

    # One gas short of the key bytes: the SDK stops right after charging them.
    st, meter, parent = new_store(2000 + 30 * len(key) - 1)
    with pytest.raises(ErrOutOfGas):
        st.set(key, value)
    assert meter.consumed == 2000 + 30 * len(key)
    assert parent.get(key) is None


def test_out_of_gas_while_iterating() -> None:
    st, meter, parent = new_store(20000)
    parent.set(key_fmt(1), val_fmt(1))
    it = st.iterate()
    assert next(it) == (key_fmt(1), val_fmt(1))
    meter.limit = meter.consumed + 10
    with pytest.raises(ErrOutOfGas):
        next(it)


def test_context_kv_charges_module_relative_keys() -> None:
    """ctx.kv(store) is the module's own store: like the SDK's ctx.KVStore(key), gas is
    charged on the module's keys, not on the internal store-key prefix."""
    meter = RecordingMeter(10**9)
    root = Branch(MemReader())
    ctx = Context(
        root, BlockInfo(height=1, time_ns=0, chain_id="test"), ExecMode.FINALIZE, gas_meter=meter
    )
    kv = ctx.kv("bank")
    kv.set(b"k", b"v")
    assert meter.take() == [(2000, "WriteFlat"), (30, "WritePerByte"), (30, "WritePerByte")]
    assert root.get(b"bank/k") == b"v"
    assert kv.get(b"k") == b"v"
    assert meter.take() == [(1000, "ReadFlat"), (3, "ReadPerByte"), (3, "ReadPerByte")]
    assert list(kv.iterate()) == [(b"k", b"v")]
    assert meter.take() == [(3, "ValuePerByte"), (3, "ValuePerByte"), (30, "IterNextFlat")] * 2
