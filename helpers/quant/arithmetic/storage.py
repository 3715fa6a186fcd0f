"""Notebook 02: Bits per weight with scales, zero points and double quantization; the error grid; the bandwidth
ceiling."""

from __future__ import annotations

import math

import numpy as np

from helpers.quant.arithmetic.codebooks import FLOAT_CODEBOOK_DTYPES
from helpers.quant.arithmetic.rounding import quantize_dequantize, reconstruction_error


def storage_bytes(
    n_weights: int,
    bits: int,
    group_size: int,
    scale_bits: int = 32,
    *,
    in_features: int | None = None,
    zero_point_bits: int = 0,
    double_quant: tuple[int, int] | None = None,
    double_quant_scale_bits: int = 32,
) -> dict[str, float]:
    """Bytes needed to store ``n_weights`` weights quantized group-wise, with a per-part breakdown.

    * ``bits``: bits per weight code; ``group_size``: weights sharing one scale (-1 = one scale per output row,
      which needs ``in_features``). With ``in_features`` the group count follows the upstream layout exactly
      (``ceil(in_features / group_size)`` groups per row, the last one shorter); without it, ``ceil(n / group_size)``.
    * ``scale_bits``: bits per scale (32 for ITREX's ``scale_dtype="fp32"``, 16 for NNCF's f16 scales);
      ``zero_point_bits``: bits per zero point (0 for sym; e.g. 4 or 8 for asym).
    * ``double_quant=(dq_bits, dq_block)``: QLoRA-style double quantization of the scales — each scale is stored
      in ``dq_bits`` and every ``dq_block`` scales share one ``double_quant_scale_bits`` second-level scale
      (QLoRA: 8-bit scales, blocks of 256, fp32 second level: 0.5 bit/weight of scales becomes ~0.127 at g64).

    Returns ``weights``, ``scales``, ``zero_points``, ``second_level_scales``, ``total`` (bytes) and
    ``bits_per_weight`` (total bits / n_weights).
    """
    for name, value, low in (("n_weights", n_weights, 1), ("bits", bits, 1), ("scale_bits", scale_bits, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}={value!r} is not supported: allowed values are integers >= {low}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or (group_size != -1 and group_size < 1):
        raise ValueError(f"group_size={group_size!r} is not supported: allowed values are -1 or an integer >= 1")
    if isinstance(zero_point_bits, bool) or not isinstance(zero_point_bits, int) or zero_point_bits < 0:
        raise ValueError(f"zero_point_bits={zero_point_bits!r} is not supported: allowed values are integers >= 0")
    if in_features is not None:
        if isinstance(in_features, bool) or not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"in_features={in_features!r} is not supported: allowed values are integers >= 1")
        if n_weights % in_features:
            raise ValueError(f"n_weights={n_weights} is not a multiple of in_features={in_features}")
        rows = n_weights // in_features
        per_row = 1 if group_size == -1 else math.ceil(in_features / group_size)
        n_groups = rows * per_row
    elif group_size == -1:
        raise ValueError("group_size=-1 (one scale per output row) needs in_features to count the rows")
    else:
        n_groups = math.ceil(n_weights / group_size)

    weights = n_weights * bits / 8
    zero_points = n_groups * zero_point_bits / 8
    if double_quant is None:
        scales = n_groups * scale_bits / 8
        second = 0.0
    else:
        if (
            not isinstance(double_quant, tuple)
            or len(double_quant) != 2
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in double_quant)
        ):
            raise ValueError(
                f"double_quant={double_quant!r} is not supported: allowed values are None or (dq_bits, dq_block) "
                "with positive integers, e.g. (8, 256)"
            )
        dq_bits, dq_block = double_quant
        scales = n_groups * dq_bits / 8
        second = math.ceil(n_groups / dq_block) * double_quant_scale_bits / 8
    total = weights + scales + zero_points + second
    return {
        "weights": weights,
        "scales": scales,
        "zero_points": zero_points,
        "second_level_scales": second,
        "total": total,
        "bits_per_weight": total * 8 / n_weights,
    }


def error_grid(
    w: np.ndarray,
    dtypes: tuple[str, ...] = ("int8", "int4_fullrange", "int4_clip", "nf4", "fp4_e2m1"),
    group_sizes: tuple[int, ...] = (32, 64, 128, -1),
    schemes: tuple[str, ...] = ("sym", "asym"),
) -> list[dict[str, object]]:
    """Reconstruction error of ``w`` for every (dtype, group size, scheme) the upstream RTN accepts.

    Float codebooks are absmax-only upstream, so their ``asym`` rows are skipped rather than invented.
    """
    rows: list[dict[str, object]] = []
    for dtype in dtypes:
        for scheme in schemes:
            if scheme == "asym" and dtype in FLOAT_CODEBOOK_DTYPES:
                continue
            for group in group_sizes:
                err = reconstruction_error(w, quantize_dequantize(w, dtype, group, scheme))
                label = "per-channel" if group == -1 else str(group)
                rows.append({"dtype": dtype, "scheme": scheme, "group_size": label, **err})
    return rows


def decode_ceiling_tokens_per_s(n_weights: int, bits_per_weight: float, bandwidth_gb_s: float) -> float:
    """Upper bound on decode speed when every weight is read once per token: bandwidth / weight bytes.

    Decoding one token multiplies a vector by every weight matrix, about 2 flops per weight read, far below what
    a CPU core computes per byte it can load, so memory bandwidth, not arithmetic, sets this ceiling.
    """
    if n_weights < 1 or bits_per_weight <= 0 or bandwidth_gb_s <= 0:
        raise ValueError("n_weights, bits_per_weight and bandwidth_gb_s must all be positive")
    return bandwidth_gb_s * 1e9 / (n_weights * bits_per_weight / 8)


def layers_storage(
    shapes: list[tuple[int, int]] | tuple[tuple[int, int], ...],
    bits: int,
    group_size: int,
    scale_bits: int = 32,
    *,
    zero_point_bits: int = 0,
    double_quant: tuple[int, int] | None = None,
) -> dict[str, float]:
    """:func:`storage_bytes` summed over weight matrices of the given ``(out_features, in_features)`` shapes."""
    parts = [
        storage_bytes(
            o * i,
            bits,
            group_size,
            scale_bits,
            in_features=i,
            zero_point_bits=zero_point_bits,
            double_quant=double_quant,
        )
        for o, i in shapes
    ]
    n_weights = sum(o * i for o, i in shapes)
    total = sum(p["total"] for p in parts)
    return {"n_weights": n_weights, "total": total, "bits_per_weight": total * 8 / n_weights}
