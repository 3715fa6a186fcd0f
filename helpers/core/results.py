"""Notebooks 00, 01, 02, 04, 05, 06: Append-only results files keyed by a point's config: safe under concurrent writers,
resumable, repairable.

Each row is a JSON object with a ``key`` field, one per line (JSON Lines). Guarantees:

* **Concurrent writers lose nothing.** Every write holds an inter-process file lock (``filelock``, beside the
  file as ``<name>.lock``) and *appends one line* (flushed and fsync'd) instead of rewriting the file, so N
  processes appending M rows each always leave N x M rows.
* **A killed run loses at most the row being written.** A torn last line (no newline) is closed off before the
  next append, so the new row never merges with it; the torn line is then a damaged line (below).
* **Damaged lines never stop a run and are never deleted.** Reading reports the file and line number of each bad
  line (a cut row, garbage, git conflict markers), keeps every good row, and moves the bad lines aside into
  ``<name>.damaged`` (with their line numbers) under the lock, so the next read is clean.

Re-running a benchmark skips keys already present; a later row with the same key supersedes an earlier one.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

#: Seconds a writer waits for another writer's lock before giving up with an error naming the lock file.
LOCK_TIMEOUT_S = 600.0


class DamagedResultsWarning(UserWarning):
    """A results file had lines that are not rows; they were moved aside, the good rows kept."""


@dataclass(frozen=True)
class BadLine:
    """One line of a results file that is not a valid row."""

    number: int
    text: str
    error: str


def _parse(lines: list[str]) -> tuple[list[dict[str, Any]], list[BadLine]]:
    rows: list[dict[str, Any]] = []
    bad: list[BadLine] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as err:
            bad.append(BadLine(number, line, f"not JSON ({err})"))
            continue
        if not isinstance(row, dict) or not isinstance(row.get("key"), str) or not row["key"]:
            bad.append(BadLine(number, line, "not a row: a JSON object with a non-empty string 'key' is required"))
            continue
        rows.append(row)
    return rows, bad


class ResultsStore:
    """A JSON Lines results file with one row per finished point."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.damaged_path = self.path.with_name(self.path.name + ".damaged")

    @contextmanager
    def _locked(self):
        lock = FileLock(str(self.lock_path), timeout=LOCK_TIMEOUT_S)
        try:
            lock.acquire()
        except TimeoutError as err:  # filelock.Timeout subclasses TimeoutError
            raise TimeoutError(
                f"results file {self.path} is locked by another writer for over {LOCK_TIMEOUT_S:.0f} s "
                f"(lock file {self.lock_path}); is another benchmark still running?"
            ) from err
        try:
            yield
        finally:
            lock.release()

    def _read_lines(self) -> list[str]:
        if not self.path.exists():
            return []
        return self.path.read_text(encoding="utf-8", errors="replace").splitlines()

    def rows(self) -> list[dict[str, Any]]:
        """All good rows, in the order they were written; damaged lines are reported and moved aside."""
        rows, bad = _parse(self._read_lines())
        if bad:
            rows = self._quarantine()
        return rows

    def _quarantine(self) -> list[dict[str, Any]]:
        """Under the lock: move bad lines to ``<name>.damaged``, rewrite the file with the good ones (atomically)."""
        with self._locked():
            lines = self._read_lines()
            rows, bad = _parse(lines)
            if not bad:
                return rows
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            with self.damaged_path.open("a", encoding="utf-8") as fh:
                for b in bad:
                    fh.write(f"# {stamp} {self.path.name}:{b.number}: {b.error}\n{b.text}\n")
                fh.flush()
                os.fsync(fh.fileno())
            bad_numbers = {b.number for b in bad}
            good = [line for n, line in enumerate(lines, start=1) if n not in bad_numbers and line.strip()]
            self._replace(good)
        where = "; ".join(f"line {b.number}: {b.error}" for b in bad[:5]) + (" ..." if len(bad) > 5 else "")
        message = (
            f"{self.path}: {len(bad)} damaged line(s) moved aside to {self.damaged_path} "
            f"({len(rows)} good rows kept): {where}"
        )
        warnings.warn(message, DamagedResultsWarning, stacklevel=3)
        return rows

    def _replace(self, lines: list[str]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)

    def latest(self) -> dict[str, dict[str, Any]]:
        """Rows by key; the last written row for a key wins."""
        return {row["key"]: row for row in self.rows()}

    def done_keys(self) -> set[str]:
        """Keys of the points already finished (including those recorded as unsupported or failed)."""
        return set(self.latest())

    def append(self, row: dict[str, Any]) -> None:
        """Add one row as one line, under the lock, fsync'd. The row must carry a non-empty string ``key``."""
        self.extend([row])

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append several rows in one locked write."""
        rows = list(rows)
        for row in rows:
            if not isinstance(row.get("key"), str) or not row["key"]:
                raise ValueError(f"row key={row.get('key')!r} is invalid: every row needs a non-empty string 'key'")
        text = "".join(json.dumps(r, sort_keys=True, default=str) + "\n" for r in rows)
        with self._locked():
            with self.path.open("ab") as fh:
                if fh.tell() > 0 and not self._ends_with_newline():
                    fh.write(b"\n")  # close off a torn last line so the new row stays whole
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fsync(fh.fileno())

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as fh:
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"

    def to_frame(self):  # -> pandas.DataFrame (pandas imported lazily)
        """Latest row per key as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(list(self.latest().values()))
