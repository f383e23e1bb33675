"""The execution context handed to module code: block info, stores, gas and events."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from sultan.kernel.store.branch import Branch, KVReader, KVStore, PrefixStore, prefix_end
from sultan.kernel.store.versioned import store_prefix
from sultan.kernel.tx.events import Event, EventManager
from sultan.kernel.tx.gas import GasKVStore, GasMeter, InfiniteGasMeter

# store key -> (its key prefix, the end of its key range); a handful of entries.
_STORE_BOUNDS: dict[str, tuple[bytes, bytes | None]] = {}


class ExecMode(enum.Enum):
    CHECK = "check"
    RECHECK = "recheck"
    SIMULATE = "simulate"
    FINALIZE = "finalize"
    GENESIS = "genesis"
    QUERY = "query"


@attrs.frozen
class VoteInfo:
    """One validator of the previous block's commit (RequestFinalizeBlock.decided_last_commit)."""

    address: bytes  # consensus address: the first 20 bytes of sha256(ed25519 pubkey)
    power: int
    signed: bool


@attrs.frozen
class BlockInfo:
    """The block being executed, as the Cosmos SDK's `ctx.BlockHeader()` / `ctx.CometInfo()`.

    `votes` is the previous block's commit (who was in the validator set, with what power,
    and whether they signed), `app_hash` the app hash of the previous block and
    `next_validators_hash` the hash of the validator set of the next block; all three are
    empty outside FinalizeBlock.
    """

    height: int
    time_ns: int
    chain_id: str
    proposer_address: bytes = b""
    max_gas: int = -1
    votes: tuple[VoteInfo, ...] = ()
    app_hash: bytes = b""
    next_validators_hash: bytes = b""


class Context:
    """What a handler sees. Writes go to a branch that the caller commits or discards.

    Module code reaches its own state with `ctx.kv(store_key)`; everything else (other
    modules' state) goes through their keepers, which receive the same context.
    """

    def __init__(
        self,
        store: KVStore | KVReader,
        block: BlockInfo,
        mode: ExecMode,
        *,
        gas_meter: GasMeter | None = None,
        events: EventManager | None = None,
        keepers: Mapping[str, Any] | None = None,
        tx_bytes: bytes = b"",
        min_gas_prices: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.store = store
        self.block = block
        self.mode = mode
        self.gas_meter = gas_meter if gas_meter is not None else InfiniteGasMeter()
        self.events = events if events is not None else EventManager()
        self.keepers: Mapping[str, Any] = keepers or {}
        self.tx_bytes = tx_bytes
        # Minimum gas prices as (denom, price scaled by 10**18); applied only in CheckTx.
        self.min_gas_prices = min_gas_prices

    @property
    def height(self) -> int:
        return self.block.height

    @property
    def chain_id(self) -> str:
        return self.block.chain_id

    @property
    def is_check(self) -> bool:
        return self.mode in (ExecMode.CHECK, ExecMode.RECHECK)

    def kv(self, store_key: str) -> GasKVStore:
        """The module's own key space, gas-metered.

        Gas is charged on the module's own keys (the prefix view is below the meter), as the
        SDK's `ctx.KVStore(key)` charges on keys inside the module's store.
        """
        bounds = _STORE_BOUNDS.get(store_key)
        if bounds is None:
            prefix = store_prefix(store_key)
            bounds = _STORE_BOUNDS[store_key] = (prefix, prefix_end(prefix))
        prefixed = PrefixStore(self.store, bounds[0], bounds[1])  # type: ignore[arg-type]
        return GasKVStore(prefixed, self.gas_meter)

    def emit(self, event: Event) -> None:
        self.events.emit(event)

    def branch(self) -> Context:
        """A child context whose writes and events are kept only if `commit_branch` is called."""
        if not isinstance(self.store, Branch):
            raise TypeError("cannot branch a read-only context")
        return self.with_store(self.store.branch(), events=EventManager())

    def with_store(self, store: KVStore | KVReader, events: EventManager | None = None) -> Context:
        return Context(
            store,
            self.block,
            self.mode,
            gas_meter=self.gas_meter,
            events=events if events is not None else self.events,
            keepers=self.keepers,
            tx_bytes=self.tx_bytes,
            min_gas_prices=self.min_gas_prices,
        )

    def with_gas_meter(self, meter: GasMeter) -> Context:
        ctx = self.with_store(self.store)
        ctx.gas_meter = meter
        return ctx

    def commit_branch(self, parent: Context) -> None:
        """Write this branch's state into `parent` and append its events there."""
        assert isinstance(self.store, Branch)
        self.store.write()
        parent.events.emit_many(self.events.events)
