"""A validated, frozen mirror of ITREX 1.3.2's ``WeightOnlyQuantConfig`` and its OpenVINO/NNCF translation.

``WoqConfig`` has the same fields and defaults as ``intel_extension_for_transformers.transformers.
WeightOnlyQuantConfig`` (1.3.2) as used by LangChain's ``WeightOnlyQuantPipeline.from_model_id``, which always
passes ``use_llm_runtime=False``: the model is quantized on the PyTorch/CPU path, where ITREX calls
``WeightOnlyQuantConfig.post_init()`` (not the Neural Speed ``post_init_runtime()``), runs neural-compressor
2.4.1's weight-only pass (RTN/AWQ/TEQ) and packs every ``Linear`` except ``lm_head`` into QBits (BesTLA) kernels.

Validation is pure Python (no torch, ITREX or OpenVINO import) and stricter than ITREX's own ``post_init``: it also
refuses values that ITREX accepts but that crash later, or that are silently ignored or silently changed further
down (neural-compressor, QBits). Every refusal raises ``ValueError`` naming the field, the value and what is
allowed. The sources read for each rule are cited in the messages and in ``docs/woq_mapping.md``.

Builders (heavy imports happen inside them only):

* :func:`to_itrex` -> the real ITREX ``WeightOnlyQuantConfig`` for ``WeightOnlyQuantPipeline.from_model_id``.
* :func:`to_openvino` -> :class:`OvCompressionPlan`, the ``nncf.compress_weights`` (NNCF 2.11) equivalent with an
  explicit list of what cannot be reproduced.
* :func:`to_optimum_intel` -> :class:`OptimumIntelPlan`, ``OVWeightQuantizationConfig`` (optimum-intel 1.17.2)
  kwargs where that class can express the config.

Calibration data (``algorithm="AWQ"`` / ``"TEQ"``) is wired by the caller through ``to_itrex(calib_dataloader=...)``;
without it ITREX would download ``NeelNanda/pile-10k`` from the Hub. What each algorithm reads from the dataloader:

* AWQ: ITREX's default calibration function calls ``model(input_ids=batch)`` for the first ``calib_iters`` batches,
  so each batch must be a bare ``LongTensor`` of shape ``(1, L)`` (ITREX's own collate does
  ``torch.vstack([ids[:512]])``). Field notes: keep ``use_cache=False`` on the model config while it quantizes
  (e.g. ``model_kwargs={"use_cache": False}`` in ``from_model_id``) and switch it back on for generation.
* TEQ: neural-compressor's trainer reads ``batch["input_ids"]`` from dicts and ``batch[0]`` otherwise, then calls
  ``model(ids, labels=ids)``, so yield ``(ids, ids)`` tuples (or dicts) with ``ids`` of shape ``(1, L)``; a bare
  ``(1, L)`` tensor would be indexed down to ``(L,)``. TEQ trains 1000 steps (cycling the loader) whatever
  ``calib_iters`` says.
"""

from __future__ import annotations

import dataclasses
import hashlib
import numbers
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALGORITHMS",
    "COMPUTE_DTYPES",
    "FIELD_ALLOWED",
    "INC_GROUP_SIZES",
    "ITREX_RAW_DEFAULTS",
    "NNCF_MODES",
    "OptimumIntelPlan",
    "OvCompressionPlan",
    "SCALE_DTYPES",
    "SCHEMES",
    "WEIGHT_DTYPES",
    "WoqConfig",
    "field_docs",
    "field_table",
    "field_table_markdown",
    "from_dict",
    "isa_problems",
    "replace",
    "to_itrex",
    "to_openvino",
    "to_optimum_intel",
]

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
    "double_quant_dtype": "Reserved for double quantization; ITREX 1.3.2 never sets it. Must stay None.",
    "double_quant_scale_dtype": "Reserved for double quantization; ignored by ITREX 1.3.2. Must stay None.",
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


@dataclass(frozen=True, kw_only=True)
class WoqConfig:
    """ITREX 1.3.2 ``WeightOnlyQuantConfig``, field by field with the same defaults (after ``post_init``).

    See :data:`field_docs` for one line per field and :data:`FIELD_ALLOWED` for the allowed values.
    ``llm_int8_skip_modules`` is stored as a tuple (or None) so that configs are hashable.
    """

    llm_int8_skip_modules: tuple[str, ...] | None = None
    compute_dtype: str = "fp32"
    weight_dtype: str = "nf4"
    scale_dtype: str = "fp32"
    mse_range: bool = False
    use_double_quant: bool = False
    double_quant_dtype: str | None = None
    double_quant_scale_dtype: str | None = None
    group_size: int = 32
    scheme: str = "sym"
    algorithm: str = "RTN"
    calib_iters: int = 100

    def __post_init__(self) -> None:
        self._validate_fields()
        self._validate_combinations()

    # -- single fields --------------------------------------------------------------------------------------------
    def _validate_fields(self) -> None:
        skip = self.llm_int8_skip_modules
        if skip is not None:
            if isinstance(skip, str) or not isinstance(skip, list | tuple):
                raise _refuse("llm_int8_skip_modules", skip, FIELD_ALLOWED["llm_int8_skip_modules"])
            for name in skip:
                if not isinstance(name, str) or not name:
                    raise _refuse(
                        "llm_int8_skip_modules",
                        skip,
                        FIELD_ALLOWED["llm_int8_skip_modules"],
                        f"item {name!r} is not a non-empty string",
                    )
            object.__setattr__(self, "llm_int8_skip_modules", tuple(skip) or None)

        _check_choice("compute_dtype", self.compute_dtype, COMPUTE_DTYPES)
        weight_hint = ""
        if self.weight_dtype in RUNTIME_ONLY_ALIASES:
            weight_hint = (
                f"{self.weight_dtype!r} is only accepted by ITREX's Neural Speed path (post_init_runtime), which "
                "WeightOnlyQuantPipeline switches off (use_llm_runtime=False); use "
                + RUNTIME_ONLY_ALIASES[self.weight_dtype]
            )
        _check_choice("weight_dtype", self.weight_dtype, WEIGHT_DTYPES, weight_hint)
        _check_choice("scale_dtype", self.scale_dtype, SCALE_DTYPES)
        _check_bool("mse_range", self.mse_range)
        _check_bool("use_double_quant", self.use_double_quant, FIELD_ALLOWED["use_double_quant"])
        if self.use_double_quant:
            raise _refuse(
                "use_double_quant",
                True,
                "False",
                "upstream marks double quantization as not supported yet, and in ITREX 1.3.2 it cannot work: "
                "post_init() reads self.double_quant_dtype, which __init__ never sets (AttributeError), and the "
                "QBits layers are always built with compress_statistics=False",
            )
        for name in ("double_quant_dtype", "double_quant_scale_dtype"):
            if getattr(self, name) is not None:
                raise _refuse(name, getattr(self, name), "None", "reserved for double quantization, unused by ITREX")

        gs = self.group_size
        if isinstance(gs, bool) or not isinstance(gs, numbers.Integral):
            raise _refuse(
                "group_size", gs, FIELD_ALLOWED["group_size"], f"expected an integer, got {type(gs).__name__}"
            )
        object.__setattr__(self, "group_size", int(gs))
        if self.group_size not in INC_GROUP_SIZES:
            reason = (
                "0 and negative sizes other than -1 are meaningless"
                if self.group_size < 1
                else "neural-compressor 2.4.1 silently replaces other sizes by 32 while QBits packs with the "
                "requested one"
            )
            raise _refuse("group_size", self.group_size, FIELD_ALLOWED["group_size"], reason)

        _check_choice("scheme", self.scheme, SCHEMES)
        algo_hint = ""
        if isinstance(self.algorithm, str) and self.algorithm.upper() in ALGORITHMS:
            algo_hint = f"ITREX and neural-compressor compare case-sensitively: use {self.algorithm.upper()!r}"
        elif isinstance(self.algorithm, str) and self.algorithm.upper() == "GPTQ":
            algo_hint = "GPTQ needs ITREX algorithm_args (percdamp, act_order, ...), not modelled by this config"
        _check_choice("algorithm", self.algorithm, ALGORITHMS, algo_hint)

        it = self.calib_iters
        if isinstance(it, bool) or not isinstance(it, numbers.Integral) or it < 1:
            raise _refuse("calib_iters", it, FIELD_ALLOWED["calib_iters"])
        object.__setattr__(self, "calib_iters", int(it))

    # -- combinations -------------------------------------------------------------------------------------------
    def _validate_combinations(self) -> None:
        wd, cd, sd = self.weight_dtype, self.compute_dtype, self.scale_dtype
        if self.scheme == "asym":
            if cd == "int8":
                raise _refuse_combo(
                    "scheme",
                    "asym",
                    "sym",
                    "compute_dtype='int8'",
                    "ITREX post_init refuses it (QBits has no asym int8 kernel)",
                )
            if wd in FLOAT_WEIGHT_DTYPES:
                raise _refuse_combo(
                    "scheme",
                    "asym",
                    "sym",
                    f"weight_dtype={wd!r}",
                    "ITREX post_init refuses asym for float weight dtypes",
                )
            if sd != "fp32":
                raise _refuse_combo(
                    "scheme", "asym", "sym", f"scale_dtype={sd!r}", "ITREX post_init refuses asym with non-fp32 scales"
                )
        if cd == "int8":
            if wd in FLOAT_WEIGHT_DTYPES:
                raise _refuse_combo(
                    "compute_dtype",
                    "int8",
                    "fp32, bf16",
                    f"weight_dtype={wd!r}",
                    "QBits has no int8-compute kernel for float weights ('unsupported bestla_config'); ITREX's "
                    "post_init lets it through and the Neural Speed path falls back to fp32",
                )
            if self.group_size != -1 and self.group_size % 4:
                raise _refuse_combo(
                    "group_size",
                    self.group_size,
                    "-1 or multiples of 4",
                    "compute_dtype='int8'",
                    "QBits int8 kernels need the block size to be a multiple of their K tile (4 on VNNI, 64 on AMX)",
                )
        if sd == "fp8_e8m0" and wd not in FP8_WEIGHT_DTYPES:
            raise _refuse_combo(
                "scale_dtype",
                "fp8_e8m0",
                "fp32",
                f"weight_dtype={wd!r}",
                "fp8_e8m0 scales are only for fp8 weights (ITREX's message; QBits refuses them otherwise)",
            )
        if wd in FP8_WEIGHT_DTYPES and (self.algorithm != "RTN" or self.mse_range):
            bad = f"algorithm={self.algorithm!r}" if self.algorithm != "RTN" else "mse_range=True"
            raise _refuse_combo(
                "weight_dtype",
                wd,
                ", ".join(d for d in WEIGHT_DTYPES if d not in FP8_WEIGHT_DTYPES),
                bad,
                "ITREX 1.3.2 sends fp8 weights straight to QBits, bypassing neural-compressor, so AWQ/TEQ/mse_range "
                "would be silently ignored",
            )
        if self.mse_range and self.algorithm != "RTN":
            reason = (
                "neural-compressor's AWQ always runs its own MSE clip search (ITREX passes it no awq_args), so the "
                "flag changes nothing"
                if self.algorithm == "AWQ"
                else "TEQ ignores it (ITREX only forwards mse_range in rtn_args)"
            )
            raise _refuse_combo("mse_range", True, "False", f"algorithm={self.algorithm!r}", reason)
        if self.algorithm == "TEQ" and wd != "int8" and wd != "int4_clip":
            raise _refuse_combo(
                "weight_dtype",
                wd,
                "int8, int4_clip",
                "algorithm='TEQ'",
                "neural-compressor's TEQ quantizes on the plain integer grid (no nf4/fp4 codebooks, no full range), "
                "so its trained scales would be re-quantized onto a different grid by QBits",
            )
        if self.calib_iters != 100 and self.algorithm != "AWQ":
            raise _refuse_combo(
                "calib_iters",
                self.calib_iters,
                "100",
                f"algorithm={self.algorithm!r}",
                "only ITREX's AWQ calibration loop reads it",
            )

    # -- helpers ------------------------------------------------------------------------------------------------
    @property
    def bits(self) -> int:
        """Bits per stored weight code."""
        return 8 if self.weight_dtype in ("int8",) + FP8_WEIGHT_DTYPES else 4

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-friendly: the skip-module tuple becomes a list)."""
        out = dataclasses.asdict(self)
        if out["llm_int8_skip_modules"] is not None:
            out["llm_int8_skip_modules"] = list(out["llm_int8_skip_modules"])
        return out

    def key(self) -> str:
        """Stable, filename-safe id: ``nf4-fp32-g32-sym-rtn`` plus suffixes for non-default extras.

        Suffixes: ``-mse`` (mse_range), ``-it<N>`` (AWQ calibration batches), ``-s<scale_dtype>`` (non-fp32 scales),
        ``-skip<names or hash>`` (skip modules). ``-1`` group size is written ``gpc`` (per channel).
        """
        group = "gpc" if self.group_size == -1 else f"g{self.group_size}"
        parts = [self.weight_dtype, self.compute_dtype, group, self.scheme, self.algorithm.lower()]
        if self.mse_range:
            parts.append("mse")
        if self.algorithm == "AWQ":
            parts.append(f"it{self.calib_iters}")
        if self.scale_dtype != "fp32":
            parts.append(f"s{self.scale_dtype}")
        if self.llm_int8_skip_modules:
            joined = "+".join(self.llm_int8_skip_modules)
            if re.fullmatch(r"[A-Za-z0-9_.+]{1,40}", joined):
                parts.append(f"skip{joined}")
            else:
                parts.append("skip" + hashlib.sha1(joined.encode()).hexdigest()[:10])
        return "-".join(parts)


def from_dict(data: dict[str, Any]) -> WoqConfig:
    """Build a :class:`WoqConfig` from a dict (e.g. a sweep row or a results file); unknown keys are refused."""
    if not isinstance(data, dict):
        raise ValueError(f"from_dict expects a dict, got {type(data).__name__}")
    names = [f.name for f in dataclasses.fields(WoqConfig)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise ValueError(f"unknown WoqConfig field(s) {', '.join(unknown)}: allowed fields are {', '.join(names)}")
    return WoqConfig(**data)


def replace(cfg: WoqConfig, **changes: Any) -> WoqConfig:
    """A copy of ``cfg`` with ``changes`` applied and fully re-validated; unknown field names are refused."""
    if not isinstance(cfg, WoqConfig):
        raise ValueError(f"replace expects a WoqConfig, got {type(cfg).__name__}")
    data = cfg.to_dict()
    data.update(changes)
    return from_dict(data)


def field_table(cfg: WoqConfig | None = None) -> list[dict[str, str]]:
    """Rows ``field, value, default, allowed, itrex_raw_default, doc`` for every field (``value`` from ``cfg``)."""
    default = WoqConfig()
    current = cfg or default
    rows = []
    for f in dataclasses.fields(WoqConfig):
        raw = ITREX_RAW_DEFAULTS.get(f.name, "(not an __init__ argument)")
        rows.append(
            {
                "field": f.name,
                "value": repr(getattr(current, f.name)),
                "default": repr(getattr(default, f.name)),
                "allowed": FIELD_ALLOWED[f.name],
                "itrex_raw_default": repr(raw),
                "doc": field_docs[f.name],
            }
        )
    return rows


def field_table_markdown(cfg: WoqConfig | None = None) -> str:
    """:func:`field_table` as a Markdown table (field, value, allowed, meaning)."""
    lines = ["| field | value | allowed | meaning |", "|---|---|---|---|"]
    for row in field_table(cfg):
        cells = [f"`{row['field']}`", f"`{row['value']}`", row["allowed"], row["doc"]]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


#: CPU flags (as in /proc/cpuinfo) QBits needs per compute dtype; any one flag of the set is enough.
ISA_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "fp32": ("avx512f", "avx2"),
    "bf16": ("amx_bf16",),
    "int8": ("amx_int8", "avx512_vnni", "avx_vnni"),
}


def isa_problems(cfg: WoqConfig, cpu_flags: set[str] | frozenset[str]) -> list[str]:
    """Why QBits would refuse ``cfg`` on a CPU with these flags (empty list = it can run). Pure: pass the flags."""
    needed = ISA_REQUIREMENTS[cfg.compute_dtype]
    if any(flag in cpu_flags for flag in needed):
        return []
    return [
        f"compute_dtype={cfg.compute_dtype!r} needs one of the CPU flags {', '.join(needed)} "
        "(QBits raises at quantization time otherwise)"
    ]


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


# --- OpenVINO / NNCF ---------------------------------------------------------------------------------------------
_OV = "OpenVINO/NNCF 2.11"


@dataclass(frozen=True)
class OvCompressionPlan:
    """``nncf.compress_weights`` arguments (NNCF 2.11) equivalent to a :class:`WoqConfig`, plus what is lost.

    ``None`` means "do not pass this argument": NNCF's INT8 modes raise if ``ratio``/``group_size`` differ from
    their defaults or if ``all_layers``, ``sensitivity_metric``, ``dataset``, ``awq``, ``scale_estimation`` are
    given at all. ``unsupported`` lists every ``field=value`` whose effect cannot be reproduced (``strict=True``
    raises instead); ``notes`` lists differences that need no decision. ``runtime_config`` holds the OpenVINO
    runtime properties closest to ``compute_dtype`` (pass them when compiling, they are not compression options).
    """

    mode: str
    group_size: int | None
    ratio: float | None
    all_layers: bool | None
    sensitivity_metric: str | None
    awq: bool | None
    scale_estimation: bool | None
    gptq: bool | None
    subset_size: int | None
    ignored_patterns: tuple[str, ...]
    needs_dataset: bool
    runtime_config: dict[str, str]
    unsupported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source_key: str = ""

    def kwargs(self) -> dict[str, Any]:
        """Plain-value keyword arguments (strings for enums, a dict for the ignored scope); ``None`` left out."""
        out: dict[str, Any] = {"mode": self.mode}
        for name in ("ratio", "group_size", "all_layers", "sensitivity_metric", "awq", "scale_estimation", "gptq"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.subset_size is not None:
            out["subset_size"] = self.subset_size
        if self.ignored_patterns:
            out["ignored_scope"] = {"patterns": list(self.ignored_patterns)}
        return out

    def nncf_kwargs(self, dataset: Any = None) -> dict[str, Any]:
        """Keyword arguments with real NNCF objects, ready for ``nncf.compress_weights(model, **...)``.

        ``dataset`` (an ``nncf.Dataset`` of model inputs) is required when ``needs_dataset`` and refused for INT8
        modes, which do not accept one.
        """
        import nncf

        if self.needs_dataset and dataset is None:
            raise ValueError(f"this plan ({self.mode}, awq={self.awq}) needs a calibration dataset: pass dataset=")
        if dataset is not None and self.mode.startswith("int8"):
            raise ValueError(f"mode={self.mode!r}: NNCF 2.11 INT8 modes do not accept a dataset")
        out = self.kwargs()
        out["mode"] = nncf.CompressWeightsMode(self.mode)
        if "sensitivity_metric" in out:
            out["sensitivity_metric"] = nncf.SensitivityMetric(out["sensitivity_metric"])
        if "ignored_scope" in out:
            out["ignored_scope"] = nncf.IgnoredScope(**out["ignored_scope"])
        if dataset is not None:
            out["dataset"] = dataset
        return out

    def compress(self, model: Any, dataset: Any = None) -> Any:
        """Run ``nncf.compress_weights`` on an ``openvino.Model`` with this plan."""
        import nncf

        return nncf.compress_weights(model, **self.nncf_kwargs(dataset))


_SENSITIVITY_METRICS = (
    "weight_quantization_error",
    "hessian_input_activation",
    "mean_activation_variance",
    "max_activation_variance",
    "mean_activation_magnitude",
)


def to_openvino(
    cfg: WoqConfig,
    *,
    strict: bool = False,
    ratio: float = 1.0,
    all_layers: bool = False,
    sensitivity_metric: str | None = None,
    scale_estimation: bool = False,
    gptq: bool = False,
) -> OvCompressionPlan:
    """Translate ``cfg`` into an NNCF 2.11 ``compress_weights`` plan.

    The keyword-only extras are OpenVINO-only knobs with no ITREX field (defaults reproduce ITREX: every layer in
    the primary precision). ``gptq=True`` asks for NNCF's data-aware GPTQ (4-bit modes with a group size, not with
    scale estimation; ITREX's GPTQ needs ``algorithm_args`` this mirror does not model, so it lives here).
    With ``strict=True`` any entry in ``unsupported`` raises ``ValueError`` instead.
    """
    if not isinstance(cfg, WoqConfig):
        raise ValueError(f"to_openvino expects a WoqConfig, got {type(cfg).__name__}")
    unsupported: list[str] = []
    notes: list[str] = []

    def lost(name: str, value: Any, reason: str) -> None:
        unsupported.append(f"{name}={value!r}: unsupported on {_OV}: {reason}")

    wd, scheme = cfg.weight_dtype, cfg.scheme
    if wd == "int8":
        mode = f"int8_{scheme}"
    elif wd == "int4_clip":
        mode = f"int4_{scheme}"
    elif wd == "int4_fullrange":
        mode = f"int4_{scheme}"
        if scheme == "sym":
            lost(
                "weight_dtype",
                wd,
                "INT4_SYM uses scale = absmax/7 (the int4_clip grid); the full-range absmax/8 grid with code -8 has "
                "no NNCF mode, so the plan uses int4_sym",
            )
        else:
            notes.append(
                "weight_dtype='int4_fullrange' with asym: the full-range flag only affects sym, int4_asym is exact"
            )
    elif wd == "nf4":
        mode = "nf4"
    elif wd in ("fp4_e2m1", "fp4_e2m1_bnb"):
        mode = "nf4"
        lost(
            "weight_dtype",
            wd,
            f"no FP4/E2M1 mode in NNCF 2.11 (modes: {', '.join(NNCF_MODES)}); the plan falls back to nf4, the other "
            "absmax-scaled 4-bit float codebook",
        )
    else:  # fp8
        mode = "int8_sym"
        lost(
            "weight_dtype", wd, "no FP8 weight compression in NNCF 2.11; the plan falls back to int8_sym (per channel)"
        )

    is_int8 = mode.startswith("int8")
    _check_bool("gptq", gptq)
    if is_int8 and (ratio != 1.0 or all_layers or sensitivity_metric is not None or scale_estimation or gptq):
        raise ValueError(
            f"mode={mode!r}: NNCF 2.11 INT8 modes take no ratio, all_layers, sensitivity_metric, scale_estimation "
            f"or gptq (got ratio={ratio!r}, all_layers={all_layers!r}, sensitivity_metric={sensitivity_metric!r}, "
            f"scale_estimation={scale_estimation!r}, gptq={gptq!r})"
        )
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not 0 <= ratio <= 1:
        raise _refuse("ratio", ratio, "floats in [0, 1]")
    if sensitivity_metric is not None and sensitivity_metric not in _SENSITIVITY_METRICS:
        raise _refuse("sensitivity_metric", sensitivity_metric, "None, " + ", ".join(_SENSITIVITY_METRICS))
    _check_bool("all_layers", all_layers)
    _check_bool("scale_estimation", scale_estimation)

    group_size: int | None
    if is_int8:
        group_size = None
        if cfg.group_size != -1:
            lost(
                "group_size",
                cfg.group_size,
                "INT8 modes are per-channel only (group_size must stay -1); the plan is per channel",
            )
    else:
        group_size = cfg.group_size
        if group_size != -1:
            notes.append(
                f"group_size={group_size}: NNCF raises unless it divides every layer's input channels "
                "(ITREX/neural-compressor quantize a leftover shorter group instead)"
            )

    awq: bool | None = None if is_int8 else False
    if cfg.algorithm == "AWQ":
        if is_int8:
            lost("algorithm", "AWQ", "INT8 modes refuse awq; the plan is data-free")
        elif mode == "nf4":
            lost("algorithm", "AWQ", "NNCF 2.11 refuses AWQ (and scale estimation) in NF4 mode; the plan is data-free")
        elif group_size == -1:
            lost("algorithm", "AWQ", "NNCF 2.11 refuses AWQ with group_size=-1; the plan is data-free")
        else:
            awq = True
    elif cfg.algorithm == "TEQ":
        lost(
            "algorithm",
            "TEQ",
            "NNCF has no TEQ; the plan is data-free RTN (awq=True or scale_estimation=True are the data-aware options)",
        )

    if scale_estimation and (mode == "nf4" or group_size == -1):
        raise ValueError(f"scale_estimation=True is refused by NNCF 2.11 with mode={mode!r}, group_size={group_size!r}")
    if sensitivity_metric == "weight_quantization_error" and (awq or scale_estimation):
        # NNCF 2.11 collects no activations with this metric: AWQ then raises KeyError, scale estimation does nothing
        raise _refuse_combo(
            "sensitivity_metric",
            sensitivity_metric,
            "None, " + ", ".join(m for m in _SENSITIVITY_METRICS if m != sensitivity_metric),
            f"awq={bool(awq)!r}, scale_estimation={scale_estimation!r}",
            "NNCF 2.11 collects no activations for weight_quantization_error, so AWQ fails and scale estimation is "
            "silently skipped",
        )
    if gptq and (scale_estimation or group_size == -1):
        raise ValueError(
            f"gptq=True is refused by NNCF 2.11 with scale_estimation={scale_estimation!r}, group_size={group_size!r}: "
            "allowed with a group size (not -1) and without scale estimation"
        )
    if cfg.mse_range:
        lost(
            "mse_range",
            True,
            "no clip-ratio search in NNCF; scale_estimation=True (data-aware, group-wise, not NF4) is the nearest tool",
        )

    runtime_config: dict[str, str]
    if cfg.compute_dtype == "fp32":
        runtime_config = {"INFERENCE_PRECISION_HINT": "f32"}
        notes.append(
            "compute_dtype='fp32': not a compression option; OpenVINO picks the compute precision at run time "
            "(bf16 by default on AMX/AVX512-BF16 CPUs), so runtime_config pins INFERENCE_PRECISION_HINT=f32"
        )
    elif cfg.compute_dtype == "bf16":
        runtime_config = {"INFERENCE_PRECISION_HINT": "bf16"}
        lost(
            "compute_dtype",
            "bf16",
            "decided by the OpenVINO runtime and the CPU ISA, not by compression; see runtime_config",
        )
    else:
        runtime_config = {"DYNAMIC_QUANTIZATION_GROUP_SIZE": str(cfg.group_size if cfg.group_size > 0 else 32)}
        lost(
            "compute_dtype",
            "int8",
            "decided by the OpenVINO runtime and the CPU ISA, not by compression; runtime_config sets the CPU "
            "plugin's dynamic activation quantization, the nearest analogue",
        )

    if cfg.scale_dtype == "fp32":
        notes.append("scale_dtype='fp32': NNCF 2.11 always stores scales (and zero points) as f16 constants")
    else:
        lost("scale_dtype", cfg.scale_dtype, "NNCF 2.11 always stores scales as f16")

    patterns: tuple[str, ...] = ()
    if cfg.llm_int8_skip_modules:
        patterns = tuple(f".*{re.escape(name)}.*" for name in cfg.llm_int8_skip_modules)
        notes.append(
            "llm_int8_skip_modules -> ignored_scope patterns over OpenVINO node names (e.g. "
            "'__module.model.layers.0.mlp.down_proj/aten::linear/MatMul'); NNCF raises if a pattern matches nothing"
        )
    if is_int8:
        notes.append("lm_head: ITREX keeps it fp32; NNCF INT8 modes compress every MatMul and embedding to int8")
    else:
        notes.append(
            "lm_head: ITREX keeps it fp32; NNCF keeps embeddings and the last MatMul in the INT8_ASYM backup "
            "precision unless all_layers=True"
        )

    needs_dataset = (
        bool(awq)
        or scale_estimation
        or gptq
        or (ratio != 1.0 and sensitivity_metric not in (None, "weight_quantization_error"))
    )
    plan = OvCompressionPlan(
        mode=mode,
        group_size=group_size,
        ratio=None if is_int8 else float(ratio),
        all_layers=None if is_int8 else all_layers,
        sensitivity_metric=sensitivity_metric,
        awq=awq,
        scale_estimation=None if is_int8 else scale_estimation,
        gptq=None if is_int8 else gptq,
        subset_size=cfg.calib_iters if needs_dataset and cfg.algorithm == "AWQ" else None,
        ignored_patterns=patterns,
        needs_dataset=needs_dataset,
        runtime_config=runtime_config,
        unsupported=unsupported,
        notes=notes,
        source_key=cfg.key(),
    )
    if strict and unsupported:
        raise ValueError(f"{cfg.key()} cannot be reproduced on {_OV}:\n  - " + "\n  - ".join(unsupported))
    return plan


# --- optimum-intel ---------------------------------------------------------------------------------------------------
_OI = "optimum-intel 1.17.2"


@dataclass(frozen=True)
class OptimumIntelPlan:
    """``OVWeightQuantizationConfig`` (optimum-intel 1.17.2) kwargs for a :class:`WoqConfig`, plus what is lost.

    ``unsupported`` includes the NNCF plan's entries and the ones specific to optimum-intel (which exposes fewer
    NNCF options). ``needs_nncf`` is True when :func:`to_openvino` + ``nncf.compress_weights`` can do what these
    kwargs cannot (NF4, scale estimation).
    """

    kwargs: dict[str, Any]
    unsupported: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    needs_nncf: bool = False
    source_key: str = ""

    def build(self) -> Any:
        """The ``OVWeightQuantizationConfig`` object."""
        from optimum.intel import OVWeightQuantizationConfig

        return OVWeightQuantizationConfig(**self.kwargs)


def to_optimum_intel(
    cfg: WoqConfig,
    *,
    strict: bool = False,
    ratio: float = 1.0,
    all_layers: bool = False,
    sensitivity_metric: str | None = None,
) -> OptimumIntelPlan:
    """Translate ``cfg`` into ``OVWeightQuantizationConfig`` kwargs (bits, sym, group_size, ratio, ...).

    optimum-intel 1.17.2 only knows ``bits`` 4/8 and ``sym``: 4 bits always means INT4_SYM/INT4_ASYM, and unknown
    kwargs (``weight_format="nf4"``, ``awq=True``, ``scale_estimation=True``) are swallowed without a word. So nf4
    comes out as plain int4 here, recorded in ``unsupported``; use :func:`to_openvino` and ``nncf.compress_weights``
    for NF4. ``strict=True`` raises on any ``unsupported`` entry.
    """
    ov = to_openvino(cfg, strict=False, ratio=ratio, all_layers=all_layers, sensitivity_metric=sensitivity_metric)
    unsupported = list(ov.unsupported)
    notes = list(ov.notes)
    needs_nncf = False
    bits = 8 if ov.mode.startswith("int8") else 4
    kwargs: dict[str, Any] = {"bits": bits, "sym": ov.mode.endswith("_sym") or ov.mode == "nf4"}
    if ov.mode == "nf4":
        needs_nncf = True
        unsupported.append(
            f"weight_dtype={cfg.weight_dtype!r}: unsupported on {_OI}: OVWeightQuantizationConfig has no NF4 "
            "(bits=4 is always INT4_SYM/INT4_ASYM, weight_format='nf4' is silently dropped); these kwargs give "
            "int4_sym, use to_openvino() + nncf.compress_weights for nf4"
        )
    if bits == 8:
        kwargs["group_size"] = -1
        kwargs["ratio"] = 1.0
    else:
        kwargs["group_size"] = ov.group_size
        kwargs["ratio"] = ov.ratio
        kwargs["all_layers"] = ov.all_layers
        if ov.sensitivity_metric is not None:
            kwargs["sensitivity_metric"] = ov.sensitivity_metric
    if ov.awq:
        kwargs["quant_method"] = "awq"
        kwargs["num_samples"] = ov.subset_size
        notes.append(
            "AWQ: OVWeightQuantizationConfig.dataset only takes a named Hub dataset or a list of strings; offline, "
            "pass calibration_dataset to OVQuantizer.quantize() instead"
        )
    if ov.ignored_patterns:
        kwargs["ignored_scope"] = {"patterns": list(ov.ignored_patterns)}
    notes.append(f"{_OI} defaults to sym=False; sym is always passed explicitly here")

    plan = OptimumIntelPlan(
        kwargs=kwargs, unsupported=unsupported, notes=notes, needs_nncf=needs_nncf, source_key=cfg.key()
    )
    if strict and unsupported:
        raise ValueError(f"{cfg.key()} cannot be reproduced with {_OI}:\n  - " + "\n  - ".join(unsupported))
    return plan
