"""Notebooks 00, 01, 02, 03, 04, 06: What each ``WeightOnlyQuantConfig`` field accepts (exactly as ITREX 1.3.2 lists
it), the field notes, and the refusal messages that name the field, the value and the allowed values."""

from __future__ import annotations

from typing import Any

# --- allowed values, exactly as ITREX 1.3.2 WeightOnlyQuantConfig.post_init() lists them --------------------------
#: ``post_init`` (CPU path) accepts exactly these spellings, in this order.
WEIGHT_DTYPES: tuple[str, ...] = (
    "int8",
    "int4_fullrange",
    "int4_clip",
    "nf4",
    "fp4_e2m1_bnb",
    "fp4_e2m1",
    "fp8_e5m2",
    "fp8_e4m3",
)
INTEGER_WEIGHT_DTYPES: tuple[str, ...] = ("int8", "int4_fullrange", "int4_clip")
FLOAT_WEIGHT_DTYPES: tuple[str, ...] = ("nf4", "fp4_e2m1_bnb", "fp4_e2m1", "fp8_e5m2", "fp8_e4m3")
FP8_WEIGHT_DTYPES: tuple[str, ...] = ("fp8_e5m2", "fp8_e4m3")
#: Spellings only ITREX's Neural Speed path (``post_init_runtime``) accepts; ``post_init`` rejects them.
RUNTIME_ONLY_ALIASES: dict[str, str] = {
    "int4": "int4_clip or int4_fullrange",
    "fp4": "fp4_e2m1",
    "fp8": "fp8_e4m3 or fp8_e5m2",
}
COMPUTE_DTYPES: tuple[str, ...] = ("fp32", "bf16", "int8")
SCALE_DTYPES: tuple[str, ...] = ("fp32", "fp8_e8m0")
SCHEMES: tuple[str, ...] = ("sym", "asym")
#: ITREX 1.3.2 does not validate ``algorithm`` on the CPU path; these are the ones it wires up without extra
#: arguments. GPTQ also exists there but needs ``algorithm_args`` (percdamp, act_order, ...) that this mirror does
#: not model.
ALGORITHMS: tuple[str, ...] = ("RTN", "AWQ", "TEQ")
#: neural-compressor 2.4.1's weight-only capability (``pytorch_cpu.yaml``). Any other group size is silently replaced
#: by 32 in INC's RTN/AWQ/TEQ pass (verified: requesting 48 or 2048 yields 32) while QBits still packs with the
#: requested size, so they are refused here.
INC_GROUP_SIZES: tuple[int, ...] = (-1, 1, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: NNCF 2.11 ``CompressWeightsMode`` values usable for weight compression (``int8`` is a deprecated alias).
NNCF_MODES: tuple[str, ...] = ("int8_sym", "int8_asym", "int4_sym", "int4_asym", "nf4")
#: What ``WeightOnlyQuantConfig()`` stores before ``post_init()`` fills the ``None`` dtypes in.
ITREX_RAW_DEFAULTS: dict[str, Any] = {
    "llm_int8_skip_modules": [],
    "compute_dtype": None,
    "weight_dtype": None,
    "scale_dtype": None,
    "mse_range": False,
    "use_double_quant": False,
    "double_quant_scale_dtype": None,
    "group_size": 32,
    "scheme": "sym",
    "algorithm": "RTN",
    "calib_iters": 100,
}

#: One line per field, for the notebook.
field_docs: dict[str, str] = {
    "llm_int8_skip_modules": "Linear modules (name substrings) to keep in full precision; lm_head is always kept. "
    "ITREX 1.3.2 crashes on any non-empty list, so only the OpenVINO plan can use it.",
    "compute_dtype": "Precision of the matmul inside QBits: fp32 (AVX2/AVX512F), bf16 (needs AMX-BF16) or int8 "
    "(activations quantized on the fly; needs AVX-VNNI/AVX512-VNNI/AMX-INT8, integer weights, sym).",
    "weight_dtype": "Storage format of the weights: int8, int4_clip ([-7,7] grid), int4_fullrange ([-8,7]), "
    "nf4 (QLoRA NormalFloat), fp4_e2m1 / fp4_e2m1_bnb (4-bit float tables), fp8_e5m2 / fp8_e4m3.",
    "scale_dtype": "Storage of the per-group scales: fp32; fp8_e8m0 (power-of-two) only for fp8 weights.",
    "mse_range": "RTN only: search one clip ratio per layer in 1.0, 0.995, ..., 0.805 minimising weight MSE.",
    "use_double_quant": "Quantize the scales too (QLoRA-style). Upstream marks it not supported yet: must stay False.",
    "double_quant_dtype": "Reserved for double quantization; ITREX 1.3.2 never reads it (the documented example "
    "sets int8 to no effect). The cookbook's WoqConfig keeps it None.",
    "double_quant_scale_dtype": "Reserved for double quantization; never read by ITREX 1.3.2. The cookbook's "
    "WoqConfig keeps it None.",
    "group_size": "Input channels sharing one scale; -1 = one scale per output channel. 32 by default.",
    "scheme": "sym (scale only) or asym (scale + zero point; integer weights, fp32 compute/scales only).",
    "algorithm": "RTN (round to nearest, data-free), AWQ (activation-aware scaling) or TEQ (trained scales); "
    "AWQ/TEQ need a calibration dataloader.",
    "calib_iters": "AWQ only: calibration batches fed through the model (ITREX default 100).",
}

#: Allowed values per field, as text (used in error messages and the field table).
FIELD_ALLOWED: dict[str, str] = {
    "llm_int8_skip_modules": "None or a list/tuple of non-empty module-name strings",
    "compute_dtype": ", ".join(COMPUTE_DTYPES),
    "weight_dtype": ", ".join(WEIGHT_DTYPES),
    "scale_dtype": ", ".join(SCALE_DTYPES),
    "mse_range": "True, False",
    "use_double_quant": "False",
    "double_quant_dtype": "None",
    "double_quant_scale_dtype": "None",
    "group_size": ", ".join(str(g) for g in INC_GROUP_SIZES),
    "scheme": ", ".join(SCHEMES),
    "algorithm": ", ".join(ALGORITHMS),
    "calib_iters": "integers >= 1 (other than 100 only with algorithm='AWQ')",
}


def _refuse(name: str, value: Any, allowed: str, reason: str = "") -> ValueError:
    message = f"{name}={value!r} is not supported: allowed values are {allowed}"
    return ValueError(f"{message}; {reason}" if reason else message)


def _refuse_combo(name: str, value: Any, allowed: str, condition: str, reason: str) -> ValueError:
    return ValueError(
        f"{name}={value!r} is not supported with {condition}: {reason}; allowed values here are {allowed}"
    )


def _check_choice(name: str, value: Any, choices: tuple[str, ...], hint: str = "") -> None:
    if not isinstance(value, str):
        raise _refuse(name, value, ", ".join(choices), f"expected a string, got {type(value).__name__}")
    if value not in choices:
        raise _refuse(name, value, ", ".join(choices), hint)


def _check_bool(name: str, value: Any, allowed: str = "True, False") -> None:
    if not isinstance(value, bool):
        raise _refuse(name, value, allowed, f"expected a bool, got {type(value).__name__}")
