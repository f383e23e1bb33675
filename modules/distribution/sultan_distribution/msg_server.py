"""Distribution messages: parse, check, call the keeper (which emits the events).

Failure conditions (state is left untouched; the tx's fee and sequence bump are kept):

- bad bech32 addresses: sdk ErrInvalidAddress 7;
- MsgWithdrawDelegatorReward: unknown validator (distribution 6), no delegation
  (distribution 5);
- MsgWithdrawValidatorCommission: nothing accumulated (distribution 7);
- MsgSetWithdrawAddress: a blocked module address (sdk 4 "… is not allowed to receive
  external funds"), withdraw addresses disabled by params (distribution 8);
- MsgFundCommunityPool / MsgDepositValidatorRewardsPool: invalid coins (sdk 10), not enough
  funds (sdk 5), unknown validator (distribution 12);
- MsgUpdateParams / MsgCommunityPoolSpend: authority other than the gov module account
  (sdk 4), community tax outside [0, 1] (sdk 18), spending more than the pool (distribution 9).
"""

from __future__ import annotations

from typing import Any

from sultan import Context, Event, SdkError
from sultan.kernel import legacydec as ld
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import DEC_ONE, Coins
from sultan.kernel.errors import (
    ErrInvalidCoins,
    ErrInvalidRequest,
    ErrUnauthorized,
)
from sultan.kernel.legacydec import DecCoins
from sultan_distribution import errors, keys
from sultan_distribution.keeper import DistributionKeeper
from sultan_distribution.pb.cosmos.distribution.v1beta1 import tx_pb2
from sultan_distribution.state import ParamsRecord


def _acc(text: str, what: str) -> bytes:
    return ACCOUNT_CODEC.parse(text, what)


def _val(text: str) -> bytes:
    return VALIDATOR_CODEC.parse(text, "validator")


def _coins(pbs: Any) -> Coins:
    try:
        return Coins.from_proto(pbs)
    except SdkError as exc:
        raise ErrInvalidCoins(exc.message) from None


def withdraw_delegator_reward(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val(msg.validator_address)
    delegator = _acc(msg.delegator_address, "delegator")
    v = keeper.sk.validator(ctx, operator)
    if v is None:
        raise errors.ErrNoValidatorDistInfo()
    if keeper.sk.delegation(ctx, delegator, operator) is None:
        raise errors.ErrEmptyDelegationDistInfo()
    amount = keeper.withdraw_delegation_rewards(ctx, v, delegator)
    keeper.initialize_delegation(ctx, operator, delegator)
    return tx_pb2.MsgWithdrawDelegatorRewardResponse(amount=amount.to_proto())


def withdraw_validator_commission(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val(msg.validator_address)
    amount = keeper.withdraw_validator_commission(ctx, operator)
    return tx_pb2.MsgWithdrawValidatorCommissionResponse(amount=amount.to_proto())


def set_withdraw_address(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    delegator = _acc(msg.delegator_address, "delegator")
    target = _acc(msg.withdraw_address, "withdraw")
    assert keeper.accounts is not None
    if keeper.accounts.is_blocked(target):
        raise ErrUnauthorized(f"{msg.withdraw_address} is not allowed to receive external funds")
    if not keeper.params(ctx).withdraw_addr_enabled:
        raise errors.ErrSetWithdrawAddrDisabled()
    ctx.emit(Event.of("set_withdraw_address", ("withdraw_address", msg.withdraw_address)))
    keeper.set_withdraw_address(ctx, delegator, target)
    return tx_pb2.MsgSetWithdrawAddressResponse()


def fund_community_pool(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    depositor = _acc(msg.depositor, "depositor")
    amount = _coins(msg.amount)
    keeper.bk.send_coins_from_account_to_module(ctx, depositor, keys.MODULE_NAME, amount)
    keeper.set_fee_pool(ctx, keeper.fee_pool(ctx) + DecCoins.from_coins(amount))
    return tx_pb2.MsgFundCommunityPoolResponse()


def _check_authority(keeper: DistributionKeeper, authority: str) -> None:
    _acc(authority, "authority")
    if authority != keeper.authority:
        raise ErrUnauthorized(f"invalid authority; expected {keeper.authority}, got {authority}")


def params_from_proto(p: Any) -> ParamsRecord:
    values = []
    for name in ("community_tax", "base_proposer_reward", "bonus_proposer_reward"):
        text = getattr(p, name) or "0"
        try:
            values.append(int(text))
        except ValueError:
            raise ErrInvalidRequest(f"invalid {name.replace('_', ' ')}: {text!r}") from None
    tax = values[0]
    if not p.community_tax:
        raise ErrInvalidRequest("community tax must be not nil")
    if tax < 0:
        raise ErrInvalidRequest(f"community tax must be positive: {ld.to_string(tax)}")
    if tax > DEC_ONE:
        raise ErrInvalidRequest(f"community tax too large: {ld.to_string(tax)}")
    return ParamsRecord(tax, values[1], values[2], p.withdraw_addr_enabled)


def update_params(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    _check_authority(keeper, msg.authority)
    keeper.set_params(ctx, params_from_proto(msg.params))
    return tx_pb2.MsgUpdateParamsResponse()


def community_pool_spend(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    _check_authority(keeper, msg.authority)
    recipient = _acc(msg.recipient, "recipient")
    amount = _coins(msg.amount)
    assert keeper.accounts is not None
    if keeper.accounts.is_blocked(recipient):
        raise ErrUnauthorized(f"{msg.recipient} is not allowed to receive external funds")
    try:
        pool = keeper.fee_pool(ctx) - DecCoins.from_coins(amount)
    except ValueError:
        raise errors.ErrBadDistribution() from None
    keeper.set_fee_pool(ctx, pool)
    keeper.bk.send_coins_from_module_to_account(ctx, keys.MODULE_NAME, recipient, amount)
    return tx_pb2.MsgCommunityPoolSpendResponse()


def deposit_validator_rewards_pool(keeper: DistributionKeeper, ctx: Context, msg: Any) -> Any:
    depositor = _acc(msg.depositor, "depositor")
    operator = _val(msg.validator_address)
    amount = _coins(msg.amount)
    keeper.bk.send_coins_from_account_to_module(ctx, depositor, keys.MODULE_NAME, amount)
    v = keeper.sk.validator(ctx, operator)
    if v is None:
        raise errors.ErrNoValidatorExists(msg.validator_address)
    keeper.allocate_tokens_to_validator(ctx, v, DecCoins.from_coins(amount))
    return tx_pb2.MsgDepositValidatorRewardsPoolResponse()
