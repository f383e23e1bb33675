"""deploy/: every artifact is checked by the real tool, and every metric it names is real."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from ops_support import (
    ABSENT_MODULE_SERIES,
    DEPLOY,
    require_tool,
    sample_names,
    scrape,
)

pytestmark = pytest.mark.timeout(300)

UNIT = DEPLOY / "systemd" / "sultan.service"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "sultan-dashboard.json"
UNIT_EXEC = "/opt/sultan/venv/bin/sultan"
METRIC_RE = re.compile(r"\b(sultan_[a-z0-9_]+|up)\b")


def _run(*cmd: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)


def _unit_for_this_machine(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at this checkout's `sultan` (verify checks it exists)."""
    sultan = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "sultan"
    if not sultan.exists():
        sultan = Path(require_tool("sultan"))
    text = UNIT.read_text()
    assert UNIT_EXEC in text
    unit = tmp_path / "sultan.service"
    unit.write_text(text.replace(UNIT_EXEC, str(sultan)))
    return unit


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    require_tool("systemd-analyze")
    result = _run("systemd-analyze", "verify", str(_unit_for_this_machine(tmp_path)))
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    assert not result.stdout.strip(), result.stdout


def test_systemd_unit_runs_sultan_hardened_with_restart_and_file_limit(tmp_path: Path) -> None:
    text = UNIT.read_text()
    directives = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, val = line.partition("=")
            directives.setdefault(key.strip(), []).append(val.strip())
    assert re.search(r"^ExecStart=\S+/sultan run\b", text, re.M)
    expected = {
        "Restart": "on-failure",
        "LimitNOFILE": "65536",
        "User": "sultan",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/sultan",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
    }
    for key, want in expected.items():
        assert directives.get(key) == [want], f"{key}={directives.get(key)}"
    assert "--home=/var/lib/sultan" in text
    require_tool("systemd-analyze")
    result = _run(
        "systemd-analyze", "security", "--offline=true", str(_unit_for_this_machine(tmp_path))
    )
    assert result.returncode == 0, result.stderr
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match and float(match.group(1)) <= 2.0, result.stdout[-500:]


def test_alert_rules_pass_promtool_check() -> None:
    require_tool("promtool")
    result = _run("promtool", "check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


def test_alert_rules_unit_tests_fire_and_stay_silent() -> None:
    require_tool("promtool")
    result = _run("promtool", "test", "rules", "alerts_test.yml", cwd=ALERTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", (ALERTS.parent / "alerts_test.yml").read_text()))
    assert tested == set(_alert_names())


def test_prometheus_config_passes_promtool_check() -> None:
    require_tool("promtool")
    result = _run("promtool", "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _alert_names() -> list[str]:
    return re.findall(r"^\s+- alert: (\w+)", ALERTS.read_text(), re.M)


def test_alert_rules_are_the_guides() -> None:
    assert _alert_names() == [
        "NodeDown",
        "MemoryLeakDetected",
        "HighErrorRate",
        "BlockProductionStopped",
        "HighLatency",
        "LowPeerCount",
        "HighMemoryUsage",
    ]
    text = ALERTS.read_text()
    critical = text.split("name: sultan_warnings")[0]
    for name in ("NodeDown", "MemoryLeakDetected", "HighErrorRate", "BlockProductionStopped"):
        assert f"alert: {name}" in critical


def test_dashboard_has_the_six_panels() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = [p["title"] for p in dashboard["panels"]]
    assert titles == [
        "Block Height",
        "Transaction Rate",
        "API Latency",
        "Memory Usage",
        "Error Rate",
        "IBC Activity",
    ]
    kinds = {p["title"]: p["type"] for p in dashboard["panels"]}
    assert kinds["API Latency"] == "heatmap"
    ibc = next(p for p in dashboard["panels"] if p["title"] == "IBC Activity")
    assert ibc["fieldConfig"]["defaults"]["noValue"] == "IBC module not running"


def _named_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += re.findall(r"expr: (.+(?:\n\s{12,}.+)*)", ALERTS.read_text())
    names: set[str] = set()
    for expr in exprs:
        names.update(METRIC_RE.findall(expr))
    return names


def test_every_metric_in_the_dashboard_and_rules_is_exported_by_a_running_node(ops_node) -> None:
    node = ops_node.process
    # Traffic on every server, a failed request and a committed tx, so labelled series exist.
    urllib.request.urlopen(node.rest_url + "/health", timeout=10).read()
    node.rpc("status")
    try:
        urllib.request.urlopen(node.rest_url + "/no/such/route", timeout=10)
    except urllib.error.HTTPError:
        pass
    assert ops_node.send_tx()["tx_result"]["code"] == 0
    exported = sample_names(scrape(node.metrics_url))
    named = _named_metrics()
    assert {"sultan_block_height", "sultan_api_latency_seconds_bucket"} <= named
    missing = {
        name
        for name in named - {"up"}  # `up` is Prometheus's own series about each scrape
        if name not in exported and name not in ABSENT_MODULE_SERIES
    }
    assert not missing, f"named in deploy/ but not exported: {sorted(missing)}"
    for name, why in ABSENT_MODULE_SERIES.items():
        assert name in named, name
        assert name not in exported, f"{name} must be absent ({why}), not faked"
