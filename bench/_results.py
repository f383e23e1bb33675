"""Shared by the benchmarks: machine details and merging figures into results/latest.json."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu_model()}), Python {platform.python_version()}"


def proc_memory(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of process `pid`, in MiB, from /proc (Linux)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(rest.split()[0]) / 1024
    return out


def size_label(count: int) -> str:
    """10000 -> "10k", 1000000 -> "1m": how result names carry a state size."""
    return f"{count // 1_000_000}m" if count % 1_000_000 == 0 else f"{count // 1000}k"


def save(entries: list[dict[str, Any]], path: Path = RESULTS) -> None:
    """merge_results, and say where they went."""
    merge_results(entries, path)
    print(f"merged into {path}")


def merge_results(entries: list[dict[str, Any]], path: Path = RESULTS) -> None:
    """Replace entries of the same name in `path` (a JSON list), keep the others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    existing: list[dict[str, Any]] = []
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
            existing = loaded if isinstance(loaded, list) else []
        except json.JSONDecodeError:
            existing = []
    names = {e["name"] for e in entries}
    merged = [e for e in existing if e.get("name") not in names] + entries
    path.write_text(json.dumps(merged, indent=2) + "\n")
