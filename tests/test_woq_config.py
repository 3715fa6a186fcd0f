"""WoqConfig validation, its parity with ITREX 1.3.2, and the ITREX / NNCF / optimum-intel builders."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys

import numpy as np
import pytest

from helpers.core.settings import REPO_ROOT
from helpers.quant import woq_config as wc
from helpers.quant.woq_config import WoqConfig

FIELDS = [f.name for f in dataclasses.fields(WoqConfig)]


@pytest.fixture(scope="module")
def itrex_cls():
    module = pytest.importorskip("intel_extension_for_transformers.transformers")
    return module.WeightOnlyQuantConfig


# --- defaults and allowed values ----------------------------------------------------------------------------------
def test_defaults():
    cfg = WoqConfig()
    assert cfg.weight_dtype == "nf4" and cfg.compute_dtype == "fp32" and cfg.scale_dtype == "fp32"
    assert cfg.group_size == 32 and cfg.scheme == "sym" and cfg.algorithm == "RTN"
    assert cfg.mse_range is False and cfg.use_double_quant is False
    assert cfg.llm_int8_skip_modules is None and cfg.double_quant_dtype is None
    assert cfg.double_quant_scale_dtype is None and cfg.calib_iters == 100
    assert cfg.key() == "nf4-fp32-g32-sym-rtn" and cfg.bits == 4


def test_defaults_equal_itrex(itrex_cls):
    raw = itrex_cls()
    for name, value in wc.ITREX_RAW_DEFAULTS.items():
        assert getattr(raw, name) == value, name
    raw.post_init()  # what the CPU path (use_llm_runtime=False) runs
    ours = WoqConfig()
    for name in FIELDS:
        if name == "llm_int8_skip_modules":
            assert raw.llm_int8_skip_modules == [] and ours.llm_int8_skip_modules is None
        elif name == "double_quant_dtype":
            assert not hasattr(raw, "double_quant_dtype") and ours.double_quant_dtype is None
        else:
            assert getattr(raw, name) == getattr(ours, name), name


def test_allowed_values_match_itrex_post_init(itrex_cls):
    def accepted(**kwargs):
        try:
            itrex_cls(**kwargs).post_init()
            return True
        except ValueError:
            return False

    for dtype in wc.WEIGHT_DTYPES:
        assert accepted(weight_dtype=dtype), dtype
    for alias in [*wc.RUNTIME_ONLY_ALIASES, "int3", "fp4_e2m1_ocp"]:
        assert not accepted(weight_dtype=alias), alias
    assert all(accepted(compute_dtype=c) for c in wc.COMPUTE_DTYPES) and not accepted(compute_dtype="fp16")
    assert all(accepted(scale_dtype=s, weight_dtype="fp8_e4m3") for s in wc.SCALE_DTYPES)
    assert not accepted(scale_dtype="bf16")
    # the asym refusals ITREX itself makes
    assert not accepted(scheme="asym", weight_dtype="int4_clip", compute_dtype="int8")
    assert not accepted(scheme="asym", weight_dtype="nf4")
    assert accepted(scheme="asym", weight_dtype="int4_clip")


def test_itrex_double_quant_cannot_work(itrex_cls):
    with pytest.raises(AttributeError, match="double_quant_dtype"):
        itrex_cls(use_double_quant=True).post_init()


def test_itrex_skip_modules_crash(itrex_cls):
    torch = pytest.importorskip("torch")
    from intel_extension_for_transformers.llm.quantization.utils import replace_linear

    cfg = itrex_cls(llm_int8_skip_modules=["1"])
    cfg.post_init()
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 8))
    with pytest.raises(TypeError, match="NoneType"):
        replace_linear(model, None, None, cfg)


def test_neural_compressor_replaces_unlisted_group_sizes_by_32(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # neural-compressor writes ./nc_workspace
    torch = pytest.importorskip("torch")
    inc = pytest.importorskip("neural_compressor")
    from neural_compressor import PostTrainingQuantConfig

    used = {}
    for gs in (48, -1):
        model = torch.nn.Sequential(torch.nn.Linear(96, 8, bias=False))
        conf = PostTrainingQuantConfig(
            approach="weight_only",
            op_type_dict={
                ".*": {"weight": {"bits": 4, "dtype": "int4", "group_size": gs, "scheme": "sym", "algorithm": "RTN"}}
            },
        )
        q_model = inc.quantization.fit(model, conf)
        used[gs] = next(iter(q_model.q_config["op"].values()))["weight"]["group_size"]
    assert used == {48: 32, -1: -1}
    assert 48 not in wc.INC_GROUP_SIZES


# --- validation --------------------------------------------------------------------------------------------------
BAD_FIELD_VALUES = [
    ("weight_dtype", "int3", "int8, int4_fullrange, int4_clip, nf4, fp4_e2m1_bnb, fp4_e2m1, fp8_e5m2, fp8_e4m3"),
    ("weight_dtype", "int4", "Neural Speed"),
    ("weight_dtype", "fp4", "use fp4_e2m1"),
    ("weight_dtype", 4, "expected a string"),
    ("weight_dtype", "NF4", "int8, int4_fullrange"),
    ("compute_dtype", "fp16", "fp32, bf16, int8"),
    ("compute_dtype", None, "fp32, bf16, int8"),
    ("scale_dtype", "bf16", "fp32, fp8_e8m0"),
    ("scale_dtype", "fp16", "fp32, fp8_e8m0"),
    ("mse_range", 1, "True, False"),
    ("mse_range", "yes", "True, False"),
    ("use_double_quant", True, "not supported yet"),
    ("use_double_quant", 0, "False"),
    ("double_quant_dtype", "int8", "None"),
    ("double_quant_scale_dtype", "fp32", "None"),
    ("group_size", 0, "-1, 1, 4, 8, 16, 32, 64, 128, 256, 512, 1024"),
    ("group_size", -2, "-1, 1, 4"),
    ("group_size", True, "got bool"),
    ("group_size", 32.0, "got float"),
    ("group_size", "32", "got str"),
    ("group_size", 48, "silently replaces"),
    ("group_size", 2048, "-1, 1, 4"),
    ("scheme", "minmax", "sym, asym"),
    ("scheme", "SYM", "sym, asym"),
    ("algorithm", "awq", "use 'AWQ'"),
    ("algorithm", "GPTQ", "algorithm_args"),
    ("algorithm", "rtn2", "RTN, AWQ, TEQ"),
    ("calib_iters", 0, "integers >= 1"),
    ("calib_iters", True, "integers >= 1"),
    ("llm_int8_skip_modules", "lm_head", "list/tuple"),
    ("llm_int8_skip_modules", ["ok", ""], "non-empty"),
    ("llm_int8_skip_modules", [3], "non-empty"),
]


@pytest.mark.parametrize(("name", "value", "allowed"), BAD_FIELD_VALUES)
def test_bad_field_values_are_refused_with_allowed_values(name, value, allowed):
    with pytest.raises(ValueError) as info:
        WoqConfig(**{name: value})
    message = str(info.value)
    assert message.startswith(f"{name}={value!r} is not supported")
    assert "allowed values" in message and allowed in message


BAD_COMBINATIONS = [
    ({"scheme": "asym", "weight_dtype": "int4_clip", "compute_dtype": "int8"}, "scheme='asym'", "compute_dtype='int8'"),
    ({"scheme": "asym"}, "scheme='asym'", "weight_dtype='nf4'"),
    ({"scheme": "asym", "weight_dtype": "fp4_e2m1"}, "scheme='asym'", "float weight"),
    ({"scheme": "asym", "weight_dtype": "fp8_e4m3", "scale_dtype": "fp8_e8m0"}, "scheme='asym'", "float weight"),
    ({"compute_dtype": "int8"}, "compute_dtype='int8'", "QBits"),
    ({"compute_dtype": "int8", "weight_dtype": "fp8_e5m2"}, "compute_dtype='int8'", "float weights"),
    ({"compute_dtype": "int8", "weight_dtype": "int8", "group_size": 1}, "group_size=1", "multiple of"),
    ({"scale_dtype": "fp8_e8m0"}, "scale_dtype='fp8_e8m0'", "only for fp8 weights"),
    ({"weight_dtype": "fp8_e4m3", "algorithm": "AWQ"}, "weight_dtype='fp8_e4m3'", "bypassing neural-compressor"),
    ({"weight_dtype": "fp8_e4m3", "mse_range": True}, "weight_dtype='fp8_e4m3'", "mse_range=True"),
    ({"mse_range": True, "algorithm": "AWQ"}, "mse_range=True", "clip search"),
    ({"mse_range": True, "algorithm": "TEQ", "weight_dtype": "int4_clip"}, "mse_range=True", "TEQ ignores"),
    ({"algorithm": "TEQ"}, "weight_dtype='nf4'", "integer grid"),
    ({"algorithm": "TEQ", "weight_dtype": "int4_fullrange"}, "weight_dtype='int4_fullrange'", "integer grid"),
    ({"calib_iters": 8}, "calib_iters=8", "AWQ"),
]


@pytest.mark.parametrize(("kwargs", "start", "reason"), BAD_COMBINATIONS)
def test_incompatible_combinations_are_refused_with_reason(kwargs, start, reason):
    with pytest.raises(ValueError) as info:
        WoqConfig(**kwargs)
    message = str(info.value)
    assert message.startswith(start) and reason in message and "allowed values here are" in message


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight_dtype": "int4_clip", "scheme": "asym", "group_size": 128, "mse_range": True},
        {"weight_dtype": "int4_fullrange", "compute_dtype": "int8", "group_size": -1},
        {"weight_dtype": "int8", "compute_dtype": "bf16", "scheme": "asym", "group_size": 1},
        {"weight_dtype": "fp8_e5m2", "scale_dtype": "fp8_e8m0"},
        {"weight_dtype": "fp4_e2m1_bnb", "mse_range": True},
        {"weight_dtype": "nf4", "algorithm": "AWQ", "calib_iters": 16},
        {"weight_dtype": "int4_clip", "algorithm": "TEQ", "scheme": "asym"},
        {"llm_int8_skip_modules": ["down_proj", "q_proj"]},
        {"group_size": np.int64(64)},
    ],
)
def test_valid_configs(kwargs):
    cfg = WoqConfig(**kwargs)
    assert from_dict_roundtrip(cfg) == cfg
    hash(cfg)


def from_dict_roundtrip(cfg):
    return wc.from_dict(cfg.to_dict())


def test_normalisation_and_frozen():
    cfg = WoqConfig(llm_int8_skip_modules=["a", "b"], group_size=np.int32(16))
    assert cfg.llm_int8_skip_modules == ("a", "b") and type(cfg.group_size) is int
    assert WoqConfig(llm_int8_skip_modules=[]).llm_int8_skip_modules is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.group_size = 64  # type: ignore[misc]
    with pytest.raises(TypeError):
        WoqConfig("nf4")  # type: ignore[misc]  # keyword-only


def test_from_dict_replace_and_key():
    cfg = wc.from_dict({"weight_dtype": "int4_clip", "group_size": 128})
    assert cfg == WoqConfig(weight_dtype="int4_clip", group_size=128)
    with pytest.raises(ValueError, match="unknown WoqConfig field.*bits.*allowed fields are llm_int8_skip_modules"):
        wc.from_dict({"bits": 4})
    other = wc.replace(cfg, scheme="asym")
    assert other.scheme == "asym" and cfg.scheme == "sym"
    with pytest.raises(ValueError, match="group_size=0"):
        wc.replace(cfg, group_size=0)
    with pytest.raises(ValueError, match="unknown WoqConfig field"):
        wc.replace(cfg, group=64)
    assert cfg.key() == "int4_clip-fp32-g128-sym-rtn"
    assert WoqConfig(weight_dtype="int8", group_size=-1).key() == "int8-fp32-gpc-sym-rtn"
    assert WoqConfig(algorithm="AWQ").key() == "nf4-fp32-g32-sym-awq-it100"
    assert WoqConfig(weight_dtype="int4_clip", mse_range=True).key().endswith("-mse")
    assert WoqConfig(llm_int8_skip_modules=["down_proj"]).key().endswith("-skipdown_proj")
    assert re.fullmatch(r".*-skip[0-9a-f]{10}", WoqConfig(llm_int8_skip_modules=["a/b c"]).key())


def test_keys_are_unique_and_stable_over_a_grid():
    configs, keys = [], set()
    for wd in wc.WEIGHT_DTYPES:
        for cd in wc.COMPUTE_DTYPES:
            for gs in wc.INC_GROUP_SIZES:
                for scheme in wc.SCHEMES:
                    for algo in wc.ALGORITHMS:
                        for mse in (False, True):
                            try:
                                cfg = WoqConfig(
                                    weight_dtype=wd,
                                    compute_dtype=cd,
                                    group_size=gs,
                                    scheme=scheme,
                                    algorithm=algo,
                                    mse_range=mse,
                                )
                            except ValueError:
                                continue
                            configs.append(cfg)
                            keys.add(cfg.key())
    assert len(keys) == len(configs) > 300
    assert all(re.fullmatch(r"[A-Za-z0-9_.+-]+", k) for k in keys)
    assert WoqConfig().key() == wc.replace(WoqConfig()).key()


def test_field_docs_and_table():
    assert set(wc.field_docs) == set(FIELDS) == set(wc.FIELD_ALLOWED)
    assert all(doc and "\n" not in doc for doc in wc.field_docs.values())
    rows = wc.field_table(WoqConfig(weight_dtype="int8"))
    assert [r["field"] for r in rows] == FIELDS
    assert rows[FIELDS.index("weight_dtype")]["value"] == "'int8'"
    table = wc.field_table_markdown()
    assert table.count("\n") == len(FIELDS) + 1 and "`group_size`" in table


def test_isa_problems():
    assert wc.isa_problems(WoqConfig(), {"avx2"}) == []
    problems = wc.isa_problems(WoqConfig(weight_dtype="int8", compute_dtype="int8"), {"avx2", "avx512f"})
    assert problems and "avx512_vnni" in problems[0]
    assert wc.isa_problems(WoqConfig(compute_dtype="bf16"), {"amx_bf16"}) == []


def test_import_is_light():
    code = (
        "import sys, helpers.quant.woq_config, helpers.quant.arithmetic; "
        "heavy = [m for m in ('torch', 'openvino', 'nncf', 'intel_extension_for_transformers', "
        "'neural_compressor', 'optimum', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO_ROOT)


# --- to_itrex ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"weight_dtype": "int4_clip", "scheme": "asym", "group_size": 128, "mse_range": True},
        {"weight_dtype": "int8", "compute_dtype": "int8", "group_size": -1},
        {"weight_dtype": "fp8_e4m3", "scale_dtype": "fp8_e8m0", "compute_dtype": "bf16"},
    ],
)
def test_to_itrex_field_by_field(itrex_cls, kwargs):
    cfg = WoqConfig(**kwargs)
    out = wc.to_itrex(cfg)
    assert isinstance(out, itrex_cls)
    for name in FIELDS:
        if name == "llm_int8_skip_modules":
            assert out.llm_int8_skip_modules == []
        elif name == "double_quant_dtype":
            assert not hasattr(out, name)
        else:
            assert getattr(out, name) == getattr(cfg, name), name
    assert out.calib_dataloader is None and out.use_neural_speed is False


def test_to_itrex_calibration_and_refusals(itrex_cls):
    loader = [np.zeros((1, 8), dtype=np.int64)]
    out = wc.to_itrex(WoqConfig(weight_dtype="int4_clip", algorithm="AWQ", calib_iters=4), calib_dataloader=loader)
    assert out.algorithm == "AWQ" and out.calib_dataloader is loader and out.calib_iters == 4
    for algo in ("AWQ", "TEQ"):
        with pytest.raises(ValueError, match="needs calib_dataloader"):
            wc.to_itrex(WoqConfig(weight_dtype="int4_clip", algorithm=algo))
    with pytest.raises(ValueError, match="llm_int8_skip_modules=.*TypeError"):
        wc.to_itrex(WoqConfig(llm_int8_skip_modules=["down_proj"]))


# --- to_openvino -------------------------------------------------------------------------------------------------
OV_CASES = [
    # kwargs, mode, group_size, fields that must appear in `unsupported`
    ({}, "nf4", 32, []),
    ({"weight_dtype": "int4_clip"}, "int4_sym", 32, []),
    ({"weight_dtype": "int4_clip", "scheme": "asym", "group_size": 128}, "int4_asym", 128, []),
    ({"weight_dtype": "int4_fullrange"}, "int4_sym", 32, ["weight_dtype"]),
    ({"weight_dtype": "int4_fullrange", "scheme": "asym"}, "int4_asym", 32, []),
    ({"weight_dtype": "int8", "group_size": -1}, "int8_sym", None, []),
    ({"weight_dtype": "int8", "scheme": "asym"}, "int8_asym", None, ["group_size"]),
    ({"weight_dtype": "fp4_e2m1"}, "nf4", 32, ["weight_dtype"]),
    ({"weight_dtype": "fp4_e2m1_bnb"}, "nf4", 32, ["weight_dtype"]),
    ({"weight_dtype": "fp8_e4m3", "group_size": -1}, "int8_sym", None, ["weight_dtype"]),
    (
        {"weight_dtype": "fp8_e5m2", "scale_dtype": "fp8_e8m0", "group_size": -1},
        "int8_sym",
        None,
        ["weight_dtype", "scale_dtype"],
    ),
    ({"compute_dtype": "bf16"}, "nf4", 32, ["compute_dtype"]),
    ({"weight_dtype": "int4_clip", "compute_dtype": "int8"}, "int4_sym", 32, ["compute_dtype"]),
    ({"weight_dtype": "int4_clip", "mse_range": True}, "int4_sym", 32, ["mse_range"]),
    ({"weight_dtype": "int4_clip", "algorithm": "TEQ"}, "int4_sym", 32, ["algorithm"]),
    ({"algorithm": "AWQ"}, "nf4", 32, ["algorithm"]),
    ({"weight_dtype": "int4_clip", "algorithm": "AWQ", "group_size": -1}, "int4_sym", -1, ["algorithm"]),
    ({"weight_dtype": "int8", "algorithm": "AWQ", "group_size": -1}, "int8_sym", None, ["algorithm"]),
]


@pytest.mark.parametrize(("kwargs", "mode", "group_size", "lost_fields"), OV_CASES)
def test_to_openvino_mapping(kwargs, mode, group_size, lost_fields):
    cfg = WoqConfig(**kwargs)
    plan = wc.to_openvino(cfg)
    assert plan.mode == mode and plan.group_size == group_size and plan.source_key == cfg.key()
    assert sorted(entry.split("=")[0] for entry in plan.unsupported) == sorted(lost_fields)
    for entry in plan.unsupported:
        assert re.match(r"^\w+=.+: unsupported on OpenVINO/NNCF 2\.11: .+", entry)
    kwargs_out = plan.kwargs()
    if mode.startswith("int8"):  # NNCF raises if INT8 modes get any of these
        assert kwargs_out == {"mode": mode}
    else:
        assert kwargs_out["group_size"] == group_size and kwargs_out["ratio"] == 1.0
        assert kwargs_out["all_layers"] is False and kwargs_out["scale_estimation"] is False
    if plan.unsupported:
        with pytest.raises(ValueError, match="cannot be reproduced on OpenVINO/NNCF 2.11"):
            wc.to_openvino(cfg, strict=True)
    else:
        assert wc.to_openvino(cfg, strict=True) == plan


def test_to_openvino_awq_skip_modules_and_runtime():
    cfg = WoqConfig(
        weight_dtype="int4_clip",
        algorithm="AWQ",
        group_size=64,
        calib_iters=16,
        llm_int8_skip_modules=["mlp.down_proj"],
    )
    plan = wc.to_openvino(cfg, strict=True)
    assert plan.awq is True and plan.needs_dataset and plan.subset_size == 16
    assert plan.kwargs()["ignored_scope"] == {"patterns": [r".*mlp\.down_proj.*"]}
    assert plan.runtime_config == {"INFERENCE_PRECISION_HINT": "f32"}
    assert wc.to_openvino(WoqConfig(compute_dtype="bf16")).runtime_config == {"INFERENCE_PRECISION_HINT": "bf16"}
    int8_compute = wc.to_openvino(WoqConfig(weight_dtype="int4_clip", compute_dtype="int8"))
    assert int8_compute.runtime_config == {"DYNAMIC_QUANTIZATION_GROUP_SIZE": "32"}
    assert any("lm_head" in note for note in plan.notes)


def test_to_openvino_extra_knobs():
    plan = wc.to_openvino(
        WoqConfig(weight_dtype="int4_clip", group_size=128),
        ratio=0.8,
        sensitivity_metric="max_activation_variance",
        scale_estimation=True,
        all_layers=True,
    )
    assert plan.ratio == 0.8 and plan.all_layers is True and plan.scale_estimation is True and plan.needs_dataset
    assert not wc.to_openvino(WoqConfig(weight_dtype="int4_clip"), ratio=0.8).needs_dataset
    with pytest.raises(ValueError, match="INT8 modes take no ratio"):
        wc.to_openvino(WoqConfig(weight_dtype="int8", group_size=-1), ratio=0.8)
    with pytest.raises(ValueError, match="scale_estimation=True is refused"):
        wc.to_openvino(WoqConfig(), scale_estimation=True)
    with pytest.raises(ValueError, match="ratio=1.5"):
        wc.to_openvino(WoqConfig(), ratio=1.5)
    with pytest.raises(ValueError, match="sensitivity_metric='loss'"):
        wc.to_openvino(WoqConfig(), sensitivity_metric="loss")


def test_to_openvino_refuses_data_free_metric_with_data_aware_algorithms():
    """NNCF 2.11 collects no activations for weight_quantization_error: AWQ would crash, SE would do nothing."""
    asym = WoqConfig(weight_dtype="int4_clip", scheme="asym")
    with pytest.raises(ValueError, match="sensitivity_metric='weight_quantization_error'.*scale_estimation=True"):
        wc.to_openvino(asym, ratio=0.8, sensitivity_metric="weight_quantization_error", scale_estimation=True)
    with pytest.raises(ValueError, match="awq=True.*hessian_input_activation"):
        wc.to_openvino(
            WoqConfig(weight_dtype="int4_clip", scheme="asym", algorithm="AWQ"),
            ratio=0.8,
            sensitivity_metric="weight_quantization_error",
        )
    rtn = wc.to_openvino(asym, ratio=0.8, sensitivity_metric="weight_quantization_error")
    assert rtn.awq is False and not rtn.scale_estimation


def test_to_openvino_gptq():
    plan = wc.to_openvino(WoqConfig(weight_dtype="int4_clip", group_size=64), gptq=True)
    assert plan.kwargs()["gptq"] is True and plan.needs_dataset and plan.unsupported == []
    assert wc.to_openvino(WoqConfig(group_size=64), gptq=True).mode == "nf4"  # NNCF 2.11 GPTQ also does NF4
    assert "gptq" not in wc.to_openvino(WoqConfig(weight_dtype="int8", group_size=-1)).kwargs()
    with pytest.raises(ValueError, match="INT8 modes take no .*gptq=True"):
        wc.to_openvino(WoqConfig(weight_dtype="int8", group_size=-1), gptq=True)
    with pytest.raises(ValueError, match="gptq=True is refused .*scale_estimation=True"):
        wc.to_openvino(WoqConfig(weight_dtype="int4_clip"), gptq=True, scale_estimation=True)
    with pytest.raises(ValueError, match="gptq=True is refused .*group_size=-1"):
        wc.to_openvino(WoqConfig(weight_dtype="int4_clip", group_size=-1), gptq=True)
    with pytest.raises(ValueError, match="gptq='yes'.*True, False"):
        wc.to_openvino(WoqConfig(), gptq="yes")


def test_gptq_plan_runs_through_nncf():
    pytest.importorskip("openvino")
    nncf = pytest.importorskip("nncf")
    plan = wc.to_openvino(WoqConfig(weight_dtype="int4_clip", group_size=16), gptq=True)
    dataset = nncf.Dataset([np.random.rand(1, 4, 64).astype(np.float32) for _ in range(2)])
    model = plan.compress(_tiny_ov_model(), dataset)
    types = {n.get_output_element_type(0).get_type_name() for n in model.get_ops() if n.get_type_name() == "Constant"}
    assert "u4" in types


def _tiny_ov_model():
    import openvino as ov
    from openvino.runtime import opset13 as ops

    rng = np.random.default_rng(0)
    x = ops.parameter([1, 4, 64], np.float32, name="x")
    h = ops.relu(ops.matmul(x, ops.constant(rng.standard_normal((64, 64)).astype(np.float32)), False, True))
    h = ops.matmul(h, ops.constant(rng.standard_normal((64, 64)).astype(np.float32)), False, True)
    h.set_friendly_name("__module.mlp.down_proj/aten::linear/MatMul")
    out = ops.matmul(h, ops.constant(rng.standard_normal((32, 64)).astype(np.float32)), False, True)
    return ov.Model([out], [x])


@pytest.mark.parametrize(
    ("kwargs", "weight_types"),
    [
        ({}, {"nfloat4"}),
        ({"weight_dtype": "int4_clip", "scheme": "asym", "group_size": 16}, {"uint4_t"}),
        ({"weight_dtype": "int8", "group_size": -1}, {"uint8_t"}),
        ({"weight_dtype": "int4_clip", "algorithm": "AWQ", "group_size": 16, "calib_iters": 2}, {"uint4_t"}),
        ({"llm_int8_skip_modules": ["down_proj"]}, {"nfloat4", "float32"}),
    ],
)
def test_plan_runs_through_nncf(kwargs, weight_types):
    pytest.importorskip("openvino")
    nncf = pytest.importorskip("nncf")
    plan = wc.to_openvino(WoqConfig(**kwargs))
    dataset = nncf.Dataset([np.random.rand(1, 4, 64).astype(np.float32) for _ in range(2)])
    model = plan.compress(_tiny_ov_model(), dataset if plan.needs_dataset else None)
    names = {n.get_friendly_name(): n for n in model.get_ops() if n.get_type_name() == "Constant"}
    matmul_weights = {
        n.get_output_element_type(0).get_type_name()
        for name, n in names.items()
        if not name.endswith(("/scale", "/zero_point")) and n.get_output_element_type(0).get_type_name() != "i64"
    }
    # the last MatMul stays in NNCF's INT8 backup precision in 4-bit modes (all_layers=False)
    expected = {t.replace("uint4_t", "u4").replace("uint8_t", "u8").replace("nfloat4", "nf4") for t in weight_types}
    expected = {t.replace("float32", "f32") for t in expected} | ({"u8"} if plan.mode != "int8_sym" else set())
    assert matmul_weights == expected
    if plan.needs_dataset:
        with pytest.raises(ValueError, match="needs a calibration dataset"):
            plan.nncf_kwargs()
    if plan.mode.startswith("int8"):
        with pytest.raises(ValueError, match="do not accept a dataset"):
            plan.nncf_kwargs(dataset)


# --- to_optimum_intel --------------------------------------------------------------------------------------------
def test_to_optimum_intel_kwargs():
    plan = wc.to_optimum_intel(WoqConfig(weight_dtype="int4_clip", scheme="asym", group_size=128))
    assert plan.kwargs == {"bits": 4, "sym": False, "group_size": 128, "ratio": 1.0, "all_layers": False}
    assert plan.unsupported == [] and not plan.needs_nncf
    int8 = wc.to_optimum_intel(WoqConfig(weight_dtype="int8", group_size=-1))
    assert int8.kwargs == {"bits": 8, "sym": True, "group_size": -1, "ratio": 1.0}
    awq = wc.to_optimum_intel(WoqConfig(weight_dtype="int4_clip", algorithm="AWQ", group_size=64, calib_iters=8))
    assert awq.kwargs["quant_method"] == "awq" and awq.kwargs["num_samples"] == 8


def test_to_optimum_intel_nf4_needs_nncf():
    plan = wc.to_optimum_intel(WoqConfig())
    assert plan.needs_nncf and plan.kwargs["bits"] == 4 and plan.kwargs["sym"] is True
    assert any(
        entry.startswith("weight_dtype='nf4': unsupported on optimum-intel 1.17.2") for entry in plan.unsupported
    )
    with pytest.raises(ValueError, match="cannot be reproduced with optimum-intel"):
        wc.to_optimum_intel(WoqConfig(), strict=True)


def test_optimum_intel_builds_and_drops_nf4_silently():
    pytest.importorskip("optimum.intel")
    from optimum.intel import OVWeightQuantizationConfig
    from transformers.utils.quantization_config import QuantizationMethod

    built = wc.to_optimum_intel(WoqConfig(weight_dtype="int4_clip", algorithm="AWQ", group_size=64)).build()
    assert built.bits == 4 and built.sym is True and built.group_size == 64
    assert built.quant_method == QuantizationMethod.AWQ  # what optimum-intel tests to switch AWQ on
    # the trap this module guards against: unknown kwargs vanish and nf4 becomes plain int4
    silent = OVWeightQuantizationConfig(bits=4, weight_format="nf4", scale_estimation=True)
    assert not hasattr(silent, "weight_format") and not hasattr(silent, "scale_estimation")


def test_compute_dtype_support_table():
    rows = {r["compute_dtype"]: r for r in wc.compute_dtype_support({"avx2", "avx512_vnni"})}
    assert [r["weight_dtype"] for r in rows.values()] == ["nf4", "nf4", "int4_clip"]
    assert rows["fp32"]["runs here"] and rows["int8"]["runs here"]
    assert not rows["bf16"]["runs here"] and "amx_bf16" in rows["bf16"]["why not"]
