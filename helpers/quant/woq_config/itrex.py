"""Notebooks 00, 01, 02, 03, 04, 06: ``WoqConfig`` -> the real ITREX 1.3.2 ``WeightOnlyQuantConfig``, and which compute
dtypes QBits runs on a CPU."""

from __future__ import annotations

from typing import Any

from helpers.quant.woq_config.allowed import COMPUTE_DTYPES
from helpers.quant.woq_config.config import WoqConfig, isa_problems


# --- ITREX ---------------------------------------------------------------------------------------------------------
def compute_dtype_support(cpu_flags: set[str] | frozenset[str]) -> list[dict[str, Any]]:
    """One row per ``compute_dtype``: the weight dtype it is tried with, whether QBits runs it here, and why not.

    int8 compute is paired with ``int4_clip`` (it needs an integer weight grid), the others with the default nf4.
    """
    rows = []
    for compute in COMPUTE_DTYPES:
        weights = "int4_clip" if compute == "int8" else "nf4"
        problems = isa_problems(WoqConfig(weight_dtype=weights, compute_dtype=compute), cpu_flags)
        rows.append(
            {
                "compute_dtype": compute,
                "weight_dtype": weights,
                "runs here": not problems,
                "why not": "; ".join(problems),
            }
        )
    return rows


def to_itrex(cfg: WoqConfig, *, calib_dataloader: Any = None, tokenizer: Any = None) -> Any:
    """The ITREX 1.3.2 ``WeightOnlyQuantConfig`` for ``cfg`` (``post_init()`` already run, as the CPU path does).

    ``calib_dataloader`` is required for AWQ/TEQ (see the module docstring for the batch formats); it is passed
    through ITREX's ``calib_dataloader`` kwarg together with ``calib_iters``. ``tokenizer`` is optional (ITREX only
    uses it to build its default Hub calibration set, which this refuses to rely on).
    """
    if not isinstance(cfg, WoqConfig):
        raise ValueError(f"to_itrex expects a WoqConfig, got {type(cfg).__name__}")
    if cfg.llm_int8_skip_modules:
        raise ValueError(
            f"llm_int8_skip_modules={list(cfg.llm_int8_skip_modules)!r} is not supported by ITREX 1.3.2: "
            "replace_linear() does modules_to_not_convert = ['lm_head'].extend(...), which is None, and then fails "
            "with TypeError; only lm_head can be kept in full precision there (it always is)"
        )
    if cfg.algorithm in ("AWQ", "TEQ") and calib_dataloader is None:
        raise ValueError(
            f"algorithm={cfg.algorithm!r} needs calib_dataloader: without it ITREX downloads NeelNanda/pile-10k "
            "from the Hugging Face Hub (AWQ: batches of (1, L) input ids; TEQ: (ids, ids) tuples)"
        )
    from intel_extension_for_transformers.transformers import WeightOnlyQuantConfig

    itrex = WeightOnlyQuantConfig(
        llm_int8_skip_modules=None,
        compute_dtype=cfg.compute_dtype,
        weight_dtype=cfg.weight_dtype,
        scale_dtype=cfg.scale_dtype,
        mse_range=cfg.mse_range,
        use_double_quant=cfg.use_double_quant,
        double_quant_scale_dtype=cfg.double_quant_scale_dtype,
        group_size=cfg.group_size,
        scheme=cfg.scheme,
        algorithm=cfg.algorithm,
        calib_iters=cfg.calib_iters,
        calib_dataloader=calib_dataloader,
        tokenizer=tokenizer,
    )
    itrex.post_init()
    return itrex
