"""Testing helpers for Sultan and for module authors.

- `ChainHarness`: an in-process chain on a temporary RocksDB, driven block by block through
  the real Application and embedded engine (no timers, no sockets).
- `NodeProcess`: a real `sultan run` process on free ports, for end-to-end tests;
  `wait_until(check, timeout, what)` polls for what such a test waits on.
- A pytest plugin (auto-loaded via the `pytest11` entry point) with the `sultan_chain`
  fixture factory.
"""

from sultan.testing.harness import ChainHarness, unsigned_tx
from sultan.testing.process import NodeProcess, free_port, init_home, sultan_cli, wait_until

__all__ = [
    "ChainHarness",
    "NodeProcess",
    "free_port",
    "init_home",
    "sultan_cli",
    "unsigned_tx",
    "wait_until",
]
