"""Notebook 02: The codes each weight dtype stands for: int8 and the two int4 grids, NF4 and the FP4 tables."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np

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
