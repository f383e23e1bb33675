"""Fixtures for the staking tests: a chain whose genesis validator is the harness's key."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from staking_support import Chain

from sultan.testing.wallet import Wallet


@pytest.fixture
def operator() -> Wallet:
    return Wallet.from_seed("operator")


@pytest.fixture
def alice() -> Wallet:
    return Wallet.from_seed("alice")


@pytest.fixture
def bob() -> Wallet:
    return Wallet.from_seed("bob")


@pytest.fixture
def chain(operator: Wallet, alice: Wallet, bob: Wallet) -> Iterator[Chain]:
    funded = {
        operator: "100000000usultan",
        alice: "50000000usultan,1000stake",
        bob: "20000000usultan",
    }
    with Chain.start(funded, operator) as c:
        yield c
