"""`python -m helpers.today.nncf_build` (no notebook: run by helpers.sweep.today_builds with the today environment's
Python): export an fp32 IR with optimum-intel 2.2, or compress one with NNCF 3.4, into a folder.

The compression step takes the cookbook's own NNCF plan (:class:`helpers.quant.woq_config.openvino.OvCompressionPlan`,
the same object the 2024 builds use with NNCF 2.11) and the same calibration inputs (an ``.npz`` of model inputs made
in the seed environment), so "NNCF 2.11 vs NNCF 3.4" differs only in the tools. Reads one JSON payload on stdin,
prints one JSON line:

* ``{"action": "export", "model_dir": ..., "out": ...}``
* ``{"action": "compress", "ir_dir": ..., "out": ..., "plan": {...}, "calibration": path.npz | null}``
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from helpers.quant.woq_config.openvino import OvCompressionPlan

XML = "openvino_model.xml"


def export(model_dir: str, out: str) -> dict[str, Any]:
    """fp32 stateful IR (weights kept in fp32: no int8 default, no fp16 compression on save)."""
    import openvino as ov
    from optimum.intel import OVModelForCausalLM

    start = time.perf_counter()
    model = OVModelForCausalLM.from_pretrained(model_dir, export=True, load_in_8bit=False, compile=False)
    ov.save_model(model.model, str(Path(out) / XML), compress_to_fp16=False)
    return {"seconds": round(time.perf_counter() - start, 2)}


def _dataset(path: str | None) -> Any:
    """``nncf.Dataset`` of the model-input dicts saved as ``<index>/<input name>`` arrays."""
    if path is None:
        return None
    import nncf
    import numpy as np

    items: dict[int, dict[str, Any]] = {}
    with np.load(path, allow_pickle=False) as saved:
        for name in saved.files:
            index, key = name.split("/", 1)
            items.setdefault(int(index), {})[key] = saved[name]
    return nncf.Dataset([items[i] for i in sorted(items)])


def compress(ir_dir: str, out: str, plan: dict[str, Any], calibration: str | None) -> dict[str, Any]:
    """``nncf.compress_weights`` with the plan's own arguments, saved without fp16 compression."""
    import openvino as ov

    fields = {**plan, "ignored_patterns": tuple(plan.get("ignored_patterns", ()))}
    nncf_plan = OvCompressionPlan(**fields)
    model = ov.Core().read_model(str(Path(ir_dir) / XML))
    start = time.perf_counter()
    compressed = nncf_plan.compress(model, _dataset(calibration))
    seconds = time.perf_counter() - start
    ov.save_model(compressed, str(Path(out) / XML), compress_to_fp16=False)
    return {"seconds": round(seconds, 2)}


def versions() -> dict[str, str]:
    """The today environment's tool versions, for the build manifests."""
    from importlib.metadata import version

    return {name: version(name) for name in ("openvino", "nncf", "optimum-intel", "transformers", "torch")}


def main() -> int:
    payload = json.loads(sys.stdin.read())
    action = payload.pop("action")
    if action == "export":
        result = export(**payload)
    elif action == "compress":
        result = compress(**payload)
    else:
        raise ValueError(f"action={action!r} is not supported: allowed values are export, compress")
    print(json.dumps({**result, "versions": versions()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
