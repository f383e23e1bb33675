"""Fixtures for the distribution tests; they reuse the staking tests' chain client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "staking" / "tests"))

from staking_support import Chain  # noqa: E402

from sultan.testing.wallet import Wallet  # noqa: E402


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
    funded = {operator: "100000000usultan", alice: "50000000usultan", bob: "20000000usultan"}
    with Chain.start(funded, operator) as c:
        yield c
