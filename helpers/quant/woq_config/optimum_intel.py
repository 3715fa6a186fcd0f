"""Notebooks 00, 01, 02, 03, 04, 06: ``WoqConfig`` -> optimum-intel 1.17.2 ``OVWeightQuantizationConfig`` kwargs, where
that class can express it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from helpers.quant.woq_config.config import WoqConfig
from helpers.quant.woq_config.openvino import to_openvino

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
