"""Every ``python -m helpers...`` command the Makefile, the READMEs, the docs and the docstrings name is a module that
runs as a program; the two chapter engines answer ``--help``; the old flat module names are gone."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCUMENTS = [
    REPO / "Makefile",
    REPO / "README.md",
    REPO / "CONTRIBUTING.md",
    *sorted((REPO / "docs").glob("*.md")),
    *sorted((REPO / "notebooks").glob("*/README.md")),
    *sorted((REPO / "helpers").rglob("*.py")),
]


def _commands() -> list[str]:
    found = {m for path in DOCUMENTS for m in re.findall(r"-m (helpers[\w.]*)", path.read_text())}
    return sorted(found)


@pytest.mark.parametrize("module", _commands())
def test_every_documented_command_is_a_runnable_module(module):
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"python -m {module} is documented but there is no such module"
    if spec.submodule_search_locations:  # a package runs through its __main__
        assert importlib.util.find_spec(f"{module}.__main__") is not None, f"{module} has no __main__"
    else:
        assert 'if __name__ == "__main__":' in Path(spec.origin).read_text(), f"{module} does not run as a program"


@pytest.mark.parametrize("module", ["helpers.sweep", "helpers.latency"])
def test_the_chapter_engines_answer_help(module):
    command = [sys.executable, "-m", module, "--help"]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--threads" in proc.stdout


@pytest.mark.parametrize("old", ["rag_latency", "sweep_eval", "rag_bench", "report", "notebooks", "bench", "settings"])
def test_the_flat_module_names_are_gone(old):
    assert importlib.util.find_spec(f"helpers.{old}") is None, f"helpers.{old} moved into a chapter folder"


def test_every_helpers_path_the_documents_name_exists():
    named = {p for path in DOCUMENTS for p in re.findall(r"(?<![\w/.])(helpers/[\w/]+(?:\.py)?)", path.read_text())}
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert not missing, f"documents name paths that do not exist: {missing}"
