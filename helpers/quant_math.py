"""Weight-only quantization arithmetic in plain numpy: codebooks, round-trip error, clip search, memory.

This module reproduces, without torch, what the seed stack computes when it quantizes a ``Linear`` weight:
neural-compressor 2.4.1's RTN pass (``quant_weight`` in ``adaptor/torch_utils/weight_only.py``), which ITREX 1.3.2
runs before it packs the weights for its QBits kernels. The conventions below were read from that code:

* Groups run along the input dimension (axis 1 of an ``(out_features, in_features)`` weight). ``group_size=-1``
  means one group per output row. When ``in_features < group_size`` the whole row is one group. When
  ``in_features`` is not a multiple of ``group_size``, the full groups come first and the leftover columns of
  each row form one last, shorter group.
* Symmetric integers (``int8``, ``int4_clip``): ``scale = absmax * ratio / (2**(bits-1) - 1)``, so 4 bits use
  ``absmax / 7`` and 8 bits ``absmax / 127``. Codes are clamped to ``[-2**(bits-1), 2**(bits-1) - 1]``; with
  ``ratio == 1`` the lowest code (-8 or -128) is never produced, with ``ratio < 1`` it can be.
* ``int4_fullrange``: ``scale = absmax * ratio / 8`` and its sign is flipped when the positive extreme is the larger
  one, so the largest-magnitude weight always lands exactly on code -8 and the 16 codes ``[-8, 7]`` are all used.
* Asymmetric integers: the range is widened to include 0 (``min(w_min, 0)``, ``max(w_max, 0)``), both ends are
  multiplied by ``ratio``, ``scale = (max - min) / (2**bits - 1)`` and ``zero_point = round(-min / scale)``.
* 4-bit float codebooks (``nf4``, ``fp4_e2m1``, ``fp4_e2m1_bnb``): ``scale = absmax * ratio / max(codebook)``;
  each value goes to the nearest codebook entry and an exact midpoint goes to the lower entry. The scheme is
  ignored upstream for these (always absmax); here ``scheme="asym"`` is refused instead.
* Rounding is round-half-to-even (``torch.round`` and ``np.round`` agree).

An all-zero group dequantizes to zeros (upstream divides 0 by 0 in the float-codebook path, but every NaN then
fails all its comparisons and ends up as code 0; here the division is simply avoided).

Codebook surprise: the ``fp4_e2m1`` table used by neural-compressor 2.4.1 *and* by ITREX's BesTLA kernels
(``fp4_e2m1_dequant_fp32_LUT``, normalised by 6) has magnitudes ``{0, 0.0625, 1, 1.5, 2, 3, 4, 6}``: its smallest
non-zero value is 0.0625, not the 0.5 of the OCP Microscaling E2M1 format. :data:`FP4_E2M1_ITREX` is that table and
is what ``dtype="fp4_e2m1"`` uses; :data:`FP4_E2M1_OCP` is the spec table (``dtype="fp4_e2m1_ocp"``) for comparison.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = [
    "CODEBOOKS",
    "DTYPE_BITS",
    "FLOAT_CODEBOOK_DTYPES",
    "FP4_E2M1_BNB",
    "FP4_E2M1_ITREX",
    "FP4_E2M1_OCP",
    "INT4_CLIP_LEVELS",
    "INT4_FULLRANGE_LEVELS",
    "INT8_LEVELS",
    "INTEGER_DTYPES",
    "MSE_RATIOS",
    "NF4",
    "SUPPORTED_DTYPES",
    "mse_range_search",
    "nf4_from_normal_quantiles",
    "quantize_dequantize",
    "reconstruction_error",
    "storage_bytes",
]

#: Signed 8-bit codes. Symmetric RTN uses ``scale = absmax / 127``; -128 only appears when clipping (ratio < 1).
INT8_LEVELS: np.ndarray = np.arange(-128, 128, dtype=np.int32)
#: ``int4_clip`` grid: symmetric ``[-7, 7]`` with ``scale = absmax / 7`` (15 levels used at ratio 1).
INT4_CLIP_LEVELS: np.ndarray = np.arange(-7, 8, dtype=np.int32)
#: ``int4_fullrange`` grid: all 16 codes ``[-8, 7]`` with ``scale = absmax / 8`` (sign-flipped, see module doc).
INT4_FULLRANGE_LEVELS: np.ndarray = np.arange(-8, 8, dtype=np.int32)

#: NormalFloat-4 (QLoRA, Dettmers et al. 2023): the 16 published values, as printed in the paper's appendix and
#: used verbatim by bitsandbytes, neural-compressor 2.4.1 and NNCF 2.11 (they are float32 numbers).
NF4: np.ndarray = np.array(
    [
        -1.0,
        -0.6961928009986877,
        -0.5250730514526367,
        -0.39491748809814453,
        -0.28444138169288635,
        -0.18477343022823334,
        -0.09105003625154495,
        0.0,
        0.07958029955625534,
        0.16093020141124725,
        0.24611230194568634,
        0.33791524171829224,
        0.44070982933044434,
        0.5626170039176941,
        0.7229568362236023,
        1.0,
    ],
    dtype=np.float64,
)

_E2M1_OCP_MAGNITUDES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
_E2M1_ITREX_MAGNITUDES = (0.0, 0.0625, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0)
_FP4_BNB_MAGNITUDES = (0.0, 0.0625, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)


def _signed(magnitudes: tuple[float, ...]) -> np.ndarray:
    """Sorted codebook ``{±m}``; +0 and -0 collapse into one entry, so 8 magnitudes give 15 values."""
    values = {float(m) for m in magnitudes} | {-float(m) for m in magnitudes}
    return np.array(sorted(values), dtype=np.float64)


#: FP4 E2M1 as defined by the OCP Microscaling spec: magnitudes {0, 0.5, 1, 1.5, 2, 3, 4, 6} with a sign bit.
FP4_E2M1_OCP: np.ndarray = _signed(_E2M1_OCP_MAGNITUDES)
#: FP4 "e2m1" as ITREX 1.3.2 actually computes it (neural-compressor ``FP4_E2M1`` table and BesTLA LUT):
#: the subnormal step is 0.0625 instead of 0.5.
FP4_E2M1_ITREX: np.ndarray = _signed(_E2M1_ITREX_MAGNITUDES)
#: bitsandbytes-style FP4 (``fp4_e2m1_bnb``), as tabulated by neural-compressor 2.4.1.
FP4_E2M1_BNB: np.ndarray = _signed(_FP4_BNB_MAGNITUDES)

#: Every codebook by ITREX dtype name (integers as code arrays, 4-bit floats as value arrays).
CODEBOOKS: dict[str, np.ndarray] = {
    "int8": INT8_LEVELS,
    "int4_clip": INT4_CLIP_LEVELS,
    "int4_fullrange": INT4_FULLRANGE_LEVELS,
    "nf4": NF4,
    "fp4_e2m1": FP4_E2M1_ITREX,
    "fp4_e2m1_bnb": FP4_E2M1_BNB,
    "fp4_e2m1_ocp": FP4_E2M1_OCP,
}
INTEGER_DTYPES: tuple[str, ...] = ("int8", "int4_clip", "int4_fullrange")
FLOAT_CODEBOOK_DTYPES: tuple[str, ...] = ("nf4", "fp4_e2m1", "fp4_e2m1_bnb", "fp4_e2m1_ocp")
SUPPORTED_DTYPES: tuple[str, ...] = INTEGER_DTYPES + FLOAT_CODEBOOK_DTYPES
#: Bits per stored weight for every ITREX weight dtype (same table as ITREX's ``DTYPE_BITS_MAPPING``).
DTYPE_BITS: dict[str, int] = {
    "int8": 8,
    "int4_clip": 4,
    "int4_fullrange": 4,
    "nf4": 4,
    "fp4_e2m1": 4,
    "fp4_e2m1_bnb": 4,
    "fp4_e2m1_ocp": 4,
    "fp8_e5m2": 8,
    "fp8_e4m3": 8,
}
#: Clip ratios tried by ITREX's ``mse_range`` (neural-compressor ``search_clip``): 1.0, 0.995, ..., 0.805.
MSE_RATIOS: tuple[float, ...] = tuple(1 - i / 200 for i in range(40))

#: QLoRA's NF4 offset, the mean of 1 - 1/(2*15) and 1 - 1/(2*16) (= 0.96770833...), rounded to 7 decimals as in
#: the reference implementation that produced the published table. With the unrounded mean the rebuilt table
#: differs from the published one by up to 1.9e-7 instead of 1.1e-7 (both are float32-rounding level).
NF4_OFFSET = 0.9677083


def nf4_from_normal_quantiles(offset: float = NF4_OFFSET) -> np.ndarray:
    """Rebuild the NF4 codebook from standard-normal quantiles (QLoRA's asymmetric construction).

    8 positive values are the normal quantiles at 9 evenly spaced probabilities from ``offset`` down to 0.5 (the
    last one, 0.5, is the median 0 and is dropped); 7 negative values mirror the quantiles at 8 evenly spaced
    probabilities over the same interval (again dropping 0.5); an exact 0 is added and everything is divided by the
    largest magnitude, so the table spans [-1, 1] with 0 represented exactly.
    """
    ppf = NormalDist().inv_cdf

    def spaced(n: int) -> list[float]:
        return [offset + (0.5 - offset) * i / (n - 1) for i in range(n - 1)]  # drops the final 0.5

    positive = [ppf(p) for p in spaced(9)]
    negative = [-ppf(p) for p in spaced(8)]
    values = np.array(sorted(positive + [0.0] + negative), dtype=np.float64)
    return values / np.abs(values).max()


def _check_inputs(w: np.ndarray, dtype: str, group_size: int, scheme: str, clip_ratio: float) -> np.ndarray:
    arr = np.asarray(w)
    if arr.ndim != 2:
        raise ValueError(f"w must be a 2-D (out_features, in_features) array, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"dtype={dtype!r} is not supported: allowed values are {', '.join(SUPPORTED_DTYPES)}")
    if (
        isinstance(group_size, bool)
        or not isinstance(group_size, int | np.integer)
        or (group_size != -1 and group_size < 1)
    ):
        raise ValueError(f"group_size={group_size!r} is not supported: allowed values are -1 or an integer >= 1")
    if scheme not in ("sym", "asym"):
        raise ValueError(f"scheme={scheme!r} is not supported: allowed values are sym, asym")
    if scheme == "asym" and dtype in FLOAT_CODEBOOK_DTYPES:
        raise ValueError(f"scheme='asym' is not supported with dtype={dtype!r}: float codebooks are absmax-scaled")
    if not (isinstance(clip_ratio, float | int | np.floating) and not isinstance(clip_ratio, bool)) or not (
        0 < float(clip_ratio) <= 1
    ):
        raise ValueError(f"clip_ratio={clip_ratio!r} is not supported: allowed values are floats in (0, 1]")
    return arr


def _qdq_rows(x: np.ndarray, dtype: str, scheme: str, ratio: float) -> np.ndarray:
    """Quantize-dequantize each row of ``x`` as one group (neural-compressor's ``qdq_weight_actor``)."""
    ftype = x.dtype.type
    ratio = ftype(ratio)
    if dtype in FLOAT_CODEBOOK_DTYPES:
        book = CODEBOOKS[dtype].astype(x.dtype)
        absmax = np.abs(x).max(axis=1, keepdims=True)
        scale = absmax * ratio / book.max()
        safe = np.where(scale == 0, ftype(1), scale)
        mids = (book[:-1] + book[1:]) / ftype(2)
        idx = np.searchsorted(mids, x / safe, side="left")  # midpoint -> lower entry, as upstream
        return np.where(scale == 0, ftype(0), book[idx] * scale)

    bits = DTYPE_BITS[dtype]
    if scheme == "asym":
        maxq = ftype(2**bits - 1)
        zeros = np.zeros((x.shape[0], 1), dtype=x.dtype)
        wmin = np.minimum(x.min(axis=1, keepdims=True), zeros) * ratio
        wmax = np.maximum(x.max(axis=1, keepdims=True), zeros) * ratio
        both_zero = (wmin == 0) & (wmax == 0)
        wmin = np.where(both_zero, ftype(-1), wmin)
        wmax = np.where(both_zero, ftype(1), wmax)
        scale = (wmax - wmin) / maxq
        zp = np.round(-wmin / scale)
        q = np.clip(np.round(x / scale) + zp, 0, maxq)
        return scale * (q - zp)

    maxq = ftype(2 ** (bits - 1) - 1)
    minq = ftype(-(2 ** (bits - 1)))
    row_max = x.max(axis=1, keepdims=True)
    row_min = x.min(axis=1, keepdims=True)
    wmax = np.maximum(np.abs(row_max), np.abs(row_min)) * ratio
    wmax = np.where(wmax == 0, ftype(1), wmax)
    if dtype == "int4_fullrange":
        scale = wmax / -minq
        scale = np.where(np.abs(row_max) > np.abs(row_min), -scale, scale)  # extreme lands on code -8
    else:
        scale = wmax / maxq
    q = np.clip(np.round(x / scale), minq, maxq)
    return scale * q


def quantize_dequantize(
    w: np.ndarray, dtype: str, group_size: int, scheme: str = "sym", clip_ratio: float = 1.0
) -> np.ndarray:
    """Round-trip ``w`` through group-wise weight-only quantization and return the dequantized weights.

    ``w`` is ``(out_features, in_features)``; groups run along ``in_features`` (see the module docstring for the
    exact scale rules, copied in behaviour from neural-compressor 2.4.1's RTN). ``dtype`` is one of
    :data:`SUPPORTED_DTYPES` (ITREX names plus ``fp4_e2m1_ocp``); ``clip_ratio`` is ITREX's clip ratio
    (neural-compressor's ``quantile``), 1.0 = no clipping. Float32 input is computed in float32, like upstream.
    """
    x = _check_inputs(w, dtype, group_size, scheme, clip_ratio)
    out_features, in_features = x.shape
    if group_size == -1 or in_features < group_size:
        return _qdq_rows(x, dtype, scheme, clip_ratio)
    full = in_features // group_size * group_size
    head = _qdq_rows(x[:, :full].reshape(-1, group_size), dtype, scheme, clip_ratio).reshape(out_features, full)
    if full == in_features:
        return head
    tail = _qdq_rows(x[:, full:], dtype, scheme, clip_ratio)
    return np.concatenate([head, tail], axis=1)


def mse_range_search(
    w: np.ndarray, dtype: str, group_size: int, scheme: str = "sym"
) -> tuple[float, dict[float, float]]:
    """ITREX's ``mse_range=True``: try clip ratios 1.0, 0.995, ..., 0.805 for the whole matrix, keep the best.

    Returns ``(best_ratio, errors)`` with ``errors`` mapping each ratio (rounded to 3 decimals) to the mean squared
    reconstruction error. Like neural-compressor's ``search_clip``, one ratio is chosen per weight matrix (not per
    group) and a tie keeps the earlier, larger ratio.
    """
    x = _check_inputs(w, dtype, group_size, scheme, 1.0)
    errors: dict[float, float] = {}
    best_ratio, best_error = 1.0, math.inf
    for ratio in MSE_RATIOS:
        diff = (x - quantize_dequantize(x, dtype, group_size, scheme, ratio)).astype(np.float64)
        err = float(np.mean(diff**2))
        errors[round(ratio, 3)] = err
        if err < best_error:
            best_ratio, best_error = round(ratio, 3), err
    return best_ratio, errors


def reconstruction_error(w: np.ndarray, w_hat: np.ndarray) -> dict[str, float]:
    """Error of a reconstruction: ``mse``, ``rmse``, ``max_abs``, ``rel_fro`` (‖w - ŵ‖_F / ‖w‖_F), ``sqnr_db``."""
    a = np.asarray(w, dtype=np.float64)
    b = np.asarray(w_hat, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"w and w_hat must have the same shape, got {a.shape} and {b.shape}")
    diff = a - b
    noise = float(np.sum(diff**2))
    signal = float(np.sum(a**2))
    mse = noise / a.size if a.size else 0.0
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "max_abs": float(np.max(np.abs(diff))) if a.size else 0.0,
        "rel_fro": math.sqrt(noise / signal) if signal > 0 else (0.0 if noise == 0 else math.inf),
        "sqnr_db": 10 * math.log10(signal / noise) if noise > 0 and signal > 0 else math.inf,
    }


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
