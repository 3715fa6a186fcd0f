"""helpers.latency.cases / runtimes: cases, resumable keys, fixed-length runs and the per-token breakdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.latency import cases as rl
from helpers.latency import runtimes as rt


def test_cases_cover_every_runtime_and_round_two_runs_in_reverse() -> None:
    cases = rl.cases(threads=(2, 1), rounds=2)
    first = [c for c in cases if c.round == 1]
    second = [c for c in cases if c.round == 2]
    assert [(c.runtime, c.weights, c.num_threads) for c in second] == [
        (c.runtime, c.weights, c.num_threads) for c in first[::-1]
    ]
    assert len({c.key for c in cases}) == len(cases)
    assert {c.runtime for c in cases} == set(rl.CASES)
    assert first[0].key == "r1/torch/fp32/t2"


def test_run_row_and_summary() -> None:
    row = rt._run_row(10.0, [10.5, 10.6, 10.7], 10.8, [0.05, 0.07, 0.06])
    assert row["ttft_s"] == pytest.approx(0.5) and row["tpot_s"] == pytest.approx(0.1) and row["new_tokens"] == 3
    assert row["model_s_per_token"] == pytest.approx(0.06) and row["other_s_per_token"] == pytest.approx(0.04)
    summary = rl.summarize([row, {**row, "e2e_s": 1.0}])
    assert summary["median_e2e_s"] == pytest.approx(0.9) and summary["e2e_s_samples"] == pytest.approx([0.8, 1.0])
    assert "settings" not in summary  # torch, ITREX, llama.cpp: nothing read back
    label = "f32 compute, KV cache u8, dyn. quant. group 32, 2 threads"
    assert rl.summarize([{**row, "settings": label}])["settings"] == label  # GenAI's compiled settings, per case


def test_bad_iterations_refused_before_work() -> None:
    with pytest.raises(ValueError, match="iterations=0"):
        rl.run("/nonexistent/x.jsonl", iterations=0)


def test_missing_llama_cpp_is_an_unsupported_row(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "llama_cpp" else real(name))
    reason = rl.unsupported_reason(rl.LatencyCase("llama.cpp", "q4_1"))
    assert reason and "requirements-peers.txt" in reason
    assert rl.unsupported_reason(rl.LatencyCase("torch", "fp32")) is None


@pytest.mark.slow
def test_hf_runs_time_a_fixed_length_with_a_breakdown(tiny_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    from helpers import llm

    model = AutoModelForCausalLM.from_pretrained(str(tiny_dir)).eval()
    tokenizer = llm.load_tokenizer(tiny_dir)
    runs = rt.hf_runs(model, tokenizer, ["To be or not", "Once more unto", "Friends, Romans"], 5, 1, 2)
    assert len(runs) == 2 and all(r["new_tokens"] == 5 for r in runs)
    # model time and TPOT are timed separately: on a busy machine either can come out larger, so only the identity
    # the code guarantees is asserted
    assert all(r["model_s_per_token"] > 0 for r in runs)
    assert all(r["other_s_per_token"] == pytest.approx(r["tpot_s"] - r["model_s_per_token"]) for r in runs)


def test_size_cases_name_their_model_and_the_gguf_quantization() -> None:
    qwen = rl.cases(rounds=2, model="qwen2.5-coder-0.5b-instruct")
    assert len({c.key for c in qwen}) == len(qwen) == 2 * sum(len(w) for w in rl.SIZE_CASES.values())
    assert qwen[0].key == "qwen2.5-coder-0.5b-instruct/r1/torch/fp32/t2"
    assert ("llama.cpp", "q4_k_m") in {(c.runtime, c.weights) for c in qwen}
    assert ("llama.cpp", "q4_1") in {(c.runtime, c.weights) for c in rl.cases(model="smollm2-135m-instruct")}
    assert all(c.model is None and c.model_name == "smollm2-135m-instruct" for c in rl.cases())


def test_only_the_named_cases_run_and_an_unknown_name_is_refused() -> None:
    only = ("genai-2026/int4-sym-g128-all@kvf16", "llama.cpp/gguf")
    picked = rl.cases(rounds=2, model="qwen2.5-coder-1.5b-instruct", settings=True, only=only)
    assert [(c.runtime, c.weights, c.round) for c in picked] == [
        ("genai-2026", "int4-sym-g128-all@kvf16", 1),
        ("llama.cpp", "q4_k_m", 1),
        ("llama.cpp", "q4_k_m", 2),
        ("genai-2026", "int4-sym-g128-all@kvf16", 2),
    ]
    with pytest.raises(ValueError, match="case='genai-2026/int4-sym-g128-all@kvf16' is unknown: allowed values are"):
        rl.cases(model="qwen2.5-coder-1.5b-instruct", only=only[:1])  # a settings case, without settings


def test_bad_model_and_bad_weights_are_refused_naming_the_allowed_values(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="model='gpt-2' is unknown: allowed values are smollm2"):
        rl.cases(model="gpt-2")

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("a bad weights name must be refused before the model is exported")

    monkeypatch.setattr(rl.llm, "export_openvino_llm", no_export)  # on a fresh clone that export took minutes
    with pytest.raises(ValueError, match="weights='int3' is unknown: allowed values are fp32, int8"):
        rl.ov_weights("int3")


def test_a_group_size_the_model_cannot_take_is_an_unsupported_row() -> None:
    case = rl.LatencyCase("genai-2026", "int4-sym-g128-all", model="smollm2-135m-instruct")
    reason = rl.unsupported_reason(case)
    assert reason and "group_size=128" in reason and "576" in reason


def test_genai_settings_are_parsed_from_the_weights_name_and_unknown_ones_refused() -> None:
    assert rt.genai_settings("int8") == ("f32", {})
    assert rt.genai_settings("int8@bf16") == ("bf16", {})
    assert rt.genai_settings("int4-sym-g128-all@dq0+kvf16") == (
        "f32", {"DYNAMIC_QUANTIZATION_GROUP_SIZE": "0", "KV_CACHE_PRECISION": "f16"}
    )
    assert rt.genai_settings("int4-sym-g128-all@sdpa+kvf16") == (
        "f32", {"ATTENTION_BACKEND": "SDPA", "KV_CACHE_PRECISION": "f16"}
    )
    with pytest.raises(ValueError, match="setting 'fast' is unknown: allowed values are bf16, dq0"):
        rt.genai_settings("int8@fast")
    settings = rl.cases(rounds=1, model="qwen2.5-coder-1.5b-instruct", settings=True)
    assert "qwen2.5-coder-1.5b-instruct/r1/genai-2026/int4-sym-g128-all@dq0/t2" in {c.key for c in settings}
    with pytest.raises(ValueError, match="settings=True needs a model"):
        rl.cases(settings=True)
