"""What each sweep point maps to, and why the ones that cannot run here are refused (no model is loaded)."""

import pytest

from helpers import sweep_eval
from helpers.sweep import SweepPoint


@pytest.mark.parametrize(
    ("point", "reason_contains"),
    [
        (SweepPoint("torch", "fp32"), None),
        (SweepPoint("torch", "int8"), "fp32 only"),
        (SweepPoint("openvino", "int4", 64, "sym", "GPTQ", "auto"), None),
        (SweepPoint("openvino", "int4", 64, "sym", "AWQ", "auto"), None),
        (SweepPoint("openvino", "int4", 64, "sym", "TEQ", "auto"), "no NNCF 2.11 equivalent"),
        (SweepPoint("openvino", "mxfp4", 32, "sym", "RTN", "auto"), "allowed values are"),
        (SweepPoint("openvino", "nf4", 64, "sym", "AWQ", "auto"), "refused by NNCF 2.11 with mode='nf4'"),
        (SweepPoint("itrex", "int4_clip", 32, "sym", "GPTQ"), "algorithm_args"),
        (SweepPoint("itrex", "int4_clip", 32, "sym", "RTN", "int9"), "compute_dtype='int9'"),
    ],
)
def test_unsupported_reason(point, reason_contains):
    reason = sweep_eval.unsupported_reason(point)
    if reason_contains is None:
        assert reason is None
    else:
        assert reason is not None and reason_contains in reason


def test_openvino_plan_for_maps_algorithms_to_nncf_recipes():
    awq = sweep_eval.openvino_plan_for(SweepPoint("openvino", "int4", 64, "sym", "AWQ", "auto"))
    assert awq.awq and awq.scale_estimation and not awq.gptq and awq.needs_dataset
    gptq = sweep_eval.openvino_plan_for(SweepPoint("openvino", "int4", 64, "sym", "GPTQ", "auto"))
    assert gptq.gptq and not gptq.awq and not gptq.scale_estimation and gptq.needs_dataset
    rtn = sweep_eval.openvino_plan_for(SweepPoint("openvino", "int4", 64))
    assert not (rtn.awq or rtn.gptq or rtn.scale_estimation or rtn.needs_dataset)


def test_budgets_keep_calibration_small():
    for name, budget in sweep_eval.BUDGETS.items():
        assert budget.calib_texts * budget.calib_max_tokens <= 4096, name
