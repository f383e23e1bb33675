"""What auth needs from other modules' keepers (received through `bind`)."""

from __future__ import annotations

from typing import Protocol

from sultan import Context
from sultan.kernel.coins import Coins


class BankKeeper(Protocol):
    """The bank keeper, used by the ante chain to move fees to `fee_collector`."""

    def send_coins_from_account_to_module(
        self, ctx: Context, sender: bytes, recipient_module: str, amount: Coins
    ) -> None:
        """Move `amount` from `sender` to the module's account; raises ErrInsufficientFunds."""
        ...
