"""CommittedState on a real RocksDB: versioned reads, pruning, persistence and determinism."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kernel_support import commit, model_range, temp_db

from sultan.kernel.store.db import Database, DatabaseLockedError
from sultan.kernel.store.versioned import (
    CommittedState,
    VersionUnavailableError,
    escape_key,
    store_prefix,
    unescape_key,
)

STORE_KEYS = ["alpha", "beta"]
ALPHABET = [0x00, 0x01, 0x61, 0xFE, 0xFF]
# Module-relative suffixes: may be empty (the key *is* the prefix), prefixes of each other,
# and full of 0x00 / 0xFF bytes (the bytes escape_key rewrites or terminates with).
SUFFIXES = st.lists(st.sampled_from(ALPHABET), max_size=3).map(bytes)
KEYS = st.builds(lambda sk, s: store_prefix(sk) + s, st.sampled_from(STORE_KEYS), SUFFIXES)
VALUES = st.binary(max_size=3)
CHANGESET = st.dictionaries(KEYS, st.none() | VALUES, max_size=6)
HISTORY = st.lists(CHANGESET, min_size=1, max_size=10)

DB_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Range bounds around the interesting spots of the key space (None = unbounded).
BOUNDS = [
    None,
    b"alpha/",
    b"alpha/\x00",
    b"alpha/\x00\x00",
    b"alpha/\x01",
    b"alpha/a",
    b"alpha/\xff",
    b"alpha/\xff\xff\xff\xff",
    b"alpha0",
    b"beta/",
    b"beta/\xfe\xff",
    b"beta0",
]


# -- an independent model of the commitment --------------------------------------------------
# Module roots are sparse Merkle trees (ICS-23 SmtSpec); the app hash is CometBFT's
# HashFromMap over {store_key: root} (ICS-23 TendermintSpec), as the Cosmos multistore.


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _rfc6962(items: list[bytes]) -> bytes:
    if not items:
        return hashlib.sha256(b"").digest()
    if len(items) == 1:
        return hashlib.sha256(b"\x00" + items[0]).digest()
    k = 1
    while k * 2 < len(items):
        k *= 2
    return hashlib.sha256(b"\x01" + _rfc6962(items[:k]) + _rfc6962(items[k:])).digest()


def _kv(key: bytes, value: bytes) -> bytes:
    digest = hashlib.sha256(value).digest()
    return _uvarint(len(key)) + key + _uvarint(len(digest)) + digest


def _smt(leaves: list[tuple[bytes, bytes]], depth: int = 0) -> bytes:
    """ICS-23 SmtSpec root over (sha256(key), sha256(value)) pairs: bit `depth` of the key
    hash (most significant first) picks the side; one leaf is its own subtree; none is 0*32."""
    if not leaves:
        return bytes(32)
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0][0] + leaves[0][1]).digest()
    side = [(kh[depth // 8] >> (7 - depth % 8)) & 1 for kh, _ in leaves]
    left = [leaf for leaf, bit in zip(leaves, side, strict=True) if bit == 0]
    right = [leaf for leaf, bit in zip(leaves, side, strict=True) if bit == 1]
    return hashlib.sha256(b"\x01" + _smt(left, depth + 1) + _smt(right, depth + 1)).digest()


def expected_roots(state: dict[bytes, bytes], store_keys=STORE_KEYS) -> dict[str, bytes]:
    """Each store's root: the SMT over its module-relative keys (the prefix stripped)."""
    roots = {}
    for sk in store_keys:
        prefix = store_prefix(sk)
        roots[sk] = _smt(
            [
                (hashlib.sha256(k[len(prefix) :]).digest(), hashlib.sha256(v).digest())
                for k, v in state.items()
                if k.startswith(prefix)
            ]
        )
    return roots


def expected_app_hash(state: dict[bytes, bytes], store_keys=STORE_KEYS) -> bytes:
    roots = expected_roots(state, store_keys)
    return _rfc6962([_kv(sk.encode(), roots[sk]) for sk in sorted(store_keys)])


def apply(state: dict[bytes, bytes], changes: dict[bytes, bytes | None]) -> dict[bytes, bytes]:
    new = dict(state)
    for key, value in changes.items():
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
    return new


def build_models(history: list[dict[bytes, bytes | None]]) -> list[dict[bytes, bytes]]:
    """models[v] = the state after version v (models[0] is the empty genesis state)."""
    models: list[dict[bytes, bytes]] = [{}]
    for changes in history:
        models.append(apply(models[-1], changes))
    return models


def check_version(
    state: CommittedState, version: int, model: dict[bytes, bytes], universe: set[bytes]
) -> None:
    reader = state.at(version)
    for key in universe | {b"alpha/", b"beta/\x00", b"beta/\xff\xff\xff\xff"}:
        assert reader.get(key) == model.get(key), (version, key)
    for start in BOUNDS:
        for end in BOUNDS:
            for reverse in (False, True):
                got = list(reader.iterate(start, end, reverse))
                want = model_range(model, start, end, reverse)
                assert got == want, (version, start, end, reverse)


def assert_no_garbage(
    db: Database, earliest: int, history: list[dict[bytes, bytes | None]]
) -> None:
    """Every surviving history entry is still readable at some retained version.

    An entry written at w becomes unreadable from V on: V = w for a delete (tombstone), else
    the version of the key's next write. Pruning must have removed every entry with
    V < earliest, and every `obsolete` marker for such a V.
    """
    writes: dict[bytes, list[tuple[int, bool]]] = {}
    for version, changes in enumerate(history, start=1):
        for key, value in changes.items():
            writes.setdefault(key, []).append((version, value is None))

    def unreadable_from(key: bytes, version: int) -> int | None:
        entries = writes[key]
        for i, (w, tomb) in enumerate(entries):
            if w == version:
                if tomb:
                    return w
                return entries[i + 1][0] if i + 1 < len(entries) else None
        raise AssertionError(f"history entry {key!r}@{version} was never written")

    for hkey, _ in db.iterate("history"):
        key, version = unescape_key(hkey[:-8]), int.from_bytes(hkey[-8:], "big")
        v = unreadable_from(key, version)
        assert v is None or v >= earliest, (key, version, v, earliest)
    for okey, _ in db.iterate("obsolete"):
        assert int.from_bytes(okey[:8], "big") >= earliest, (okey, earliest)


# -- escape_key -------------------------------------------------------------------------------


@given(a=st.binary(max_size=6), b=st.binary(max_size=6))
@settings(max_examples=200, deadline=None)
def test_escape_key_keeps_order_and_is_prefix_free(a: bytes, b: bytes) -> None:
    ea, eb = escape_key(a), escape_key(b)
    assert unescape_key(ea) == a
    assert (a < b) == (ea < eb)
    if a != b:
        assert not ea.startswith(eb) and not eb.startswith(ea)


# -- versioned reads ---------------------------------------------------------------------------


@given(history=HISTORY, shuffle_seed=st.integers(0, 2**16))
@DB_SETTINGS
def test_every_version_reads_exactly_as_committed(
    history: list[dict[bytes, bytes | None]], shuffle_seed: int
) -> None:
    models = build_models(history)
    universe = {k for changes in history for k in changes}
    rng = random.Random(shuffle_seed)
    with temp_db() as db:
        state = CommittedState(db, STORE_KEYS)
        assert state.app_hash == expected_app_hash({})
        for version, changes in enumerate(history, start=1):
            items = list(changes.items())
            rng.shuffle(items)
            app_hash = commit(state, items)
            assert state.height == version
            assert app_hash == state.app_hash == expected_app_hash(models[version])
            assert state.module_roots == expected_roots(models[version])
        for version in range(1, len(history) + 1):
            check_version(state, version, models[version], universe)
        latest = state.latest()
        assert list(latest.iterate()) == model_range(models[-1])
        assert list(latest.iterate(None, None, reverse=True)) == model_range(
            models[-1], None, None, True
        )
        for key in universe:
            assert latest.get(key) == models[-1].get(key)
        with pytest.raises(VersionUnavailableError):
            state.at(len(history) + 1)


def test_delete_recreate_and_prefix_keys_at_each_version(db) -> None:
    state = CommittedState(db, STORE_KEYS)
    k = b"alpha/a"
    history: list[dict[bytes, bytes | None]] = [
        {k: b"1", k + b"\x00": b"nul", k + b"\xff": b"ff", b"alpha/": b"root"},
        {k: None},
        {k: b"2", k + b"\x00": None},
        {k: None, k + b"\x00": b"back"},
        {k: b""},  # an empty value is present, not deleted
        {k: None, b"alpha/": None},  # deleting twice in a row is harmless
        {k: None},
        {k: b"3"},
    ]
    models = build_models(history)
    for changes in history:
        commit(state, list(changes.items()))
    universe = {key for changes in history for key in changes}
    for version in range(1, len(history) + 1):
        check_version(state, version, models[version], universe)
    assert state.at(5).get(k) == b""
    assert state.at(6).get(k) is None
    assert state.at(2).get(k) is None and state.at(3).get(k) == b"2"


# -- pruning -----------------------------------------------------------------------------------


@given(history=st.lists(CHANGESET, min_size=1, max_size=14), keep_recent=st.integers(1, 4))
@DB_SETTINGS
def test_pruning_keeps_recent_versions_exact(
    history: list[dict[bytes, bytes | None]], keep_recent: int
) -> None:
    models = build_models(history)
    universe = {k for changes in history for k in changes}
    with temp_db() as db:
        state = CommittedState(db, STORE_KEYS)
        for version, changes in enumerate(history, start=1):
            commit(state, list(changes.items()), keep_recent)
            earliest = max(1, version - keep_recent + 1)
            assert state.earliest == earliest
            for old in range(1, earliest):
                with pytest.raises(VersionUnavailableError):
                    state.at(old)
            for kept in range(earliest, version + 1):
                check_version(state, kept, models[kept], universe)
            assert_no_garbage(db, earliest, history[:version])


def _count(db: Database, cf: str) -> int:
    return sum(1 for _ in db.iterate(cf))


@pytest.mark.parametrize("keep_recent", [1, 2, 5])
def test_pruning_bounds_history_and_obsolete(db, keep_recent: int) -> None:
    rng = random.Random(keep_recent)
    keys = [store_prefix(sk) + bytes([i]) for sk in STORE_KEYS for i in (0, 1, 0x61, 0xFF)]
    state = CommittedState(db, STORE_KEYS)
    models: list[dict[bytes, bytes]] = [{}]
    history: list[dict[bytes, bytes | None]] = []
    sizes = []
    for version in range(1, 161):
        changes: dict[bytes, bytes | None] = {}
        for key in rng.sample(keys, 4):
            changes[key] = None if rng.random() < 0.3 else rng.randbytes(rng.randint(0, 3))
        commit(state, list(changes.items()), keep_recent)
        models.append(apply(models[-1], changes))
        history.append(changes)
        n_history, n_obsolete = _count(db, "history"), _count(db, "obsolete")
        # At most keep_recent + 1 history entries per key survive, and few obsolete markers.
        assert n_history <= (keep_recent + 1) * len(keys), (version, n_history)
        assert n_obsolete <= 2 * (keep_recent + 1) * len(keys), (version, n_obsolete)
        sizes.append((n_history, n_obsolete))
        if version % 40 == 0:
            assert_no_garbage(db, state.earliest, history)
    assert state.earliest == 160 - keep_recent + 1
    for kept in range(state.earliest, state.height + 1):
        check_version(state, kept, models[kept], set(keys))
    # Without pruning the same workload would keep all 640 writes; here the size stays flat.
    assert max(h for h, _ in sizes[80:]) <= (keep_recent + 1) * len(keys) < 640


def test_keep_everything_without_pruning(db) -> None:
    state = CommittedState(db, STORE_KEYS)
    for i in range(1, 11):
        commit(state, [(b"alpha/k", bytes([i]))], keep_recent=0)
    assert state.earliest == 1
    for v in range(1, 11):
        assert state.at(v).get(b"alpha/k") == bytes([v])
    assert _count(db, "history") == 10


# -- persistence ------------------------------------------------------------------------------


def test_reopen_keeps_height_app_hash_roots_and_history(tmp_path) -> None:
    path = str(tmp_path / "application.db")
    history: list[dict[bytes, bytes | None]] = [
        {b"alpha/a": b"1", b"beta/\x00": b"z"},
        {b"alpha/a": None, b"alpha/b\xff": b"2"},
        {b"beta/\x00": b"y", b"alpha/a": b"3"},
        {b"beta/\xff": b""},
    ]
    models = build_models(history)
    with Database(path) as db:
        state = CommittedState(db, STORE_KEYS)
        for changes in history:
            commit(state, list(changes.items()), keep_recent=3)
        saved = (state.height, state.app_hash, dict(state.module_roots), state.earliest)
        with pytest.raises(DatabaseLockedError):
            Database(path)
    with Database(path) as db:
        state = CommittedState(db, STORE_KEYS)
        assert (state.height, state.app_hash, state.module_roots, state.earliest) == saved
        assert state.app_hash == expected_app_hash(models[-1])
        universe = {k for changes in history for k in changes}
        for version in range(2, 5):
            check_version(state, version, models[version], universe)
        with pytest.raises(VersionUnavailableError):
            state.at(1)
        # Carrying on after a restart gives the same hash as a node that never stopped.
        next_hash = commit(state, [(b"alpha/a", b"4")], keep_recent=3)
        assert next_hash == expected_app_hash(apply(models[-1], {b"alpha/a": b"4"}))


# -- determinism ------------------------------------------------------------------------------


@given(history=HISTORY, seed=st.integers(0, 2**16), data=st.data())
@DB_SETTINGS
def test_insertion_order_never_changes_the_app_hash(
    history: list[dict[bytes, bytes | None]], seed: int, data: st.DataObject
) -> None:
    rng = random.Random(seed)
    with temp_db() as db_a, temp_db() as db_b:
        a = CommittedState(db_a, STORE_KEYS)
        b = CommittedState(db_b, list(reversed(STORE_KEYS)))
        hashes = []
        for changes in history:
            items = list(changes.items())
            shuffled = items[:]
            rng.shuffle(shuffled)
            hash_a = commit(a, items, keep_recent=2)
            hash_b = commit(b, shuffled, keep_recent=3)
            assert hash_a == hash_b
            hashes.append(hash_a)

    # One byte different in one write changes the app hash of that version.
    writes = [(v, k) for v, ch in enumerate(history) for k, val in ch.items() if val is not None]
    if not writes:
        return
    version, key = data.draw(st.sampled_from(writes))
    original = history[version][key]
    assert original is not None
    if original:
        pos = data.draw(st.integers(0, len(original) - 1))
        altered = original[:pos] + bytes([original[pos] ^ 0x01]) + original[pos + 1 :]
    else:
        altered = b"\x00"
    tampered = [dict(ch) for ch in history]
    tampered[version][key] = altered
    with temp_db() as db_c:
        c = CommittedState(db_c, STORE_KEYS)
        for i, changes in enumerate(tampered):
            got = commit(c, list(changes.items()))
            if i < version:
                assert got == hashes[i]
            elif i == version:
                assert got != hashes[i]
                break


def test_one_byte_in_a_key_changes_the_app_hash(tmp_path) -> None:
    hashes = []
    for i, key in enumerate([b"alpha/key", b"alpha/kez", b"beta/key"]):
        with Database(str(tmp_path / f"db{i}")) as db:
            hashes.append(commit(CommittedState(db, STORE_KEYS), [(key, b"v")]))
    assert len(set(hashes)) == 3


@pytest.mark.parametrize(
    "bad_key", [b"gamma/x", b"alpha", b"alphabet/x", b"Alpha/x", b"", b"\x00alpha/x"]
)
def test_writes_outside_module_stores_are_rejected(db, bad_key: bytes) -> None:
    state = CommittedState(db, STORE_KEYS)
    commit(state, [(b"alpha/ok", b"1")])
    before = (state.height, state.app_hash)
    with pytest.raises(ValueError, match="outside any module store"):
        state.prepare_commit([(b"alpha/fine", b"2"), (bad_key, b"x")], 2)
    assert (state.height, state.app_hash) == before
    assert db.get("state", b"alpha/fine") is None
    commit(state, [(b"alpha/fine", b"2")])
    assert state.at(2).get(b"alpha/fine") == b"2"


def test_versions_must_follow_on(db) -> None:
    state = CommittedState(db, STORE_KEYS)
    commit(state, [(b"alpha/a", b"1")])
    for wrong in (1, 3, 0):
        with pytest.raises(ValueError):
            state.prepare_commit([(b"alpha/a", b"2")], wrong)
    with pytest.raises(VersionUnavailableError):
        state.at(2)


def test_first_commit_at_a_genesis_initial_height(db) -> None:
    """A chain whose genesis sets initial_height > 1 commits its first block at that height."""
    state = CommittedState(db, STORE_KEYS)
    commit_at = 5
    ops, app_hash, roots = state.prepare_commit([(b"alpha/a", b"1")], commit_at, 0)
    db.write(ops)
    state.apply_commit(commit_at, app_hash, roots, 0)
    assert state.height == 5 and state.at(5).get(b"alpha/a") == b"1"
    for missing in (1, 4):
        with pytest.raises(VersionUnavailableError):
            state.at(missing)
    commit(state, [(b"alpha/a", b"2")], keep_recent=0)
    assert state.at(5).get(b"alpha/a") == b"1" and state.at(6).get(b"alpha/a") == b"2"
    reopened = CommittedState(db, STORE_KEYS)
    assert reopened.earliest == 5 and reopened.height == 6


def test_database_iterate_and_seek_prev(db) -> None:
    keys = [b"a", b"a\x00", b"a\xff", b"b", b"\xff"]
    db.write([("meta", k, k * 2) for k in keys])
    data = {k: k * 2 for k in keys}
    bounds = [None, b"", b"a", b"a\x00", b"a\x01", b"b", b"\xff", b"\xff\xff"]
    for start in bounds:
        for end in bounds:
            if end == b"":
                continue
            for reverse in (False, True):
                assert list(db.iterate("meta", start, end, reverse)) == model_range(
                    data, start, end, reverse
                )
    assert db.seek_prev("meta", b"a\x01") == (b"a\x00", b"a\x00a\x00")
    assert db.seek_prev("meta", b"a") == (b"a", b"aa")
    assert db.seek_prev("meta", b"\x00") is None
    db.write([("meta", b"a", None), ("state", b"a", b"1")])
    assert db.get("meta", b"a") is None and db.get("state", b"a") == b"1"
