"""What each sweep point maps to, and why the ones that cannot run here are refused (no model is loaded)."""

from dataclasses import replace

import pytest

from helpers.sweep import evaluate, run
from helpers.sweep.grid import SweepPoint


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
        (SweepPoint("openvino", "int4", 32, "asym", "AWQ", "auto", 0.8), None),
        (SweepPoint("itrex", "int4_clip", 32, "sym", "RTN", "fp32", 0.8), "ratio=0.8 is not supported on ITREX"),
        (SweepPoint("openvino", "int8", 32, "sym", "RTN", "auto", 0.8), "INT8 modes take no ratio"),
    ],
)
def test_unsupported_reason(point, reason_contains):
    reason = evaluate.unsupported_reason(point)
    if reason_contains is None:
        assert reason is None
    else:
        assert reason is not None and reason_contains in reason


def test_openvino_plan_for_maps_algorithms_to_nncf_recipes():
    awq = evaluate.openvino_plan_for(SweepPoint("openvino", "int4", 64, "sym", "AWQ", "auto"))
    assert awq.awq and awq.scale_estimation and not awq.gptq and awq.needs_dataset
    gptq = evaluate.openvino_plan_for(SweepPoint("openvino", "int4", 64, "sym", "GPTQ", "auto"))
    assert gptq.gptq and not gptq.awq and not gptq.scale_estimation and gptq.needs_dataset
    rtn = evaluate.openvino_plan_for(SweepPoint("openvino", "int4", 64))
    assert not (rtn.awq or rtn.gptq or rtn.scale_estimation or rtn.needs_dataset)


def test_mixed_precision_ranks_layers_with_data_only_when_the_point_has_data():
    awq = evaluate.openvino_plan_for(SweepPoint("openvino", "int4", 32, "asym", "AWQ", "auto", 0.6))
    assert awq.ratio == 0.6 and awq.sensitivity_metric == "hessian_input_activation" and awq.needs_dataset
    rtn = evaluate.openvino_plan_for(SweepPoint("openvino", "int4", 32, "asym", "RTN", "auto", 0.8))
    assert rtn.sensitivity_metric == "weight_quantization_error" and not rtn.needs_dataset
    assert rtn.nncf_kwargs()["ratio"] == 0.8


def test_low_bit_share_counts_parameters_not_layers():
    from helpers.llm import low_bit_share

    assert low_bit_share({"u4": 300, "u8": 100}) == 0.75
    assert low_bit_share({"nf4": 1, "i4": 1}) == 1.0
    assert low_bit_share({}) is None


def test_standard_budget_uses_the_issue_timing_protocol():
    standard = evaluate.BUDGETS["standard"]
    assert (standard.prompt_tokens, standard.new_tokens, standard.iterations) == (256, 64, 5)


def test_budgets_keep_calibration_small():
    for name, budget in evaluate.BUDGETS.items():
        assert budget.calib_texts * budget.calib_max_tokens <= 4096, name


def test_faq_choice_accuracy_is_nan_when_the_model_returns_nan(monkeypatch):
    import torch

    from helpers import data, llm
    from helpers.data import QAPair

    faq = [QAPair(id=f"faq-{i:03d}", source="faq", question=f"q{i}?", answer=f"answer {i}") for i in range(6)]
    monkeypatch.setattr(data, "load_faq", lambda limit=None: faq)

    class Tok:
        def __call__(self, text, add_special_tokens=False):
            return type("Enc", (), {"input_ids": [ord(ch) % 50 for ch in text]})()

    budget = replace(evaluate.BUDGETS["smoke"], choice_items=4)  # off by default: at chance for a 135M model
    monkeypatch.setattr(llm, "sequence_logits", lambda model, ids: torch.full((1, ids.shape[1], 50), float("nan")))
    assert evaluate.faq_choice_accuracy(None, Tok(), budget) != evaluate.faq_choice_accuracy(None, Tok(), budget)

    def favour_first(model, ids):  # candidate 0 (the true answer) keeps uniform logits; the others lose mass
        logits = torch.zeros((1, ids.shape[1], 50))
        if favour_first.calls % budget.n_choices:
            logits[..., 40] = 10.0  # token 40 never occurs in these answers
        favour_first.calls += 1
        return logits

    favour_first.calls = 0
    monkeypatch.setattr(llm, "sequence_logits", favour_first)
    assert evaluate.faq_choice_accuracy(None, Tok(), budget) == 1.0


def test_resume_rule_keeps_only_rows_of_the_same_budget():
    from dataclasses import asdict

    reuse = run.measured_with(evaluate.BUDGETS["full"])
    assert reuse({"status": "ok", "budget": asdict(evaluate.BUDGETS["full"])})
    assert not reuse({"status": "ok", "budget": asdict(evaluate.BUDGETS["standard"])})
    assert not reuse({"status": "ok"})  # measured before budgets were recorded
    assert reuse({"status": "unsupported", "reason": "no NNCF equivalent"})  # does not depend on the budget
    assert evaluate.budget_name(asdict(evaluate.BUDGETS["standard"])) == "standard"
    assert evaluate.budget_name({"ppl_tokens": 1}) == "custom" and evaluate.budget_name(None) == "unknown"


def test_run_grid_checks_the_budget_first_and_measures_again_rows_of_another_budget(tmp_path, monkeypatch):
    from dataclasses import asdict

    allowed = "allowed values are full, standard, workshop, quick, smoke"
    with pytest.raises(ValueError, match=f"budget='huge' is unknown: {allowed}"):
        run.run_grid("smoke", tmp_path / "s.jsonl", "huge")

    class FakeEvaluator:
        def __init__(self, num_threads, budget):
            self.budget = budget

        def __call__(self, point):
            return {"perplexity": 10.0, "decode_ms_per_token": 5.0, "budget": asdict(self.budget)}

    monkeypatch.setattr(run, "PointEvaluator", FakeEvaluator)
    monkeypatch.setattr(run, "unsupported_reason", lambda point: None)
    out = tmp_path / "s.jsonl"
    assert len(run.run_grid("smoke", out, "smoke")) == 3
    assert run.run_grid("smoke", out, "smoke") == []  # resumed: nothing to do
    again = run.run_grid("smoke", out, "quick")  # another budget: every point measured again
    assert [row["budget"]["kld_tokens_per_source"] for row in again] == [2048] * 3


def test_redo_busy_measures_again_the_rows_timed_on_a_busy_machine():
    from dataclasses import asdict

    row = {"status": "ok", "budget": asdict(evaluate.BUDGETS["standard"])}
    keep, redo = (run.measured_with(evaluate.BUDGETS["standard"], redo_busy=flag) for flag in (False, True))
    assert keep({**row, "cpu_idle_percent": 49.5}) and not redo({**row, "cpu_idle_percent": 49.5})
    assert redo({**row, "cpu_idle_percent": 99.0}) and redo(row)  # quiet, or written before the load was recorded
    assert redo({"status": "unsupported", "cpu_idle_percent": 10.0})  # never timed


def test_every_budget_that_commits_results_times_enough_runs_and_tokens():
    # committed rows need >= 5 timing samples (test_committed_results); decode is the paired difference of an N-token
    # and a 1-token run, and at N=16 prefill noise turned some samples negative on the AVX2 EPYC
    for name in ("full", "standard", "workshop"):  # the budgets of make run and make reproduce
        budget = evaluate.BUDGETS[name]
        assert budget.iterations >= 5 and budget.new_tokens >= 32, name


def test_the_workshop_budget_times_openvino_points_on_genai_2026_only(monkeypatch):
    # 04 reports GenAI 2026 against optimum-intel; GenAI 2024.2 (the seed environment's) is timed by the standard and
    # full budgets (make reproduce), so a make run spends no minutes on a column nothing reads
    timed: list[str] = []

    def fake_run_genai(ir, prompts, *, runtime, **kwargs):
        timed.append(runtime)
        return {"genai_version": runtime, "median_ttft_s": 0.1, "median_tpot_s": 0.01, "runs": [{"tpot_s": 0.01}]}

    monkeypatch.setattr(evaluate.llm, "prompt_with_tokens", lambda *args: "a prompt")
    monkeypatch.setattr(evaluate, "prompt_token_ids", lambda tokenizer, prompts: [[1, 2]] * len(prompts))
    monkeypatch.setattr(evaluate.genai_timing, "run_genai", fake_run_genai)
    row = evaluate.genai_timings("ir", None, "text " * 100, 2, evaluate.BUDGETS["workshop"])
    assert timed == ["2026"] and "genai_2026_tpot_ms" in row and not any(k.startswith("genai_2024") for k in row)
    timed.clear()
    evaluate.genai_timings("ir", None, "text " * 100, 2, evaluate.BUDGETS["standard"])
    assert timed == ["2024.2", "2026"]
