"""Notebook 00: The notebook catalogue and the runner behind ``make run`` (full defaults) and the smoke tests.

Every notebook lives in ``notebooks/<name>/<name>.ipynb`` with a README beside it and a papermill
``parameters`` cell holding its full defaults. ``smoke`` parameters below make it run in seconds.

    python -m helpers.tools.notebooks run --mode full     # execute all in place, record wall times
    python -m helpers.tools.notebooks run --mode smoke    # tiny run into build/smoke (used by the tests)
    python -m helpers.tools.notebooks list
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.core.checks import check_choice
from helpers.core.results import ResultsStore
from helpers.core.settings import NOTEBOOKS_DIR, REPO_ROOT, enforce_offline, results_path
from helpers.core.timing import profile_record
from helpers.tools.clean_outputs import clean_outputs

BUILD_DIR = REPO_ROOT / "build"
TIMES_KIND = "notebook_times"  # results/<profile>/notebook_times.jsonl: wall times of full runs


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the cookbook: where it is, what it teaches, how to run it small."""

    name: str
    title: str
    teaches: str
    smoke: dict[str, Any] = field(default_factory=dict)
    minutes_smoke: float = 1.0
    minutes_full: float = 5.0
    skip_reason: str | None = None  # set when a notebook cannot run in CI; listed by the tests

    @property
    def path(self) -> Path:
        return NOTEBOOKS_DIR / self.name / f"{self.name}.ipynb"


CATALOGUE: list[NotebookSpec] = [
    NotebookSpec(
        "00_setup_and_device",
        "Setup and device report",
        "What the cookbook is, your CPU's features and what to run on it, the offline models and data, "
        "a first embedding and a first generation.",
        smoke={"max_new_tokens": 8},
        minutes_smoke=0.5,
        minutes_full=1,
    ),
    NotebookSpec(
        "01_rag_with_quantized_embeddings",
        "RAG with quantized embeddings",
        "FAISS RAG over the Python docs; fp32, the two seed embedders and OpenVINO fp32/int8 embedders measured "
        "side by side (nDCG@10, recall, MRR, throughput, latency, size, memory); a cited RAG chain.",
        smoke={
            "max_docs": 3,
            "n_queries": 12,
            "smoke_bench": True,
            "embedders": ["hf-fp32", "ov-int8-static"],  # each embedder is built and checked in tests/test_embedders.py
            "rag_questions": 1,
            "rag_model": "smollm2-135m-instruct",  # the chain's plumbing on the model 03 exports anyway (seconds)
            "run_today": False,  # tests/test_today.py runs the today environment itself
            "max_new_tokens": 16,
            "results_root": "build/smoke/results",
        },
        minutes_smoke=3,
        minutes_full=13,  # workshop defaults, 10 pages, every embedder, empty cache (780 s: AVX2 fresh-clone make run)
    ),
    NotebookSpec(
        "02_weight_only_quantization_explained",
        "Weight-only quantization, explained",
        "Every WeightOnlyQuantConfig field on real weights: codebooks (int8/int4/nf4/fp4), error vs group size and "
        "sym/asym, mse_range, scale and double-quant memory, the bandwidth ceiling on decode.",
        smoke={"mse_layers": [], "bandwidth_mb": 32},
        minutes_smoke=0.5,
        minutes_full=1,
    ),
    NotebookSpec(
        "03_weight_only_pipeline_langchain",
        "WeightOnlyQuantPipeline in LangChain, and OpenVINO beside it",
        "The seed LLM class exactly as documented: every weight dtype, supported compute dtypes, skip modules, "
        "group/scheme, mse_range, RTN/AWQ/TEQ, each verified and timed; chains and streaming; OpenVINO int4 and "
        "real nf4 side by side; today's stack (optimum-cli, NNCF 3.4, ChatHuggingFace) in .venv-today.",
        smoke={
            "weight_dtypes": ["nf4"],
            "prompt_tokens": 48,
            "max_new_tokens": 4,
            "iterations": 1,
            "warmup": 0,
            "run_variants": False,
            "run_calibrated": False,
            "show_optimum_trap": False,
            "run_genai": False,
            "run_today": False,  # tests/test_today.py runs the today environment itself
        },
        minutes_smoke=3,
        minutes_full=12,  # workshop defaults, TEQ off, empty cache (689 s: AVX2 fresh-clone make run); TEQ adds more
    ),
    NotebookSpec(
        "04_weight_only_sweeps",
        "Weight-only sweeps: accuracy vs latency",
        "Resumable sweeps over dtype x group x scheme x algorithm x backend; accuracy vs latency and size with "
        "Pareto fronts; what to pick for this CPU; llama.cpp as the peer.",
        smoke={
            "grid": "smoke",
            "budget": "smoke",
            "results_root": "build/smoke/results",
            "peer_iterations": 1,
            "one_point_by_hand": False,
        },
        minutes_smoke=4,
        minutes_full=11,  # the 9-point workshop grid, workshop budget (638 s: AVX2 fresh-clone make run)
    ),
    NotebookSpec(
        "05_reproducing_published_results",
        "Reproducing published results",
        "QLoRA, AWQ and NNCF orderings checked on our model and data, published numbers next to ours.",
        smoke={"grid": "smoke", "results_root": "build/smoke/results"},
        minutes_smoke=0.5,
        minutes_full=0.5,
    ),
    NotebookSpec(
        "06_rag_latency_where_time_goes",
        "RAG-shaped latency: where the time goes",
        "A ~1,000-token RAG prompt and a 64-token answer on torch fp32, the ITREX seed path, optimum-intel, OpenVINO "
        "GenAI 2024.2/2026 and llama.cpp: TTFT/TPOT/E2E with intervals, decode split into model execution vs the "
        "loop around it, bar verdicts vs llama.cpp; the GenAI LLMPipeline recipe and its LangChain wrapper.",
        smoke={"recompute": False, "show_recipe": False},
        minutes_smoke=0.5,
        minutes_full=1,  # reads the results file and runs the recipe; recompute=True measures again (~8 min)
    ),
]


def available() -> list[NotebookSpec]:
    """The catalogue entries whose notebook file exists."""
    return [spec for spec in CATALOGUE if spec.path.exists()]


def get(name: str) -> NotebookSpec:
    """A catalogue entry by name, with a clear error listing the names."""
    by_name = {spec.name: spec for spec in CATALOGUE}
    check_choice("notebook", name, by_name)
    return by_name[name]


def execute(
    spec: NotebookSpec, mode: str, output_path: Path | None = None, overrides: dict[str, Any] | None = None
) -> Path:
    """Execute one notebook with papermill; full mode writes outputs back into the notebook itself.

    ``overrides`` are extra papermill parameters (shown in the executed notebook's injected-parameters cell).
    """
    return _execute_timed(spec, mode, output_path, overrides)[0]


def _execute_timed(
    spec: NotebookSpec, mode: str, output_path: Path | None, overrides: dict[str, Any] | None
) -> tuple[Path, list[dict[str, Any]]]:
    """``execute``, also returning the slowest cells (where a run's time went, before the timings are stripped)."""
    import papermill as pm

    if mode not in ("full", "smoke"):
        raise ValueError(f"mode={mode!r} is invalid: allowed values are 'full', 'smoke'")
    enforce_offline()
    if output_path is None:
        output_path = spec.path if mode == "full" else BUILD_DIR / "smoke" / spec.path.name
    output_path.parent.mkdir(parents=True, exist_ok=True)
    params = dict(spec.smoke) if mode == "smoke" else {}
    params.update(overrides or {})
    # saved outputs carry no progress bars (the kernel inherits TQDM_DISABLE); interactive runs still show them
    previous = os.environ.get("TQDM_DISABLE")
    os.environ["TQDM_DISABLE"] = "1"
    try:
        pm.execute_notebook(
            str(spec.path),
            str(output_path),
            parameters=params,
            cwd=str(spec.path.parent),
            kernel_name="python3",
            progress_bar=False,
            request_save_on_cell_execute=False,
        )
    finally:
        if previous is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = previous
    slowest = _strip_volatile_metadata(output_path, params)
    return output_path, slowest


def _strip_volatile_metadata(path: Path, params: dict[str, Any], keep: int = 5) -> list[dict[str, Any]]:
    """Drop papermill's per-cell timestamps so committed notebooks change only when outputs change, third-party noise
    from the outputs (:mod:`helpers.tools.clean_outputs`), and record the
    parameters this run really used (papermill keeps a previous run's when none are injected).

    Returns the ``keep`` slowest code cells (index, seconds, first source line), read before the timings go."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    slowest = _slowest_cells(nb.cells, keep)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = clean_outputs(cell.outputs)  # third-party noise out, what the cells print kept
        pm_meta = cell.metadata.get("papermill")
        if pm_meta is not None:
            for key in ("start_time", "end_time", "duration"):
                pm_meta.pop(key, None)
    if "papermill" in nb.metadata:
        for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
            nb.metadata.papermill.pop(key, None)
        nb.metadata.papermill["parameters"] = dict(params)
    nbformat.write(nb, path)
    return slowest


def _slowest_cells(cells: list[Any], keep: int) -> list[dict[str, Any]]:
    """The ``keep`` code cells papermill timed longest: index, seconds and first source line, slowest first."""
    timed = [
        {"cell": i, "seconds": round(float(d), 1), "first_line": cell.source.strip().splitlines()[0][:80]}
        for i, cell in enumerate(cells)
        if cell.cell_type == "code" and cell.source.strip()
        if (d := cell.metadata.get("papermill", {}).get("duration")) is not None
    ]
    return sorted(timed, key=lambda c: -c["seconds"])[:keep]


def record_wall_time(
    spec: NotebookSpec, seconds: float, params: dict[str, Any], slowest_cells: list[dict[str, Any]] | None = None
) -> None:
    """Append a full run's wall time (and its slowest cells) to ``results/<profile>/notebook_times.jsonl`` (the
    site's wall-times page)."""
    import datetime

    threads = int(params.get("num_threads", 2))
    ResultsStore(results_path(TIMES_KIND, num_threads=threads)).append(
        {
            "key": spec.name,
            **profile_record(threads),
            "notebook": spec.name,
            "seconds": round(seconds, 1),
            "slowest_cells": slowest_cells or [],
            "parameters": params,
            "recorded_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        }
    )


def run_all(
    mode: str, names: list[str] | None = None, overrides: dict[str, Any] | None = None
) -> list[tuple[NotebookSpec, float]]:
    """Execute the selected notebooks in order; full mode records each wall time (the site is built after)."""
    from tqdm.auto import tqdm

    specs = [get(n) for n in names] if names else available()
    runs: list[tuple[NotebookSpec, float]] = []
    for spec in tqdm(specs, desc=f"notebooks ({mode})", unit="nb"):
        start = time.perf_counter()
        _, slowest = _execute_timed(spec, mode, None, overrides)
        runs.append((spec, time.perf_counter() - start))
        if mode == "full":
            record_wall_time(spec, runs[-1][1], dict(overrides or {}), slowest)
    print("\nNotebooks executed:")
    for spec, seconds in runs:
        print(f"  {spec.name:45s} {seconds:7.1f} s")
    print(
        f"Results files: {REPO_ROOT / 'results'}/<profile>/<kind>.jsonl (this machine's profile: "
        "python -m helpers.device --profile); plots are inside the executed notebooks."
    )
    return runs


def _parse_param(text: str) -> tuple[str, Any]:
    import json

    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"--param {text!r} is invalid: expected NAME=VALUE")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks")
    run.add_argument("--mode", choices=["full", "smoke"], default="full")
    run.add_argument("names", nargs="*", help="notebook names (default: all)")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="override a parameter, e.g. -p max_docs=20 (value parsed as JSON, else a string)",
    )
    sub.add_parser("list", help="list the notebooks")
    args = parser.parse_args(argv)
    if args.command == "list":
        for spec in CATALOGUE:
            print(f"{spec.name:45s} smoke ~{spec.minutes_smoke} min, full ~{spec.minutes_full} min  {spec.title}")
        return 0
    run_all(args.mode, args.names or None, dict(_parse_param(p) for p in args.param))
    return 0


if __name__ == "__main__":
    sys.exit(main())
