"""ONE cached build for every model, IR and tokenizer IR: locked per artefact, atomic, manifest-stamped.

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

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
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
