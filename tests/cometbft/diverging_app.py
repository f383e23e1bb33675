"""`sultan run`, but deliberately non-deterministic: from height $SULTAN_TEST_DIVERGE_FROM on,
every block also writes one key that no other validator writes.

Test-only (never installed): it patches the store's commit preparation in this process, so
the application's app hash differs from the other validators' from that height, exactly as
a module with a hidden non-determinism would. CometBFT must notice and halt this node.
"""

from __future__ import annotations

import os
import sys

from sultan.kernel.store.versioned import CommittedState

DIVERGE_FROM = int(os.environ["SULTAN_TEST_DIVERGE_FROM"])
_prepare_commit = CommittedState.prepare_commit


def prepare_commit(self, changes, version, *args, **kwargs):  # type: ignore[no-untyped-def]
    if version >= DIVERGE_FROM:
        changes = [*changes, (b"bank/zz-diverged", str(version).encode())]
    return _prepare_commit(self, changes, version, *args, **kwargs)


CommittedState.prepare_commit = prepare_commit  # type: ignore[method-assign]

if __name__ == "__main__":
    from sultan.cli.main import main

    sys.argv[0] = "sultan"
    main()
