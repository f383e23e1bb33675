"""Fixtures for the auth tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_support import start

from sultan.testing import ChainHarness
from sultan.testing.wallet import Wallet


@pytest.fixture
def alice() -> Wallet:
    return Wallet.from_seed("auth-alice")


@pytest.fixture
def bob() -> Wallet:
    return Wallet.from_seed("auth-bob")


@pytest.fixture
def chain(alice: Wallet, bob: Wallet) -> Iterator[ChainHarness]:
    with start({alice: "100000usultan", bob: "5000usultan"}) as c:
        yield c
