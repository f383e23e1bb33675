"""Staking genesis in the Cosmos JSON shape, plus Sultan's `gen_txs`.

```json
{"params": {"unbonding_time": "1814400s", "max_validators": 100, "max_entries": 7,
            "historical_entries": 10000, "bond_denom": "usultan",
            "min_commission_rate": "0.000000000000000000"},
 "last_total_power": "0", "last_validator_powers": [], "validators": [], "delegations": [],
 "unbonding_delegations": [], "redelegations": [], "exported": false, "gen_txs": []}
```

Everything but `gen_txs` is the SDK's `cosmos.staking.v1beta1.GenesisState` as protobuf
JSON (decimals as "1.000000000000000000"). `gen_txs` holds base64 `TxRaw`s made by
`sultan genesis gentx`: each carries one MsgCreateValidator signed (SIGN_MODE_DIRECT, account
number 0, sequence 0) by the operator's account key. The SDK keeps them in a separate
`genutil` section; Sultan has no genutil module, so staking owns them. At InitChain they run
after the validators/delegations above, through the same code as a MsgCreateValidator tx (the
operator must be funded in bank genesis; bank must come before staking in plugins.toml),
then the bonded set is computed and returned to the consensus engine.

An exported genesis (`exported: true`) restores validators, delegations, queues and the last
validator powers as they were; the pools' balances (in bank genesis) must equal the bonded
and not-bonded tokens, or InitChain refuses the genesis.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from google.protobuf import json_format

from sultan import Context, SdkError
from sultan.kernel import legacydec
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC, pubkey_to_address
from sultan.kernel.crypto import secp256k1
from sultan.pb.cosmos.crypto.ed25519 import keys_pb2 as _ed25519_registered  # noqa: F401
from sultan.pb.cosmos.crypto.secp256k1 import keys_pb2 as secp256k1_pb2
from sultan.pb.cosmos.tx.v1beta1 import tx_pb2 as sdk_tx
from sultan_staking import convert, keys, msg_server, state
from sultan_staking.keeper import StakingKeeper, validator_update
from sultan_staking.pb.cosmos.staking.v1beta1 import genesis_pb2, tx_pb2
from sultan_staking.state import (
    RedelegationEntry,
    UnbondingEntry,
    ValidatorRecord,
)

GEN_TXS = "gen_txs"


def default_genesis() -> dict[str, Any]:
    params = genesis_pb2.GenesisState(params=convert.params_proto(state.ParamsRecord()))
    out = to_json(params)
    out[GEN_TXS] = []
    return out


def to_json(gs: Any, last_total_power: int = 0) -> dict[str, Any]:
    msg = copy.deepcopy(gs)
    legacydec.convert_dec_fields(msg, to_atomics=False)
    out = json_format.MessageToDict(
        msg, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    out["last_total_power"] = str(last_total_power)
    return out


def parse_genesis(data: Any) -> tuple[Any, int, list[bytes]]:
    """(GenesisState with atomic decimals, last_total_power, gen_txs as TxRaw bytes)."""
    if not isinstance(data, dict):
        raise ValueError("staking genesis must be a JSON object")
    body = dict(data)
    raw_txs = body.pop(GEN_TXS, None) or []
    if not isinstance(raw_txs, list) or not all(isinstance(t, str) for t in raw_txs):
        raise ValueError("gen_txs must be a list of base64 TxRaw strings")
    total_text = body.pop("last_total_power", "0")
    try:
        last_total_power = int(str(total_text or "0"))
    except ValueError:
        raise ValueError(f"last_total_power must be an integer, got {total_text!r}") from None
    gs = genesis_pb2.GenesisState()
    try:
        json_format.ParseDict(body, gs)
        legacydec.convert_dec_fields(gs, to_atomics=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise ValueError(f"invalid staking genesis: {exc}") from None
    txs = []
    for i, text in enumerate(raw_txs):
        try:
            txs.append(base64.b64decode(text, validate=True))
        except ValueError:
            raise ValueError(f"gen_txs[{i}] is not base64") from None
    return gs, last_total_power, txs


def _params(gs: Any) -> state.ParamsRecord:
    try:
        return msg_server.params_from_proto(gs.params)
    except SdkError as exc:
        raise ValueError(f"params: {exc.message}") from None


def validator_from_proto(v: Any, where: str) -> ValidatorRecord:
    try:
        operator = VALIDATOR_CODEC.to_bytes(v.operator_address)
    except SdkError as exc:
        raise ValueError(f"{where}.operator_address: {exc.message}") from None
    try:
        pub_key = msg_server._ed25519_key(v.consensus_pubkey)
    except SdkError as exc:
        raise ValueError(f"{where}.consensus_pubkey: {exc.log}") from None
    if v.status not in keys.STATUS_NAMES:
        raise ValueError(f"{where}: invalid validator status")
    rates = v.commission.commission_rates
    try:
        return ValidatorRecord(
            operator=operator,
            consensus_pubkey=pub_key,
            jailed=v.jailed,
            status=v.status,
            tokens=int(v.tokens or "0"),
            delegator_shares=int(v.delegator_shares or "0"),
            moniker=v.description.moniker,
            identity=v.description.identity,
            website=v.description.website,
            security_contact=v.description.security_contact,
            details=v.description.details,
            unbonding_height=v.unbonding_height,
            unbonding_time_ns=convert.timestamp_ns(v.unbonding_time),
            commission_rate=int(rates.rate or "0"),
            commission_max_rate=int(rates.max_rate or "0"),
            commission_max_change_rate=int(rates.max_change_rate or "0"),
            commission_update_time_ns=convert.timestamp_ns(v.commission.update_time),
            min_self_delegation=int(v.min_self_delegation or "0"),
            unbonding_on_hold_ref_count=v.unbonding_on_hold_ref_count,
            unbonding_ids=tuple(v.unbonding_ids),
        )
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def validate_genesis(data: dict[str, Any]) -> None:
    gs, _total, txs = parse_genesis(data)
    _params(gs)
    seen_ops: set[bytes] = set()
    seen_keys: set[bytes] = set()
    for i, pb in enumerate(gs.validators):
        v = validator_from_proto(pb, f"validators[{i}]")
        if v.operator in seen_ops:
            raise ValueError(f"duplicate validator in genesis state: {pb.operator_address}")
        if v.consensus_pubkey in seen_keys:
            raise ValueError(f"duplicate validator pubkey in genesis state: {pb.operator_address}")
        if v.jailed and v.is_bonded:
            raise ValueError(
                f"validator is bonded and jailed in genesis state: {pb.operator_address}"
            )
        if v.delegator_shares == 0 and not v.is_unbonding:
            raise ValueError(
                f"bonded/unbonded genesis validator cannot have zero delegator shares: {pb.operator_address}"
            )
        seen_ops.add(v.operator)
        seen_keys.add(v.consensus_pubkey)
    for i, tx in enumerate(txs):
        decode_gentx(tx, f"gen_txs[{i}]")


def decode_gentx(raw: bytes, where: str = "gentx") -> tuple[Any, Any, bytes, bytes]:
    """(TxRaw, MsgCreateValidator, signer pubkey, signature) of a gentx; checks its shape."""
    try:
        tx = sdk_tx.TxRaw.FromString(raw)
        body = sdk_tx.TxBody.FromString(tx.body_bytes)
        auth_info = sdk_tx.AuthInfo.FromString(tx.auth_info_bytes)
    except Exception:
        raise ValueError(f"{where}: not a TxRaw") from None
    if len(body.messages) != 1 or body.messages[0].type_url != keys.MSG_CREATE_VALIDATOR:
        raise ValueError(f"{where}: a gentx holds exactly one {keys.MSG_CREATE_VALIDATOR}")
    msg = tx_pb2.MsgCreateValidator.FromString(body.messages[0].value)
    if len(auth_info.signer_infos) != 1 or len(tx.signatures) != 1:
        raise ValueError(f"{where}: a gentx has exactly one signer")
    info = auth_info.signer_infos[0]
    if info.public_key.type_url != "/cosmos.crypto.secp256k1.PubKey":
        raise ValueError(f"{where}: the signer key must be secp256k1")
    pub_key = bytes(secp256k1_pb2.PubKey.FromString(info.public_key.value).key)
    try:
        operator = VALIDATOR_CODEC.to_bytes(msg.validator_address)
    except SdkError as exc:
        raise ValueError(f"{where}: validator_address: {exc.message}") from None
    if pubkey_to_address(pub_key) != operator:
        raise ValueError(f"{where}: signed by a key that is not the validator operator's")
    return tx, msg, pub_key, bytes(tx.signatures[0])


def verify_gentx(raw: bytes, chain_id: str, where: str = "gentx") -> Any:
    """The gentx's MsgCreateValidator after checking its signature for `chain_id`."""
    tx, msg, pub_key, signature = decode_gentx(raw, where)
    sign_doc = sdk_tx.SignDoc(
        body_bytes=tx.body_bytes,
        auth_info_bytes=tx.auth_info_bytes,
        chain_id=chain_id,
        account_number=0,
    ).SerializeToString()
    if not secp256k1.verify(pub_key, sign_doc, signature):
        raise ValueError(
            f"{where}: signature verification failed (signed for another chain id than {chain_id!r}?)"
        )
    return msg


def init_genesis(keeper: StakingKeeper, ctx: Context, data: dict[str, Any]) -> list[Any]:
    gs, last_total_power, txs = parse_genesis(data)
    keeper.set_params(ctx, _params(gs))
    kv = ctx.kv(keys.STORE_KEY)
    state.last_total_power.set(kv, last_total_power)
    bonded = not_bonded = 0
    for i, pb in enumerate(gs.validators):
        v = validator_from_proto(pb, f"validators[{i}]")
        keeper.set_validator(ctx, v)
        keeper.set_validator_by_cons(ctx, v)
        keeper.set_power_index(ctx, v)
        if not gs.exported:
            for hooks in keeper.hooks(ctx):
                hooks.after_validator_created(ctx, v.operator)
        if v.is_unbonding:
            state.validator_queue.set(kv, keeper._validator_queue_key(v), b"")
        if v.is_bonded:
            bonded += v.tokens
        else:
            not_bonded += v.tokens
    for pb in gs.delegations:
        delegator = ACCOUNT_CODEC.to_bytes(pb.delegator_address)
        operator = VALIDATOR_CODEC.to_bytes(pb.validator_address)
        if not gs.exported:
            for hooks in keeper.hooks(ctx):
                hooks.before_delegation_created(ctx, delegator, operator)
        keeper.set_delegation(ctx, delegator, operator, int(pb.shares or "0"))
        if not gs.exported:
            for hooks in keeper.hooks(ctx):
                hooks.after_delegation_modified(ctx, delegator, operator)
    for pb in gs.unbonding_delegations:
        delegator = ACCOUNT_CODEC.to_bytes(pb.delegator_address)
        operator = VALIDATOR_CODEC.to_bytes(pb.validator_address)
        entries = tuple(
            UnbondingEntry(
                e.creation_height,
                convert.timestamp_ns(e.completion_time),
                int(e.initial_balance or "0"),
                int(e.balance or "0"),
                e.unbonding_id,
                e.unbonding_on_hold_ref_count,
            )
            for e in pb.entries
        )
        keeper.set_unbonding_delegation(ctx, delegator, operator, entries)
        for e in entries:
            key = state.time_key(e.completion_time_ns) + state.PARTS.encode((delegator, operator))
            state.ubd_queue.set(kv, key, b"")
            not_bonded += e.balance
    for pb in gs.redelegations:
        delegator = ACCOUNT_CODEC.to_bytes(pb.delegator_address)
        src = VALIDATOR_CODEC.to_bytes(pb.validator_src_address)
        dst = VALIDATOR_CODEC.to_bytes(pb.validator_dst_address)
        red_entries = tuple(
            RedelegationEntry(
                e.creation_height,
                convert.timestamp_ns(e.completion_time),
                int(e.initial_balance or "0"),
                int(e.shares_dst or "0"),
                e.unbonding_id,
                e.unbonding_on_hold_ref_count,
            )
            for e in pb.entries
        )
        keeper.set_redelegation(ctx, delegator, src, dst, red_entries)
        for red_entry in red_entries:
            key = state.time_key(red_entry.completion_time_ns) + state.PARTS.encode(
                (delegator, src, dst)
            )
            state.red_queue.set(kv, key, b"")
    max_id = max(
        [0]
        + [max(v.unbonding_ids, default=0) for v in keeper.iterate_validators(ctx)]
        + [e.unbonding_id for _d, _o, es in keeper.iterate_unbonding_delegations(ctx) for e in es]
        + [e.unbonding_id for _d, _s, _t, es in keeper.iterate_redelegations(ctx) for e in es]
    )
    while state.unbonding_id.peek(kv) < max_id:
        state.unbonding_id.next(kv)
    pool_not_bonded, pool_bonded = keeper.pool_balances(ctx)
    denom = keeper.bond_denom(ctx)
    if pool_bonded != bonded:
        raise ValueError(
            f"bonded pool balance is different from bonded coins: {pool_bonded}{denom} <-> "
            f"{bonded}{denom}"
        )
    if pool_not_bonded != not_bonded:
        raise ValueError(
            f"not bonded pool balance is different from not bonded coins: "
            f"{pool_not_bonded}{denom} <-> {not_bonded}{denom}"
        )
    if gs.exported:
        updates = []
        for lv in gs.last_validator_powers:
            operator = VALIDATOR_CODEC.to_bytes(lv.address)
            state.last_validator_power.set(kv, operator, lv.power)
            last = keeper.validator(ctx, operator)
            if last is None:
                raise ValueError(f"validator {lv.address} not found")
            updates.append(validator_update(last, lv.power))
        return updates
    for i, raw in enumerate(txs):
        msg = verify_gentx(raw, ctx.chain_id, f"gen_txs[{i}]")
        try:
            msg_server.create_validator(keeper, ctx, msg)
        except SdkError as exc:
            raise ValueError(f"gen_txs[{i}] ({msg.description.moniker}): {exc.log}") from None
    return keeper.apply_and_return_validator_set_updates(ctx)


def export_genesis(keeper: StakingKeeper, ctx: Context) -> dict[str, Any]:
    gs = genesis_pb2.GenesisState(params=convert.params_proto(keeper.params(ctx)), exported=True)
    for operator, power in sorted(keeper.last_validator_powers(ctx).items()):
        gs.last_validator_powers.add(address=VALIDATOR_CODEC.to_string(operator), power=power)
    gs.validators.extend(convert.validator_proto(v) for v in keeper.iterate_validators(ctx))
    gs.delegations.extend(
        convert.delegation_proto(d, o, s) for d, o, s in keeper.iterate_delegations(ctx)
    )
    gs.unbonding_delegations.extend(
        convert.unbonding_proto(d, o, e) for d, o, e in keeper.iterate_unbonding_delegations(ctx)
    )
    gs.redelegations.extend(
        convert.redelegation_proto(d, s, t, e) for d, s, t, e in keeper.iterate_redelegations(ctx)
    )
    out = to_json(gs, keeper.last_total_power(ctx))
    out[GEN_TXS] = []
    return out
