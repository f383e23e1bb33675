"""The staking keeper: the only code that reads or writes the staking store.

It follows SDK v0.50's x/staking step for step (exchange rate, pools, the power index, the
end-block validator-set update, unbonding queues), with LegacyDec values as ints of 10^-18
units and the SDK's rounding (`sultan.kernel.legacydec`). Tokens live in two module accounts
through the bank keeper: `bonded_tokens_pool` holds the tokens of bonded validators,
`not_bonded_tokens_pool` those of unbonding/unbonded validators and of unbonding delegations.

Public interface for other modules (what distribution uses): `validator`, `delegation`,
`validator_by_cons_addr`, `delegator_delegations`, `bond_denom`, `register_hooks`,
`total_bonded_tokens`, `tokens_from_shares`, `tokens_from_shares_truncated`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import attrs

from sultan import Context, Event
from sultan.kernel import legacydec as dec
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import Coin, Coins
from sultan.kernel.crypto.keys import pubkey_address
from sultan.kernel.errors import ErrInvalidRequest, ErrNotFound
from sultan.kernel.store.branch import prefix_end
from sultan.kernel.timeutil import format_rfc3339_nano
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.crypto import keys_pb2 as crypto_pb2
from sultan_staking import errors, keys, state
from sultan_staking.expected import AccountKeeper, BankKeeper, StakingHooks
from sultan_staking.state import (
    ParamsRecord,
    RedelegationEntry,
    UnbondingEntry,
    ValidatorRecord,
)

BOND_DENOM_DEFAULT = "usultan"


def valoper(address: bytes) -> str:
    return VALIDATOR_CODEC.to_string(address)


def account(address: bytes) -> str:
    return ACCOUNT_CODEC.to_string(address)


def time_text(ns: int) -> str:
    return format_rfc3339_nano(ns)


# -- exchange rate (pure functions of a validator record) -------------------------------------


def shares_from_tokens(v: ValidatorRecord, amount: int) -> int:
    if v.tokens == 0:
        raise errors.ErrInsufficientShares()
    return dec.quo_int(v.delegator_shares * amount, v.tokens)


def shares_from_tokens_truncated(v: ValidatorRecord, amount: int) -> int:
    if v.tokens == 0:
        raise errors.ErrInsufficientShares()
    return dec.quo_truncate(v.delegator_shares * amount, dec.from_int(v.tokens))


def tokens_from_shares(v: ValidatorRecord, shares: int) -> int:
    """shares × tokens / delegator_shares, rounded (a LegacyDec)."""
    return dec.quo(shares * v.tokens, v.delegator_shares)


def tokens_from_shares_truncated(v: ValidatorRecord, shares: int) -> int:
    return dec.quo_truncate(shares * v.tokens, v.delegator_shares)


def add_tokens_from_del(v: ValidatorRecord, amount: int) -> tuple[ValidatorRecord, int]:
    issued = dec.from_int(amount) if v.delegator_shares == 0 else shares_from_tokens(v, amount)
    return (
        attrs.evolve(v, tokens=v.tokens + amount, delegator_shares=v.delegator_shares + issued),
        issued,
    )


def remove_del_shares(v: ValidatorRecord, shares: int) -> tuple[ValidatorRecord, int]:
    remaining = v.delegator_shares - shares
    if remaining == 0:
        issued = v.tokens
        tokens = 0
    else:
        issued = dec.truncate_int(tokens_from_shares(v, shares))
        tokens = v.tokens - issued
        if tokens < 0:
            raise RuntimeError("attempting to remove more tokens than available in validator")
    return attrs.evolve(v, tokens=tokens, delegator_shares=remaining), issued


def validator_update(v: ValidatorRecord, power: int) -> Any:
    return abci.ValidatorUpdate(
        pub_key=crypto_pb2.PublicKey(ed25519=v.consensus_pubkey), power=power
    )


class StakingKeeper:
    """Validators, delegations, unbonding and redelegation, pools, params, history."""

    def __init__(self) -> None:
        self.accounts: AccountKeeper | None = None
        self.bank: BankKeeper | None = None
        self._hooks: dict[str, StakingHooks] = {}

    # -- wiring ---------------------------------------------------------------------------

    @property
    def bk(self) -> BankKeeper:
        if self.bank is None:
            raise RuntimeError("staking keeper used before the bank keeper was bound")
        return self.bank

    @property
    def authority(self) -> str:
        if self.accounts is None:
            raise RuntimeError("staking keeper used before the auth keeper was bound")
        return account(self.accounts.module_address(keys.AUTHORITY_MODULE))

    def register_hooks(self, module: str, hooks: StakingHooks) -> None:
        """Called from module `module`'s `bind`; its hooks fire while it is enabled."""
        self._hooks[module] = hooks

    def hooks(self, ctx: Context) -> list[StakingHooks]:
        return [h for name, h in self._hooks.items() if ctx.keepers.get(name) is not None]

    @staticmethod
    def tokens_from_shares(v: ValidatorRecord, shares: int) -> int:
        return tokens_from_shares(v, shares)

    @staticmethod
    def tokens_from_shares_truncated(v: ValidatorRecord, shares: int) -> int:
        return tokens_from_shares_truncated(v, shares)

    # -- params ---------------------------------------------------------------------------

    def params(self, ctx: Context) -> ParamsRecord:
        return state.params.get(ctx.kv(keys.STORE_KEY)) or ParamsRecord()

    def set_params(self, ctx: Context, params: ParamsRecord) -> None:
        state.params.set(ctx.kv(keys.STORE_KEY), params)

    def bond_denom(self, ctx: Context) -> str:
        return self.params(ctx).bond_denom

    # -- validators -----------------------------------------------------------------------

    def validator(self, ctx: Context, operator: bytes) -> ValidatorRecord | None:
        return state.validators.get(ctx.kv(keys.STORE_KEY), bytes(operator))

    def must_validator(self, ctx: Context, operator: bytes) -> ValidatorRecord:
        v = self.validator(ctx, operator)
        if v is None:
            raise errors.ErrNoValidatorFound()
        return v

    def set_validator(self, ctx: Context, v: ValidatorRecord) -> None:
        state.validators.set(ctx.kv(keys.STORE_KEY), v.operator, v)

    def set_validator_by_cons(self, ctx: Context, v: ValidatorRecord) -> None:
        state.validators_by_cons.set(
            ctx.kv(keys.STORE_KEY), pubkey_address(v.consensus_pubkey), v.operator
        )

    def validator_by_cons_addr(self, ctx: Context, consensus: bytes) -> ValidatorRecord | None:
        operator = state.validators_by_cons.get(ctx.kv(keys.STORE_KEY), bytes(consensus))
        return None if operator is None else self.validator(ctx, operator)

    def set_power_index(self, ctx: Context, v: ValidatorRecord) -> None:
        if v.jailed:
            return
        key = state.power_index_key(v.potential_power, v.operator)
        state.validators_by_power.set(ctx.kv(keys.STORE_KEY), key, v.operator)

    def delete_power_index(self, ctx: Context, v: ValidatorRecord) -> None:
        key = state.power_index_key(v.potential_power, v.operator)
        state.validators_by_power.delete(ctx.kv(keys.STORE_KEY), key)

    def iterate_validators(self, ctx: Context) -> Iterator[ValidatorRecord]:
        for _operator, v in state.validators.items(ctx.kv(keys.STORE_KEY)):
            yield v

    def powers_descending(self, ctx: Context) -> Iterator[bytes]:
        """Operators in the power index, highest power first."""
        kv = ctx.kv(keys.STORE_KEY)
        prefix = state.validators_by_power.prefix
        for _key, operator in kv.iterate(prefix, prefix_end(prefix), reverse=True):
            yield operator

    def last_validator_powers(self, ctx: Context) -> dict[bytes, int]:
        return dict(state.last_validator_power.items(ctx.kv(keys.STORE_KEY)))

    def last_total_power(self, ctx: Context) -> int:
        return state.last_total_power.get(ctx.kv(keys.STORE_KEY)) or 0

    def bonded_validators(self, ctx: Context) -> list[ValidatorRecord]:
        """The last end-block's bonded set, highest power first, then by operator."""
        vals = [self.must_validator(ctx, op) for op in self.last_validator_powers(ctx)]
        return sorted(vals, key=lambda v: (-v.tokens, v.operator))

    def total_bonded_tokens(self, ctx: Context) -> int:
        return self.bk.get_balance(
            ctx, self.pool_address(keys.BONDED_POOL), self.bond_denom(ctx)
        ).amount

    def pool_address(self, name: str) -> bytes:
        if self.accounts is None:
            raise RuntimeError("staking keeper used before the auth keeper was bound")
        return self.accounts.module_address(name)

    def pool_balances(self, ctx: Context) -> tuple[int, int]:
        """(not bonded, bonded) balances of the bond denom."""
        denom = self.bond_denom(ctx)
        not_bonded = self.bk.get_balance(ctx, self.pool_address(keys.NOT_BONDED_POOL), denom)
        bonded = self.bk.get_balance(ctx, self.pool_address(keys.BONDED_POOL), denom)
        return not_bonded.amount, bonded.amount

    def _move_pool(self, ctx: Context, src: str, dst: str, amount: int) -> None:
        if amount <= 0:
            return
        coins = Coins([Coin(self.bond_denom(ctx), amount)])
        self.bk.send_coins_from_module_to_module(ctx, src, dst, coins)

    def bonded_to_not_bonded(self, ctx: Context, amount: int) -> None:
        self._move_pool(ctx, keys.BONDED_POOL, keys.NOT_BONDED_POOL, amount)

    def not_bonded_to_bonded(self, ctx: Context, amount: int) -> None:
        self._move_pool(ctx, keys.NOT_BONDED_POOL, keys.BONDED_POOL, amount)

    def add_validator_tokens_and_shares(
        self, ctx: Context, v: ValidatorRecord, amount: int
    ) -> tuple[ValidatorRecord, int]:
        self.delete_power_index(ctx, v)
        v, issued = add_tokens_from_del(v, amount)
        self.set_validator(ctx, v)
        self.set_power_index(ctx, v)
        return v, issued

    def remove_validator_tokens_and_shares(
        self, ctx: Context, v: ValidatorRecord, shares: int
    ) -> tuple[ValidatorRecord, int]:
        self.delete_power_index(ctx, v)
        v, amount = remove_del_shares(v, shares)
        self.set_validator(ctx, v)
        self.set_power_index(ctx, v)
        return v, amount

    def jail(self, ctx: Context, v: ValidatorRecord) -> ValidatorRecord:
        if v.jailed:
            raise RuntimeError(f"cannot jail already jailed validator {valoper(v.operator)}")
        jailed = attrs.evolve(v, jailed=True)
        self.set_validator(ctx, jailed)
        self.delete_power_index(ctx, v)
        return jailed

    def remove_validator(self, ctx: Context, operator: bytes) -> None:
        v = self.must_validator(ctx, operator)
        if not v.is_unbonded:
            raise errors.ErrBadRemoveValidator(
                "cannot call RemoveValidator on bonded or unbonding validators"
            )
        if v.tokens > 0:
            raise RuntimeError("attempting to remove a validator which still contains tokens")
        kv = ctx.kv(keys.STORE_KEY)
        consensus = pubkey_address(v.consensus_pubkey)
        state.validators.delete(kv, operator)
        state.validators_by_cons.delete(kv, consensus)
        self.delete_power_index(ctx, v)
        for hooks in self.hooks(ctx):
            hooks.after_validator_removed(ctx, consensus, operator)

    # -- delegations ----------------------------------------------------------------------

    def delegation(self, ctx: Context, delegator: bytes, operator: bytes) -> int | None:
        """The delegation's shares (LegacyDec), or None."""
        return state.delegations.get(ctx.kv(keys.STORE_KEY), (bytes(delegator), bytes(operator)))

    def set_delegation(self, ctx: Context, delegator: bytes, operator: bytes, shares: int) -> None:
        state.delegations.set(ctx.kv(keys.STORE_KEY), (delegator, operator), shares)

    def remove_delegation(self, ctx: Context, delegator: bytes, operator: bytes) -> None:
        for hooks in self.hooks(ctx):
            hooks.before_delegation_removed(ctx, delegator, operator)
        state.delegations.delete(ctx.kv(keys.STORE_KEY), (delegator, operator))

    def delegator_delegations(self, ctx: Context, delegator: bytes) -> list[tuple[bytes, int]]:
        """(operator, shares) of every delegation of `delegator`, in operator order."""
        kv = ctx.kv(keys.STORE_KEY)
        prefix = state.delegations.prefix + state.PARTS.encode((bytes(delegator),))
        out = []
        for key, raw in kv.iterate(prefix, prefix_end(prefix)):
            (operator,) = state.PARTS.decode(key[len(prefix) :])
            out.append((operator, state.INT.decode(raw)))
        return out

    def iterate_delegations(self, ctx: Context) -> Iterator[tuple[bytes, bytes, int]]:
        for (delegator, operator), shares in state.delegations.items(ctx.kv(keys.STORE_KEY)):
            yield delegator, operator, shares

    def validator_delegations(self, ctx: Context, operator: bytes) -> list[tuple[bytes, int]]:
        """(delegator, shares) of every delegation to `operator` (a full scan, as the SDK)."""
        return [(d, s) for d, o, s in self.iterate_delegations(ctx) if o == operator]

    def delegate(
        self,
        ctx: Context,
        delegator: bytes,
        amount: int,
        token_src: int,
        v: ValidatorRecord,
        subtract_account: bool,
    ) -> int:
        """Bond `amount` to `v`; returns the shares issued. `token_src` is where the tokens
        are now (UNBONDED = the delegator's account; BONDED/UNBONDING = a pool)."""
        if v.invalid_ex_rate:
            raise errors.ErrDelegatorShareExRateInvalid()
        existing = self.delegation(ctx, delegator, v.operator)
        for hooks in self.hooks(ctx):
            if existing is None:
                hooks.before_delegation_created(ctx, delegator, v.operator)
            else:
                hooks.before_delegation_shares_modified(ctx, delegator, v.operator)
        v = self.must_validator(ctx, v.operator)  # hooks may not change it, but re-read
        if subtract_account:
            if token_src == keys.BONDED:
                raise RuntimeError("delegation token source cannot be bonded")
            pool = keys.BONDED_POOL if v.is_bonded else keys.NOT_BONDED_POOL
            coins = Coins([Coin(self.bond_denom(ctx), amount)])
            self.bk.send_coins_from_account_to_module(ctx, delegator, pool, coins)
        elif token_src == keys.BONDED and not v.is_bonded:
            self.bonded_to_not_bonded(ctx, amount)
        elif token_src != keys.BONDED and v.is_bonded:
            self.not_bonded_to_bonded(ctx, amount)
        v, issued = self.add_validator_tokens_and_shares(ctx, v, amount)
        shares = (existing or 0) + issued
        self.set_delegation(ctx, delegator, v.operator, shares)
        for hooks in self.hooks(ctx):
            hooks.after_delegation_modified(ctx, delegator, v.operator)
        return issued

    def unbond(self, ctx: Context, delegator: bytes, operator: bytes, shares: int) -> int:
        """Remove `shares` from the delegation and the validator; returns the tokens."""
        existing = self.delegation(ctx, delegator, operator)
        if existing is None:
            raise errors.ErrNoDelegation()
        for hooks in self.hooks(ctx):
            hooks.before_delegation_shares_modified(ctx, delegator, operator)
        if existing < shares:
            raise errors.ErrNotEnoughDelegationShares(dec.to_string(existing))
        v = self.must_validator(ctx, operator)
        remaining = existing - shares
        if (
            delegator == operator
            and not v.jailed
            and dec.truncate_int(tokens_from_shares(v, remaining)) < v.min_self_delegation
        ):
            v = self.jail(ctx, v)
        if remaining == 0:
            self.remove_delegation(ctx, delegator, operator)
        else:
            self.set_delegation(ctx, delegator, operator, remaining)
            for hooks in self.hooks(ctx):
                hooks.after_delegation_modified(ctx, delegator, operator)
        v, amount = self.remove_validator_tokens_and_shares(ctx, v, shares)
        if v.delegator_shares == 0 and v.is_unbonded:
            self.remove_validator(ctx, v.operator)
        return amount

    def validate_unbond_amount(
        self, ctx: Context, delegator: bytes, operator: bytes, amount: int
    ) -> int:
        """The shares that `amount` tokens of this delegation are worth (capped)."""
        v = self.must_validator(ctx, operator)
        existing = self.delegation(ctx, delegator, operator)
        if existing is None:
            raise errors.ErrNoDelegation()
        shares = shares_from_tokens(v, amount)
        truncated = shares_from_tokens_truncated(v, amount)
        if truncated > existing:
            raise ErrInvalidRequest("invalid shares amount")
        return min(shares, existing)

    # -- unbonding delegations ------------------------------------------------------------

    def next_unbonding_id(self, ctx: Context) -> int:
        return state.unbonding_id.next(ctx.kv(keys.STORE_KEY)) + 1

    def unbonding_delegation(
        self, ctx: Context, delegator: bytes, operator: bytes
    ) -> tuple[UnbondingEntry, ...] | None:
        record = state.unbonding_delegations.get(
            ctx.kv(keys.STORE_KEY), (bytes(delegator), bytes(operator))
        )
        return None if record is None else state.decode_ubd_entries(record)

    def set_unbonding_delegation(
        self, ctx: Context, delegator: bytes, operator: bytes, entries: tuple[UnbondingEntry, ...]
    ) -> None:
        kv = ctx.kv(keys.STORE_KEY)
        if not entries:
            state.unbonding_delegations.delete(kv, (delegator, operator))
            state.ubd_by_validator.delete(kv, (operator, delegator))
            return
        state.unbonding_delegations.set(
            kv, (delegator, operator), state.encode_ubd_entries(entries)
        )
        state.ubd_by_validator.set(kv, (operator, delegator), b"")

    def iterate_unbonding_delegations(
        self, ctx: Context
    ) -> Iterator[tuple[bytes, bytes, tuple[UnbondingEntry, ...]]]:
        for (d, o), record in state.unbonding_delegations.items(ctx.kv(keys.STORE_KEY)):
            yield d, o, state.decode_ubd_entries(record)

    def has_max_unbonding_entries(self, ctx: Context, delegator: bytes, operator: bytes) -> bool:
        entries = self.unbonding_delegation(ctx, delegator, operator) or ()
        return len(entries) >= self.params(ctx).max_entries

    def undelegate(
        self, ctx: Context, delegator: bytes, operator: bytes, shares: int
    ) -> tuple[int, int]:
        """Start unbonding `shares`; returns (completion time ns, tokens)."""
        v = self.validator(ctx, operator)
        if v is None:
            raise errors.ErrNoDelegatorForAddress()
        if self.has_max_unbonding_entries(ctx, delegator, operator):
            raise errors.ErrMaxUnbondingDelegationEntries()
        amount = self.unbond(ctx, delegator, operator, shares)
        if v.is_bonded:
            self.bonded_to_not_bonded(ctx, amount)
        completion = ctx.block.time_ns + self.params(ctx).unbonding_time_ns
        entries = list(self.unbonding_delegation(ctx, delegator, operator) or ())
        uid = self.next_unbonding_id(ctx)
        for i, entry in enumerate(entries):
            if entry.creation_height == ctx.height and entry.completion_time_ns == completion:
                entries[i] = attrs.evolve(
                    entry,
                    balance=entry.balance + amount,
                    initial_balance=entry.initial_balance + amount,
                )
                break
        else:
            entries.append(UnbondingEntry(ctx.height, completion, amount, amount, uid))
        self.set_unbonding_delegation(ctx, delegator, operator, tuple(entries))
        kv = ctx.kv(keys.STORE_KEY)
        state.ubd_queue.set(
            kv, state.time_key(completion) + state.PARTS.encode((delegator, operator)), b""
        )
        return completion, amount

    def complete_unbonding(self, ctx: Context, delegator: bytes, operator: bytes) -> Coins:
        entries = self.unbonding_delegation(ctx, delegator, operator)
        if entries is None:
            raise errors.ErrNoUnbondingDelegation()
        denom = self.bond_denom(ctx)
        kept: list[UnbondingEntry] = []
        paid = Coins()
        for entry in entries:
            mature = entry.completion_time_ns <= ctx.block.time_ns
            if mature and entry.unbonding_on_hold_ref_count == 0:
                if entry.balance > 0:
                    coins = Coins([Coin(denom, entry.balance)])
                    self.bk.send_coins_from_module_to_account(
                        ctx, keys.NOT_BONDED_POOL, delegator, coins
                    )
                    paid = paid + coins
            else:
                kept.append(entry)
        self.set_unbonding_delegation(ctx, delegator, operator, tuple(kept))
        return paid

    def cancel_unbonding(
        self, ctx: Context, delegator: bytes, v: ValidatorRecord, amount: int, height: int
    ) -> None:
        entries = self.unbonding_delegation(ctx, delegator, v.operator)
        if entries is None:
            raise errors.ErrNoUnbondingDelegation(
                f"unbonding delegation with delegator {account(delegator)} not found for "
                f"validator {valoper(v.operator)}"
            )
        index = next((i for i, e in enumerate(entries) if e.creation_height == height), -1)
        if index == -1:
            raise ErrNotFound(f"unbonding delegation entry is not found at block height {height}")
        entry = entries[index]
        if entry.balance < amount:
            raise ErrInvalidRequest("amount is greater than the unbonding delegation entry balance")
        if entry.completion_time_ns < ctx.block.time_ns:
            raise ErrInvalidRequest("unbonding delegation is already processed")
        self.delegate(ctx, delegator, amount, keys.UNBONDING, v, False)
        updated = list(entries)
        if entry.balance == amount:
            del updated[index]
        else:
            updated[index] = attrs.evolve(
                entry,
                balance=entry.balance - amount,
                initial_balance=entry.initial_balance - amount,
            )
        self.set_unbonding_delegation(ctx, delegator, v.operator, tuple(updated))

    # -- redelegations --------------------------------------------------------------------

    def redelegation(
        self, ctx: Context, delegator: bytes, src: bytes, dst: bytes
    ) -> tuple[RedelegationEntry, ...] | None:
        record = state.redelegations.get(ctx.kv(keys.STORE_KEY), (delegator, src, dst))
        return None if record is None else state.decode_red_entries(record)

    def set_redelegation(
        self,
        ctx: Context,
        delegator: bytes,
        src: bytes,
        dst: bytes,
        entries: tuple[RedelegationEntry, ...],
    ) -> None:
        kv = ctx.kv(keys.STORE_KEY)
        if not entries:
            state.redelegations.delete(kv, (delegator, src, dst))
            state.red_by_src.delete(kv, (src, delegator, dst))
            state.red_by_dst.delete(kv, (dst, delegator, src))
            return
        state.redelegations.set(kv, (delegator, src, dst), state.encode_red_entries(entries))
        state.red_by_src.set(kv, (src, delegator, dst), b"")
        state.red_by_dst.set(kv, (dst, delegator, src), b"")

    def iterate_redelegations(
        self, ctx: Context
    ) -> Iterator[tuple[bytes, bytes, bytes, tuple[RedelegationEntry, ...]]]:
        for (d, s, t), record in state.redelegations.items(ctx.kv(keys.STORE_KEY)):
            yield d, s, t, state.decode_red_entries(record)

    def has_receiving_redelegation(self, ctx: Context, delegator: bytes, dst: bytes) -> bool:
        kv = ctx.kv(keys.STORE_KEY)
        prefix = state.red_by_dst.prefix + state.PARTS.encode((dst, delegator))
        return any(True for _ in kv.iterate(prefix, prefix_end(prefix)))

    def begin_redelegation(
        self, ctx: Context, delegator: bytes, src: bytes, dst: bytes, shares: int
    ) -> int:
        """Move `shares` of (delegator, src) to dst; returns the completion time (ns)."""
        if src == dst:
            raise errors.ErrSelfRedelegation()
        dst_v = self.validator(ctx, dst)
        if dst_v is None:
            raise errors.ErrBadRedelegationDst()
        src_v = self.validator(ctx, src)
        if src_v is None:
            raise errors.ErrBadRedelegationSrc()
        if self.has_receiving_redelegation(ctx, delegator, src):
            raise errors.ErrTransitiveRedelegation()
        existing = self.redelegation(ctx, delegator, src, dst) or ()
        if len(existing) >= self.params(ctx).max_entries:
            raise errors.ErrMaxRedelegationEntries()
        amount = self.unbond(ctx, delegator, src, shares)
        if amount == 0:
            raise errors.ErrTinyRedelegationAmount()
        dst_v = self.must_validator(ctx, dst)
        shares_created = self.delegate(ctx, delegator, amount, src_v.status, dst_v, False)
        current_src = self.validator(ctx, src)
        if current_src is None or current_src.is_bonded:
            completion, height = ctx.block.time_ns + self.params(ctx).unbonding_time_ns, ctx.height
        elif current_src.is_unbonded:
            return 0
        else:
            completion, height = current_src.unbonding_time_ns, current_src.unbonding_height
        entry = RedelegationEntry(
            height, completion, amount, shares_created, self.next_unbonding_id(ctx)
        )
        self.set_redelegation(ctx, delegator, src, dst, (*existing, entry))
        kv = ctx.kv(keys.STORE_KEY)
        state.red_queue.set(
            kv, state.time_key(completion) + state.PARTS.encode((delegator, src, dst)), b""
        )
        return completion

    def complete_redelegation(
        self, ctx: Context, delegator: bytes, src: bytes, dst: bytes
    ) -> Coins:
        entries = self.redelegation(ctx, delegator, src, dst)
        if entries is None:
            raise errors.ErrNoRedelegation()
        denom = self.bond_denom(ctx)
        kept, done = [], Coins()
        for entry in entries:
            if (
                entry.completion_time_ns <= ctx.block.time_ns
                and entry.unbonding_on_hold_ref_count == 0
            ):
                if entry.initial_balance:
                    done = done + Coins([Coin(denom, entry.initial_balance)])
            else:
                kept.append(entry)
        self.set_redelegation(ctx, delegator, src, dst, tuple(kept))
        return done

    # -- validator set --------------------------------------------------------------------

    def _bond(self, ctx: Context, v: ValidatorRecord) -> ValidatorRecord:
        self.delete_power_index(ctx, v)
        if v.is_unbonding:
            self._delete_from_validator_queue(ctx, v)
        v = attrs.evolve(v, status=keys.BONDED)
        self.set_validator(ctx, v)
        self.set_power_index(ctx, v)
        for hooks in self.hooks(ctx):
            hooks.after_validator_bonded(ctx, pubkey_address(v.consensus_pubkey), v.operator)
        return v

    def _begin_unbonding(self, ctx: Context, v: ValidatorRecord) -> ValidatorRecord:
        if not v.is_bonded:
            raise RuntimeError("should not already be unbonded or unbonding")
        v = attrs.evolve(
            v,
            status=keys.UNBONDING,
            unbonding_time_ns=ctx.block.time_ns + self.params(ctx).unbonding_time_ns,
            unbonding_height=ctx.height,
            unbonding_ids=(*v.unbonding_ids, self.next_unbonding_id(ctx)),
        )
        self.set_validator(ctx, v)
        self.set_power_index(ctx, v)
        kv = ctx.kv(keys.STORE_KEY)
        state.validator_queue.set(kv, self._validator_queue_key(v), b"")
        for hooks in self.hooks(ctx):
            hooks.after_validator_begin_unbonding(
                ctx, pubkey_address(v.consensus_pubkey), v.operator
            )
        return v

    @staticmethod
    def _validator_queue_key(v: ValidatorRecord) -> bytes:
        return (
            state.time_key(v.unbonding_time_ns)
            + state.time_key(v.unbonding_height)
            + state.PARTS.encode((v.operator,))
        )

    def _delete_from_validator_queue(self, ctx: Context, v: ValidatorRecord) -> None:
        state.validator_queue.delete(ctx.kv(keys.STORE_KEY), self._validator_queue_key(v))

    def apply_and_return_validator_set_updates(self, ctx: Context) -> list[Any]:
        """Bond the top `max_validators` by power, unbond the rest; ABCI updates for changes."""
        params = self.params(ctx)
        kv = ctx.kv(keys.STORE_KEY)
        last = self.last_validator_powers(ctx)
        updates: list[Any] = []
        total_power = 0
        to_bonded = to_not_bonded = 0
        count = 0
        for operator in list(self.powers_descending(ctx)):
            if count >= params.max_validators:
                break
            v = self.must_validator(ctx, operator)
            if v.jailed:
                raise RuntimeError("should never retrieve a jailed validator from the power store")
            if v.potential_power == 0:
                break
            if not v.is_bonded:
                v = self._bond(ctx, v)
                to_bonded += v.tokens
            power = v.consensus_power
            if last.get(operator) != power:
                updates.append(validator_update(v, power))
                state.last_validator_power.set(kv, operator, power)
            last.pop(operator, None)
            count += 1
            total_power += power
        for operator in sorted(last):
            v = self._begin_unbonding(ctx, self.must_validator(ctx, operator))
            to_not_bonded += v.tokens
            state.last_validator_power.delete(kv, operator)
            updates.append(validator_update(v, 0))
        if to_bonded > to_not_bonded:
            self.not_bonded_to_bonded(ctx, to_bonded - to_not_bonded)
        elif to_not_bonded > to_bonded:
            self.bonded_to_not_bonded(ctx, to_not_bonded - to_bonded)
        if updates:
            state.last_total_power.set(kv, total_power)
        return updates

    def unbond_all_mature_validators(self, ctx: Context) -> None:
        kv = ctx.kv(keys.STORE_KEY)
        prefix = state.validator_queue.prefix
        end = prefix + state.time_key(ctx.block.time_ns + 1)
        for key, _ in list(kv.iterate(prefix, end)):
            raw = key[len(prefix) :]
            height = int.from_bytes(raw[8:16], "big")
            if height > ctx.height:
                continue
            (operator,) = state.PARTS.decode(raw[16:])
            v = self.validator(ctx, operator)
            if v is None or not v.is_unbonding:
                raise RuntimeError(
                    "unexpected validator in unbonding queue; status was not unbonding"
                )
            if v.unbonding_on_hold_ref_count:
                continue
            v = attrs.evolve(v, status=keys.UNBONDED, unbonding_ids=())
            self.set_validator(ctx, v)
            kv.delete(key)
            if v.delegator_shares == 0:
                self.remove_validator(ctx, v.operator)

    # -- block hooks ----------------------------------------------------------------------

    def track_historical_info(self, ctx: Context) -> None:
        """Keep HistoricalInfo for the last `historical_entries` heights (begin block)."""
        from sultan_staking import convert

        kv = ctx.kv(keys.STORE_KEY)
        entries = self.params(ctx).historical_entries
        for height in range(ctx.height - entries, -1, -1):
            if state.historical_info.get(kv, height) is None:
                break
            state.historical_info.delete(kv, height)
        if entries == 0:
            return
        info = convert.historical_info(self, ctx)
        state.historical_info.set(kv, ctx.height, info.SerializeToString())

    def historical_info(self, ctx: Context, height: int) -> bytes | None:
        return state.historical_info.get(ctx.kv(keys.STORE_KEY), height)

    def end_block(self, ctx: Context) -> list[Any]:
        updates = self.apply_and_return_validator_set_updates(ctx)
        self.unbond_all_mature_validators(ctx)
        kv = ctx.kv(keys.STORE_KEY)
        end = state.ubd_queue.prefix + state.time_key(ctx.block.time_ns + 1)
        for key, _ in list(kv.iterate(state.ubd_queue.prefix, end)):
            kv.delete(key)
            delegator, operator = state.PARTS.decode(key[len(state.ubd_queue.prefix) + 8 :])
            try:
                paid = self.complete_unbonding(ctx, delegator, operator)
            except errors.ErrNoUnbondingDelegation:
                continue
            ctx.emit(
                Event.of(
                    "complete_unbonding",
                    ("amount", str(paid)),
                    ("validator", valoper(operator)),
                    ("delegator", account(delegator)),
                )
            )
        end = state.red_queue.prefix + state.time_key(ctx.block.time_ns + 1)
        for key, _ in list(kv.iterate(state.red_queue.prefix, end)):
            kv.delete(key)
            delegator, src, dst = state.PARTS.decode(key[len(state.red_queue.prefix) + 8 :])
            try:
                done = self.complete_redelegation(ctx, delegator, src, dst)
            except errors.ErrNoRedelegation:
                continue
            ctx.emit(
                Event.of(
                    "complete_redelegation",
                    ("amount", str(done)),
                    ("delegator", account(delegator)),
                    ("source_validator", valoper(src)),
                    ("destination_validator", valoper(dst)),
                )
            )
        return updates

    def unbonding_queue_length(self, ctx: Context) -> int:
        kv = ctx.kv(keys.STORE_KEY)
        prefix = state.ubd_queue.prefix
        return sum(1 for _ in kv.iterate(prefix, prefix_end(prefix)))
