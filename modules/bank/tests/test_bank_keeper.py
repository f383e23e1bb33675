"""The bank keeper's module-account interface: mint, burn and module transfers."""

from __future__ import annotations

import pytest
from bank_support import Chain
from sultan_auth.module import keeper as auth_keeper
from sultan_bank.module import keeper as bank_keeper

from sultan.kernel.coins import Coins
from sultan.kernel.errors import ErrInsufficientFunds, ErrUnauthorized, ErrUnknownAddress
from sultan.kernel.store.branch import Branch
from sultan.kernel.tx.context import BlockInfo, Context, ExecMode


@pytest.fixture
def ctx(chain: Chain) -> Context:
    auth_keeper.declare_module_account("test_minter", ("minter", "burner"))
    auth_keeper.declare_module_account("test_plain")
    branch = Branch(chain.h.app.committed.latest())
    return Context(
        branch, BlockInfo(chain.h.height + 1, 0, "test-1"), ExecMode.FINALIZE,
        keepers=chain.h.app.keepers,
    )  # fmt: skip


def test_mint_and_burn_change_supply_and_need_permissions(ctx, alice):
    bank_keeper.mint_coins(ctx, "test_minter", Coins.parse("50usultan"))
    assert bank_keeper.get_supply(ctx, "usultan").amount == 1001050
    minter = auth_keeper.get_module_account(ctx, "test_minter").address
    assert bank_keeper.get_balance(ctx, minter, "usultan").amount == 50
    bank_keeper.burn_coins(ctx, "test_minter", Coins.parse("20usultan"))
    assert bank_keeper.get_supply(ctx, "usultan").amount == 1001030
    with pytest.raises(ErrUnauthorized, match="does not have permissions to mint"):
        bank_keeper.mint_coins(ctx, "test_plain", Coins.parse("1usultan"))
    with pytest.raises(ErrUnauthorized, match="does not have permissions to burn"):
        bank_keeper.burn_coins(ctx, "test_plain", Coins.parse("1usultan"))
    with pytest.raises(ErrInsufficientFunds):
        bank_keeper.burn_coins(ctx, "test_minter", Coins.parse("31usultan"))
    with pytest.raises(ErrUnknownAddress, match="module account nobody does not exist"):
        bank_keeper.mint_coins(ctx, "nobody", Coins.parse("1usultan"))


def test_module_to_account_transfers(ctx, alice):
    bank_keeper.mint_coins(ctx, "test_minter", Coins.parse("10stake"))
    bank_keeper.send_coins_from_module_to_account(
        ctx, "test_minter", alice.address_bytes, Coins.parse("4stake")
    )
    assert bank_keeper.get_balance(ctx, alice.address_bytes, "stake").amount == 504
    bank_keeper.send_coins_from_account_to_module(
        ctx, alice.address_bytes, "test_plain", Coins.parse("4stake")
    )
    plain = auth_keeper.module_address("test_plain")
    assert bank_keeper.get_balance(ctx, plain, "stake").amount == 4
    with pytest.raises(ErrUnauthorized, match="is not allowed to receive funds"):
        bank_keeper.send_coins_from_module_to_account(
            ctx, "test_minter", plain, Coins.parse("1stake")
        )
    bank_keeper.send_coins_from_module_to_module(
        ctx, "test_plain", "test_minter", Coins.parse("4stake")
    )
    assert bank_keeper.get_all_balances(ctx, plain).is_zero()
