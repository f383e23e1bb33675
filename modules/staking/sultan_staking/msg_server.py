"""Staking messages: parse, check, call the keeper, emit events (SDK v0.50 msg_server.go).

Failure conditions (state is left untouched; the tx's fee and sequence bump are kept):

- all: bad bech32 addresses (sdk ErrInvalidAddress 7); amount not positive or invalid
  (sdk ErrInvalidRequest 18 "invalid delegation amount" / "invalid shares amount"); a denom
  other than the bond denom (18 "invalid coin denomination: got X, expected Y").
- MsgCreateValidator: operator already a validator (staking 4), consensus key in use
  (staking 5), key not ed25519 (staking 6 / sdk 34 for an unreadable Any), no pubkey
  (staking 39), empty description or commission (18), commission out of range
  (staking 9/10/11/13/14), below `min_commission_rate` (staking 40), min self delegation
  not positive (18) or above the bonded value (staking 16), not enough funds (sdk 5).
- MsgEditValidator: unknown validator (staking 3), commission changed within 24h
  (staking 12), by more than max_change_rate (staking 15), above max rate (staking 11),
  min self delegation lowered (staking 17) or above the validator's tokens (staking 16).
- MsgDelegate: unknown validator (staking 3), validator with all tokens gone (staking 34),
  not enough funds (sdk 5).
- MsgUndelegate / MsgBeginRedelegate: no delegation (staking 19), more than delegated
  (sdk 18 "invalid shares amount"), too many entries (staking 27 / 33), to the same
  validator (staking 29), unknown source/destination (staking 44 / 31), redelegating from a
  validator the delegator is still redelegating into (staking 32, "transitive").
- MsgCancelUnbondingDelegation: no such entry (staking 26 / sdk 38), more than the entry
  (sdk 18), jailed validator (staking 7).
- MsgUpdateParams: authority other than the gov module account (sdk 4).
"""

from __future__ import annotations

from typing import Any

import attrs
from google.protobuf import any_pb2

from sultan import Context, Event
from sultan.kernel import legacydec as dec
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import DEC_ONE, Coin, is_valid_denom, parse_int
from sultan.kernel.errors import (
    ErrInvalidRequest,
    ErrInvalidType,
    ErrUnauthorized,
    SdkError,
)
from sultan.kernel.timeutil import format_rfc3339_nano
from sultan.pb.cosmos.crypto.ed25519 import keys_pb2 as ed25519_pb2
from sultan_staking import convert, errors, keys
from sultan_staking.keeper import StakingKeeper, account, valoper
from sultan_staking.pb.cosmos.staking.v1beta1 import tx_pb2
from sultan_staking.state import DAY_NS, ParamsRecord, ValidatorRecord

DO_NOT_MODIFY = "[do-not-modify]"
MAX_LENGTHS = {
    "moniker": 70,
    "identity": 3000,
    "website": 140,
    "security_contact": 140,
    "details": 280,
}


def valoper_to_account(text: str) -> str:
    """The account that signs for a validator operator address (same bytes)."""
    try:
        return ACCOUNT_CODEC.to_string(VALIDATOR_CODEC.to_bytes(text))
    except SdkError:
        return text


def _val_address(text: str, what: str = "validator") -> bytes:
    return VALIDATOR_CODEC.parse(text, what)


def _acc_address(text: str, what: str = "delegator") -> bytes:
    return ACCOUNT_CODEC.parse(text, what)


def _positive_amount(coin: Any, what: str) -> Coin:
    try:
        parsed = Coin.from_proto(coin)
    except SdkError:
        raise ErrInvalidRequest(what) from None
    if parsed.amount <= 0:
        raise ErrInvalidRequest(what)
    return parsed


def _check_denom(keeper: StakingKeeper, ctx: Context, denom: str) -> None:
    bond = keeper.bond_denom(ctx)
    if denom != bond:
        raise ErrInvalidRequest(f"invalid coin denomination: got {denom}, expected {bond}")


def parse_dec_field(text: str, what: str) -> int:
    """A LegacyDec from protobuf (integer atomics, possibly negative)."""
    try:
        return int(text)
    except ValueError:
        raise ErrInvalidRequest(f"invalid {what}: {text!r}") from None


def _parse_int_field(text: str, what: str) -> int:
    try:
        return parse_int(text, what)
    except SdkError:
        raise ErrInvalidRequest(f"invalid {what}: {text!r}") from None


def check_commission_rates(rate: int, max_rate: int, max_change_rate: int) -> None:
    """The SDK's `CommissionRates.Validate`."""
    if max_rate < 0:
        raise errors.ErrCommissionNegative()
    if max_rate > DEC_ONE:
        raise errors.ErrCommissionHuge()
    if rate < 0:
        raise errors.ErrCommissionNegative()
    if rate > max_rate:
        raise errors.ErrCommissionGTMaxRate()
    if max_change_rate < 0:
        raise errors.ErrCommissionChangeRateNegative()
    if max_change_rate > max_rate:
        raise errors.ErrCommissionChangeRateGTMaxRate()


def _description(msg_desc: Any) -> dict[str, Any]:
    return {name: getattr(msg_desc, name) for name in MAX_LENGTHS}


def _ensure_length(desc: dict[str, Any]) -> None:
    for name, limit in MAX_LENGTHS.items():
        if len(desc[name]) > limit:
            label = name.replace("_", " ")
            raise ErrInvalidRequest(f"invalid {label} length; got: {len(desc[name])}, max: {limit}")


def _ed25519_key(pubkey: Any) -> bytes:
    if pubkey.type_url != keys.ED25519_PUBKEY_TYPE_URL:
        raise errors.ErrValidatorPubKeyTypeNotSupported(
            f"got: {pubkey.type_url.lstrip('/')}, expected: [ed25519]"
        )
    key = ed25519_pb2.PubKey()
    try:
        key.ParseFromString(pubkey.value)
    except Exception:
        raise ErrInvalidType("Expecting cryptotypes.PubKey") from None
    if len(key.key) != 32:
        raise ErrInvalidType(f"invalid ed25519 public key length {len(key.key)}")
    return bytes(key.key)


def create_validator(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val_address(msg.validator_address)
    if not msg.HasField("pubkey") or msg.pubkey == any_pb2.Any():
        raise errors.ErrEmptyValidatorPubKey()
    value = _positive_amount(msg.value, "invalid delegation amount")
    desc = _description(msg.description)
    if not any(desc.values()):
        raise ErrInvalidRequest("empty description")
    rates = msg.commission
    if not (rates.rate or rates.max_rate or rates.max_change_rate):
        raise ErrInvalidRequest("empty commission")
    rate = parse_dec_field(rates.rate or "0", "commission rate")
    max_rate = parse_dec_field(rates.max_rate or "0", "max commission rate")
    max_change = parse_dec_field(rates.max_change_rate or "0", "max change rate")
    check_commission_rates(rate, max_rate, max_change)
    min_self = _parse_int_field(msg.min_self_delegation or "0", "minimum self delegation")
    if min_self <= 0:
        raise ErrInvalidRequest("minimum self delegation must be a positive integer")
    if value.amount < min_self:
        raise errors.ErrSelfDelegationBelowMinimum()
    params = keeper.params(ctx)
    if rate < params.min_commission_rate:
        raise errors.ErrCommissionLTMinRate(
            "cannot set validator commission to less than minimum rate of "
            f"{dec.to_string(params.min_commission_rate)}"
        )
    if keeper.validator(ctx, operator) is not None:
        raise errors.ErrValidatorOwnerExists()
    pub_key = _ed25519_key(msg.pubkey)
    from sultan.kernel.crypto.keys import pubkey_address

    if keeper.validator_by_cons_addr(ctx, pubkey_address(pub_key)) is not None:
        raise errors.ErrValidatorPubKeyExists()
    _check_denom(keeper, ctx, value.denom)
    _ensure_length(desc)
    v = ValidatorRecord(
        operator=operator,
        consensus_pubkey=pub_key,
        status=keys.UNBONDED,
        commission_rate=rate,
        commission_max_rate=max_rate,
        commission_max_change_rate=max_change,
        commission_update_time_ns=ctx.block.time_ns,
        min_self_delegation=min_self,
        **desc,
    )
    keeper.set_validator(ctx, v)
    keeper.set_validator_by_cons(ctx, v)
    keeper.set_power_index(ctx, v)
    for hooks in keeper.hooks(ctx):
        hooks.after_validator_created(ctx, operator)
    keeper.delegate(ctx, operator, value.amount, keys.UNBONDED, v, True)
    ctx.emit(
        Event.of(
            "create_validator",
            ("validator", msg.validator_address),
            ("amount", str(value)),
        )
    )
    return tx_pb2.MsgCreateValidatorResponse()


def edit_validator(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val_address(msg.validator_address)
    desc = _description(msg.description)
    if not any(desc.values()):
        raise ErrInvalidRequest("empty description")
    new_min_self = None
    if msg.min_self_delegation:
        new_min_self = _parse_int_field(msg.min_self_delegation, "minimum self delegation")
        if new_min_self <= 0:
            raise ErrInvalidRequest("minimum self delegation must be a positive integer")
    new_rate = None
    if msg.commission_rate:
        new_rate = parse_dec_field(msg.commission_rate, "commission rate")
        if new_rate > DEC_ONE or new_rate < 0:
            raise ErrInvalidRequest("commission rate must be between 0 and 1 (inclusive)")
    v = keeper.must_validator(ctx, operator)
    updated: dict[str, Any] = {
        name: getattr(v, name) if value == DO_NOT_MODIFY else value for name, value in desc.items()
    }
    _ensure_length(updated)
    v = attrs.evolve(v, **updated)
    if new_rate is not None:
        if ctx.block.time_ns - v.commission_update_time_ns < DAY_NS:
            raise errors.ErrCommissionUpdateTime()
        if new_rate > v.commission_max_rate:
            raise errors.ErrCommissionGTMaxRate()
        if new_rate - v.commission_rate > v.commission_max_change_rate:
            raise errors.ErrCommissionGTMaxChangeRate()
        minimum = keeper.params(ctx).min_commission_rate
        if new_rate < minimum:
            raise errors.ErrCommissionLTMinRate(
                "cannot set validator commission to less than minimum rate of "
                f"{dec.to_string(minimum)}"
            )
        for hooks in keeper.hooks(ctx):
            hooks.before_validator_modified(ctx, operator)
        v = attrs.evolve(v, commission_rate=new_rate, commission_update_time_ns=ctx.block.time_ns)
    if new_min_self is not None:
        if new_min_self <= v.min_self_delegation:
            raise errors.ErrMinSelfDelegationDecreased()
        if new_min_self > v.tokens:
            raise errors.ErrSelfDelegationBelowMinimum()
        v = attrs.evolve(v, min_self_delegation=new_min_self)
    keeper.set_validator(ctx, v)
    ctx.emit(
        Event.of(
            "edit_validator",
            ("commission_rate", dec.to_string(v.commission_rate)),
            ("min_self_delegation", str(v.min_self_delegation)),
        )
    )
    return tx_pb2.MsgEditValidatorResponse()


def delegate(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val_address(msg.validator_address)
    delegator = _acc_address(msg.delegator_address)
    amount = _positive_amount(msg.amount, "invalid delegation amount")
    v = keeper.must_validator(ctx, operator)
    _check_denom(keeper, ctx, amount.denom)
    new_shares = keeper.delegate(ctx, delegator, amount.amount, keys.UNBONDED, v, True)
    ctx.emit(
        Event.of(
            "delegate",
            ("validator", msg.validator_address),
            ("delegator", msg.delegator_address),
            ("amount", str(amount)),
            ("new_shares", dec.to_string(new_shares)),
        )
    )
    return tx_pb2.MsgDelegateResponse()


def undelegate(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val_address(msg.validator_address)
    delegator = _acc_address(msg.delegator_address)
    amount = _positive_amount(msg.amount, "invalid shares amount")
    shares = keeper.validate_unbond_amount(ctx, delegator, operator, amount.amount)
    _check_denom(keeper, ctx, amount.denom)
    completion, returned = keeper.undelegate(ctx, delegator, operator, shares)
    coin = Coin(amount.denom, returned)
    ctx.emit(
        Event.of(
            "unbond",
            ("validator", msg.validator_address),
            ("delegator", msg.delegator_address),
            ("amount", str(coin)),
            ("completion_time", format_rfc3339_nano(completion)),
        )
    )
    return tx_pb2.MsgUndelegateResponse(
        completion_time=convert.timestamp(completion), amount=coin.to_proto()
    )


def begin_redelegate(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    src = _val_address(msg.validator_src_address, "source validator")
    dst = _val_address(msg.validator_dst_address, "destination validator")
    delegator = _acc_address(msg.delegator_address)
    amount = _positive_amount(msg.amount, "invalid shares amount")
    shares = keeper.validate_unbond_amount(ctx, delegator, src, amount.amount)
    _check_denom(keeper, ctx, amount.denom)
    completion = keeper.begin_redelegation(ctx, delegator, src, dst, shares)
    ctx.emit(
        Event.of(
            "redelegate",
            ("source_validator", msg.validator_src_address),
            ("destination_validator", msg.validator_dst_address),
            ("amount", str(amount)),
            ("completion_time", format_rfc3339_nano(completion)),
        )
    )
    return tx_pb2.MsgBeginRedelegateResponse(completion_time=convert.timestamp(completion))


def cancel_unbonding(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    operator = _val_address(msg.validator_address)
    delegator = _acc_address(msg.delegator_address)
    amount = _positive_amount(msg.amount, "invalid amount")
    if msg.creation_height <= 0:
        raise ErrInvalidRequest("invalid height")
    _check_denom(keeper, ctx, amount.denom)
    v = keeper.must_validator(ctx, operator)
    if v.invalid_ex_rate:
        raise errors.ErrDelegatorShareExRateInvalid()
    if v.jailed:
        raise errors.ErrValidatorJailed()
    keeper.cancel_unbonding(ctx, delegator, v, amount.amount, msg.creation_height)
    ctx.emit(
        Event.of(
            "cancel_unbonding_delegation",
            ("amount", str(amount)),
            ("validator", msg.validator_address),
            ("delegator", msg.delegator_address),
            ("creation_height", str(msg.creation_height)),
        )
    )
    return tx_pb2.MsgCancelUnbondingDelegationResponse()


def params_from_proto(p: Any) -> ParamsRecord:
    """Validated params (`Params.Validate`); raises ErrInvalidRequest."""
    unbonding_ns = int(p.unbonding_time.seconds) * 1_000_000_000 + int(p.unbonding_time.nanos)
    if unbonding_ns <= 0:
        raise ErrInvalidRequest(f"unbonding time must be positive: {unbonding_ns}ns")
    if p.max_validators == 0:
        raise ErrInvalidRequest("max validators must be positive")
    if p.max_entries == 0:
        raise ErrInvalidRequest("max entries must be positive")
    if p.historical_entries == 0:
        raise ErrInvalidRequest(
            "historical entries must be positive (IBC light clients need recent headers)"
        )
    if not p.bond_denom.strip() or not is_valid_denom(p.bond_denom):
        raise ErrInvalidRequest(f"invalid bond denom: {p.bond_denom!r}")
    rate = parse_dec_field(p.min_commission_rate or "0", "minimum commission rate")
    if rate < 0:
        raise ErrInvalidRequest(f"minimum commission rate cannot be negative: {rate}")
    if rate > DEC_ONE:
        raise ErrInvalidRequest(f"minimum commission rate cannot be greater than 100%: {rate}")
    return ParamsRecord(
        unbonding_time_ns=unbonding_ns,
        max_validators=p.max_validators,
        max_entries=p.max_entries,
        historical_entries=p.historical_entries,
        bond_denom=p.bond_denom,
        min_commission_rate=rate,
    )


def update_params(keeper: StakingKeeper, ctx: Context, msg: Any) -> Any:
    _acc_address(msg.authority, "authority")
    if msg.authority != keeper.authority:
        raise ErrUnauthorized(
            f"invalid authority; expected {keeper.authority}, got {msg.authority}"
        )
    keeper.set_params(ctx, params_from_proto(msg.params))
    return tx_pb2.MsgUpdateParamsResponse()


def signers_create_validator(msg: Any) -> list[str]:
    return [valoper_to_account(msg.validator_address)]


def signers_edit_validator(msg: Any) -> list[str]:
    return [valoper_to_account(msg.validator_address)]


__all__ = ["account", "valoper"]
