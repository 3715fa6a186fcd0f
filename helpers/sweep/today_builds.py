"""`python -m helpers.sweep.transfer --tools 2026`: the transfer study's OpenVINO points built with today's tools.

The 2024 builds (:func:`helpers.sweep.evaluate.openvino_ir_for`) export with optimum-intel 1.17.2 and compress with
NNCF 2.11 in the seed environment. These export with optimum-intel 2.2 and compress with NNCF 3.4 in the today
environment (:mod:`helpers.today.nncf_build`, a fresh process with ``.venv-today``'s Python), with the same NNCF plan
object and the same calibration inputs (made here, handed over as an ``.npz`` of arrays: no pickles). The folders get
the 2024 fp32 IR's config and tokenizer files, so both are loaded, scored and timed by the same code on the same
runtime: what differs is the tools that built them. Cached under ``<cache>/ov-2026/`` like every build.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from helpers import llm, models
from helpers.core.cache import cached_build, copy_side_files, folder_fingerprint
from helpers.core.genai_timing import genai_python, run_json_module
from helpers.core.settings import OFFLINE_ENV, cache_dir
from helpers.sweep.evaluate import BUDGETS, EvalBudget, openvino_calibration_for, openvino_plan_for
from helpers.sweep.grid import SweepPoint

TODAY_CACHE = "ov-2026"
BUILD_FORMAT = 1
_SOURCE_SUFFIXES = (".safetensors", ".json")


def run_today_build(payload: dict[str, Any], timeout_s: float = 3600.0) -> dict[str, Any]:
    """One export or compression in the today environment; its JSON answer (seconds, tool versions)."""
    python = genai_python("2026")
    proc = run_json_module(python, "helpers.today.nncf_build", payload, timeout_s, {**OFFLINE_ENV, "TQDM_DISABLE": "1"})
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise RuntimeError(f"today-environment {payload['action']} failed (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def today_export(model: str) -> Path:
    """The fp32 stateful IR of ``model`` exported by optimum-intel 2.2 (cached)."""
    source = models.causal_lm_dir(model=model)
    side = llm.export_openvino_llm(source)  # the 2024 fp32 IR: its config and tokenizer files are reused
    expected = {
        "kind": "export (today environment)",
        "format": BUILD_FORMAT,
        "source": folder_fingerprint(source, _SOURCE_SUFFIXES),
    }

    def build(tmp: Path) -> dict[str, Any]:
        answer = run_today_build({"action": "export", "model_dir": str(source), "out": str(tmp)})
        copy_side_files(side, tmp, llm.IR_SIDE_FILES)
        llm.check_stateful(tmp / llm.OV_XML_NAME)
        return answer

    return cached_build(cache_dir() / TODAY_CACHE / side.name, expected, build)


def _save_calibration(items: list[dict[str, np.ndarray]], path: Path) -> None:
    np.savez(path, **{f"{i}/{name}": array for i, item in enumerate(items) for name, array in item.items()})


def today_ir_for(point: SweepPoint, model: str, budget: EvalBudget | None = None) -> Path:
    """The IR of an OpenVINO point built by optimum-intel 2.2 + NNCF 3.4, with the plan and calibration passages of
    the 2024 build (:func:`helpers.sweep.evaluate.openvino_ir_for`)."""
    if point.backend != "openvino" or point.weight_dtype == "fp32":
        raise ValueError(f"point {point.key}: allowed are compressed openvino points")
    budget = budget or BUDGETS["standard"]
    fp32 = today_export(model)
    plan = openvino_plan_for(point)
    texts = openvino_calibration_for(point, budget)
    key = llm.ov_plan_key(plan, llm.calibration_key(texts, budget.calib_max_tokens) if texts else "")
    expected = {"kind": "compress (today environment)", "format": BUILD_FORMAT, "key": key, "source": fp32.name}

    def build(tmp: Path) -> dict[str, Any]:
        npz = None
        if texts:
            npz = tmp / "calibration.npz"
            _save_calibration(llm.ov_calibration_items(fp32, texts, max_tokens=budget.calib_max_tokens), npz)
        payload = {"action": "compress", "ir_dir": str(fp32), "out": str(tmp), "plan": asdict(plan)}
        answer = run_today_build({**payload, "calibration": str(npz) if npz else None})
        if npz:
            npz.unlink()
        copy_side_files(fp32, tmp, llm.IR_SIDE_FILES)
        llm.check_stateful(tmp / llm.OV_XML_NAME)
        return answer

    base = fp32.name.removesuffix("-fp32")
    return cached_build(cache_dir() / TODAY_CACHE / f"{base}-{key}", expected, build)
