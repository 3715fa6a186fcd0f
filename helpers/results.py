"""Append-only results files keyed by a point's config: atomic writes, resumable runs.

Each row is a JSON object with a ``key`` field. The file is JSON Lines and is rewritten atomically
(temp file + ``os.replace``) on every append, so a run killed at any moment leaves either the old or the
new file, never a torn one. Re-running skips keys already present.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ResultsStore:
    """A JSON Lines results file with one row per finished point."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def rows(self) -> list[dict[str, Any]]:
        """All rows, in the order they were written (a later row with the same key wins in ``latest``)."""
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def latest(self) -> dict[str, dict[str, Any]]:
        """Rows by key; the last written row for a key wins."""
        return {row["key"]: row for row in self.rows()}

    def done_keys(self) -> set[str]:
        """Keys of the points already finished (including those recorded as unsupported or failed)."""
        return set(self.latest())

    def append(self, row: dict[str, Any]) -> None:
        """Add one row atomically. The row must carry a string ``key``."""
        if not isinstance(row.get("key"), str) or not row["key"]:
            raise ValueError(f"row key={row.get('key')!r} is invalid: every row needs a non-empty string 'key'")
        lines = [json.dumps(r, sort_keys=True, default=str) for r in self.rows()]
        lines.append(json.dumps(row, sort_keys=True, default=str))
        self._write(lines)

    def extend(self, rows: Iterable[dict[str, Any]]) -> None:
        """Append several rows (each atomically)."""
        for row in rows:
            self.append(row)

    def _write(self, lines: list[str]) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def to_frame(self):  # -> pandas.DataFrame (pandas imported lazily)
        """Latest row per key as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(list(self.latest().values()))
