"""Every catalogued notebook runs top to bottom with its smoke parameters (papermill), without error outputs.

The executed copies land in build/smoke/; `make nbval` then re-executes them with `pytest --nbval-lax`
and compares the cells marked `# NBVAL_CHECK_OUTPUT`.
"""

import json
import re

import pytest

from helpers.tools import notebooks
from helpers.tools.clean_outputs import WIDGET_MIME

SPECS = notebooks.available()


def test_catalogue_is_complete_and_notebooks_are_well_formed():
    on_disk = sorted(p.parent.name for p in notebooks.NOTEBOOKS_DIR.glob("*/*.ipynb") if "checkpoint" not in str(p))
    assert on_disk == sorted(s.name for s in SPECS), "every notebook folder must be in notebooks.CATALOGUE"
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


#: The library calls a reader copies, written in a code cell of each notebook (issue: recipes in the open).
RECIPES = {
    "01_rag_with_quantized_embeddings": (
        "QuantizedBiEncoderEmbeddings(",
        "QuantizedBgeEmbeddings(",
        "OpenVINOEmbeddings(",
        "FAISS.from_documents(",
        ".as_retriever(",
        "RunnableParallel(",
        "ChatOpenVINOGenAI(",
    ),
    "03_weight_only_pipeline_langchain": (
        "WeightOnlyQuantConfig(",
        "WeightOnlyQuantPipeline.from_model_id(",
        "nncf.compress_weights(",
        "OVModelForCausalLM.from_pretrained(",
        "HuggingFacePipeline(pipeline=",
        "openvino_genai.LLMPipeline(",
        "OpenVINOGenAILLM(",
        # today's stack (run in .venv-today through helpers.today)
        '"optimum-cli", "export", "openvino"',
        "HuggingFacePipeline.from_model_id(",
        'backend="openvino"',
        "ChatHuggingFace(llm=",
        "OVWeightQuantizationConfig(",
        'quant_method="awq", scale_estimation=True',
    ),
    "04_weight_only_sweeps": ("nncf.compress_weights(", "OVModelForCausalLM.from_pretrained("),  # one point by hand
    "06_rag_latency_where_time_goes": (
        "openvino_genai.LLMPipeline(", "ChatOpenVINOGenAI(", ".with_structured_output(", "prompt_lookup=True"
    ),
}
WARNING_LINES_MAX = 20
#: Absolute paths of a machine (checkouts, home folders, temporary folders) that a saved output must not show.
MACHINE_PATH = re.compile(r"(?:/work/|/tmp/|/root/|/home/[\w.-]+/|/Users/[\w.-]+/|/opt/)[\w./-]*")


def _code(spec) -> str:
    nb = json.loads(spec.path.read_text())
    return "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipes_are_written_in_code_cells(name):
    code = _code(notebooks.get(name))
    missing = [call for call in RECIPES[name] if call not in code]
    assert not missing, f"{name}: the recipe calls {missing} are not written in any code cell"
    for field in ("weight_dtype", "compute_dtype", "llm_int8_skip_modules", "scale_dtype", "mse_range",
                  "use_double_quant", "double_quant_dtype", "double_quant_scale_dtype", "group_size", "scheme",
                  "algorithm"):
        if name.startswith("03"):
            assert f"{field}=" in code, f"03 must show WeightOnlyQuantConfig's {field} in a cell"


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_committed_outputs_are_clean(spec):
    """No error outputs, no warning floods, no progress-bar spam, and outputs from the stated defaults."""
    import re

    nb = json.loads(spec.path.read_text())
    streams = [
        line
        for c in nb["cells"]
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream"
        for line in "".join(o["text"]).splitlines()
    ]
    warnings = [line for line in streams if re.search(r"warn", line, re.IGNORECASE)]
    bars = [line for line in streams if re.search(r"\d+%\|", line)]
    assert len(warnings) <= WARNING_LINES_MAX, f"{spec.name}: {len(warnings)} warning lines, e.g. {warnings[:3]}"
    assert len(bars) <= 4, f"{spec.name}: {len(bars)} progress-bar lines saved, e.g. {bars[:2]}"
    params = nb["metadata"].get("papermill", {}).get("parameters")
    assert params == {}, f"{spec.name}: committed from parameters {params}, not its stated defaults"
    texts = [
        "".join(value) if isinstance(value, (str, list)) else ""
        for c in nb["cells"]
        for o in c.get("outputs", [])
        for value in [o.get("text", ""), *o.get("data", {}).values(), *o.get("traceback", [])]
        if not isinstance(value, dict)
    ]
    noisy = [t[:120] for t in texts if "\x1b[" in t or "━" in t or re.search(r"^\s*[│┍┝┕]", t, re.MULTILINE)]
    assert not noisy, f"{spec.name}: progress bars, escape codes or box-drawn tables saved, e.g. {noisy[:2]}"
    widgets = [o for c in nb["cells"] for o in c.get("outputs", []) if WIDGET_MIME in o.get("data", {})]
    assert not widgets, f"{spec.name}: {len(widgets)} widget outputs saved"
    paths = sorted({m for t in texts for m in MACHINE_PATH.findall(t)})
    assert not paths, f"{spec.name}: machine paths in saved outputs: {paths[:3]}"


def test_the_map_in_00_lists_every_notebook():
    nb = json.loads(notebooks.get("00_setup_and_device").path.read_text())
    text = "\n".join("".join(c["source"]) for c in nb["cells"]) + "\n".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/html", ""))
        for c in nb["cells"]
        for o in c.get("outputs", [])
    )
    missing = [s.name for s in notebooks.CATALOGUE if s.name not in text]
    assert not missing, f"00's map of the cookbook misses {missing}"


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
        assert "(this machine)" in text and "amd-epyc-avx512-bf16-t2 (reference)" in text


def test_stripping_timings_reports_the_slowest_cells_first(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    for seconds, source in ((1.5, "fast()"), (30.0, "# slow\nslow()"), (7.0, "medium()")):
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["papermill"] = {"duration": seconds, "start_time": "t0", "end_time": "t1"}
        nb.cells.append(cell)
    path = tmp_path / "timed.ipynb"
    nbformat.write(nb, path)

    slowest = notebooks._strip_volatile_metadata(path, {}, keep=2)

    assert slowest == [
        {"cell": 1, "seconds": 30.0, "first_line": "# slow"},
        {"cell": 2, "seconds": 7.0, "first_line": "medium()"},
    ]
    assert all("duration" not in c.metadata["papermill"] for c in nbformat.read(path, as_version=4).cells)


#: Numbers with a unit that markdown may state without an output printing them: the interval level every table uses,
#: and published settings quoted from the papers (05's NNCF rows: 60 % of layers in nf4, 50 % in int4).
PROSE_CONSTANTS = {"95 %", "60 %", "50 %"}
PROSE_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(x|×|%|ms|tok/s|texts/s|GB/s|MB)(?!\w)")


@pytest.mark.parametrize("spec", notebooks.available(), ids=lambda s: s.name)
def test_prose_numbers_are_printed_by_the_notebook(spec):
    """A measured-looking number in a markdown cell (a ratio, a share, a speed, a size) must appear in the notebook's
    own outputs or code, so prose cannot quote a result the page does not show (or a stale one)."""
    nb = json.loads(spec.path.read_text())
    shown = " ".join(
        "".join(c["source"])
        + " ".join(
            "".join(o.get("text", "")) + " ".join("".join(v) for k, v in o.get("data", {}).items() if "text" in k)
            for o in c.get("outputs", [])
        )
        for c in nb["cells"]
        if c["cell_type"] == "code"
    )
    stray = [
        m.group(0)
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
        for m in PROSE_NUMBER.finditer("".join(c["source"]))
        if m.group(1) not in shown and f"{m.group(1)} {m.group(2)}" not in PROSE_CONSTANTS
    ]
    assert not stray, f"{spec.name}: prose numbers no cell prints: {stray}"


THIS_CPU_CLAIM = re.compile(
    r"(missing|lacks|has no|without)[^.\n]{0,40}\bthis CPU\b|\bthis CPU\b[^.\n]{0,30}(lacks|has no)"
)


@pytest.mark.parametrize("spec", notebooks.available(), ids=lambda s: s.name)
def test_prose_does_not_say_what_this_cpu_lacks(spec):
    """Markdown is the same on every machine: what *this* CPU has or lacks is printed by a cell (the device line),
    never stated in prose (a sentence true on one machine is false on the next)."""
    nb = json.loads(spec.path.read_text())
    claims = [
        m.group(0)
        for c in nb["cells"]
        if c["cell_type"] == "markdown"
        for m in THIS_CPU_CLAIM.finditer("".join(c["source"]))
    ]
    assert not claims, f"{spec.name}: prose states what this CPU lacks: {claims}"
