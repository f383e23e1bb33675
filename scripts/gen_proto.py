#!/usr/bin/env python3
"""Compile Sultan's .proto files into Python modules (messages, gRPC stubs and .pyi stubs).

Output trees:

* ``proto/**/*.proto`` -> ``sultan/pb/`` (the kernel wire definitions);
* for every ``modules/<name>/proto`` and ``docs/tutorial/<name>/proto`` directory, that
  module's own .proto files -> ``<name>/sultan_<pkg>/pb/``, compiled with both the module's
  proto dir and the kernel ``proto/`` on the include path.

protoc writes absolute imports named after the proto file path (``from tendermint.abci
import types_pb2``). Those are rewritten so the generated code never needs a top-level
``tendermint`` or ``cosmos`` package (cosmpy ships such packages): kernel files become
``sultan.pb.<path>`` and a module's own files ``<package>.pb.<path>``.

Usage: ``python scripts/gen_proto.py [--root REPO]``. The script is idempotent: each output
tree is generated in a temporary directory, then the previously generated files of that
tree are deleted and replaced.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")
MODULE_GLOBS = ("modules/*/proto", "docs/tutorial/*/proto")

# `from a.b import c_pb2 ...` / `import a.b.c_pb2 ...` at the start of a line.
_FROM_IMPORT = re.compile(r"^(?P<indent>[ \t]*)from (?P<mod>[A-Za-z_][\w.]*) import (?P<rest>.+)$")
_PLAIN_IMPORT = re.compile(r"^(?P<indent>[ \t]*)import (?P<mod>[A-Za-z_][\w.]*)(?P<rest>.*)$")
_IMPORTED_NAME = re.compile(r"^(?P<name>\w+)")
# The module name protoc bakes into generated classes (their __module__).
_BUILDER_MODULE = re.compile(r"(BuildTopDescriptorsAndMessages\(DESCRIPTOR, ')([\w.]+)(')")
_LEGACY_MODULE = re.compile(r"('__module__' ?: ?')([\w.]+)(')")


class GenError(Exception):
    """A problem that stops generation; its message is printed as one line."""


@dataclass(frozen=True)
class Tree:
    """One output tree: the .proto files of ``proto_dir`` compiled into ``out_dir``."""

    label: str
    proto_dir: Path
    out_dir: Path
    py_prefix: str  # dotted package that replaces the proto path root, e.g. "sultan.pb"


def _die(msg: str, code: int = 1) -> NoReturn:
    print(f"gen_proto: error: {msg}", file=sys.stderr)
    raise SystemExit(code)


def _load_protoc() -> tuple[Callable[[list[str]], int], Path]:
    try:
        import grpc_tools
        from grpc_tools import protoc
    except ImportError:
        _die("grpcio-tools is not installed; run `pip install grpcio-tools` (or the dev extra)")
    wkt = Path(grpc_tools.__file__).resolve().parent / "_proto"
    if not (wkt / "google" / "protobuf" / "any.proto").is_file():
        _die(f"grpcio-tools has no bundled google/protobuf protos under {wkt}")
    return protoc.main, wkt


def _proto_files(proto_dir: Path) -> list[Path]:
    return sorted(p.relative_to(proto_dir) for p in proto_dir.rglob("*.proto") if p.is_file())


def _find_package_dir(module_dir: Path) -> Path:
    candidates = sorted(
        p
        for p in module_dir.iterdir()
        if p.is_dir() and p.name.startswith("sultan_") and not p.name.endswith(".egg-info")
    )
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise GenError(
            f"{module_dir}: expected exactly one package dir named sultan_*, found {names}"
        )
    return candidates[0]


def discover_trees(root: Path) -> list[Tree]:
    kernel = Tree("sultan/pb", root / "proto", root / "sultan" / "pb", "sultan.pb")
    trees = [kernel]
    module_protos = sorted({p for pattern in MODULE_GLOBS for p in root.glob(pattern)})
    for proto_dir in module_protos:
        if not proto_dir.is_dir() or not _proto_files(proto_dir):
            continue
        pkg_dir = _find_package_dir(proto_dir.parent)
        shadowed = [
            f.as_posix() for f in _proto_files(proto_dir) if (kernel.proto_dir / f).is_file()
        ]
        if shadowed:
            raise GenError(f"{proto_dir}: files also in the kernel proto/: {', '.join(shadowed)}")
        out_dir = pkg_dir / "pb"
        trees.append(
            Tree(out_dir.relative_to(root).as_posix(), proto_dir, out_dir, f"{pkg_dir.name}.pb")
        )
    return trees


class ImportRewriter:
    """Maps a generated module path (``a.b.c_pb2``) to its new home, by which tree owns it."""

    def __init__(self, owners: list[tuple[Path, str]]) -> None:
        # (proto dir, python prefix), searched in order: a module's own dir before the kernel.
        self._owners = owners

    def _prefix_for(self, dotted: str) -> str | None:
        for suffix in ("_pb2_grpc", "_pb2"):
            if dotted.endswith(suffix):
                rel = dotted[: -len(suffix)].replace(".", "/") + ".proto"
                break
        else:
            return None
        for proto_dir, prefix in self._owners:
            if (proto_dir / rel).is_file():
                return prefix
        return None

    def rewrite_line(self, line: str) -> str:
        m = _FROM_IMPORT.match(line)
        if m:
            name = _IMPORTED_NAME.match(m["rest"])
            if name:
                prefix = self._prefix_for(f"{m['mod']}.{name['name']}")
                if prefix:
                    return f"{m['indent']}from {prefix}.{m['mod']} import {m['rest']}"
            return line
        m = _PLAIN_IMPORT.match(line)
        if m:
            prefix = self._prefix_for(m["mod"])
            if prefix:
                rest = m["rest"]
                if not rest.strip().startswith("as "):
                    # `import a.b_pb2` binds `a`; keep that name usable.
                    rest = f" as {m['mod'].split('.')[0]}{rest}"
                return f"{m['indent']}import {prefix}.{m['mod']}{rest}"
        return line

    def rewrite_module_name(self, text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            prefix = self._prefix_for(m[2])
            return f"{m[1]}{prefix}.{m[2]}{m[3]}" if prefix else m[0]

        return _LEGACY_MODULE.sub(repl, _BUILDER_MODULE.sub(repl, text))

    def rewrite(self, text: str) -> str:
        lines = [self.rewrite_line(line) for line in text.split("\n")]
        return self.rewrite_module_name("\n".join(lines))


def _run_protoc(
    protoc_main: Callable[[list[str]], int],
    includes: Iterable[Path],
    files: list[Path],
    out: Path,
) -> None:
    args = ["grpc_tools.protoc"]
    args += [f"--proto_path={inc}" for inc in includes]
    args += [f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
    args += [f.as_posix() for f in files]
    rc = protoc_main(args)
    if rc != 0:
        raise GenError(f"protoc failed with exit code {rc} (see messages above)")


def _clean_generated(out_dir: Path) -> None:
    """Delete previously generated files (and empty dirs) in ``out_dir``, nothing else."""
    if not out_dir.exists():
        return
    for path in sorted(out_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir():
            if path.name == "__pycache__":
                shutil.rmtree(path)
            elif not any(path.iterdir()):
                path.rmdir()
        elif path.name == "__init__.py" or path.name.endswith(GENERATED_SUFFIXES):
            path.unlink()
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()


def _install(tmp_out: Path, out_dir: Path, rewriter: ImportRewriter) -> int:
    """Copy generated files from ``tmp_out`` into ``out_dir`` with rewritten imports."""
    count = 0
    package_dirs = {out_dir}
    for src in sorted(tmp_out.rglob("*")):
        if not src.is_file() or not src.name.endswith(GENERATED_SUFFIXES):
            continue
        rel = src.relative_to(tmp_out)
        dst = out_dir / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(rewriter.rewrite(src.read_text(encoding="utf-8")), encoding="utf-8")
        count += 1
        parent = dst.parent
        while parent != out_dir:
            package_dirs.add(parent)
            parent = parent.parent
    for pkg in sorted(package_dirs):
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "__init__.py").write_text("# Generated by scripts/gen_proto.py; do not edit.\n")
    return count


def generate_tree(
    tree: Tree, kernel: Tree, protoc_main: Callable[[list[str]], int], wkt: Path, root: Path
) -> str:
    files = _proto_files(tree.proto_dir)
    if not files:
        raise GenError(f"{tree.proto_dir}: no .proto files found")
    if tree is kernel:
        includes = [tree.proto_dir, wkt]
        owners = [(tree.proto_dir, tree.py_prefix)]
    else:
        includes = [tree.proto_dir, kernel.proto_dir, wkt]
        owners = [(tree.proto_dir, tree.py_prefix), (kernel.proto_dir, kernel.py_prefix)]
    with tempfile.TemporaryDirectory(prefix="sultan-gen-proto-") as tmp:
        tmp_out = Path(tmp)
        _run_protoc(protoc_main, includes, files, tmp_out)
        _clean_generated(tree.out_dir)
        count = _install(tmp_out, tree.out_dir, ImportRewriter(owners))
    src = tree.proto_dir.relative_to(root).as_posix()
    return (
        f"{tree.label}: {len(files)} proto files from {src} -> {count} modules ({tree.py_prefix})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="repository root (default: the parent of this script's directory)",
    )
    args = parser.parse_args(argv)
    root: Path = args.root.resolve()
    if not (root / "proto").is_dir():
        _die(f"{root}: no proto/ directory; pass the repository root with --root")
    protoc_main, wkt = _load_protoc()
    try:
        trees = discover_trees(root)
        kernel = trees[0]
        for tree in trees:
            print(generate_tree(tree, kernel, protoc_main, wkt, root))
    except GenError as exc:
        _die(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
