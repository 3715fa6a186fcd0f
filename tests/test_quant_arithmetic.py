"""Codebooks, round-trip quantization, clip search and memory arithmetic of helpers.quant.arithmetic."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.quant import arithmetic as qm

PUBLISHED_NF4 = [
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
]


def _normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def _mse(w, dtype, group_size, scheme="sym", ratio=1.0):
    return qm.reconstruction_error(w, qm.quantize_dequantize(w, dtype, group_size, scheme, ratio))["mse"]


# --- codebooks ---------------------------------------------------------------------------------------------------
def test_integer_grids_are_exact():
    assert qm.INT8_LEVELS.tolist() == list(range(-128, 128))
    assert qm.INT4_CLIP_LEVELS.tolist() == list(range(-7, 8))
    assert qm.INT4_FULLRANGE_LEVELS.tolist() == list(range(-8, 8))


def test_nf4_is_the_published_table():
    assert qm.NF4.tolist() == PUBLISHED_NF4
    assert len(qm.NF4) == 16 and np.all(np.diff(qm.NF4) > 0)


def test_nf4_rebuilt_from_normal_quantiles_matches_published_table():
    rebuilt = qm.nf4_from_normal_quantiles()
    assert rebuilt.shape == (16,) and rebuilt[0] == -1.0 and rebuilt[-1] == 1.0 and 0.0 in rebuilt
    # The published numbers are float32 results: agreement is at float32-rounding level.
    assert np.max(np.abs(rebuilt - qm.NF4)) < 2e-7
    exact_mean_offset = 0.5 * ((1 - 1 / 30) + (1 - 1 / 32))
    assert np.max(np.abs(qm.nf4_from_normal_quantiles(exact_mean_offset) - qm.NF4)) < 3e-7


def test_fp4_tables():
    ocp = {0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0}
    assert set(np.abs(qm.FP4_E2M1_OCP).tolist()) == ocp
    assert len(qm.FP4_E2M1_OCP) == 15  # +0 and -0 are one value
    assert qm.FP4_E2M1_OCP.tolist() == sorted({s * m for m in ocp for s in (1, -1)})
    # ITREX / neural-compressor / BesTLA "fp4_e2m1": 0.0625 where the spec has 0.5
    assert set(np.abs(qm.FP4_E2M1_ITREX).tolist()) == (ocp - {0.5}) | {0.0625}
    assert qm.CODEBOOKS["fp4_e2m1"] is qm.FP4_E2M1_ITREX and qm.CODEBOOKS["fp4_e2m1_ocp"] is qm.FP4_E2M1_OCP
    assert set(np.abs(qm.FP4_E2M1_BNB).tolist()) == {0.0, 0.0625, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0}


def test_mse_ratio_grid():
    assert len(qm.MSE_RATIOS) == 40
    assert qm.MSE_RATIOS[0] == 1.0 and math.isclose(qm.MSE_RATIOS[-1], 0.805)
    assert np.allclose(np.diff(qm.MSE_RATIOS), -0.005)


# --- quantize_dequantize -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["nf4", "fp4_e2m1", "fp4_e2m1_bnb", "fp4_e2m1_ocp"])
def test_float_codebook_values_lie_on_scaled_codebook(dtype):
    w = _normal((8, 64))
    w_hat = qm.quantize_dequantize(w, dtype, 32)
    book = qm.CODEBOOKS[dtype]
    for g in range(2):
        block, block_hat = w[:, 32 * g : 32 * (g + 1)], w_hat[:, 32 * g : 32 * (g + 1)]
        scale = np.abs(block).max(axis=1, keepdims=True) / book.max()
        codes = block_hat / scale
        assert np.isclose(codes[:, :, None], book[None, None, :], atol=1e-5).any(axis=2).all()


def test_int4_clip_and_fullrange_codes():
    w = _normal((16, 128))
    w[0, 5] = 10.0  # positive extreme on row 0
    w[1, 7] = -10.0  # negative extreme on row 1
    clip = qm.quantize_dequantize(w, "int4_clip", -1)
    full = qm.quantize_dequantize(w, "int4_fullrange", -1)
    absmax = np.abs(w).max(axis=1, keepdims=True)
    clip_codes = clip / (absmax / 7)
    assert np.allclose(clip_codes, np.round(clip_codes), atol=1e-4)
    assert clip_codes.min() >= -7 - 1e-4 and clip_codes.max() <= 7 + 1e-4
    full_codes = np.abs(full / (absmax / 8))
    assert np.allclose(full_codes, np.round(full_codes), atol=1e-4) and full_codes.max() <= 8 + 1e-4
    # full range: the extreme lands exactly on code -8 whatever its sign, so it is reproduced exactly
    assert full[0, 5] == pytest.approx(10.0) and full[1, 7] == pytest.approx(-10.0)
    assert np.all(np.abs(full).max(axis=1) == pytest.approx(absmax[:, 0]))
    assert _mse(w, "int4_fullrange", 32) < _mse(w, "int4_clip", 32)  # 16 levels beat 15 on normal weights


@pytest.mark.parametrize("dtype", ["int8", "int4_clip", "int4_fullrange", "nf4", "fp4_e2m1"])
def test_error_decreases_with_smaller_groups(dtype):
    w = _normal((64, 512), seed=1)
    errors = [_mse(w, dtype, gs) for gs in (-1, 512, 128, 32, 8)]
    assert errors[0] == pytest.approx(errors[1])  # a group as wide as the row is per-channel
    assert errors[1] > errors[2] > errors[3] > errors[4]


def test_int8_error_is_far_below_int4():
    w = _normal((64, 256), seed=2)
    int8, int4 = _mse(w, "int8", 32), _mse(w, "int4_clip", 32)
    assert int8 < int4 / 100  # step ratio 127/7 -> ~330x in MSE
    assert _mse(w, "int8", 32) < _mse(w, "nf4", 32) / 50


def test_asym_beats_sym_on_shifted_weights_and_keeps_16_levels():
    w = _normal((32, 256), seed=3) * 0.1 + 1.0  # all positive: sym wastes the negative half
    for bits_dtype in ("int4_clip", "int8"):
        assert _mse(w, bits_dtype, 32, "asym") < _mse(w, bits_dtype, 32, "sym") / 2
    w_hat = qm.quantize_dequantize(w, "int4_clip", 32, "asym")
    for row in w_hat.reshape(-1, 32):
        assert len(np.unique(np.round(row, 6))) <= 16
    z = _normal((32, 256), seed=4)  # zero-mean: asym is no worse than ~sym
    assert _mse(z, "int4_clip", 32, "asym") < 1.5 * _mse(z, "int4_clip", 32, "sym")


def test_group_layout_leftover_and_narrow_rows():
    w = _normal((4, 100), seed=5)
    out = qm.quantize_dequantize(w, "int4_clip", 32)
    # 3 full groups of 32, then the 4 leftover columns form one group of their own
    tail = qm.quantize_dequantize(w[:, 96:], "int4_clip", -1)
    head = qm.quantize_dequantize(w[:, :32], "int4_clip", -1)
    assert np.array_equal(out[:, 96:], tail) and np.array_equal(out[:, :32], head)
    # a row narrower than the group size is one group
    assert np.array_equal(qm.quantize_dequantize(w, "nf4", 128), qm.quantize_dequantize(w, "nf4", -1))


def test_zero_groups_and_dtype_preserved():
    w = np.zeros((2, 64), dtype=np.float32)
    w[1, 40:] = 1.0
    for dtype in qm.SUPPORTED_DTYPES:
        scheme_list = ["sym"] if dtype in qm.FLOAT_CODEBOOK_DTYPES else ["sym", "asym"]
        for scheme in scheme_list:
            out = qm.quantize_dequantize(w, dtype, 32, scheme)
            assert out.dtype == np.float32 and np.isfinite(out).all()
            assert np.all(out[0] == 0) and np.all(out[1, :32] == 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dtype": "int3"}, "dtype='int3' is not supported: allowed values are int8"),
        ({"group_size": 0}, "group_size=0"),
        ({"group_size": -2}, "group_size=-2"),
        ({"group_size": True}, "group_size=True"),
        ({"scheme": "minmax"}, "scheme='minmax'"),
        ({"dtype": "nf4", "scheme": "asym"}, "scheme='asym' is not supported with dtype='nf4'"),
        ({"clip_ratio": 0.0}, "clip_ratio=0.0"),
        ({"clip_ratio": 1.5}, "clip_ratio=1.5"),
    ],
)
def test_quantize_dequantize_refuses_bad_arguments(kwargs, message):
    args = {"w": _normal((2, 32)), "dtype": "int4_clip", "group_size": 32, "scheme": "sym", "clip_ratio": 1.0}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        qm.quantize_dequantize(**args)
    with pytest.raises(ValueError, match="2-D"):
        qm.quantize_dequantize(np.zeros(8), "int8", 32)


# --- mse_range_search --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["int4_clip", "int4_fullrange", "nf4"])
def test_mse_range_search(dtype):
    rng = np.random.default_rng(6)
    w = (rng.standard_normal((64, 256)) * np.exp(rng.standard_normal((64, 256)))).astype(np.float32)  # heavy tails
    best, errors = qm.mse_range_search(w, dtype, 32)
    assert 0.805 <= best <= 1.0 and best in errors
    assert list(errors) == [round(r, 3) for r in qm.MSE_RATIOS]
    assert errors[best] == min(errors.values()) and errors[best] <= errors[1.0]
    assert best < 1.0  # clipping pays off on heavy-tailed weights
    assert errors[best] == pytest.approx(_mse(w, dtype, 32, ratio=best), rel=1e-6)


def test_mse_range_search_prefers_larger_ratio_on_ties():
    w = np.tile(np.array([-1.0, 1.0], dtype=np.float32), (2, 16))  # every ratio gives the same error shape
    best, errors = qm.mse_range_search(w, "int4_clip", 32)
    assert errors[best] == min(errors.values())
    assert best == max(r for r, e in errors.items() if e == errors[best])


# --- reconstruction_error, storage -------------------------------------------------------------------------------
def test_reconstruction_error():
    w = np.array([[3.0, 4.0]])
    same = qm.reconstruction_error(w, w)
    assert same["mse"] == 0 and same["rel_fro"] == 0 and same["sqnr_db"] == math.inf
    err = qm.reconstruction_error(w, np.array([[3.0, 3.0]]))
    assert err["mse"] == pytest.approx(0.5) and err["max_abs"] == 1.0
    assert err["rel_fro"] == pytest.approx(1 / 5) and err["sqnr_db"] == pytest.approx(10 * math.log10(25))
    with pytest.raises(ValueError, match="same shape"):
        qm.reconstruction_error(w, np.zeros((2, 2)))


def test_storage_bytes_qlora_numbers():
    n = 4096 * 4096
    plain = qm.storage_bytes(n, 4, 64)
    assert plain["bits_per_weight"] == pytest.approx(4.5)
    dq = qm.storage_bytes(n, 4, 64, double_quant=(8, 256))
    assert dq["bits_per_weight"] == pytest.approx(4 + 8 / 64 + 32 / (64 * 256))
    assert dq["total"] < plain["total"]
    assert qm.storage_bytes(n, 4, 32, 16)["bits_per_weight"] == pytest.approx(4.5)  # NNCF-style f16 scales


def test_storage_bytes_layouts():
    # int8 per channel: one fp32 scale per output row
    s = qm.storage_bytes(64 * 256, 8, -1, in_features=256)
    assert s["weights"] == 64 * 256 and s["scales"] == 64 * 4
    # asym 4-bit with 4-bit zero points, leftover group counted per row: ceil(100 / 32) = 4 groups per row
    a = qm.storage_bytes(10 * 100, 4, 32, in_features=100, zero_point_bits=4)
    assert a["scales"] == 10 * 4 * 4 and a["zero_points"] == 10 * 4 * 0.5
    assert a["total"] == pytest.approx(a["weights"] + a["scales"] + a["zero_points"])
    with pytest.raises(ValueError, match="in_features"):
        qm.storage_bytes(100, 8, -1)
    for bad in ({"group_size": 0}, {"bits": 0}, {"n_weights": True}, {"double_quant": (8,)}):
        args = {"n_weights": 1024, "bits": 4, "group_size": 32}
        args.update(bad)
        with pytest.raises(ValueError, match="is not supported"):
            qm.storage_bytes(**args)


# --- agreement with neural-compressor 2.4.1 ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def inc():
    torch = pytest.importorskip("torch")
    weight_only = pytest.importorskip("neural_compressor.adaptor.torch_utils.weight_only")
    return torch, weight_only


INC_CASES = [  # our dtype, INC data_type, bits, full_range
    ("int8", "int", 8, False),
    ("int4_clip", "int", 4, False),
    ("int4_fullrange", "int", 4, True),
    ("nf4", "nf4", 4, False),
    ("fp4_e2m1", "fp4_e2m1", 4, False),
    ("fp4_e2m1_bnb", "fp4_e2m1_bnb", 4, False),
]


@pytest.mark.parametrize(("dtype", "inc_dtype", "bits", "full_range"), INC_CASES)
def test_matches_neural_compressor_rtn(inc, dtype, inc_dtype, bits, full_range):
    torch, weight_only = inc
    w = _normal((16, 100), seed=7)
    w[5] = -np.abs(w[5])
    w[6] = np.abs(w[6])
    schemes = ["sym", "asym"] if inc_dtype == "int" else ["sym"]
    for scheme in schemes:
        for gs in (-1, 1, 25, 32, 128):
            for ratio in (1.0, 0.9, 0.805):
                ref = weight_only.quant_weight(
                    torch.from_numpy(w.copy()), bits, gs, scheme, ratio, data_type=inc_dtype, full_range=full_range
                ).numpy()
                ours = qm.quantize_dequantize(w, dtype, gs, scheme, ratio)
                assert np.max(np.abs(ref - ours)) <= 1e-6, (scheme, gs, ratio)


def test_codebooks_match_neural_compressor(inc):
    _, weight_only = inc
    assert np.array_equal(np.array(weight_only.NF4), qm.NF4)
    assert np.array_equal(np.array(weight_only.FP4_E2M1), qm.FP4_E2M1_ITREX)
    assert np.array_equal(np.array(weight_only.FP4_BNB), qm.FP4_E2M1_BNB)


def test_mse_range_matches_neural_compressor_search_clip(inc):
    torch, weight_only = inc
    rng = np.random.default_rng(8)
    w = (rng.standard_normal((32, 128)) * np.exp(rng.standard_normal((32, 128)))).astype(np.float32)
    layer = torch.nn.Linear(128, 32, bias=False)
    layer.weight.data = torch.from_numpy(w.copy())
    for dtype, inc_dtype, _, full_range in INC_CASES[1:4]:
        ref = weight_only.search_clip(layer, 4, 32, "sym", inc_dtype, full_range)
        assert qm.mse_range_search(w, dtype, 32)[0] == pytest.approx(ref)
