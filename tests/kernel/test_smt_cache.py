"""The state trees' node cache never changes a result, and the committed bytes are frozen.

`NodeCache` keeps the upper nodes of the latest trees in memory (smt.py). These tests run
the same random histories — overwrites, deletes, re-inserts, pruning with a small
keep_recent, prepared-but-never-written blocks, a restart with a cold cache — through a
cached and an uncached state and compare app hashes and proofs at every version; check
that the cache only ever holds bytes that are in the DB under that key and belong to the
latest trees; read proofs from another thread while commits go on; and pin app hashes and
the tree's stored bytes to values computed before the cache and the faster update existed.
"""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
import threading
from collections.abc import Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_support import commit, temp_db

from sultan.kernel.store import ics23
from sultan.kernel.store.db import Database
from sultan.kernel.store.smt import EMPTY, INNER, NODES_CF, NodeCache, Ref, SparseMerkleTree
from sultan.kernel.store.versioned import (
    CommittedState,
    ProofUnavailableError,
    VersionUnavailableError,
)

STORES = ["alpha", "beta", "gamma"]
UNCACHED = (0, 0)  # NodeCache(max_depth, max_entries) that holds nothing


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def tree_nodes(tree: SparseMerkleTree, ref: Ref, depth: int = 0, path: int = 0) -> Iterator[bytes]:
    """The node keys of the tree under `ref`."""
    if ref[0] == EMPTY:
        return
    yield tree.node_key(ref[1], depth, path)
    if ref[0] == INNER:
        left, right = tree.load_inner(ref, depth, path)
        yield from tree_nodes(tree, left, depth + 1, path)
        yield from tree_nodes(tree, right, depth + 1, path | (1 << (255 - depth)))


def node_depth(tree: SparseMerkleTree, node_key: bytes) -> int:
    at = len(tree.store_key) + 2 + 8  # "<store>/n" + be64(version)
    return int.from_bytes(node_key[at : at + 2], "big")


def check_cache(state: CommittedState) -> None:
    """Every cached entry is the stored node under its key, above max_depth, in a latest tree."""
    cache = state.node_cache
    assert len(cache.nodes) <= cache.max_entries
    latest: dict[bytes, SparseMerkleTree] = {}
    for store, tree in state.trees.items():
        for node_key in tree_nodes(tree, state.tree_roots[store][1]):
            latest[node_key] = tree
    for node_key, raw in list(cache.nodes.items()):
        assert state.db.get(NODES_CF, node_key) == raw, node_key
        assert node_key in latest, f"{node_key!r} is not in the latest trees"
        assert node_depth(latest[node_key], node_key) < cache.max_depth


def proofs(state: CommittedState, version: int, keys: list[bytes]) -> list[tuple]:
    """Every key's (value, store proof bytes, multistore proof bytes) at `version`, verified."""
    out = []
    root = state.roots_at(version)["alpha"][2]
    for key in keys:
        try:
            value, proof, top = state.prove("alpha", key, version)
        except ProofUnavailableError:
            out.append(("empty",))
            continue
        if value is None:
            assert ics23.verify_non_membership(ics23.SMT_SPEC, root, proof, key)
        else:
            assert ics23.verify_membership(ics23.SMT_SPEC, root, proof, key, value)
        out.append((value, proof.SerializeToString(), top.SerializeToString()))
    return out


REL_KEYS = st.binary(min_size=1, max_size=2)
CHANGES = st.dictionaries(REL_KEYS, st.none() | st.binary(min_size=1, max_size=3), max_size=12)
BLOCK = st.tuples(CHANGES, st.none() | CHANGES)  # (committed, prepared first and dropped)


@given(
    blocks=st.lists(BLOCK, min_size=1, max_size=14),
    max_depth=st.integers(1, 12),
    max_entries=st.sampled_from([3, 40, 1 << 20]),
    keep_recent=st.integers(0, 3),
    restart_at=st.integers(0, 14),
)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_the_cache_never_changes_app_hashes_or_proofs(
    blocks, max_depth, max_entries, keep_recent, restart_at
) -> None:
    with tempfile.TemporaryDirectory(prefix="sultan-test-") as tmp, temp_db() as plain_db:
        path = os.path.join(tmp, "cached.db")
        cached_db = Database(path)
        try:
            cached = CommittedState(cached_db, STORES, NodeCache(max_depth, max_entries))
            plain = CommittedState(plain_db, STORES, NodeCache(*UNCACHED))
            seen: set[bytes] = {b"\x00", b"zz"}
            app_hashes: dict[int, bytes] = {}
            for step, (changes, dropped) in enumerate(blocks):
                if step == restart_at:
                    # A node restart: same DB, cold cache.
                    cached_db.close()
                    cached_db = Database(path)
                    cached = CommittedState(cached_db, STORES)
                version = cached.height + 1
                if dropped is not None:
                    # Prepared (reads fill the cache) but never written: must leave no trace.
                    wrong = [(b"alpha/" + k, v) for k, v in dropped.items()]
                    cached.prepare_commit([*wrong, (b"beta/x", b"1")], version, keep_recent)
                    check_cache(cached)
                items = [(b"alpha/" + k, v) for k, v in changes.items()]
                items.append((b"gamma/" + bytes([step % 3]), b"v%d" % step))
                seen.update(changes)
                app_hash = commit(cached, items, keep_recent)
                assert commit(plain, items, keep_recent) == app_hash
                app_hashes[version] = app_hash
                check_cache(cached)
                assert plain.node_cache.nodes == {}
                keys = sorted(seen)
                for kept in range(max(cached.earliest, 1), version + 1):
                    assert cached.roots_at(kept) == plain.roots_at(kept)
                    assert proofs(cached, kept, keys) == proofs(plain, kept, keys)
                    assert (
                        cached.compute_app_hash(
                            {k: ref[2] for k, ref in cached.roots_at(kept).items()}
                        )
                        == app_hashes[kept]
                    )
        finally:
            cached_db.close()


def test_a_warm_cache_spares_the_database_reads_of_the_upper_levels(db: Database) -> None:
    state = CommittedState(db, STORES, NodeCache(max_depth=256, max_entries=1 << 20))
    rng = random.Random(7)
    keys = [b"alpha/" + rng.randbytes(8) for _ in range(400)]
    commit(state, [(k, b"1") for k in keys])
    reads: list[bytes] = []
    real_get = db.get

    def counting_get(cf: str, key: bytes) -> bytes | None:
        if cf == NODES_CF:
            reads.append(key)
        return real_get(cf, key)

    db.get = counting_get  # type: ignore[method-assign]
    # Everything the commit wrote entered the cache: the next one reads no node from RocksDB.
    commit(state, [(k, b"2") for k in rng.sample(keys, 50)] + [(keys[0], None)])
    assert reads == []
    # A node restart starts cold, reads what it needs once, and then has it in memory.
    fresh = CommittedState(db, STORES, NodeCache(max_depth=256, max_entries=1 << 20))
    assert fresh.node_cache.nodes == {}
    commit(fresh, [(k, b"3") for k in keys[1:]])
    assert reads
    reads.clear()
    commit(fresh, [(k, b"4") for k in rng.sample(keys[1:], 50)])
    assert reads == []
    check_cache(fresh)
    # The default keeps only the top levels.
    assert CommittedState(db, STORES).node_cache.max_depth < 64


def test_the_cache_stays_within_its_entry_bound(db: Database) -> None:
    state = CommittedState(db, STORES, NodeCache(max_depth=256, max_entries=50))
    rng = random.Random(3)
    keys = [b"alpha/" + rng.randbytes(8) for _ in range(300)]
    for block in range(6):
        commit(state, [(k, b"%d" % block) for k in rng.sample(keys, 120)], keep_recent=2)
        assert len(state.node_cache.nodes) <= 50
        check_cache(state)


def test_proofs_read_on_other_threads_while_commits_go_on(db: Database) -> None:
    """Queries read old versions through the cache while the commit thread changes it."""
    state = CommittedState(db, STORES)
    rng = random.Random(11)
    keys = [b"alpha/" + rng.randbytes(6) for _ in range(300)]
    app_hashes = {1: commit(state, [(k, b"0") for k in keys])}
    stop = threading.Event()
    checked: list[int] = []
    errors: list[BaseException] = []

    def query() -> None:
        qrng = random.Random(12)
        try:
            while not stop.is_set():
                version = qrng.randint(max(state.earliest, 1), state.height)
                expected = app_hashes[version]
                key = qrng.choice(keys)[len(b"alpha/") :]
                try:
                    value, proof, top = state.prove("alpha", key, version)
                except VersionUnavailableError:
                    continue  # pruned while we read: a clear error, never a wrong proof
                store_root = top.exist.value
                assert ics23.verify_membership(
                    ics23.TENDERMINT_SPEC, expected, top, b"alpha", store_root
                )
                if value is None:
                    assert ics23.verify_non_membership(ics23.SMT_SPEC, store_root, proof, key)
                else:
                    assert ics23.verify_membership(ics23.SMT_SPEC, store_root, proof, key, value)
                checked.append(version)
        except BaseException as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        # At least 40 commits, and more while the readers have checked few proofs: on a busy
        # machine the readers get less time per commit (bounded, so a hang still fails).
        block = 1
        while block < 41 or (len(checked) <= 20 and block < 1000):
            block += 1
            changes = [(k, b"%d" % block) for k in rng.sample(keys, 40)]
            changes += [(k, None) for k in rng.sample(keys, 3)]
            version = state.height + 1
            app_hashes[version] = commit(state, changes, keep_recent=5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors[0]
    assert len(checked) > 20
    check_cache(state)


# -- frozen bytes ---------------------------------------------------------------------------


def golden_changes(version: int) -> list[tuple[bytes, bytes | None]]:
    """A fixed history: a small store with collapses and re-inserts, then thousands of keys."""
    if version <= 60:
        keys = [b"alpha/" + sha(b"k%d" % i)[: 1 + i % 3] for i in range(24)]
        keys += [b"beta/" + bytes([i]) for i in range(4)]
        count = 1 + version % 7 * 3
    else:
        keys = [b"gamma/" + sha(b"g%d" % i)[:6] for i in range(3000)]
        count = 1500 if version < 64 else 300
    changes: dict[bytes, bytes | None] = {}
    for i in range(count):
        h = sha(b"%d/%d" % (version, i))
        changes[keys[int.from_bytes(h[:4], "big") % len(keys)]] = (
            None if h[4] < 60 else h[5 : 6 + h[6] % 4]
        )
    return sorted(changes.items())


def golden_run(db: Database, keep_recent: int, cache: NodeCache) -> tuple[str, str, str]:
    """(sha256 of all 70 app hashes, the last app hash, sha256 of every smt/smt_stale entry)."""
    state = CommittedState(db, STORES, cache)
    hashes = [commit(state, golden_changes(v), keep_recent) for v in range(1, 71)]
    digest = hashlib.sha256()
    for cf in ("smt", "smt_stale"):
        for key, value in db.iterate(cf):
            digest.update(len(key).to_bytes(4, "big") + key + len(value).to_bytes(4, "big") + value)
    return sha(b"".join(hashes)).hex(), hashes[-1].hex(), digest.hexdigest()


# Computed with the tree code before the node cache and the single-path update existed: the
# app hashes, node bytes and stale markers must never change (counterparties' ICS-23 specs
# and every existing node's data depend on them).
GOLDEN = {
    0: (
        "134a0cc8dde4f6413b69223bcd36a90bf3fb9e51d9ca1cdcb143b3dae013cf08",
        "cbc50cd2115bc14f5cfb36343b345b93ba6cd614a2019bd4144e3b2d24150189",
        "2f5505f81cee7b80916187c50bdf152a451c23fbec24a5da9e147c7992ef4a0c",
    ),
    3: (
        "134a0cc8dde4f6413b69223bcd36a90bf3fb9e51d9ca1cdcb143b3dae013cf08",
        "cbc50cd2115bc14f5cfb36343b345b93ba6cd614a2019bd4144e3b2d24150189",
        "2fb715b64940d43a514f3b486bc87189e956c71eb6868eaf9e97acd7076d292d",
    ),
}


def test_app_hashes_and_tree_bytes_match_the_frozen_values(tmp_path) -> None:
    for keep_recent, expected in GOLDEN.items():
        for name, cache in (
            ("uncached", NodeCache(*UNCACHED)),
            ("default", NodeCache()),
            ("tiny", NodeCache(max_depth=4, max_entries=10)),
        ):
            with Database(str(tmp_path / f"{keep_recent}-{name}")) as db:
                assert golden_run(db, keep_recent, cache) == expected, (keep_recent, name)
