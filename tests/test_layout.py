"""The shape of helpers/: no module over 400 lines, and the import-linter contracts of pyproject.toml kept (layers
from reports down to the foundation, no import cycles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HELPERS = Path(__file__).resolve().parent.parent / "helpers"
MAX_LINES = 400


def test_no_helpers_module_is_over_400_lines():
    sizes = {str(p.relative_to(HELPERS.parent)): len(p.read_text().splitlines()) for p in HELPERS.rglob("*.py")}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not over, f"split these modules (> {MAX_LINES} lines): {over}"


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=HELPERS.parent, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout
