"""The embedded engine's block store: blocks, commits, results and validator sets.

Everything for a height is produced as write ops that the application commits in the same
RocksDB batch as the state, so a crash can never leave a block without its state or the
other way round. Layout (column family `blocks`, heights big-endian):
  b"B" h -> tendermint.types.Block        b"I" h -> BlockID
  b"C" h -> seen Commit for h              b"R" h -> ResponseFinalizeBlock
  b"V" h -> ValidatorSet for h             b"#" block hash -> h
  b"latest" -> h of the newest block
"""

from __future__ import annotations

import struct
from typing import Any

from sultan.kernel.store.db import Database, WriteOp
from sultan.pb.tendermint.abci import types_pb2 as abci
from sultan.pb.tendermint.types import block_pb2, types_pb2, validator_pb2

_BE64 = struct.Struct(">Q")


def _h(prefix: bytes, height: int) -> bytes:
    return prefix + _BE64.pack(height)


class BlockStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def height(self) -> int:
        raw = self.db.get("blocks", b"latest")
        return _BE64.unpack(raw)[0] if raw else 0

    @property
    def base(self) -> int:
        for key, _ in self.db.iterate("blocks", b"B", b"C"):
            return int(_BE64.unpack(key[1:9])[0])
        return 0

    def _load(self, key: bytes, cls: Any) -> Any | None:
        raw = self.db.get("blocks", key)
        if raw is None:
            return None
        msg = cls()
        msg.ParseFromString(raw)
        return msg

    def block(self, height: int) -> Any | None:
        return self._load(_h(b"B", height), block_pb2.Block)

    def block_bytes(self, height: int) -> bytes | None:
        return self.db.get("blocks", _h(b"B", height))

    def block_id(self, height: int) -> Any | None:
        return self._load(_h(b"I", height), types_pb2.BlockID)

    def seen_commit(self, height: int) -> Any | None:
        return self._load(_h(b"C", height), types_pb2.Commit)

    def results(self, height: int) -> Any | None:
        return self._load(_h(b"R", height), abci.ResponseFinalizeBlock)

    def validators(self, height: int) -> Any | None:
        return self._load(_h(b"V", height), validator_pb2.ValidatorSet)

    def height_by_hash(self, block_hash: bytes) -> int | None:
        raw = self.db.get("blocks", b"#" + block_hash)
        return _BE64.unpack(raw)[0] if raw else None

    @staticmethod
    def save_ops(
        block: Any,
        block_bytes: bytes,
        block_id: Any,
        seen_commit: Any,
        results: Any,
        validators: Any,
        next_validators: Any,
    ) -> list[WriteOp]:
        height = block.header.height
        return [
            ("blocks", _h(b"B", height), block_bytes),
            ("blocks", _h(b"I", height), block_id.SerializeToString()),
            ("blocks", _h(b"C", height), seen_commit.SerializeToString()),
            ("blocks", _h(b"R", height), results.SerializeToString()),
            ("blocks", _h(b"V", height), validators.SerializeToString()),
            ("blocks", _h(b"V", height + 1), next_validators.SerializeToString()),
            ("blocks", b"#" + block_id.hash, _BE64.pack(height)),
            ("blocks", b"latest", _BE64.pack(height)),
        ]
