"""Fixtures that start real `sultan` processes on free ports (always stopped afterwards)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sultan.testing import NodeProcess, init_home


@pytest.fixture
def counter_home(tmp_path: Path) -> Path:
    return init_home(tmp_path / "home", ["counter"], chain_id="e2e-1", moniker="e2e")


@pytest.fixture
def node_factory():
    started: list[NodeProcess] = []

    def start(home: Path, **kwargs) -> NodeProcess:
        node = NodeProcess(home, **kwargs)
        started.append(node)
        return node.start()

    yield start
    for node in started:
        node.kill()
