"""Gas meters and a gas-charging store wrapper, with the Cosmos SDK's default KV costs."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from sultan.kernel.errors import ErrOutOfGas
from sultan.kernel.store.branch import KVStore

MAX_GAS = (1 << 64) - 1


@attrs.frozen
class KVGasConfig:
    """Costs of store access (Cosmos SDK `storetypes.KVGasConfig`)."""

    has_cost: int = 1000
    delete_cost: int = 1000
    read_cost_flat: int = 1000
    read_cost_per_byte: int = 3
    write_cost_flat: int = 2000
    write_cost_per_byte: int = 30
    iter_next_cost_flat: int = 30


DEFAULT_KV_GAS = KVGasConfig()


class GasMeter:
    """Counts gas against a limit; exceeding it raises ErrOutOfGas (the tx then fails)."""

    def __init__(self, limit: int) -> None:
        if limit < 0 or limit > MAX_GAS:
            raise ValueError("gas limit out of range")
        self.limit = limit
        self.consumed = 0

    def consume(self, amount: int, descriptor: str) -> None:
        if amount < 0:
            raise ValueError("negative gas")
        self.consumed += amount
        if self.consumed > self.limit:
            raise ErrOutOfGas(
                f"out of gas in location: {descriptor}; gasWanted: {self.limit}, "
                f"gasUsed: {self.consumed}"
            )

    def refund(self, amount: int) -> None:
        self.consumed = max(0, self.consumed - amount)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.consumed)


class InfiniteGasMeter(GasMeter):
    """Counts gas without a limit (genesis, begin/end block, queries)."""

    def __init__(self) -> None:
        super().__init__(MAX_GAS)

    def consume(self, amount: int, descriptor: str) -> None:
        self.consumed = min(MAX_GAS, self.consumed + amount)


class GasKVStore:
    """Charges the meter for every read, write, delete and iteration step."""

    def __init__(self, parent: KVStore, meter: GasMeter, config: KVGasConfig = DEFAULT_KV_GAS):
        self.parent = parent
        self.meter = meter
        self.config = config

    def get(self, key: bytes) -> bytes | None:
        self.meter.consume(self.config.read_cost_flat, "ReadFlat")
        value = self.parent.get(key)
        self.meter.consume(self.config.read_cost_per_byte * len(key), "ReadPerByte")
        if value is not None:
            self.meter.consume(self.config.read_cost_per_byte * len(value), "ReadPerByte")
        return value

    def has(self, key: bytes) -> bool:
        self.meter.consume(self.config.has_cost, "Has")
        return self.parent.get(key) is not None

    def set(self, key: bytes, value: bytes) -> None:
        # Key and value bytes are separate charges, as in the SDK: running out on the key
        # leaves gas_used without the value's cost.
        self.meter.consume(self.config.write_cost_flat, "WriteFlat")
        self.meter.consume(self.config.write_cost_per_byte * len(key), "WritePerByte")
        self.meter.consume(self.config.write_cost_per_byte * len(value), "WritePerByte")
        self.parent.set(key, value)

    def delete(self, key: bytes) -> None:
        self.meter.consume(self.config.delete_cost, "Delete")
        self.parent.delete(key)

    def iterate(
        self, start: bytes | None = None, end: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Charges as the SDK's gas iterator: creating it pays for the first item (or just the
        seek if there is none), and each step past an item pays for that item again."""
        parent = iter(self.parent.iterate(start, end, reverse))
        current = next(parent, None)
        self._seek_gas(current)
        return self._steps(parent, current)

    def _steps(
        self, parent: Iterator[tuple[bytes, bytes]], current: tuple[bytes, bytes] | None
    ) -> Iterator[tuple[bytes, bytes]]:
        while current is not None:
            yield current
            self._seek_gas(current)  # the SDK's Next(): charge the item being left
            current = next(parent, None)

    def _seek_gas(self, item: tuple[bytes, bytes] | None) -> None:
        if item is not None:
            self.meter.consume(self.config.read_cost_per_byte * len(item[0]), "ValuePerByte")
            self.meter.consume(self.config.read_cost_per_byte * len(item[1]), "ValuePerByte")
        self.meter.consume(self.config.iter_next_cost_flat, "IterNextFlat")
