"""`sultan snapshot list|create|export|restore|delete`: state-sync snapshots for operators.

Snapshots live in `<home>/data/snapshots/` (see `sultan.kernel.snapshots`); a running node
takes them every `app.toml [state-sync] snapshot-interval` blocks. `create` and `restore`
open the database, so the node must be stopped; `list`, `export` and `delete` only touch
the snapshot files.

An exported file is `SULTAN-SNAPSHOT\\n`, then records `be32 len | bytes`: the snapshot's
JSON description, then each chunk in order.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from sultan.cli.init_cmd import home_option, resolve_home
from sultan.kernel.abci.app import KERNEL_STORE
from sultan.kernel.engine.base import storage_failure
from sultan.kernel.home import Home
from sultan.kernel.modules import load_modules, read_plugins_toml
from sultan.kernel.snapshots import (
    SnapshotError,
    SnapshotInfo,
    SnapshotStore,
    create_snapshot,
    restore_ops,
)
from sultan.kernel.store.db import Database
from sultan.kernel.store.versioned import CommittedState

MAGIC = b"SULTAN-SNAPSHOT\n"
_BE32 = struct.Struct(">I")
DB_DIRNAME = "application.db"


def _store(home: Home) -> SnapshotStore:
    return SnapshotStore(home.data_dir / "snapshots")


def _progress(done: int, total: int, what: str) -> None:
    click.echo(f"\r{what}: chunk {done}/{total}", err=True, nl=done == total)


@contextlib.contextmanager
def _database(path: Path) -> Iterator[Database]:
    """The database, closed on exit; after an error, a failing close is not reported too."""
    db = Database(str(path))
    try:
        yield db
    except BaseException:
        with contextlib.suppress(Exception):  # e.g. "Writer has previous error" (disk full)
            db.close()
        raise
    db.close()


def _store_keys(db: Database) -> list[str]:
    return [k[len(b"root/") :].decode() for k, _ in db.iterate("meta", b"root/", b"root0")]


@click.group("snapshot")
def snapshot_group() -> None:
    """State-sync snapshots of application state (data/snapshots/)."""


@snapshot_group.command("list")
@home_option
def list_command(home: Path | None) -> None:
    """Snapshots on disk, newest first."""
    snapshots = _store(resolve_home(home)).list()
    if not snapshots:
        click.echo("no snapshots")
    for s in snapshots:
        click.echo(
            f"height={s.height} format={s.format} chunks={s.chunks} size={s.size} "
            f"hash={s.hash.hex().upper()} app_hash={s.app_hash.hex().upper()}"
        )


@snapshot_group.command("create")
@home_option
@click.option("--chunk-size", default=4 << 20, show_default=True, help="Bytes per chunk.")
def create_command(home: Path | None, chunk_size: int) -> None:
    """Snapshot the latest committed height now (node stopped)."""
    h = resolve_home(home)
    with Database(str(h.data_dir / DB_DIRNAME)) as db:
        _store(h).recover()  # we hold the lock: leftovers of a killed writer can go
        keys = _store_keys(db)
        state = CommittedState(db, keys)
        if state.height == 0:
            raise click.ClickException("nothing committed yet")
        try:
            info = create_snapshot(
                db,
                _store(h),
                state.height,
                keys,
                state.app_hash,
                chunk_size=chunk_size,
                progress=lambda n, size: click.echo(
                    f"\rchunk {n} ({size} bytes)", err=True, nl=False
                ),
            )
        except SnapshotError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:  # disk full, I/O error: the partial snapshot is removed
            raise click.ClickException(storage_failure(exc) or str(exc)) from exc
    click.echo("", err=True)
    click.echo(f"snapshot height={info.height} chunks={info.chunks} hash={info.hash.hex().upper()}")


@snapshot_group.command("export")
@click.argument("height", type=int)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@home_option
def export_command(height: int, file: Path, home: Path | None) -> None:
    """Write the snapshot at HEIGHT into one FILE."""
    store = _store(resolve_home(home))
    try:
        info = store.get(height)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    partial = file.with_name(file.name + ".partial")  # renamed when whole
    try:
        with open(partial, "wb") as f:
            f.write(MAGIC)
            meta = json.dumps(info.to_json()).encode()
            f.write(_BE32.pack(len(meta)) + meta)
            for i in range(info.chunks):
                chunk = store.chunk(height, i)
                f.write(_BE32.pack(len(chunk)) + chunk)
                _progress(i + 1, info.chunks, "export")
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, file)
    except OSError as exc:  # disk full, I/O error: no partial file is left behind
        partial.unlink(missing_ok=True)
        raise click.ClickException(storage_failure(exc) or str(exc)) from exc
    click.echo(f"exported snapshot at height {height} to {file}")


def _read_record(f: IO[bytes]) -> bytes:
    raw = f.read(4)
    if len(raw) != 4:
        raise SnapshotError("snapshot file is truncated")
    (n,) = _BE32.unpack(raw)
    data = f.read(n)
    if len(data) != n:
        raise SnapshotError("snapshot file is truncated")
    return data


def read_snapshot_file(file: Path) -> tuple[SnapshotInfo, bytes]:
    """(description, payload) of an exported file, every chunk hash checked."""
    with open(file, "rb") as f:
        if f.read(len(MAGIC)) != MAGIC:
            raise SnapshotError(f"{file} is not a sultan snapshot file")
        try:
            info = SnapshotInfo.from_json(json.loads(_read_record(f)))
        except (ValueError, KeyError) as exc:
            raise SnapshotError(f"bad snapshot description: {exc}") from None
        chunks = []
        for i in range(info.chunks):
            chunk = _read_record(f)
            if hashlib.sha256(chunk).digest() != info.chunk_hashes[i]:
                raise SnapshotError(f"chunk {i} does not match its hash")
            chunks.append(chunk)
            _progress(i + 1, info.chunks, "verify")
        if f.read(1):
            raise SnapshotError("trailing data after the last chunk")
    return info, b"".join(chunks)


@snapshot_group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@home_option
def restore_command(file: Path, home: Path | None) -> None:
    """Install the snapshot in FILE as the application state of an empty home (node stopped).

    The state is written in one atomic batch, between a restore mark and its removal: if
    this is killed, the node refuses to start until the restore is run again (which then
    completes it, or finds the batch written and just confirms it).
    """
    h = resolve_home(home)
    store = _store(h)
    try:
        info, payload = read_snapshot_file(file)
        with _database(h.data_dir / DB_DIRNAME) as db:
            if db.get("meta", b"height") is not None:
                state = CommittedState(db, _store_keys(db))
                same = (state.height, state.app_hash) == (info.height, info.app_hash)
                if same and store.restore_in_progress() is not None:
                    # Killed after the (atomic) write, before the mark was removed.
                    store.end_restore()
                    click.echo(
                        f"restored application state at height {info.height} "
                        "(completed an interrupted restore; app_hash verified)"
                    )
                    return
                raise SnapshotError(
                    f"{h.root} already has application state (`sultan unsafe-reset-all` first)"
                )
            modules = load_modules(read_plugins_toml(str(h.plugins_toml)))
            keys = sorted([*modules.store_keys, KERNEL_STORE])
            store.begin_restore(info, str(file.resolve()))
            click.echo(f"rebuilding the state at height {info.height} in memory", err=True)
            try:
                ops, _ = restore_ops(payload, info.height, info.app_hash, keys)
            except SnapshotError:
                store.end_restore()  # refused before any write: the home is as it was
                raise
            click.echo(f"writing {len(ops)} records in one batch", err=True)
            try:
                db.write(ops)
            except Exception as exc:  # the batch is atomic: nothing of it was written
                problem = storage_failure(exc)
                if problem is None:
                    raise
                raise SnapshotError(
                    f"{problem} -- nothing was restored; fix the disk and run the restore again"
                ) from None
            store.end_restore()
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored application state at height {info.height} (app_hash verified)")


@snapshot_group.command("delete")
@click.argument("height", type=int)
@home_option
def delete_command(height: int, home: Path | None) -> None:
    """Delete the snapshot at HEIGHT."""
    try:
        _store(resolve_home(home)).delete(height)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"deleted snapshot at height {height}")


COMMANDS = [snapshot_group]
