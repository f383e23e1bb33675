"""The ante chain: checks that run before a tx's messages, on the tx's own branch.

The kernel contributes the checks that need no module (size, basic shape, timeout height,
gas limit vs. block max gas). Modules append theirs (fees, signatures, sequences) through
`ModuleDefinition.ante_decorators`, run in plugins.toml order. A decorator is a callable
`(ctx, tx, simulate) -> None` that raises an `SdkError` to reject the tx.
"""

from __future__ import annotations

from typing import Protocol

from sultan.kernel.errors import (
    ErrInvalidGasLimit,
    ErrInvalidRequest,
    ErrTxTimeoutHeight,
    ErrTxTooLarge,
)
from sultan.kernel.tx.context import Context
from sultan.kernel.tx.decode import DecodedTx


class AnteDecorator(Protocol):
    def __call__(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None: ...


class TxSizeDecorator:
    """Rejects txs over the node's max tx bytes (config.toml `mempool.max_tx_bytes`)."""

    def __init__(self, max_tx_bytes: int) -> None:
        self.max_tx_bytes = max_tx_bytes

    def __call__(self, ctx: Context, tx: DecodedTx, simulate: bool) -> None:
        if self.max_tx_bytes > 0 and len(tx.raw) > self.max_tx_bytes:
            raise ErrTxTooLarge(f"tx size {len(tx.raw)} exceeds max {self.max_tx_bytes}")


def basic_validation(ctx: Context, tx: DecodedTx, simulate: bool) -> None:
    if not tx.msgs:
        raise ErrInvalidRequest("must contain at least one message")
    timeout = int(tx.body.timeout_height)
    if timeout and ctx.height > timeout:
        raise ErrTxTimeoutHeight(f"block height: {ctx.height}, timeout height: {timeout}")


def gas_limit_check(ctx: Context, tx: DecodedTx, simulate: bool) -> None:
    max_gas = ctx.block.max_gas
    if not simulate and max_gas > 0 and tx.gas_limit > max_gas:
        raise ErrInvalidGasLimit(f"tx gas limit {tx.gas_limit} exceeds block max gas {max_gas}")
