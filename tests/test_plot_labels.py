"""Every plot names its axes for a reader: a human label (words, the unit where there is one), never a column name.

Static checks over the code that draws: the helpers' plotting functions and the notebooks' own plotting cells. The
helpers' functions are also drawn in tests/test_timing_results_plots.py and tests/test_latency_analysis.py.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from helpers.tools import notebooks

ROOT = Path(__file__).resolve().parents[1]
#: Modules whose functions draw.
PLOT_MODULES = ("helpers/core/plots.py", "helpers/latency/plots.py", "helpers/latency/sizes.py")
DRAW_CALLS = {"barh", "bar", "scatter", "plot", "errorbar"}
#: A column-like name: snake_case, or a metric id such as ``ndcg@10`` standing alone.
COLUMN_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9@]+)+$|^[a-z]+@\d+$")
LABEL_CALL = re.compile(r"(?:set_[xy]label\(|[xy]label=|what=)\s*(f?\"[^\"]*\")")


def _draws(node: ast.FunctionDef) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in DRAW_CALLS
        for n in ast.walk(node)
    )


def _calls(node: ast.AST, name: str) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == name for n in ast.walk(node)
    )


@pytest.mark.parametrize("module", PLOT_MODULES)
def test_every_drawing_helper_labels_both_axes(module: str) -> None:
    """Public functions that draw name the x axis and the y axis (or its categories); private ones draw for them."""
    tree = ast.parse((ROOT / module).read_text())
    public = [
        f.name
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and not f.name.startswith("_") and _draws(f)
        and not (_calls(f, "set_xlabel") and (_calls(f, "set_ylabel") or _calls(f, "set_yticks")))
    ]
    assert not public, f"{module}: drawing functions that leave an axis unnamed: {public}"


def _labels(text: str) -> list[str]:
    return [ast.literal_eval(m.group(1).lstrip("f")) for m in LABEL_CALL.finditer(text)]


def _is_human(label: str) -> bool:
    words = re.sub(r"\{[^}]*\}", "x", label)  # f-string fields count as a word
    return bool(words.strip()) and not COLUMN_NAME.match(words.strip())


@pytest.mark.parametrize("module", PLOT_MODULES)
def test_helper_axis_labels_read_as_words(module: str) -> None:
    labels = _labels((ROOT / module).read_text())
    assert labels, f"{module}: no axis label found"
    assert all(_is_human(label) for label in labels), [label for label in labels if not _is_human(label)]


@pytest.mark.parametrize("spec", notebooks.available(), ids=lambda s: s.name)
def test_notebook_plots_name_both_axes_in_words(spec) -> None:
    """A cell that draws with matplotlib or pandas itself sets both axis labels; labels handed to the helpers
    (``xlabel=``, ``ylabel=``, ``what=``) read as words, not column names."""
    cells = ["".join(c["source"]) for c in json.loads(spec.path.read_text())["cells"] if c["cell_type"] == "code"]
    bad: list[str] = []
    for source in cells:
        if re.search(r"\.plot\(|\.plot\.\w+\(|plt\.subplots", source) and not (
            "set_xlabel(" in source and "set_ylabel(" in source
        ):
            bad.append(f"draws without naming both axes: {source.splitlines()[0][:60]}")
        bad += [f"label reads like a column: {label!r}" for label in _labels(source) if not _is_human(label)]
    assert not bad, f"{spec.name}: {bad}"


def test_a_column_name_is_not_a_human_label() -> None:
    assert not _is_human("decode_tokens_per_s") and not _is_human("ndcg@10") and not _is_human("")
    assert _is_human("decode tokens/s relative to torch fp32") and _is_human("nDCG@10 on the FAQ set")
