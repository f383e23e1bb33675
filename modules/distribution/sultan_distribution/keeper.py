"""The distribution keeper: fee allocation and Cosmos F1 fee distribution (SDK v0.50).

Each block (BeginBlock) the fees in `fee_collector` — plus the configured block provision,
minted first — move to the distribution module account and are split among the validators
of the previous block's commit by voting power; the community tax goes to the community
pool. A validator's share is split into commission (to its operator) and the rest, which is
owed to its delegators pro rata to stake through F1 accounting:

- every validator has a current period accumulating rewards, and a historical record per
  ended period holding the *cumulative reward ratio* (rewards per token since creation);
- a delegation remembers the period it started in and its stake;
- a delegator's rewards = stake × (ratio at end − ratio at start), truncated.

All values are LegacyDec atomics, rounded exactly as the SDK rounds, so nothing drifts:
outstanding rewards of a validator always cover what its delegators can withdraw.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sultan import Context, Event
from sultan.kernel import legacydec as ld
from sultan.kernel.address import ACCOUNT_CODEC, VALIDATOR_CODEC
from sultan.kernel.coins import Coins
from sultan.kernel.legacydec import DecCoins
from sultan.kernel.store.branch import prefix_end
from sultan.kernel.store.collections import BYTES_KEY
from sultan_distribution import errors, keys, state
from sultan_distribution.expected import AccountKeeper, BankKeeper, StakingKeeper, Validator
from sultan_distribution.state import (
    CurrentRewards,
    HistoricalRewards,
    ParamsRecord,
    StartingInfo,
)


def valoper(address: bytes) -> str:
    return VALIDATOR_CODEC.to_string(address)


def account(address: bytes) -> str:
    return ACCOUNT_CODEC.to_string(address)


class DistributionKeeper:
    def __init__(self) -> None:
        self.accounts: AccountKeeper | None = None
        self.bank: BankKeeper | None = None
        self.staking: StakingKeeper | None = None

    # -- wiring ---------------------------------------------------------------------------

    @property
    def bk(self) -> BankKeeper:
        if self.bank is None:
            raise RuntimeError("distribution keeper used before the bank keeper was bound")
        return self.bank

    @property
    def sk(self) -> StakingKeeper:
        if self.staking is None:
            raise RuntimeError("distribution keeper used before the staking keeper was bound")
        return self.staking

    @property
    def authority(self) -> str:
        assert self.accounts is not None
        return account(self.accounts.module_address(keys.AUTHORITY_MODULE))

    def _kv(self, ctx: Context) -> Any:
        return ctx.kv(keys.STORE_KEY)

    # -- simple state ---------------------------------------------------------------------

    def params(self, ctx: Context) -> ParamsRecord:
        return state.params.get(self._kv(ctx)) or ParamsRecord()

    def set_params(self, ctx: Context, params: ParamsRecord) -> None:
        state.params.set(self._kv(ctx), params)

    def fee_pool(self, ctx: Context) -> DecCoins:
        return state.fee_pool.get(self._kv(ctx)) or DecCoins()

    def set_fee_pool(self, ctx: Context, pool: DecCoins) -> None:
        state.fee_pool.set(self._kv(ctx), pool)

    def block_provision(self, ctx: Context) -> Coins:
        whole, _ = (state.block_provision.get(self._kv(ctx)) or DecCoins()).truncate_decimal()
        return whole

    def set_block_provision(self, ctx: Context, coins: Coins) -> None:
        state.block_provision.set(self._kv(ctx), DecCoins.from_coins(coins))

    def outstanding(self, ctx: Context, operator: bytes) -> DecCoins:
        return state.outstanding_rewards.get(self._kv(ctx), operator) or DecCoins()

    def set_outstanding(self, ctx: Context, operator: bytes, coins: DecCoins) -> None:
        state.outstanding_rewards.set(self._kv(ctx), operator, coins)

    def commission(self, ctx: Context, operator: bytes) -> DecCoins:
        return state.accumulated_commission.get(self._kv(ctx), operator) or DecCoins()

    def set_commission(self, ctx: Context, operator: bytes, coins: DecCoins) -> None:
        state.accumulated_commission.set(self._kv(ctx), operator, coins)

    def current_rewards(self, ctx: Context, operator: bytes) -> CurrentRewards:
        current = state.current_rewards.get(self._kv(ctx), operator)
        if current is None:
            raise errors.ErrNoValidatorDistInfo()
        return current

    def historical(self, ctx: Context, operator: bytes, period: int) -> HistoricalRewards:
        h = state.historical_rewards.get(self._kv(ctx), (operator, period))
        if h is None:
            raise RuntimeError(f"no historical rewards for {valoper(operator)} period {period}")
        return h

    def withdraw_address(self, ctx: Context, delegator: bytes) -> bytes:
        return state.withdraw_addresses.get(self._kv(ctx), delegator) or delegator

    def set_withdraw_address(self, ctx: Context, delegator: bytes, target: bytes) -> None:
        kv = self._kv(ctx)
        if target == delegator:
            state.withdraw_addresses.delete(kv, delegator)
        else:
            state.withdraw_addresses.set(kv, delegator, target)

    def starting_info(self, ctx: Context, operator: bytes, delegator: bytes) -> StartingInfo | None:
        return state.starting_infos.get(self._kv(ctx), (operator, delegator))

    # -- F1 periods -----------------------------------------------------------------------

    def initialize_validator(self, ctx: Context, operator: bytes) -> None:
        kv = self._kv(ctx)
        state.historical_rewards.set(kv, (operator, 0), HistoricalRewards(DecCoins(), 1))
        state.current_rewards.set(kv, operator, CurrentRewards(DecCoins(), 1))
        self.set_commission(ctx, operator, DecCoins())
        self.set_outstanding(ctx, operator, DecCoins())

    def _change_refcount(self, ctx: Context, operator: bytes, period: int, delta: int) -> None:
        kv = self._kv(ctx)
        h = self.historical(ctx, operator, period)
        count = h.reference_count + delta
        if count > 2 or count < 0:
            raise RuntimeError("reference count out of range")
        if count == 0:
            state.historical_rewards.delete(kv, (operator, period))
        else:
            state.historical_rewards.set(
                kv, (operator, period), HistoricalRewards(h.cumulative_reward_ratio, count)
            )

    def increment_validator_period(self, ctx: Context, v: Validator) -> int:
        """End the validator's current period; returns the period just ended."""
        kv = self._kv(ctx)
        current = self.current_rewards(ctx, v.operator)
        if v.tokens == 0:
            self.set_fee_pool(ctx, self.fee_pool(ctx) + current.rewards)
            self.set_outstanding(
                ctx, v.operator, self.outstanding(ctx, v.operator) - current.rewards
            )
            ratio = DecCoins()
        else:
            ratio = current.rewards.quo_dec_truncate(ld.from_int(v.tokens))
        previous = self.historical(ctx, v.operator, current.period - 1)
        self._change_refcount(ctx, v.operator, current.period - 1, -1)
        state.historical_rewards.set(
            kv,
            (v.operator, current.period),
            HistoricalRewards(previous.cumulative_reward_ratio + ratio, 1),
        )
        state.current_rewards.set(kv, v.operator, CurrentRewards(DecCoins(), current.period + 1))
        return current.period

    def initialize_delegation(self, ctx: Context, operator: bytes, delegator: bytes) -> None:
        previous = self.current_rewards(ctx, operator).period - 1
        self._change_refcount(ctx, operator, previous, +1)
        v = self.sk.validator(ctx, operator)
        shares = self.sk.delegation(ctx, delegator, operator)
        if v is None or shares is None:
            raise RuntimeError("initialize_delegation without validator or delegation")
        stake = self.sk.tokens_from_shares_truncated(v, shares)
        state.starting_infos.set(
            self._kv(ctx), (operator, delegator), StartingInfo(previous, stake, max(0, ctx.height))
        )

    def _rewards_between(
        self, ctx: Context, operator: bytes, start: int, end: int, stake: int
    ) -> DecCoins:
        if start > end:
            raise RuntimeError("startingPeriod cannot be greater than endingPeriod")
        if stake < 0:
            raise RuntimeError("stake should not be negative")
        starting = self.historical(ctx, operator, start).cumulative_reward_ratio
        ending = self.historical(ctx, operator, end).cumulative_reward_ratio
        difference = ending - starting  # raises on negative, as the SDK panics
        return difference.mul_dec_truncate(stake)

    def calculate_rewards(
        self, ctx: Context, v: Validator, delegator: bytes, shares: int, ending_period: int
    ) -> DecCoins:
        info = self.starting_info(ctx, v.operator, delegator)
        if info is None:
            raise errors.ErrEmptyDelegationDistInfo()
        if info.height == ctx.height:
            return DecCoins()
        stake = info.stake
        current_stake = self.sk.tokens_from_shares(v, shares)
        if stake > current_stake:
            margin = 3  # the SDK's allowed rounding error, in atomics
            if stake <= current_stake + margin:
                stake = current_stake
            else:
                raise RuntimeError(
                    f"calculated final stake for delegator {account(delegator)} greater than "
                    f"current stake: {ld.to_string(stake)} > {ld.to_string(current_stake)}"
                )
        return self._rewards_between(ctx, v.operator, info.previous_period, ending_period, stake)

    def withdraw_delegation_rewards(self, ctx: Context, v: Validator, delegator: bytes) -> Coins:
        if self.starting_info(ctx, v.operator, delegator) is None:
            raise errors.ErrEmptyDelegationDistInfo()
        shares = self.sk.delegation(ctx, delegator, v.operator)
        if shares is None:
            raise errors.ErrEmptyDelegationDistInfo()
        ending = self.increment_validator_period(ctx, v)
        raw = self.calculate_rewards(ctx, v, delegator, shares, ending)
        outstanding = self.outstanding(ctx, v.operator)
        rewards = raw.intersect(outstanding)
        final, remainder = rewards.truncate_decimal()
        if final:
            target = self.withdraw_address(ctx, delegator)
            self.bk.send_coins_from_module_to_account(ctx, keys.MODULE_NAME, target, final)
        self.set_outstanding(ctx, v.operator, outstanding - rewards)
        self.set_fee_pool(ctx, self.fee_pool(ctx) + remainder)
        info = self.starting_info(ctx, v.operator, delegator)
        assert info is not None
        self._change_refcount(ctx, v.operator, info.previous_period, -1)
        state.starting_infos.delete(self._kv(ctx), (v.operator, delegator))
        shown = str(final) if final else f"0{self.sk.bond_denom(ctx)}"
        ctx.emit(
            Event.of(
                "withdraw_rewards",
                ("amount", shown),
                ("validator", valoper(v.operator)),
                ("delegator", account(delegator)),
            )
        )
        return final

    def withdraw_validator_commission(self, ctx: Context, operator: bytes) -> Coins:
        accumulated = self.commission(ctx, operator)
        if accumulated.is_zero():
            raise errors.ErrNoValidatorCommission()
        commission, remainder = accumulated.truncate_decimal()
        self.set_commission(ctx, operator, remainder)
        self.set_outstanding(
            ctx, operator, self.outstanding(ctx, operator) - DecCoins.from_coins(commission)
        )
        if commission:
            target = self.withdraw_address(ctx, operator)
            self.bk.send_coins_from_module_to_account(ctx, keys.MODULE_NAME, target, commission)
        ctx.emit(
            Event.of(
                "withdraw_commission", ("amount", str(commission)), ("validator", valoper(operator))
            )
        )
        return commission

    # -- allocation -----------------------------------------------------------------------

    def allocate_tokens_to_validator(self, ctx: Context, v: Validator, tokens: DecCoins) -> None:
        commission = tokens.mul_dec(v.commission_rate)
        shared = tokens - commission
        operator = valoper(v.operator)
        ctx.emit(Event.of("commission", ("amount", str(commission)), ("validator", operator)))
        self.set_commission(ctx, v.operator, self.commission(ctx, v.operator) + commission)
        current = self.current_rewards(ctx, v.operator)
        state.current_rewards.set(
            self._kv(ctx), v.operator, CurrentRewards(current.rewards + shared, current.period)
        )
        ctx.emit(Event.of("rewards", ("amount", str(tokens)), ("validator", operator)))
        self.set_outstanding(ctx, v.operator, self.outstanding(ctx, v.operator) + tokens)

    def allocate_tokens(self, ctx: Context, votes: list[tuple[bytes, int]]) -> None:
        """Split the fee collector's balance over `votes` [(consensus address, power)]."""
        assert self.accounts is not None
        collector = self.accounts.module_address(keys.FEE_COLLECTOR)
        fees = self.bk.get_all_balances(ctx, collector)
        if fees:
            self.bk.send_coins_from_module_to_module(
                ctx, keys.FEE_COLLECTOR, keys.MODULE_NAME, fees
            )
        collected = DecCoins.from_coins(fees)
        total_power = sum(power for _, power in votes)
        if total_power == 0:
            self.set_fee_pool(ctx, self.fee_pool(ctx) + collected)
            return
        remaining = collected
        multiplier = ld.from_int(1) - self.params(ctx).community_tax
        fee_multiplier = collected.mul_dec_truncate(multiplier)
        for consensus, power in votes:
            v = self.sk.validator_by_cons_addr(ctx, consensus)
            if v is None:
                continue  # a validator already removed: its share stays in the community pool
            fraction = ld.quo_truncate(ld.from_int(power), ld.from_int(total_power))
            reward = fee_multiplier.mul_dec_truncate(fraction)
            self.allocate_tokens_to_validator(ctx, v, reward)
            remaining = remaining - reward
        self.set_fee_pool(ctx, self.fee_pool(ctx) + remaining)

    def begin_block(self, ctx: Context) -> None:
        provision = self.block_provision(ctx)
        if provision:
            self.bk.mint_coins(ctx, keys.MODULE_NAME, provision)
            self.bk.send_coins_from_module_to_module(
                ctx, keys.MODULE_NAME, keys.FEE_COLLECTOR, provision
            )
        if ctx.block.votes:
            votes = [(vote.address, vote.power) for vote in ctx.block.votes]
        else:
            votes = self._bonded_votes(ctx)
        if ctx.height > 1:
            self.allocate_tokens(ctx, votes)
        if ctx.block.proposer_address:
            state.previous_proposer.set(self._kv(ctx), ctx.block.proposer_address)

    def _bonded_votes(self, ctx: Context) -> list[tuple[bytes, int]]:
        """Without a commit (contexts built by hand): the bonded set by power."""
        from sultan.kernel.crypto.keys import pubkey_address

        votes = []
        for operator, power in sorted(self.sk.last_validator_powers(ctx).items()):
            v = self.sk.validator(ctx, operator)
            if v is not None:
                votes.append((pubkey_address(v.consensus_pubkey), power))
        return votes

    # -- iteration (genesis, queries) -----------------------------------------------------

    def iterate_outstanding(self, ctx: Context) -> Iterator[tuple[bytes, DecCoins]]:
        yield from state.outstanding_rewards.items(self._kv(ctx))

    def iterate_commission(self, ctx: Context) -> Iterator[tuple[bytes, DecCoins]]:
        yield from state.accumulated_commission.items(self._kv(ctx))

    def iterate_historical(
        self, ctx: Context
    ) -> Iterator[tuple[tuple[bytes, int], HistoricalRewards]]:
        yield from state.historical_rewards.items(self._kv(ctx))

    def iterate_current(self, ctx: Context) -> Iterator[tuple[bytes, CurrentRewards]]:
        yield from state.current_rewards.items(self._kv(ctx))

    def iterate_starting_infos(
        self, ctx: Context
    ) -> Iterator[tuple[tuple[bytes, bytes], StartingInfo]]:
        yield from state.starting_infos.items(self._kv(ctx))

    def iterate_withdraw_addresses(self, ctx: Context) -> Iterator[tuple[bytes, bytes]]:
        yield from state.withdraw_addresses.items(self._kv(ctx))

    def delete_validator(self, ctx: Context, operator: bytes) -> None:
        kv = self._kv(ctx)
        state.outstanding_rewards.delete(kv, operator)
        state.accumulated_commission.delete(kv, operator)
        state.current_rewards.delete(kv, operator)
        prefix = state.historical_rewards.prefix + BYTES_KEY.encode(operator)
        for key, _ in list(kv.iterate(prefix, prefix_end(prefix))):
            kv.delete(key)

    def total_outstanding(self, ctx: Context) -> DecCoins:
        total = DecCoins()
        for _op, coins in self.iterate_outstanding(ctx):
            total = total + coins
        return total


class DistributionHooks:
    """Staking hooks (SDK v0.50 x/distribution/keeper/hooks.go)."""

    def __init__(self, keeper: DistributionKeeper) -> None:
        self.k = keeper

    def after_validator_created(self, ctx: Context, validator: bytes) -> None:
        self.k.initialize_validator(ctx, validator)

    def before_validator_modified(self, ctx: Context, validator: bytes) -> None:
        return None

    def after_validator_removed(self, ctx: Context, consensus: bytes, validator: bytes) -> None:
        k = self.k
        outstanding = k.outstanding(ctx, validator)
        commission = k.commission(ctx, validator)
        pool = k.fee_pool(ctx)
        if not commission.is_zero():
            outstanding = outstanding - commission
            coins, remainder = commission.truncate_decimal()
            pool = pool + remainder
            if coins:
                target = k.withdraw_address(ctx, validator)
                k.bk.send_coins_from_module_to_account(ctx, keys.MODULE_NAME, target, coins)
        k.set_fee_pool(ctx, pool + outstanding)
        k.delete_validator(ctx, validator)

    def after_validator_bonded(self, ctx: Context, consensus: bytes, validator: bytes) -> None:
        return None

    def after_validator_begin_unbonding(
        self, ctx: Context, consensus: bytes, validator: bytes
    ) -> None:
        return None

    def before_delegation_created(self, ctx: Context, delegator: bytes, validator: bytes) -> None:
        v = self.k.sk.validator(ctx, validator)
        if v is None:
            raise errors.ErrNoValidatorExists()
        self.k.increment_validator_period(ctx, v)

    def before_delegation_shares_modified(
        self, ctx: Context, delegator: bytes, validator: bytes
    ) -> None:
        v = self.k.sk.validator(ctx, validator)
        if v is None:
            raise errors.ErrNoValidatorExists()
        self.k.withdraw_delegation_rewards(ctx, v, delegator)

    def before_delegation_removed(self, ctx: Context, delegator: bytes, validator: bytes) -> None:
        return None

    def after_delegation_modified(self, ctx: Context, delegator: bytes, validator: bytes) -> None:
        self.k.initialize_delegation(ctx, validator, delegator)
