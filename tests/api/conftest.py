"""Fixtures for the API tests: one running node per test module (see `api_env`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_env import Env


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = Env(tmp_path_factory.mktemp("apinode"))
    try:
        e.wait_height(2)
        yield e
    finally:
        e.close()
