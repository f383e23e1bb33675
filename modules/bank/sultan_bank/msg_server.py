"""Bank messages: check, call the keeper (which emits the events). Nothing else lives here.

Failure conditions (all leave state untouched; the tx's fee and sequence bump are kept):

- MsgSend: bad from/to address (ErrInvalidAddress 7); amount empty, unsorted, duplicated,
  zero, negative or with a bad denom (ErrInvalidCoins 10); a denom with sending disabled
  (bank ErrSendDisabled 5); a blocked recipient (ErrUnauthorized 4 "… is not allowed to
  receive funds"); not enough funds (ErrInsufficientFunds 5 "spendable balance … is
  smaller than …").
- MsgMultiSend: no inputs (bank 2), more than one input (bank 9), no outputs (bank 3), the
  same checks per input/output, inputs ≠ outputs (bank 4).
- MsgUpdateParams / MsgSetSendEnabled: authority other than the gov module account
  (ErrUnauthorized), invalid denoms (ErrInvalidCoins), duplicates (bank ErrDuplicateEntry).
"""

from __future__ import annotations

from typing import Any

from sultan import Context
from sultan.kernel.address import ACCOUNT_CODEC
from sultan.kernel.coins import Coins, is_valid_denom
from sultan.kernel.errors import (
    ErrInvalidCoins,
    ErrInvalidRequest,
    ErrUnauthorized,
)
from sultan.kernel.tx.context import ExecMode
from sultan_bank import state
from sultan_bank.errors import (
    ErrDuplicateEntry,
    ErrMultipleSenders,
    ErrNoInputs,
    ErrNoOutputs,
)
from sultan_bank.keeper import BankKeeper
from sultan_bank.metrics import transfers_total
from sultan_bank.pb.cosmos.bank.v1beta1 import tx_pb2


def _address(text: str, what: str) -> bytes:
    return ACCOUNT_CODEC.parse(text, what)


def _positive_coins(pbs: Any) -> Coins:
    coins = Coins.from_proto(pbs)
    if coins.is_zero():
        raise ErrInvalidCoins("no coins: amount must be positive")
    return coins


def _count(ctx: Context, msg: str) -> None:
    if ctx.mode == ExecMode.FINALIZE:
        transfers_total.labels(msg=msg).inc()


def send(keeper: BankKeeper, ctx: Context, msg: Any) -> Any:
    sender = _address(msg.from_address, "from")
    recipient = _address(msg.to_address, "to")
    amount = _positive_coins(msg.amount)
    keeper.check_send_enabled(ctx, amount)
    if keeper.is_blocked(recipient):
        raise ErrUnauthorized(f"{msg.to_address} is not allowed to receive funds")
    keeper.send_coins(ctx, sender, recipient, amount)
    _count(ctx, "send")
    return tx_pb2.MsgSendResponse()


def multi_send(keeper: BankKeeper, ctx: Context, msg: Any) -> Any:
    if not msg.inputs:
        raise ErrNoInputs()
    if len(msg.inputs) != 1:
        raise ErrMultipleSenders()
    if not msg.outputs:
        raise ErrNoOutputs()
    sender = _address(msg.inputs[0].address, "input")
    total = _positive_coins(msg.inputs[0].coins)
    outputs = []
    for out in msg.outputs:
        outputs.append((_address(out.address, "output"), _positive_coins(out.coins)))
    keeper.check_send_enabled(ctx, total)
    for (recipient, _coins), out in zip(outputs, msg.outputs, strict=True):
        if keeper.is_blocked(recipient):
            raise ErrUnauthorized(f"{out.address} is not allowed to receive funds")
    keeper.input_output_coins(ctx, sender, total, outputs)
    _count(ctx, "multi_send")
    return tx_pb2.MsgMultiSendResponse()


def _check_authority(keeper: BankKeeper, authority: str) -> None:
    _address(authority, "authority")
    if authority != keeper.authority:
        raise ErrUnauthorized(f"invalid authority; expected {keeper.authority}, got {authority}")


def _check_send_enabled_entries(entries: Any) -> None:
    seen: set[str] = set()
    for entry in entries:
        if not is_valid_denom(entry.denom):
            raise ErrInvalidCoins(f"invalid denom: {entry.denom}")
        if entry.denom in seen:
            raise ErrDuplicateEntry(f"duplicate denom entries found for {entry.denom!r}")
        seen.add(entry.denom)


def update_params(keeper: BankKeeper, ctx: Context, msg: Any) -> Any:
    _check_authority(keeper, msg.authority)
    if not msg.HasField("params"):
        raise ErrInvalidRequest("params must be set")
    if len(msg.params.send_enabled):
        raise ErrInvalidRequest(
            "use of send_enabled in params is no longer supported; use MsgSetSendEnabled"
        )
    keeper.set_params(ctx, state.Params(default_send_enabled=msg.params.default_send_enabled))
    return tx_pb2.MsgUpdateParamsResponse()


def set_send_enabled(keeper: BankKeeper, ctx: Context, msg: Any) -> Any:
    _check_authority(keeper, msg.authority)
    _check_send_enabled_entries(msg.send_enabled)
    seen_default: set[str] = set()
    for denom in msg.use_default_for:
        if not is_valid_denom(denom):
            raise ErrInvalidCoins(f"invalid denom: {denom}")
        if denom in seen_default:
            raise ErrDuplicateEntry(f"duplicate denom entries found for {denom!r}")
        seen_default.add(denom)
    both = seen_default & {e.denom for e in msg.send_enabled}
    if both:
        raise ErrInvalidRequest(
            f"denom {sorted(both)[0]!r} cannot be both set and reset to default"
        )
    for entry in msg.send_enabled:
        keeper.set_send_enabled(ctx, entry.denom, entry.enabled)
    for denom in msg.use_default_for:
        keeper.delete_send_enabled(ctx, denom)
    return tx_pb2.MsgSetSendEnabledResponse()
