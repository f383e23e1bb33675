"""Consistent online backups of a node's data (RocksDB checkpoints) and their restore.

A RocksDB checkpoint is a point-in-time copy of the whole database (hard links to the
immutable SST files plus copies of the small mutable ones) taken at a write-batch boundary.
Every block commits state, commit info and the block store in one write batch, so a
checkpoint always holds a whole number of blocks: never half a block.

Only the process that has the database open can take a checkpoint, and a running node holds
it (exclusive `SULTAN.lock`). So `sultan backup` against a running node does not open the
DB: it drops a request file into `<home>/data/backup-requests/`, and the node's
`BackupWatcher` thread (started by `sultan run`) takes the checkpoint and answers in a
response file. The request directory lives inside the home (0700), so only the node's
operator account can ask; nothing listens on the network. When the node is stopped,
`sultan backup` takes the lock and makes the checkpoint itself.

A backup directory holds `data/application.db/` (the checkpoint), `config/` (config.toml,
app.toml, genesis.json, plugins.toml; plus node_key.json, priv_validator_key.json and
`data/priv_validator_state.json` with --include-keys) and `manifest.json`: chain id,
height, app hash and the sha256 and size of every file. `restore_backup` verifies all of
it before it touches the target home.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rocksdict import AccessType, Checkpoint, Options, Rdict

from sultan.kernel.home import Home
from sultan.kernel.store.db import COLUMN_FAMILIES, Database, DatabaseLockedError

MANIFEST = "manifest.json"
FORMAT = 1
DB_DIRNAME = "application.db"  # = sultan.node.DB_DIRNAME (not imported: node pulls in the app)
REQUESTS_DIRNAME = "backup-requests"
CONFIG_FILES = ("config.toml", "app.toml", "genesis.json", "plugins.toml")
KEY_FILES = ("node_key.json", "priv_validator_key.json")
# Files RocksDB writes for itself that carry no state; never part of a checkpoint's contents.
_SKIP_DB_FILES = ("LOCK", "SULTAN.lock")


class BackupError(RuntimeError):
    """A backup could not be made or a backup directory failed verification."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checkpoint(db: Database, dest: str | os.PathLike[str]) -> None:
    """A RocksDB checkpoint of the open `db` at `dest` (which must not exist)."""
    Checkpoint(db._db).create_checkpoint(str(dest))


def read_commit_info(db_path: str | os.PathLike[str]) -> tuple[str, int, bytes]:
    """(chain id, height, app hash) of a closed database, opened read-only (nothing written)."""
    opts = Options(raw_mode=True)
    cfs = {name: Options(raw_mode=True) for name in COLUMN_FAMILIES}
    rdb = Rdict(str(db_path), options=opts, column_families=cfs, access_type=AccessType.read_only())
    try:
        meta = rdb.get_column_family("meta")
        raw_height = meta.get(b"height")
        height = int.from_bytes(bytes(raw_height), "big") if raw_height is not None else 0
        app_hash = bytes(meta.get(b"app_hash") or b"")
        chain_id = bytes(meta.get(b"chain_id") or b"").decode()
    finally:
        rdb.close()
    return chain_id, height, app_hash


class BackupWatcher:
    """In a running node: answers `sultan backup` requests with checkpoints of its DB."""

    def __init__(self, home: Home, db: Database, poll_s: float = 0.2) -> None:
        self.dir = home.data_dir / REQUESTS_DIRNAME
        self.db = db
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backup-watcher", daemon=True)

    def start(self) -> BackupWatcher:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            for request in sorted(self.dir.glob("*.request.json")):
                self.handle(request)

    def handle(self, request: Path) -> None:
        base = request.name[: -len(".request.json")]
        try:
            dest = json.loads(request.read_text())["dest"]
            checkpoint(self.db, dest)
            answer: dict[str, Any] = {"ok": True}
        except Exception as exc:  # reported to the requester, the node keeps running
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        tmp = self.dir / f"{base}.tmp"
        tmp.write_text(json.dumps(answer))
        os.replace(tmp, self.dir / f"{base}.response.json")
        request.unlink(missing_ok=True)


def _request_checkpoint(home: Home, dest: Path, timeout: float) -> None:
    requests = home.data_dir / REQUESTS_DIRNAME
    if not requests.is_dir():
        raise BackupError(
            f"the node holding {home.root} does not accept backup requests "
            f"(no {requests}): is it a `sultan run` of this version?"
        )
    rid = uuid.uuid4().hex
    tmp = requests / f"{rid}.tmp"
    tmp.write_text(json.dumps({"dest": str(dest)}))
    request = requests / f"{rid}.request.json"
    os.replace(tmp, request)
    response = requests / f"{rid}.response.json"
    deadline = time.monotonic() + timeout
    while not response.exists():
        if time.monotonic() > deadline:
            request.unlink(missing_ok=True)
            raise BackupError(f"the running node did not answer the backup request in {timeout}s")
        time.sleep(0.05)
    answer = json.loads(response.read_text())
    response.unlink()
    if not answer.get("ok"):
        raise BackupError(f"the node failed to make the checkpoint: {answer.get('error')}")


def create_backup(
    home: Home,
    out: str | os.PathLike[str],
    *,
    include_keys: bool = False,
    timeout: float = 120.0,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Back up `home` (running or stopped) into the new or empty directory `out`."""
    out = Path(out).expanduser().absolute()
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty")
    if not home.genesis_json.exists():
        raise FileNotFoundError(f"{home.root} is not initialised (no config/genesis.json)")
    (out / "data").mkdir(parents=True, exist_ok=True)
    dest = out / "data" / DB_DIRNAME
    db_path = home.data_dir / DB_DIRNAME
    try:
        db = Database(str(db_path))
    except DatabaseLockedError:
        progress("node is running: asking it for a checkpoint")
        _request_checkpoint(home, dest, timeout)
    else:
        progress("node is stopped: taking the checkpoint directly")
        try:
            checkpoint(db, dest)
        finally:
            db.close()
    for name in _SKIP_DB_FILES:
        (dest / name).unlink(missing_ok=True)
    chain_id, height, app_hash = read_commit_info(dest)
    (dest / "LOCK").unlink(missing_ok=True)
    progress(f"checkpoint at height {height} app_hash {app_hash.hex().upper()}")
    (out / "config").mkdir(exist_ok=True)
    names = CONFIG_FILES + (KEY_FILES if include_keys else ())
    for name in names:
        src = home.config_dir / name
        if src.exists():
            shutil.copy2(src, out / "config" / name)
    if include_keys and home.priv_validator_state.exists():
        shutil.copy2(home.priv_validator_state, out / "data" / home.priv_validator_state.name)
    files: dict[str, dict[str, Any]] = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        files[rel] = {"sha256": _sha256(path), "size": path.stat().st_size}
    manifest = {
        "format": FORMAT,
        "chain_id": chain_id,
        "height": height,
        "app_hash": app_hash.hex().upper(),
        "include_keys": include_keys,
        "created_ns": time.time_ns(),
        "files": files,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    progress(f"{len(files)} files, manifest written to {out / MANIFEST}")
    return manifest


def verify_backup(src: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of backup `src`, after checking every file (and no extra ones)."""
    src = Path(src).expanduser().absolute()
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src}: no readable {MANIFEST} ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src}: unsupported backup format {manifest.get('format')!r}")
    files = manifest["files"]
    present = {
        p.relative_to(src).as_posix()
        for p in src.rglob("*")
        if p.is_file() and p.name != MANIFEST and p.name not in _SKIP_DB_FILES
    }
    if present != set(files):
        missing = sorted(set(files) - present)
        extra = sorted(present - set(files))
        raise BackupError(
            f"{src}: files do not match the manifest (missing {missing}, extra {extra})"
        )
    for rel, info in files.items():
        path = src / rel
        if path.stat().st_size != info["size"] or _sha256(path) != info["sha256"]:
            raise BackupError(f"{src}: {rel} does not match its sha256 in the manifest")
    return manifest


def _holds_lock(db_path: Path) -> bool:
    """True if a process holds the database (a running node)."""
    lock_path = db_path / "SULTAN.lock"
    if not lock_path.exists():
        return False
    with open(lock_path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def restore_backup(
    src: str | os.PathLike[str],
    home: Home,
    *,
    force: bool = False,
    progress: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Verify backup `src` and install it into `home`; the node then continues from it."""
    src = Path(src).expanduser().absolute()
    manifest = verify_backup(src)
    progress(f"verified {len(manifest['files'])} files (height {manifest['height']})")
    db_path = home.data_dir / DB_DIRNAME
    if _holds_lock(db_path):
        raise BackupError(f"{home.root} is in use by a running node: stop it first")
    if db_path.exists() and any(db_path.iterdir()) and not force:
        raise BackupError(f"{db_path} is not empty (use --force to replace it)")
    for name in KEY_FILES:
        rel, target = f"config/{name}", home.config_dir / name
        if rel in manifest["files"] and target.exists() and not force:
            if _sha256(target) != manifest["files"][rel]["sha256"]:
                raise BackupError(f"{target} exists and differs (use --force to replace it)")
    home.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = home.data_dir / f"{DB_DIRNAME}.restore-tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(src / "data" / DB_DIRNAME, staging)
    chain_id, height, app_hash = read_commit_info(staging)
    (staging / "LOCK").unlink(missing_ok=True)
    if (chain_id, height, app_hash.hex().upper()) != (
        manifest["chain_id"],
        manifest["height"],
        manifest["app_hash"],
    ):
        shutil.rmtree(staging)
        raise BackupError(f"{src}: the database does not hold the manifest's height/app hash")
    if db_path.exists():
        shutil.rmtree(db_path)
    os.replace(staging, db_path)
    home.config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    for rel in manifest["files"]:
        if rel.startswith("config/"):
            shutil.copy2(src / rel, home.config_dir / rel[len("config/") :])
    state_rel = f"data/{home.priv_validator_state.name}"
    if state_rel in manifest["files"] and not home.priv_validator_state.exists():
        # Never move an existing signing state back: that could let the validator sign twice.
        shutil.copy2(src / state_rel, home.priv_validator_state)
    progress(f"restored height {height} app_hash {app_hash.hex().upper()} into {home.root}")
    return manifest
