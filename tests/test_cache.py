"""helpers.core.cache: one locked, atomic, manifest-stamped build, even when two processes build the same artefact."""

from __future__ import annotations

import json
import multiprocessing as mp
import time
from pathlib import Path

import pytest

from helpers.core import cache


def _slow_build(target: str, marker_dir: str) -> None:
    def build(out: Path) -> dict:
        (Path(marker_dir) / f"built-by-{mp.current_process().pid}").touch()
        for i in range(20):  # slow enough that both processes are inside cached_build at once
            (out / f"part{i}.bin").write_bytes(bytes([i]) * 10_000)
            time.sleep(0.02)
        return {"parts": 20}

    cache.cached_build(target, {"recipe": 1}, build)


def test_two_processes_building_the_same_artefact_get_one_valid_result(tmp_path: Path) -> None:
    target = tmp_path / "ov" / "model-int4"
    markers = tmp_path / "markers"
    markers.mkdir()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_slow_build, args=(str(target), str(markers))) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert len(list(markers.iterdir())) == 1  # built once: the second process found it done under the lock
    manifest = cache.read_manifest(target)
    assert manifest["recipe"] == 1 and manifest["parts"] == 20
    expected_files = sorted([cache.MANIFEST_NAME] + [f"part{i}.bin" for i in range(20)])
    assert sorted(p.name for p in target.iterdir()) == expected_files
    leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
    assert leftovers == []  # no .tmp or .old folders left behind


def test_reuse_rebuild_and_failed_build(tmp_path: Path) -> None:
    target = tmp_path / "artefact"
    calls: list[int] = []

    def build(out: Path) -> dict:
        calls.append(1)
        (out / "w").write_text(str(len(calls)))
        return {}

    cache.cached_build(target, {"v": 1, "versions": {"x": "1"}}, build)
    cache.cached_build(target, {"v": 1, "versions": {"x": "1"}}, build)
    assert len(calls) == 1
    cache.cached_build(target, {"v": 1, "versions": {"x": "2"}}, build)  # expectation changed: rebuilt
    assert len(calls) == 2 and (target / "w").read_text() == "2"

    def broken(out: Path) -> dict:
        (out / "half").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        cache.cached_build(target, {"v": 2}, broken)
    assert (target / "w").read_text() == "2"  # the previous build survives a failed rebuild
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_leftovers_of_a_killed_build_are_cleared(tmp_path: Path) -> None:
    target = tmp_path / "artefact"
    killed = tmp_path / ".artefact.tmp-abc123"
    killed.mkdir()
    (killed / "half").write_text("x")
    cache.cached_build(target, {"v": 1}, lambda out: (out / "w").write_text("1") and None)
    assert not killed.exists() and (target / "w").is_file()


def test_manifest_written_last_is_json_with_expected_items(tmp_path: Path) -> None:
    target = cache.cached_build(tmp_path / "a", {"source": {"files": {"x": [1, 2]}}}, lambda out: {"extra": 3})
    manifest = json.loads((target / cache.MANIFEST_NAME).read_text())
    assert manifest["source"] == {"files": {"x": [1, 2]}} and manifest["extra"] == 3 and "built_at" in manifest
    assert cache.matches(manifest, {"source": {"files": {"x": (1, 2)}}})  # tuples compare as JSON lists


def test_full_disk_during_a_build_keeps_the_previous_build(tmp_path: Path) -> None:
    import errno

    target = cache.cached_build(tmp_path / "a", {"v": 1}, lambda out: (out / "w").write_text("1") and None)

    def no_space(out: Path) -> dict:
        (out / "half").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        cache.cached_build(target, {"v": 2}, no_space)
    assert (target / "w").read_text() == "1" and cache.read_manifest(target)["v"] == 1
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == ["a"]


def test_folder_fingerprint_follows_content_not_path_or_mtime(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "model.bin").write_bytes(b"weights")
        (folder / "config.json").write_text("{}")
        (folder / "notes.txt").write_text("not part of the model")
        (folder / cache.MANIFEST_NAME).write_text("{}")
    fingerprint = cache.folder_fingerprint(a, (".bin",), ("config.json",))
    assert set(fingerprint) == {"model.bin", "config.json"}  # the manifest and other files are left out
    assert cache.folder_fingerprint(b, (".bin",), ("config.json",)) == fingerprint  # another path, same bytes
    (b / "model.bin").write_bytes(b"other weights")
    assert cache.folder_fingerprint(b, (".bin",), ("config.json",)) != fingerprint


def test_file_fingerprint_reuses_the_hash_only_while_size_and_mtime_hold(tmp_path: Path) -> None:
    source = tmp_path / "model.gguf"
    source.write_bytes(b"abc")
    first = cache.file_fingerprint(source, None)
    assert first["sha256"] == cache.sha256_file(source) and first["size"] == 3
    stale = {"source": {**first, "sha256": "recorded"}}
    assert cache.file_fingerprint(source, stale)["sha256"] == "recorded"  # unchanged file: not hashed again
    source.write_bytes(b"abcd")
    assert cache.file_fingerprint(source, stale)["sha256"] == cache.sha256_file(source)


def test_library_versions_and_side_files(tmp_path: Path) -> None:
    found = cache.library_versions("pytest", "no-such-distribution-here==1.0")
    assert found["pytest"] == pytest.__version__ and found["no-such-distribution-here==1.0"] is None
    source, out = tmp_path / "src", tmp_path / "out"
    source.mkdir(), out.mkdir()
    (source / "config.json").write_text("source")
    (source / "tokenizer.json").write_text("source")
    (out / "config.json").write_text("exporter")
    cache.copy_side_files(source, out, ("config.json", "tokenizer.json", "missing.json"))
    assert (out / "config.json").read_text() == "exporter" and (out / "tokenizer.json").read_text() == "source"
    cache.copy_side_files(source, out, ("config.json",), replace=True)
    assert (out / "config.json").read_text() == "source"
