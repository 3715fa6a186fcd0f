"""Notebooks 00, 01, 02, 03, 04, 06: ``WoqConfig`` -> ``nncf.compress_weights`` (NNCF 2.11): the plan, and what cannot
be reproduced."""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from helpers.quant.woq_config.allowed import NNCF_MODES, _check_bool, _refuse, _refuse_combo
from helpers.quant.woq_config.config import WoqConfig

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


Lost = Callable[[str, Any, str], None]  # lost(field, value, reason): records what the plan cannot reproduce


def _nncf_mode(cfg: WoqConfig, lost: Lost, notes: list[str]) -> str:
    """The NNCF 2.11 mode for the config's weight dtype and scheme (a fallback is recorded as lost)."""
    wd, scheme = cfg.weight_dtype, cfg.scheme
    if wd in ("int8", "int4_clip"):
        return f"{wd[:4]}_{scheme}"
    if wd == "int4_fullrange":
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
        return f"int4_{scheme}"
    if wd == "nf4":
        return "nf4"
    if wd in ("fp4_e2m1", "fp4_e2m1_bnb"):
        lost(
            "weight_dtype",
            wd,
            f"no FP4/E2M1 mode in NNCF 2.11 (modes: {', '.join(NNCF_MODES)}); the plan falls back to nf4, the other "
            "absmax-scaled 4-bit float codebook",
        )
        return "nf4"
    lost("weight_dtype", wd, "no FP8 weight compression in NNCF 2.11; the plan falls back to int8_sym (per channel)")
    return "int8_sym"


def _check_extras(
    mode: str, ratio: float, all_layers: bool, sensitivity_metric: str | None, scale_estimation: bool, gptq: bool
) -> None:
    """Refuse OpenVINO-only knobs the mode cannot take, or values outside their range."""
    _check_bool("gptq", gptq)
    if mode.startswith("int8") and (
        ratio != 1.0 or all_layers or sensitivity_metric is not None or scale_estimation or gptq
    ):
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


def _group_and_awq(cfg: WoqConfig, mode: str, lost: Lost, notes: list[str]) -> tuple[int | None, bool | None]:
    """NNCF's group size (None: per channel) and whether AWQ runs (None: INT8, where it does not exist)."""
    is_int8 = mode.startswith("int8")
    group_size: int | None = None if is_int8 else cfg.group_size
    if is_int8 and cfg.group_size != -1:
        lost(
            "group_size",
            cfg.group_size,
            "INT8 modes are per-channel only (group_size must stay -1); the plan is per channel",
        )
    elif group_size not in (None, -1):
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
    return group_size, awq


def _check_data_aware(
    mode: str,
    group_size: int | None,
    awq: bool | None,
    sensitivity_metric: str | None,
    scale_estimation: bool,
    gptq: bool,
) -> None:
    """Refuse the data-aware combinations NNCF 2.11 rejects or silently skips."""
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


def _runtime_config(cfg: WoqConfig, lost: Lost, notes: list[str]) -> dict[str, str]:
    """The CPU plugin properties standing in for ITREX's compute dtype (compression cannot set it)."""
    if cfg.compute_dtype == "fp32":
        notes.append(
            "compute_dtype='fp32': not a compression option; OpenVINO picks the compute precision at run time "
            "(bf16 by default on AMX/AVX512-BF16 CPUs), so runtime_config pins INFERENCE_PRECISION_HINT=f32"
        )
        return {"INFERENCE_PRECISION_HINT": "f32"}
    if cfg.compute_dtype == "bf16":
        lost(
            "compute_dtype",
            "bf16",
            "decided by the OpenVINO runtime and the CPU ISA, not by compression; see runtime_config",
        )
        return {"INFERENCE_PRECISION_HINT": "bf16"}
    lost(
        "compute_dtype",
        "int8",
        "decided by the OpenVINO runtime and the CPU ISA, not by compression; runtime_config sets the CPU "
        "plugin's dynamic activation quantization, the nearest analogue",
    )
    return {"DYNAMIC_QUANTIZATION_GROUP_SIZE": str(cfg.group_size if cfg.group_size > 0 else 32)}


def _storage_and_scope(cfg: WoqConfig, is_int8: bool, lost: Lost, notes: list[str]) -> tuple[str, ...]:
    """Notes on scales, mse_range and lm_head; the ignored-scope patterns for ``llm_int8_skip_modules``."""
    if cfg.mse_range:
        lost(
            "mse_range",
            True,
            "no clip-ratio search in NNCF; scale_estimation=True (data-aware, group-wise, not NF4) is the nearest tool",
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
    return patterns


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

    mode = _nncf_mode(cfg, lost, notes)
    is_int8 = mode.startswith("int8")
    _check_extras(mode, ratio, all_layers, sensitivity_metric, scale_estimation, gptq)
    group_size, awq = _group_and_awq(cfg, mode, lost, notes)
    _check_data_aware(mode, group_size, awq, sensitivity_metric, scale_estimation, gptq)
    runtime_config = _runtime_config(cfg, lost, notes)
    patterns = _storage_and_scope(cfg, is_int8, lost, notes)
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
