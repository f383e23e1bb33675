"""REST /health: 200 only while blocks are committed within the expected interval."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_support import LocalNode, http_get, wait_for

from sultan.api import rest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalNode]:
    # The floor (10 s) keeps short block times from flapping; shrink it for the test so the
    # window is 3 x timeout_commit = 300 ms.
    monkeypatch.setattr(rest, "MIN_HEALTH_WINDOW_MS", 0)
    node = LocalNode(tmp_path / "home")
    try:
        yield node
    finally:
        node.close()


def _health(node: LocalNode) -> tuple[int, dict]:
    status, headers, body = http_get(node.url("rest") + "/health")
    assert headers["Content-Type"].startswith("application/json")
    return status, json.loads(body)


def test_health_is_ok_while_blocks_are_produced(local: LocalNode) -> None:
    wait_for(lambda: local.node.engine.height >= 2, what="height 2")
    status, body = _health(local)
    assert status == 200
    assert body["status"] == "ok" and body["height"] >= 2
    assert body["window_ms"] == 300 and 0 <= body["last_block_age_ms"] <= body["window_ms"]


def test_health_is_503_with_a_reason_when_blocks_stall_and_recovers(local: LocalNode) -> None:
    wait_for(lambda: local.node.engine.height >= 2, what="height 2")
    app = local.node.app
    original = app.finalize_block
    release = threading.Event()

    def stalled(request):
        release.wait(60)
        return original(request)

    app.finalize_block = stalled
    try:
        status, body = wait_for(
            lambda: (r := _health(local))[0] == 503 and r, what="503 from /health"
        )
        assert body["status"] == "unhealthy"
        assert body["reason"].startswith("no block committed for ")
        assert body["reason"].endswith("(limit 300 ms)")
        assert body["last_block_age_ms"] > body["window_ms"]
    finally:
        app.finalize_block = original
        release.set()
    wait_for(lambda: _health(local)[0] == 200, what="recovery")


def test_health_reports_a_failed_engine(local: LocalNode) -> None:
    wait_for(lambda: local.node.engine.height >= 1, what="height 1")
    app = local.node.app

    def broken(request):
        raise RuntimeError("disk on fire")

    app.finalize_block = broken
    status, body = wait_for(lambda: (r := _health(local))[0] == 503 and r, what="503")
    assert body["reason"] == "block production failed: RuntimeError: disk on fire"


def test_health_is_503_before_block_production_starts(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "home", start=False)
    try:
        status, body = _health(node)
        assert status == 503
        assert body == {
            "status": "unhealthy",
            "reason": "block production is not running",
            "height": 0,
            "last_block_age_ms": body["last_block_age_ms"],
            "window_ms": 10_000,
        }
    finally:
        node.close()
