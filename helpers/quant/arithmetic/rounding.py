"""Notebook 02: Round-to-nearest quantize-dequantize per group (sym / asym, clip ratio), the mse_range search, the
error."""

from __future__ import annotations

import math

import numpy as np

from helpers.quant.arithmetic.codebooks import (
    CODEBOOKS,
    DTYPE_BITS,
    FLOAT_CODEBOOK_DTYPES,
    MSE_RATIOS,
    SUPPORTED_DTYPES,
)


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
