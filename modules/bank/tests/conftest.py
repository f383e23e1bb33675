"""Fixtures for the bank tests: a two-module chain (auth + bank) with funded wallets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bank_support import Chain

from sultan.testing.wallet import Wallet


@pytest.fixture
def alice() -> Wallet:
    return Wallet.from_seed("alice")


@pytest.fixture
def bob() -> Wallet:
    return Wallet.from_seed("bob")


@pytest.fixture
def chain(alice: Wallet, bob: Wallet) -> Iterator[Chain]:
    with Chain.start({alice: "1000000usultan,500stake", bob: "1000usultan"}) as c:
        yield c
