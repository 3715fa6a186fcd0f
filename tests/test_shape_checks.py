"""helpers.quant.shape_checks: an impossible group size is refused before any quantization, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import models
from helpers.quant.shape_checks import allowed_group_sizes, check_group_size, group_size_problem, linear_in_features
from helpers.sweep import evaluate
from helpers.sweep.grid import SweepPoint

SMOLLM2 = {"model.layers.0.self_attn.q_proj": 576, "model.layers.0.mlp.down_proj": 1536}


def test_allowed_group_sizes_divide_every_layer() -> None:
    assert allowed_group_sizes(SMOLLM2) == [-1, 1, 4, 8, 16, 32, 64]
    assert group_size_problem(64, SMOLLM2, "openvino") is None
    assert group_size_problem(-1, SMOLLM2, "itrex") is None


@pytest.mark.parametrize("backend", ["itrex", "openvino"])
def test_group_size_128_names_field_value_layers_and_allowed_values(backend: str) -> None:
    problem = group_size_problem(128, SMOLLM2, backend)
    assert problem is not None
    assert "group_size=128" in problem and "576 input channels" in problem and "q_proj" in problem
    assert "down_proj" not in problem  # 1536 is a multiple of 128: only the misfits are named
    assert "Allowed values for this model: -1, 1, 4, 8, 16, 32, 64" in problem


def test_ir_folder_reads_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"hidden_size": 576, "intermediate_size": 1536}))
    assert sorted(set(linear_in_features(tmp_path).values())) == [576, 1536]
    with pytest.raises(ValueError, match="group_size=128 .* Allowed values"):
        check_group_size(128, tmp_path, "openvino")
    with pytest.raises(FileNotFoundError, match="model_dir="):
        linear_in_features(tmp_path / "missing")


@pytest.mark.slow
def test_cookbook_model_refuses_128_and_sweep_marks_it_unsupported() -> None:
    in_features = linear_in_features(models.causal_lm_dir())
    assert len(in_features) == 30 * 7 and set(in_features.values()) == {576, 1536}
    with pytest.raises(ValueError, match=r"group_size=128 does not divide .*Allowed values for this model"):
        check_group_size(128, models.causal_lm_dir(), "itrex")
    for backend, dtype in (("itrex", "nf4"), ("openvino", "int4")):
        reason = evaluate.unsupported_reason(SweepPoint(backend, dtype, group_size=128))
        assert reason and "group_size=128" in reason and "Allowed values for this model" in reason
    assert evaluate.unsupported_reason(SweepPoint("openvino", "int4", group_size=64)) is None
