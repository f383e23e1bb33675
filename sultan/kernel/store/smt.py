"""One module store's authenticated state: a versioned sparse Merkle tree in RocksDB.

The tree is binary over the 256 bits of sha256(key), most significant bit first (bit 0
goes left), with shortcut leaves: a subtree holding one key is that key's leaf, a subtree
holding none is the empty hash (32 zero bytes). Its root is therefore a function of the
store's contents only — never of insertion order or history — and its hashing is exactly
ICS-23's `SmtSpec` (docs/state.md); the C crypto core computes every node hash
(`native.smt_nodes`, one call per store per commit).

Persistence (column family `smt`, layout in docs/state.md): every node is written once,
under the version that created it and its position (depth + path bits); a parent stores
each child's kind, version and hash, so reading any retained version is plain point
lookups from that version's root. A commit writes the new nodes along the changed paths
(O(log n) per written key) and records each replaced node in `smt_stale` under the version
from which it is no longer part of the tree; pruning deletes those once no retained version
needs them. All of it is write ops returned to the caller, who puts them in the block's
single atomic batch.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from itertools import repeat
from typing import Any

from sultan.kernel.crypto import native
from sultan.kernel.crypto.hashing import sha256, sha256_many
from sultan.kernel.crypto.merkle import SMT_EMPTY
from sultan.kernel.store import ics23
from sultan.kernel.store.db import Database, WriteOp
from sultan.pb.cosmos.ics23.v1 import proofs_pb2 as pb

NODES_CF = "smt"
STALE_CF = "smt_stale"

EMPTY, LEAF, INNER = 0, 1, 2
_BE64 = struct.Struct(">Q")
_BE16 = struct.Struct(">H")
_TOP_BIT = 1 << 255
_DEPTHS = [_BE16.pack(depth) for depth in range(257)]
# Per depth, how node_key packs a path's top bits: (right shift, left pad, bytes, be16(depth)).
_KEY_PARTS = [(256 - d, -d & 7, (d + 7) >> 3, _DEPTHS[d]) for d in range(257)]

# A child reference: (kind, version that wrote the node, hash).
Ref = tuple[int, int, bytes]
EMPTY_REF: Ref = (EMPTY, 0, SMT_EMPTY)
EMPTY_ENC = b"\x00"  # encode_ref(EMPTY_REF)
# Literals of the crypto core's node program (native.smt_nodes): the empty child, and the
# padding before a leaf's key or value hash.
_EMPTY_LITERAL = bytes(41)
_LEAF_PAD = bytes(9)
# A change to apply: (int(sha256(key)), sha256(key), key, sha256(value) or None to delete).
_Item = tuple[int, bytes, bytes, bytes | None]

# Node cache defaults (see NodeCache): the top CACHE_DEPTH levels of every tree, at most
# CACHE_ENTRIES nodes in all (~210 bytes each in CPython: key, value, dict slot).
CACHE_DEPTH = 18
CACHE_ENTRIES = 1 << 19


class ProofUnavailableError(LookupError):
    """No ICS-23 proof can be made (an empty tree has no neighbours to prove absence with)."""


class MissingNodeError(LookupError):
    """A node of the requested version is gone (pruned while it was being read)."""


def encode_ref(ref: Ref) -> bytes:
    if ref[0] == EMPTY:
        return b"\x00"
    return bytes((ref[0],)) + _BE64.pack(ref[1]) + ref[2]


def _parse_inner(raw: bytes) -> tuple[Ref, Ref]:
    left, pos = decode_ref(raw, 1)
    return left, decode_ref(raw, pos)[0]


def decode_ref(raw: bytes, pos: int = 0) -> tuple[Ref, int]:
    kind = raw[pos]
    if kind == EMPTY:
        return EMPTY_REF, pos + 1
    if kind not in (LEAF, INNER):
        raise ValueError(f"corrupt SMT node reference (kind {kind})")
    return (kind, _BE64.unpack_from(raw, pos + 1)[0], raw[pos + 9 : pos + 41]), pos + 41


def _split(path: int, depth: int) -> int:
    """The smallest key-hash under `path` whose bit `depth` is 1 (where the right child starts)."""
    shift = 256 - depth
    return ((path >> shift) << shift) | (_TOP_BIT >> depth)


class CacheDelta:
    """What one prepared commit would change in the node cache, applied once it is written."""

    __slots__ = ("fresh", "evicted")

    def __init__(self) -> None:
        self.fresh: list[tuple[bytes, bytes]] = []  # new nodes (key, raw) above max_depth
        self.evicted: list[bytes] = []  # nodes the commit replaces (stale from then on)


class NodeCache:
    """Raw bytes of the latest trees' upper nodes, by node key; shared by a state's trees.

    Every commit walks the top of each tree it writes to, so those nodes are worth keeping
    in memory instead of one RocksDB lookup each. A node key names the version that wrote
    the node, and a written node never changes, so an entry can only be missing, never
    wrong — provided nothing enters before its commit is written: nodes read from the DB
    enter when read, nodes a commit creates enter in `apply` (after the batch is written;
    a block prepared but never committed leaves nothing), and nodes a commit replaces leave
    in `apply` too, so the cache holds (a subset of) the nodes above `max_depth` of the
    latest trees: at most 2**(max_depth + 1) per tree, and never more than `max_entries`.

    Thread safety: the commit thread is the only writer; queries on other threads only call
    `nodes.get`. Single dict operations are atomic under the GIL and nothing iterates the
    dict, so no lock is needed.
    """

    def __init__(self, max_depth: int = CACHE_DEPTH, max_entries: int = CACHE_ENTRIES) -> None:
        if max_depth < 0 or max_entries < 0:
            raise ValueError("node cache bounds must be >= 0")
        self.max_depth = max_depth
        self.max_entries = max_entries
        self.nodes: dict[bytes, bytes] = {}

    def admit(self, node_key: bytes, raw: bytes) -> None:
        if len(self.nodes) < self.max_entries:
            self.nodes[node_key] = raw

    def apply(self, delta: CacheDelta) -> None:
        """Take in a commit's changes once its batch is written."""
        nodes = self.nodes
        for node_key in delta.evicted:
            nodes.pop(node_key, None)
        room = self.max_entries - len(nodes)
        for node_key, raw in delta.fresh[: max(room, 0)]:
            # Copies, allocated together: the originals sit among the batch's short-lived
            # ops and would keep their memory from being returned once the batch is freed.
            nodes[bytes(memoryview(node_key))] = bytes(memoryview(raw))


class SparseMerkleTree:
    """The tree of one module store; stateless apart from its name and its node cache
    (roots are passed in)."""

    def __init__(self, db: Database, store_key: str, cache: NodeCache | None = None) -> None:
        self.db = db
        self.store_key = store_key
        # max_depth 0: caches nothing (the reference behaviour the tests compare against).
        self.cache = cache if cache is not None else NodeCache(0, 0)
        self._tag = store_key.encode() + b"/"
        self._node_prefix = self._tag + b"n"
        self._root_prefix = self._tag + b"r"

    # -- keys and nodes -------------------------------------------------------------------

    def node_key(self, version: int, depth: int, path: int) -> bytes:
        """`<store>/` 'n' be64(version) be16(depth) + the top `depth` bits of `path`, packed
        into ceil(depth / 8) bytes (unused low bits zero)."""
        bits = (
            ((path >> (256 - depth)) << (-depth & 7)).to_bytes((depth + 7) >> 3, "big")
            if depth
            else b""
        )
        return self._node_prefix + _BE64.pack(version) + _DEPTHS[depth] + bits

    def root_key(self, version: int) -> bytes:
        return self._root_prefix + _BE64.pack(version)

    def load_raw(self, node_key: bytes) -> bytes:
        # Queries read through the cache but never fill it (they may be reading old versions).
        raw = self.cache.nodes.get(node_key)
        if raw is not None:
            return raw
        raw = self.db.get(NODES_CF, node_key)
        if raw is None:
            raise MissingNodeError(
                f"SMT node {node_key!r} of store {self.store_key!r} is missing (pruned?)"
            )
        return raw

    def _load(self, ref: Ref, depth: int, path: int) -> bytes:
        return self.load_raw(self.node_key(ref[1], depth, path))

    def load_inner(self, ref: Ref, depth: int, path: int) -> tuple[Ref, Ref]:
        return _parse_inner(self._load(ref, depth, path))

    def load_leaf(self, ref: Ref, depth: int, path: int) -> tuple[bytes, bytes, bytes]:
        """(sha256(key), sha256(value), key) of a stored leaf."""
        raw = self._load(ref, depth, path)
        return raw[1:33], raw[33:65], raw[65:]

    # -- roots ----------------------------------------------------------------------------

    def root_entry(self, version: int) -> tuple[int | None, Ref]:
        """(version of the root record in force at `version`, the root) — (None, empty) if none."""
        found = self.db.seek_prev(NODES_CF, self.root_key(version))
        if (
            found is None
            or len(found[0]) != len(self._root_prefix) + 8
            or not found[0].startswith(self._root_prefix)
        ):
            return None, EMPTY_REF
        return _BE64.unpack(found[0][-8:])[0], decode_ref(found[1])[0]

    # -- updates --------------------------------------------------------------------------

    def update(
        self,
        root: tuple[int | None, Ref],
        changes: Sequence[tuple[bytes, bytes | None]],
        version: int,
        delta: CacheDelta | None = None,
    ) -> tuple[tuple[int | None, Ref], list[WriteOp]]:
        """Apply `changes` (module-relative key -> value, None deletes) as `version`.

        Returns the new (root record version, root) and the write ops (new nodes, the root
        record, stale markers of replaced nodes). Reads only committed nodes, so calling it
        again for the same version (e.g. after a crash) gives the same result. `delta`
        collects what to tell the node cache once the ops are written (`NodeCache.apply`).
        """
        entry_version, root_ref = root
        keys = [key for key, _ in changes]
        key_hashes = sha256_many(keys)
        present = [value for _, value in changes if value is not None]
        value_hashes = iter(sha256_many(present))
        items: list[_Item] = sorted(
            (
                (
                    int.from_bytes(kh, "big"),
                    kh,
                    key,
                    None if value is None else next(value_hashes),
                )
                for kh, (key, value) in zip(key_hashes, changes, strict=True)
            ),
            key=lambda item: item[0],
        )
        for a, b in zip(items, items[1:], strict=False):
            if a[0] == b[0]:
                raise ValueError(f"key {a[2]!r} changed twice in one commit")
        batch = _Batch(self, version, items, delta)
        root_enc = encode_ref(root_ref)
        result = batch.update(root_enc, 0, 0, len(items)) if items else root_enc
        if result is root_enc or (root_enc == EMPTY_ENC and result == EMPTY_ENC):
            return root, batch.ops
        if type(result) is tuple:
            result = batch.place(result, 0)
        new_root = decode_ref(batch.finish(result))[0]
        batch.ops.append((NODES_CF, self.root_key(version), encode_ref(new_root)))
        if entry_version is not None:
            batch.ops.append((STALE_CF, _BE64.pack(version) + self.root_key(entry_version), b""))
        return (version, new_root), batch.ops

    # -- proofs ---------------------------------------------------------------------------

    def _descend(
        self, root: Ref, path: int
    ) -> tuple[list[tuple[Ref, Ref, bool]], Ref, int, tuple[bytes, bytes, bytes] | None]:
        """Walk towards key-hash `path`: the inner steps (left, right, went right), where the
        walk ended (an empty child or a leaf), its depth, and that leaf's contents."""
        steps: list[tuple[Ref, Ref, bool]] = []
        ref, depth = root, 0
        while ref[0] == INNER:
            left, right = self.load_inner(ref, depth, path)
            went_right = bool(path & (_TOP_BIT >> depth))
            steps.append((left, right, went_right))
            ref = right if went_right else left
            depth += 1
        leaf = self.load_leaf(ref, depth, path) if ref[0] == LEAF else None
        return steps, ref, depth, leaf

    def _edge_leaf(self, ref: Ref, depth: int, path: int, rightmost: bool) -> bytes:
        """The key-hash of the right-most (or left-most) leaf under a non-empty subtree."""
        while ref[0] == INNER:
            left, right = self.load_inner(ref, depth, path)
            take_right = right[0] != EMPTY if rightmost else left[0] == EMPTY
            if take_right:
                path |= _TOP_BIT >> depth
            ref = right if take_right else left
            depth += 1
        return self.load_leaf(ref, depth, path)[0]

    def _existence(
        self, root: Ref, key_hash: bytes, value_of: Callable[[bytes], bytes | None]
    ) -> Any:
        path = int.from_bytes(key_hash, "big")
        steps, _, _, leaf = self._descend(root, path)
        if leaf is None or leaf[0] != key_hash:
            raise MissingNodeError("a neighbour leaf vanished while proving (pruned?)")
        _, value_hash, key = leaf
        value = value_of(key)
        if value is None or sha256(value) != value_hash:
            raise MissingNodeError(f"the value of {key!r} does not match its leaf (pruned?)")
        return ics23.build_existence(
            key,
            value,
            ics23.SMT_SPEC,
            [
                (True, left[2]) if went_right else (False, right[2])
                for left, right, went_right in reversed(steps)
            ],
        )

    def prove(self, root: Ref, key: bytes, value_of: Callable[[bytes], bytes | None]) -> Any:
        """An ICS-23 CommitmentProof (SmtSpec) that `key` is in the tree at `root`, or not.

        `value_of(key)` returns a module-relative key's value at the tree's version.
        """
        if root[0] == EMPTY:
            raise ProofUnavailableError(
                f"store {self.store_key!r} is empty: ICS-23 cannot prove absence without a "
                "neighbouring key"
            )
        key_hash = sha256(key)
        path = int.from_bytes(key_hash, "big")
        steps, _, _, leaf = self._descend(root, path)
        if leaf is not None and leaf[0] == key_hash:
            return pb.CommitmentProof(exist=self._existence(root, key_hash, value_of))
        left_hash = right_hash = None
        if leaf is not None:
            if leaf[0] < key_hash:
                left_hash = leaf[0]
            else:
                right_hash = leaf[0]
        # The nearest subtree left (right) of the walk holds the left (right) neighbour.
        for d in range(len(steps) - 1, -1, -1):
            left, right, went_right = steps[d]
            prefix = (path >> (256 - d)) << (256 - d) if d else 0
            if left_hash is None and went_right and left[0] != EMPTY:
                left_hash = self._edge_leaf(left, d + 1, prefix, rightmost=True)
            if right_hash is None and not went_right and right[0] != EMPTY:
                right_hash = self._edge_leaf(right, d + 1, prefix | (_TOP_BIT >> d), False)
            if left_hash is not None and right_hash is not None:
                break
        proof = pb.NonExistenceProof(key=key)
        if left_hash is not None:
            proof.left.CopyFrom(self._existence(root, left_hash, value_of))
        if right_hash is not None:
            proof.right.CopyFrom(self._existence(root, right_hash, value_of))
        return pb.CommitmentProof(nonexist=proof)


class _Batch:
    """One commit's update of one tree: collects the new nodes and stale markers.

    Works on encoded child references (the bytes a parent stores: b"\\x00", or kind +
    be64(version) + hash) so an unchanged sibling is copied into its new parent as the
    slice it was read as, never decoded and re-encoded. A subtree that did not change comes
    back as the very object passed in.

    New nodes are hashed by the crypto core, all in one call at the end (`finish`,
    `native.smt_nodes`): until then a new node is an int, its index in the program handed
    to the core (tag 0 for a leaf, 1 for an inner node), and a new inner node's bytes —
    which hold its children's hashes, so the core encodes them — wait for that call, their
    keys in `deferred`. A leaf whose depth is not settled yet (it may still move up) is a
    tuple (key-hash int, key-hash, key, value-hash, leaf hash: program index or known bytes).
    """

    def __init__(
        self,
        tree: SparseMerkleTree,
        version: int,
        items: list[_Item],
        delta: CacheDelta | None,
    ) -> None:
        self.tree = tree
        self.items = items
        self.key_ints = [item[0] for item in items]
        self.ops: list[WriteOp] = []
        self.vbytes = _BE64.pack(version)
        self._inner_prefix = b"\x02" + self.vbytes
        self._leaf_prefix = b"\x01" + self.vbytes
        self._stale_prefix = self.vbytes
        self._node_prefix = tree._node_prefix
        cache = tree.cache
        self._cached = cache.nodes.get
        self._cache = cache
        self._cache_depth = cache.max_depth
        self._delta = delta
        # The core's program: (tag, a, b) per new node. Literals are 41-byte child
        # references (or 9 ignored bytes + a hash, for a leaf), concatenated (one buffer, not
        # an object each: an InitChain makes millions); literal 0 is the empty child.
        self.program = array("i")
        self.literals = bytearray(_EMPTY_LITERAL)
        # New inner nodes' keys and depths, in program order.
        self.deferred: list[bytes] = []
        self.deferred_depths: list[int] = []

    def key(self, vbytes: bytes, depth: int, path: int) -> bytes:
        """SparseMerkleTree.node_key with the version already packed."""
        shift, pad, size, depth_bytes = _KEY_PARTS[depth]
        return (
            self._node_prefix
            + vbytes
            + depth_bytes
            + ((path >> shift) << pad).to_bytes(size, "big")
        )

    def read(self, node_key: bytes, depth: int) -> bytes:
        raw = self._cached(node_key)
        if raw is None:
            raw = self.tree.db.get(NODES_CF, node_key)
            if raw is None:
                raise MissingNodeError(
                    f"SMT node {node_key!r} of store {self.tree.store_key!r} is missing (pruned?)"
                )
            if depth < self._cache_depth:
                # A committed node of the latest tree: its bytes never change.
                self._cache.admit(node_key, raw)
        return raw

    def stale(self, node_key: bytes, depth: int) -> None:
        self.ops.append((STALE_CF, self._stale_prefix + node_key, b""))
        if depth < self._cache_depth and self._delta is not None:
            self._delta.evicted.append(node_key)

    def write(self, node_key: bytes, raw: bytes, depth: int) -> None:
        self.ops.append((NODES_CF, node_key, raw))
        if depth < self._cache_depth and self._delta is not None:
            self._delta.fresh.append((node_key, raw))

    # -- the core's program -------------------------------------------------------------

    def leaf_hash(self, key_hash: bytes, value_hash: bytes) -> int:
        """A new leaf's hash, as a program index."""
        index = len(self.program) // 3
        literals = self.literals
        literals += _LEAF_PAD
        literals += key_hash
        literals += _LEAF_PAD
        literals += value_hash
        last = len(literals) // 41
        self.program.extend((0, 1 - last, -last))
        return index

    def operand(self, child: Any) -> int:
        """A settled child (program index or encoded reference) as a program operand."""
        if type(child) is int:
            return child  # type: ignore[no-any-return]
        if len(child) == 1:
            return -1  # the empty child
        if len(child) != 41:
            raise ValueError(f"corrupt SMT node reference ({len(child)} bytes)")
        self.literals += child
        return -(len(self.literals) // 41)

    def inner(self, node_key: bytes, depth: int, left: Any, right: Any) -> int:
        """A new inner node over two settled children; written by `finish`."""
        index = len(self.program) // 3
        self.program.extend((1, self.operand(left), self.operand(right)))
        self.deferred.append(node_key)
        self.deferred_depths.append(depth)
        return index

    def finish(self, root: Any) -> bytes:
        """Hash the new nodes and write the inner ones (one core call); the root's reference."""
        program = self.program
        digests, raws = native.smt_nodes(program, self.literals, self.vbytes)
        keys = self.deferred
        if len(raws) != len(keys):
            raise AssertionError("the crypto core encoded a different number of inner nodes")
        self.ops.extend(zip(repeat(NODES_CF), keys, raws, strict=False))
        delta = self._delta
        if delta is not None and self._cache_depth:
            cache_depth = self._cache_depth
            delta.fresh.extend(
                (key, raw)
                for key, raw, depth in zip(keys, raws, self.deferred_depths, strict=True)
                if depth < cache_depth
            )
        if type(root) is not int:
            return root  # type: ignore[no-any-return]
        prefix = self._inner_prefix if program[3 * root] else self._leaf_prefix
        return prefix + digests[32 * root : 32 * root + 32]

    # -- the walk -------------------------------------------------------------------------

    def update(self, enc: bytes, depth: int, lo: int, hi: int) -> Any:
        """The subtree at (depth, path of items[lo:hi]) after applying items[lo:hi] (lo < hi)."""
        if hi - lo == 1:
            return self.update_one(enc, depth, lo)
        kind = enc[0]
        items = self.items
        if kind == EMPTY:
            writes = [item for item in items[lo:hi] if item[3] is not None]
            return self.build(depth, writes) if writes else enc
        path = items[lo][0]
        if kind == LEAF:
            return self.update_leaf(enc, depth, path, lo, hi)
        if kind != INNER:
            raise ValueError(f"corrupt SMT node reference (kind {kind})")
        node_key = self.key(enc[1:9], depth, path)
        raw = self.read(node_key, depth)
        cut = 2 if raw[1] == EMPTY else 42
        left, right = raw[1:cut], raw[cut:]
        mid = bisect_left(self.key_ints, _split(path, depth), lo, hi)
        new_left = self.update(left, depth + 1, lo, mid) if lo < mid else left
        new_right = self.update(right, depth + 1, mid, hi) if mid < hi else right
        if new_left is left and new_right is right:
            return enc
        self.stale(node_key, depth)
        return self.combine(depth, path, new_left, new_right)

    def update_one(self, enc: bytes, depth: int, index: int) -> Any:
        """`update` for a single change: walk down its path, then rebuild it bottom-up.

        Most of a commit's visited nodes are on paths no other change of the block shares,
        so this loop (no recursion, no decoding of siblings) is where the time goes.
        """
        item = self.items[index]
        path, key_hash, _, value_hash = item
        start = enc
        trail: list[tuple[bytes, bytes, int]] = []  # (node key, sibling, went right)
        kind = enc[0]
        cached, prefix = self._cached, self._node_prefix
        while kind == INNER:
            shift, pad, size, depth_bytes = _KEY_PARTS[depth]
            node_key = (
                prefix + enc[1:9] + depth_bytes + ((path >> shift) << pad).to_bytes(size, "big")
            )
            raw = cached(node_key)
            if raw is None:
                raw = self.read(node_key, depth)
            cut = 2 if raw[1] == EMPTY else 42
            if path & (_TOP_BIT >> depth):
                trail.append((node_key, raw[1:cut], 1))
                enc = raw[cut:]
            else:
                trail.append((node_key, raw[cut:], 0))
                enc = raw[1:cut]
            depth += 1
            kind = enc[0]
        result: Any
        if kind == EMPTY:
            if value_hash is None:
                return start  # deleting an absent key
            result = (path, key_hash, item[2], value_hash, self.leaf_hash(key_hash, value_hash))
        elif kind == LEAF:
            node_key = self.key(enc[1:9], depth, path)
            raw = self.read(node_key, depth)
            existing_hash = raw[1:33]
            if existing_hash == key_hash:
                if value_hash == raw[33:65]:
                    return start  # the same value written again
                self.stale(node_key, depth)
                if value_hash is None:
                    result = EMPTY_ENC
                else:
                    leaf_hash = self.leaf_hash(key_hash, value_hash)
                    result = (path, key_hash, item[2], value_hash, leaf_hash)
            else:
                if value_hash is None:
                    return start  # deleting an absent key
                self.stale(node_key, depth)
                existing: _Item = (
                    int.from_bytes(existing_hash, "big"),
                    existing_hash,
                    raw[65:],
                    raw[33:65],
                )
                pair = [existing, item] if existing[0] < path else [item, existing]
                result = self.build(depth, pair)
        else:
            raise ValueError(f"corrupt SMT node reference (kind {kind})")
        # The common step — a new node below, a non-empty sibling — is inlined: the new
        # node's key is the replaced one's with this version, its hash a program step.
        append = self.ops.append
        delta = self._delta
        cache_depth = self._cache_depth if delta is not None else 0
        stale_prefix = self._stale_prefix
        new_prefix = self._node_prefix + self.vbytes
        skip = len(new_prefix)
        program, literals = self.program, self.literals
        deferred, deferred_depths = self.deferred, self.deferred_depths
        for node_key, sibling, went_right in reversed(trail):
            depth -= 1
            append((STALE_CF, stale_prefix + node_key, b""))
            if depth < cache_depth:
                delta.evicted.append(node_key)  # type: ignore[union-attr]
            if type(result) is int and len(sibling) == 41:
                literals += sibling
                index = len(program) // 3
                if went_right:
                    program.extend((1, -(len(literals) // 41), result))
                else:
                    program.extend((1, result, -(len(literals) // 41)))
                deferred.append(new_prefix + node_key[skip:])
                deferred_depths.append(depth)
                result = index
            elif went_right:
                result = self.combine(depth, path, sibling, result)
            else:
                result = self.combine(depth, path, result, sibling)
        return result

    def update_leaf(self, enc: bytes, depth: int, path: int, lo: int, hi: int) -> Any:
        node_key = self.key(enc[1:9], depth, path)
        raw = self.read(node_key, depth)
        key_hash, value_hash, key = raw[1:33], raw[33:65], raw[65:]
        existing = int.from_bytes(key_hash, "big")
        at = bisect_left(self.key_ints, existing, lo, hi)
        overridden = at < hi and self.key_ints[at] == existing
        writes = [item for item in self.items[lo:hi] if item[3] is not None]
        if overridden:
            if len(writes) == 1 and writes[0][0] == existing and writes[0][3] == value_hash:
                return enc  # the same value written again
        elif not writes:
            return enc  # only deletes of absent keys
        self.stale(node_key, depth)
        if not overridden:
            writes.append((existing, key_hash, key, value_hash))
            writes.sort()
        return self.build(depth, writes)

    def build(self, depth: int, items: list[_Item]) -> Any:
        """A fresh subtree over `items` (all present, sorted, sharing `depth` top bits)."""
        if not items:
            return EMPTY_ENC
        if len(items) == 1:
            key_int, key_hash, key, value_hash = items[0]
            assert value_hash is not None
            return (key_int, key_hash, key, value_hash, self.leaf_hash(key_hash, value_hash))
        path = items[0][0]
        mid = bisect_left(items, (_split(path, depth),))
        return self.combine(
            depth, path, self.build(depth + 1, items[:mid]), self.build(depth + 1, items[mid:])
        )

    def combine(self, depth: int, path: int, left: Any, right: Any) -> Any:
        """The node at (depth, path) over two settled children; a lone leaf moves up."""
        left_type, right_type = type(left), type(right)
        if left_type is bytes and left[0] == EMPTY:
            if right_type is tuple:
                return right
            if right_type is bytes:
                if right[0] == EMPTY:
                    return EMPTY_ENC
                if right[0] == LEAF:
                    return self.lift(right, depth + 1, path | (_TOP_BIT >> depth))
        elif right_type is bytes and right[0] == EMPTY:
            if left_type is tuple:
                return left
            if left_type is bytes and left[0] == LEAF:
                return self.lift(left, depth + 1, path & ~(_TOP_BIT >> depth))
        if left_type is tuple:
            left = self.place(left, depth + 1)
        if right_type is tuple:
            right = self.place(right, depth + 1)
        return self.inner(self.key(self.vbytes, depth, path), depth, left, right)

    def lift(self, child: bytes, depth: int, path: int) -> Any:
        """A stored leaf about to move up: read it and mark it stale at its old place."""
        node_key = self.key(child[1:9], depth, path)
        raw = self.read(node_key, depth)
        self.stale(node_key, depth)
        key_hash = raw[1:33]
        return (int.from_bytes(key_hash, "big"), key_hash, raw[65:], raw[33:65], child[9:])

    def place(self, node: Any, depth: int) -> Any:
        """Write a pending leaf at its final depth (a leaf's bytes hold no hash, so at once);
        returns it as a settled child: its program index, or its reference if its hash is
        known (a stored leaf moved up)."""
        key_int, key_hash, key, value_hash, leaf_hash = node
        raw = b"\x01" + key_hash + value_hash + key
        self.write(self.key(self.vbytes, depth, key_int), raw, depth)
        if type(leaf_hash) is int:
            return leaf_hash
        return self._leaf_prefix + leaf_hash
