"""Every catalogued notebook runs top to bottom with its smoke parameters (papermill), without error outputs.

The executed copies land in build/smoke/; `make nbval` then re-executes them with `pytest --nbval-lax`
and compares the cells marked `# NBVAL_CHECK_OUTPUT`.
"""

import json

import pytest

from helpers import notebooks

SPECS = notebooks.available()


def test_catalogue_is_complete_and_notebooks_are_well_formed():
    on_disk = sorted(p.parent.name for p in notebooks.NOTEBOOKS_DIR.glob("*/*.ipynb") if "checkpoint" not in str(p))
    assert on_disk == sorted(s.name for s in SPECS), "every notebook folder must be in helpers.notebooks.CATALOGUE"
    for spec in SPECS:
        assert (spec.path.parent / "README.md").exists(), f"{spec.name} needs a README.md beside it"
        nb = json.loads(spec.path.read_text())
        tags = [t for c in nb["cells"] for t in c.get("metadata", {}).get("tags", [])]
        assert "parameters" in tags, f"{spec.name}: no papermill parameters cell"
        outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert outputs, f"{spec.name}: committed without outputs"
        assert not [o for o in outputs if o.get("output_type") == "error"], f"{spec.name}: committed error outputs"
        source = "\n".join("".join(c["source"]) for c in nb["cells"])
        assert "trust_remote_code=True" not in source


def test_skipped_notebooks_are_listed_with_reasons():
    skipped = {s.name: s.skip_reason for s in notebooks.CATALOGUE if s.skip_reason}
    print("notebooks skipped in CI:", skipped or "none")
    assert all(reason.strip() for reason in skipped.values())


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_notebook_runs_with_smoke_parameters(spec):
    if spec.skip_reason:
        pytest.skip(spec.skip_reason)
    out = notebooks.execute(spec, "smoke")
    nb = json.loads(out.read_text())
    errors = [
        o
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    if spec.name.startswith(("04_", "05_")):  # this machine's smoke rows beside the committed reference profile's
        text = json.dumps(nb["cells"])
        assert "(this machine)" in text and "amd-epyc-avx2-t2 (reference)" in text
