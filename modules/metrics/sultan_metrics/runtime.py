"""Runtime series of the node process: concurrency and memory.

The original (Go) node exported Go runtime numbers under these names; here they mean the
closest real thing in a Python process, and each help text says exactly what:

- `sultan_goroutines` — live threads plus unfinished asyncio tasks of the node's event loop;
- `sultan_memory_alloc_bytes` — resident set size (RSS): the memory of the process that is
  in RAM now (Python heap, RocksDB caches, native libraries). Python has no cheap
  "heap bytes in use" counter (tracemalloc costs far too much to leave on), so RSS it is;
- `sultan_memory_sys_bytes` — the private memory the process has mapped from the OS
  (`VmData` + stack: heap, anonymous mappings, thread stacks; reserved or touched).

Memory is read from `/proc/self/statm` (Linux); where that file does not exist the two
memory series are absent rather than invented.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

STATM = "/proc/self/statm"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def read_statm(path: str = STATM) -> tuple[int, int] | None:
    """(rss_bytes, data_bytes) of this process, or None where /proc is unavailable."""
    try:
        with open(path, "rb") as fh:
            fields = fh.read().split()
    except OSError:
        return None
    # size resident shared text lib data dt (pages)
    return int(fields[1]) * PAGE_SIZE, int(fields[5]) * PAGE_SIZE


class RuntimeCollector(Collector):
    def __init__(self) -> None:
        self._loops: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()

    def add_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Count this event loop's tasks too (the loop of `sultan run`)."""
        self._loops.add(loop)

    def _task_count(self) -> int:
        count = 0
        for loop in list(self._loops):
            if loop.is_closed():
                continue
            try:
                count += sum(1 for task in asyncio.all_tasks(loop) if not task.done())
            except RuntimeError:  # the loop's task set changed too often while reading
                continue
        return count

    def collect(self) -> Iterator[Metric]:
        workers = GaugeMetricFamily(
            "sultan_goroutines",
            "Live threads + unfinished asyncio tasks in this Python process "
            "(the Go node reported goroutines)",
        )
        workers.add_metric([], float(threading.active_count() + self._task_count()))
        yield workers
        memory = read_statm()
        if memory is None:
            return
        rss, data = memory
        alloc = GaugeMetricFamily(
            "sultan_memory_alloc_bytes",
            "Resident set size (RSS) of the node process in bytes: Python heap, RocksDB "
            "and native memory currently in RAM",
        )
        alloc.add_metric([], float(rss))
        yield alloc
        sys_bytes = GaugeMetricFamily(
            "sultan_memory_sys_bytes",
            "Private memory mapped by the node process from the OS in bytes (VmData + "
            "stack: heap, anonymous mappings, thread stacks)",
        )
        sys_bytes.add_metric([], float(data))
        yield sys_bytes
