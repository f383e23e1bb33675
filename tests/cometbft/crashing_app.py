"""`sultan run`, but it SIGKILLs itself once, at a chosen point of a chosen block.

SULTAN_TEST_CRASH = "<point>:<height>", point one of:

  finalize       FinalizeBlock(H) has run in the app; its response is not sent yet
  before-commit  Commit after FinalizeBlock(H) has arrived (CometBFT holds the
                 FinalizeBlock response); nothing of H is written
  after-commit   Commit(H) has written its batch to RocksDB (and updated the app's
                 in-memory state); the response is not sent yet

Test-only (never installed): it wraps `Application` methods in this process only, so the
product code carries no crash hooks. A line "crashing_app: SIGKILL at <point> height=<H>"
is written to the log right before the kill, so a test can tell this crash from any other.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from sultan.kernel.abci.app import Application

POINTS = ("finalize", "before-commit", "after-commit")
_point, _, _height = os.environ["SULTAN_TEST_CRASH"].partition(":")
if _point not in POINTS or not _height.isdigit():
    raise SystemExit(f"SULTAN_TEST_CRASH={os.environ['SULTAN_TEST_CRASH']!r}: want <point>:<H>")
CRASH_POINT, CRASH_HEIGHT = _point, int(_height)

_finalize_block = Application.finalize_block
_commit = Application.commit


def _die() -> None:
    sys.stderr.write(f"crashing_app: SIGKILL at {CRASH_POINT} height={CRASH_HEIGHT}\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def finalize_block(self: Application, req: Any) -> Any:
    result = _finalize_block(self, req)
    if CRASH_POINT == "finalize" and req.height == CRASH_HEIGHT:
        _die()
    return result


def commit(self: Application, req: Any = None, *args: Any, **kwargs: Any) -> Any:
    # The block being committed is the one after the last committed height.
    if CRASH_POINT == "before-commit" and self.last_height + 1 == CRASH_HEIGHT:
        _die()
    result = _commit(self, req, *args, **kwargs)
    if CRASH_POINT == "after-commit" and self.last_height == CRASH_HEIGHT:
        _die()
    return result


Application.finalize_block = finalize_block  # type: ignore[method-assign]
Application.commit = commit  # type: ignore[method-assign]

if __name__ == "__main__":
    from sultan.cli.main import main

    sys.argv[0] = "sultan"
    main()
