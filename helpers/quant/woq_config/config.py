"""Notebooks 00, 01, 02, 03, 04, 06: ``WoqConfig``: the validated, frozen mirror of ITREX 1.3.2's
``WeightOnlyQuantConfig``, its field tables and the CPU flags each compute dtype needs."""

from __future__ import annotations

import dataclasses
import hashlib
import numbers
import re
from dataclasses import dataclass
from typing import Any

from helpers.quant.woq_config.allowed import (
    ALGORITHMS,
    COMPUTE_DTYPES,
    FIELD_ALLOWED,
    FLOAT_WEIGHT_DTYPES,
    FP8_WEIGHT_DTYPES,
    INC_GROUP_SIZES,
    ITREX_RAW_DEFAULTS,
    RUNTIME_ONLY_ALIASES,
    SCALE_DTYPES,
    SCHEMES,
    WEIGHT_DTYPES,
    _check_bool,
    _check_choice,
    _refuse,
    _refuse_combo,
    field_docs,
)


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
