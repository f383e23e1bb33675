"""`make bench` / `python -m bench`: run every benchmark module in this folder.

Each module `bench/<name>.py` (not starting with `_`) has `main(argv) -> int`; it prints its
table and merges its figures into bench/results/latest.json. `python -m bench crypto state`
runs only the named ones.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


def bench_modules() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))


def main(argv: list[str]) -> int:
    names = argv or bench_modules()
    unknown = sorted(set(names) - set(bench_modules()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have {', '.join(bench_modules())}")
        return 2
    failed = []
    for name in names:
        print(f"=== bench/{name}.py", flush=True)
        module = importlib.import_module(f"bench.{name}")
        code = module.main([])
        if code:
            failed.append(name)
        print(flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
