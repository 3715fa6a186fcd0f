"""The shape of helpers/: one folder per chapter or job, the folders are the import-linter layers (and the contract's
name and the README's map say the same), no module over 400 lines, helpers imports at the top of each module, and
every module's first line names the notebooks that use it (checked against what the notebooks really import)."""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HELPERS = REPO / "helpers"
MAX_LINES = 400
MAX_ROOMS = 16  # top-level folders and modules of helpers/


def _contract() -> dict:
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    (layers,) = [c for c in contracts if c["type"] == "layers"]
    return layers


def _layer_folders(layer: str) -> list[str]:
    return [name.strip() for name in re.split(r"[|:]", layer)]


@functools.cache
def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of helpers (a package by its ``__init__``)."""
    found = {}
    for path in sorted(HELPERS.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def test_no_helpers_module_is_over_400_lines():
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines()) for p in HELPERS.rglob("*.py")}
    over = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not over, f"split these modules (> {MAX_LINES} lines): {over}"


def test_helpers_is_a_few_folders_and_the_folders_are_the_layers():
    rooms = sorted(p.name for p in HELPERS.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file())
    assert len(rooms) <= MAX_ROOMS, rooms
    loose = sorted(p.stem for p in HELPERS.glob("*.py"))
    assert loose == ["__init__", "data"], f"a module belongs in the folder of its chapter or job: {loose}"
    layers = _contract()["layers"]
    in_layers = sorted(name for layer in layers for name in _layer_folders(layer))
    assert in_layers == sorted(r.removesuffix(".py") for r in rooms if r != "__init__.py")
    assert _contract()["name"].endswith(": " + " > ".join(layers)), "the contract's name must say its layers"


def test_the_readme_map_draws_the_same_layers():
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| [a-z' ]+ \| ((?:`[a-z_]+(?:/|\.py)` ?·? ?)+) \|", readme, flags=re.MULTILINE)
    drawn = [" | ".join(re.findall(r"`([a-z_]+)(?:/|\.py)`", row)) for row in rows]
    assert drawn == _contract()["layers"], "README's helpers map and pyproject's contract disagree"


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "2 kept, 0 broken" in proc.stdout  # the layers by folder, and no cycles inside a folder


def test_helpers_are_imported_at_the_top_of_each_module():
    inside = []
    for name, path in _modules().items():
        tree = ast.parse(path.read_text())
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import) and id(node) not in top:
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if any(n == "helpers" or n.startswith("helpers.") for n in names):
                    inside.append(f"{name}:{node.lineno}")
    assert not inside, f"import helpers at the top of the module (what it needs is then visible): {inside}"


def _helpers_imported_by(source: str, modules: dict[str, Path]) -> set[str]:
    """The helpers modules a piece of code imports (``%load_ext helpers.x`` too), with the packages they sit in."""
    found = set(re.findall(r"^\s*%load_ext\s+(helpers[\w.]*)", source, re.MULTILINE))
    source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                found.add(dotted if dotted in modules else node.module)
    parents = {".".join(m.split(".")[:i]) for m in found for i in range(1, m.count(".") + 2)}
    return {m for m in parents if m in modules}


@functools.cache
def _notebooks_using() -> dict[str, set[str]]:
    """Module -> the numbers of the notebooks that import it, directly or through other helpers."""
    modules = _modules()
    graph = {name: _helpers_imported_by(path.read_text(), modules) for name, path in modules.items()}
    users: dict[str, set[str]] = {name: set() for name in modules}
    for notebook in sorted((REPO / "notebooks").glob("*/*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        todo, seen = list(_helpers_imported_by(code, modules)), set()
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(graph[name])
        for name in seen:
            users[name].add(notebook.name[:2])
    return users


@pytest.mark.parametrize("name", sorted(_modules()))
def test_first_line_names_the_notebooks_that_use_the_module(name):
    users = _notebooks_using()[name]
    first = ast.get_docstring(ast.parse(_modules()[name].read_text()), clean=False)
    assert first, f"{name} needs a docstring whose first line says which notebooks use it"
    first = first.splitlines()[0]
    if name.endswith("__main__") or first.startswith(("`make", "`python -m")):  # a command, not a notebook, uses it
        assert name.endswith("__main__") or not users, f"{name} says no notebook uses it, but {sorted(users)} do"
        return
    every = {f"{n:02d}" for n in range(len(list((REPO / "notebooks").glob("*/*.ipynb"))))}
    said = every if first.startswith("Every notebook") else set(re.findall(r"\b0\d\b", first.split(":")[0]))
    assert first.startswith(("Every notebook", "Notebook ", "Notebooks ")), f"{name}: {first!r}"
    assert said == users, f"{name}'s first line names notebooks {sorted(said)}; they are {sorted(users)}"
