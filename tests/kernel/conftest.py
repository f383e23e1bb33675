"""Fixtures for the kernel tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sultan.kernel.store.db import Database


@pytest.fixture
def db(tmp_path) -> Iterator[Database]:
    database = Database(str(tmp_path / "application.db"))
    try:
        yield database
    finally:
        database.close()
