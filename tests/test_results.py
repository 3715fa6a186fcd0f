"""helpers.core.results: concurrent writers, torn and damaged lines, conflict markers — no good row is ever lost."""

from __future__ import annotations

import json
import multiprocessing as mp
from pathlib import Path

import pytest

from helpers.core.results import DamagedResultsWarning, ResultsStore

WRITERS, ROWS = 4, 100


def _writer(path: str, writer: int, rows: int) -> None:
    store = ResultsStore(path)
    for i in range(rows):
        store.append({"key": f"w{writer}/r{i}", "writer": writer, "i": i, "pad": "x" * 200})


def test_concurrent_appends_keep_every_row(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    ctx = mp.get_context("spawn")  # fresh interpreters, as two notebooks or a notebook and the CLI would be
    procs = [ctx.Process(target=_writer, args=(str(path), w, ROWS)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    rows = ResultsStore(path).rows()
    assert len(rows) == WRITERS * ROWS
    assert {r["key"] for r in rows} == {f"w{w}/r{i}" for w in range(WRITERS) for i in range(ROWS)}
    for w in range(WRITERS):  # each writer's rows stay in its own order
        assert [r["i"] for r in rows if r["writer"] == w] == list(range(ROWS))


def _good_rows(path: Path) -> None:
    store = ResultsStore(path)
    store.append({"key": "torch/fp32", "status": "ok", "v": 1})
    store.append({"key": "ov/int8", "status": "ok", "v": 2})


def test_cut_last_line_is_moved_aside_and_next_append_stays_whole(tmp_path: Path) -> None:
    path = tmp_path / "sweep.jsonl"
    _good_rows(path)
    with path.open("a") as fh:
        fh.write('{"key": "torch/fp32", "stat')  # a run killed mid-write (or a full disk)
    store = ResultsStore(path)
    store.append({"key": "ov/int4", "status": "ok", "v": 3})  # must not merge with the torn line
    with pytest.warns(DamagedResultsWarning, match=r"sweep\.jsonl: 1 damaged line.*line 3: not JSON"):
        keys = [r["key"] for r in store.rows()]
    assert keys == ["torch/fp32", "ov/int8", "ov/int4"]
    damaged = store.damaged_path.read_text()
    assert 'sweep.jsonl:3: not JSON' in damaged and '{"key": "torch/fp32", "stat' in damaged
    assert '"stat\n' not in path.read_text() and path.read_text().count(chr(10)) == 3  # clean again ...
    assert [r["key"] for r in store.rows()] == keys  # ... so the next read warns no more


def test_garbage_line_keeps_rows_on_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _good_rows(path)
    with path.open("a") as fh:
        fh.write("this is not json\n[1, 2]\n{\"no_key\": 1}\n")
    ResultsStore(path).append({"key": "after", "v": 4})
    with pytest.warns(DamagedResultsWarning, match="3 damaged line"):
        rows = ResultsStore(path).rows()
    assert [r["key"] for r in rows] == ["torch/fp32", "ov/int8", "after"]
    assert ResultsStore(path).damaged_path.read_text().count("\n") == 6  # a comment line + the line, each


def test_git_conflict_markers_keep_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "full.jsonl"
    ours = json.dumps({"key": "ov/int4", "v": "ours"})
    theirs = json.dumps({"key": "ov/int4", "v": "theirs"})
    base = json.dumps({"key": "torch/fp32", "v": 0})
    path.write_text(f"{base}\n<<<<<<< HEAD\n{ours}\n=======\n{theirs}\n>>>>>>> other-branch\n")
    store = ResultsStore(path)
    with pytest.warns(DamagedResultsWarning, match="3 damaged line"):
        latest = store.latest()
    assert latest["ov/int4"]["v"] == "theirs" and "torch/fp32" in latest
    assert "<<<<<<< HEAD" in store.damaged_path.read_text()


def test_bad_row_key_refused_before_writing(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path / "r.jsonl")
    with pytest.raises(ValueError, match=r"row key=None is invalid"):
        store.extend([{"key": "ok"}, {"v": 1}])
    assert not store.path.exists() or store.path.read_text() == ""


def test_full_disk_raises_and_keeps_earlier_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os

    path = tmp_path / "r.jsonl"
    _good_rows(path)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left"):
        ResultsStore(path).append({"key": "lost", "v": 9})
    monkeypatch.undo()
    assert {"torch/fp32", "ov/int8"} <= ResultsStore(path).done_keys()
