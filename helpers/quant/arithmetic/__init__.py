"""Notebook 02: Weight-only quantization arithmetic in plain numpy: codebooks, round-trip error, clip search, memory.

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

from helpers.quant.arithmetic.codebooks import (
    CODEBOOKS,
    DTYPE_BITS,
    FLOAT_CODEBOOK_DTYPES,
    FP4_E2M1_BNB,
    FP4_E2M1_ITREX,
    FP4_E2M1_OCP,
    INT4_CLIP_LEVELS,
    INT4_FULLRANGE_LEVELS,
    INT8_LEVELS,
    INTEGER_DTYPES,
    MSE_RATIOS,
    NF4,
    NF4_OFFSET,
    SUPPORTED_DTYPES,
    nf4_from_normal_quantiles,
)
from helpers.quant.arithmetic.rounding import (
    mse_range_search,
    quantize_dequantize,
    reconstruction_error,
)
from helpers.quant.arithmetic.storage import (
    decode_ceiling_tokens_per_s,
    error_grid,
    layers_storage,
    storage_bytes,
)

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
    "NF4_OFFSET",
    "SUPPORTED_DTYPES",
    "decode_ceiling_tokens_per_s",
    "error_grid",
    "layers_storage",
    "mse_range_search",
    "nf4_from_normal_quantiles",
    "quantize_dequantize",
    "reconstruction_error",
    "storage_bytes",
]
