"""The parts API worker processes are built from, each on its own (the processes together:
tests/ops/test_api_workers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from sultan.api.metrics import ApiMetrics
from sultan.api.replica import (
    _ANNOUNCED,
    _MEMPOOL_TXS,
    ReplicaState,
    SharedStatus,
    api_metric_samples,
)
from sultan.kernel.config import (
    Config,
    ConfigError,
    apply_overrides,
    load_config,
    render_app_toml,
    render_config_toml,
)
from sultan.kernel.store.db import Database, ReadOnlyDatabaseError, SecondaryDatabase


def test_status_file_is_shared_between_a_writer_and_readers(tmp_path: Path) -> None:
    path = tmp_path / "status"
    writer = SharedStatus(path, create=True)
    reader = SharedStatus(path)
    writer.set(_ANNOUNCED, 41)
    writer.set(_MEMPOOL_TXS, 3)
    writer.set_error("disk full: " + "x" * 5000)  # bounded: cut, not overflowing
    assert reader.get(_ANNOUNCED) == 41
    assert reader.get(_MEMPOOL_TXS) == 3
    assert reader.error.startswith("disk full: xxx") and len(reader.error) < 1024
    writer.set_error("")
    assert reader.error == ""
    reader.close()
    writer.close()


def test_a_status_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "status"
    path.write_bytes(b"\0" * 4096)
    with pytest.raises(ValueError, match="not an API status file"):
        SharedStatus(path)
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="not an API status file"):
        SharedStatus(path)


def test_secondary_sees_the_owners_writes_after_catching_up(tmp_path: Path) -> None:
    owner = Database(str(tmp_path / "db"))
    owner.write([("meta", b"k", b"1")])
    view = SecondaryDatabase(str(tmp_path / "db"), str(tmp_path / "view"))
    try:
        assert view.get("meta", b"k") == b"1"
        owner.write([("meta", b"k", b"2"), ("state", b"a", b"b")])
        assert view.get("meta", b"k") == b"1"  # not until it catches up
        view.catch_up()
        assert view.get("meta", b"k") == b"2"
        assert view.get("state", b"a") == b"b"
        with pytest.raises(ReadOnlyDatabaseError):
            view.write([("meta", b"k", b"3")])
        assert owner.get("meta", b"k") == b"2"
    finally:
        view.close()
        owner.close()


def test_secondary_of_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no database"):
        SecondaryDatabase(str(tmp_path / "nothing"), str(tmp_path / "view"))


class _App:
    def __init__(self) -> None:
        self.last_height = 5
        self.reloads = 0

    def reload_committed(self) -> None:
        self.reloads += 1


class _DB(SecondaryDatabase):
    def __init__(self, height: bytes | None) -> None:  # no RocksDB: counts catch-ups only
        self.height = height
        self.catch_ups = 0

    def catch_up(self) -> None:
        self.catch_ups += 1

    def get(self, cf: str, key: bytes) -> bytes | None:
        return self.height


class _Node:
    def __init__(self, status: SharedStatus, db: _DB) -> None:
        self.status, self.db, self.app = status, db, _App()


def test_refresh_catches_up_only_when_the_node_announced_more(tmp_path: Path) -> None:
    status = SharedStatus(tmp_path / "status", create=True)
    db = _DB((5).to_bytes(8, "big"))
    node = _Node(status, db)
    state = ReplicaState(node)  # type: ignore[arg-type]
    status.set(_ANNOUNCED, 5)
    state.refresh()
    assert db.catch_ups == 0  # up to date: nothing but a read of shared memory
    status.set(_ANNOUNCED, 6)  # announced, not yet written
    state.refresh()
    state.refresh()
    assert db.catch_ups == 2  # each request looks again until the write shows
    assert node.app.reloads == 0  # the database still said 5
    db.height = (6).to_bytes(8, "big")
    state.refresh()
    assert node.app.reloads == 1
    status.close()


def test_node_metrics_add_up_other_processes_figures() -> None:
    node_side, worker = ApiMetrics(), ApiMetrics()
    node_side.observe("rest:/health", True, 0.002)
    worker.observe("rest:/health", True, 0.004)
    worker.observe("rest:/health", False, 0.3)
    worker.observe("rest:/status", True, 0.001)

    class _Worker:
        api_metrics = worker

    rows = api_metric_samples(_Worker())
    assert not any(name.endswith("_created") for _, name, _, _ in rows)
    node_side.sources.append(lambda: rows)
    node_side.sources.append(lambda: rows)  # a second worker with the same figures
    registry = CollectorRegistry(auto_describe=True)
    registry.register(node_side)
    families = {
        m.name: m for m in text_string_to_metric_families(generate_latest(registry).decode())
    }

    requests = families["sultan_api_requests"]
    values = {(s.labels["endpoint"], s.labels["status"]): s.value for s in requests.samples}
    assert values[("rest:/health", "ok")] == 3  # 1 here + 1 in each worker
    assert values[("rest:/health", "error")] == 2  # only the workers saw these
    assert values[("rest:/status", "ok")] == 2
    latency = families["sultan_api_latency_seconds"]
    counts = {s.labels["endpoint"]: s.value for s in latency.samples if s.name.endswith("_count")}
    assert counts == {"rest:/health": 5, "rest:/status": 2}
    buckets = [
        s.value
        for s in latency.samples
        if s.name.endswith("_bucket") and s.labels["endpoint"] == "rest:/health"
    ]
    assert buckets == sorted(buckets) and buckets[-1] == 5  # still a valid histogram


def test_workers_option_is_bounded(tmp_path: Path) -> None:
    cfg = Config()
    assert cfg.app.api.workers == 0
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(render_config_toml(cfg))
    app_toml = render_app_toml(cfg)
    assert "workers = 0" in app_toml  # documented in the file operators edit
    (tmp_path / "config" / "app.toml").write_text(app_toml.replace("workers = 0", "workers = 3"))
    assert load_config(tmp_path)[0].app.api.workers == 3
    assert apply_overrides(cfg, {"api.workers": "4"}).app.api.workers == 4
    with pytest.raises(ConfigError, match="workers"):
        apply_overrides(cfg, {"api.workers": "65"})
    with pytest.raises(ConfigError, match="workers"):
        apply_overrides(cfg, {"api.workers": "-1"})
