"""helpers.llm on a tiny random Llama built here (hidden 64, 2 layers, 512-token BPE): plumbing only, no quality.

The ITREX and OpenVINO tests quantize for real (QBits kernels, NNCF) and read back what was stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from helpers import llm as L
from helpers.core.settings import DATA_DIR
from helpers.quant.woq_config import WoqConfig, to_openvino

pytestmark = pytest.mark.slow


def _text(chars: int) -> str:
    return (DATA_DIR / "shakespeare.txt").read_text(encoding="utf-8")[:chars]


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep neural-compressor's workspace and any cached IR out of the real cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COOKBOOK_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def tokenizer(tiny_dir: Path):
    return L.load_tokenizer(tiny_dir)


@pytest.fixture(scope="module")
def torch_model(tiny_dir: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_dir)).eval()


@pytest.fixture(scope="module")
def woq_int4(tiny_dir: Path):
    return L.build_woq_pipeline(WoqConfig(weight_dtype="int4_clip", group_size=32), tiny_dir, num_threads=2)


@pytest.fixture(scope="module")
def fp32_ir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return L.export_openvino_llm(tiny_dir, tmp_path_factory.mktemp("ov") / "tiny-fp32")


def test_make_prompt_uses_chat_template(tokenizer) -> None:
    prompt = L.make_prompt(tokenizer, "Who is Banquo?", context="Act I.")
    assert prompt == "<|im_start|>user\nAct I.\n\nWho is Banquo?<|im_end|>\n<|im_start|>assistant\n"
    long = L.prompt_with_tokens(tokenizer, "Who?", _text(5000), target_tokens=100)
    assert abs(len(tokenizer(long, add_special_tokens=False).input_ids) - 100) <= 3


def test_measure_generation_keys_and_counts(torch_model, tokenizer) -> None:
    prompt = L.make_prompt(tokenizer, "Who is Macbeth?")
    result = L.measure_generation(torch_model, tokenizer, prompt, max_new_tokens=6, warmup=1, iterations=2)
    for key in ("prefill_ms", "prefill_ms_p90", "e2e_s", "e2e_s_p90"):
        assert math.isfinite(result[key]) and result[key] > 0
    # a paired difference: finite, but its sign is at the mercy of a busy machine (then "notes" says so)
    assert math.isfinite(result["decode_ms_per_token"]) and math.isfinite(result["decode_ms_per_token_p90"])
    assert isinstance(result["notes"], list) and 0 <= result["cpu_idle_percent"] <= 100
    assert result["new_tokens"] == 6  # min_new_tokens: EOS cannot stop it early
    assert result["prompt_tokens"] == len(tokenizer(prompt, add_special_tokens=False).input_ids)
    assert result["iterations"] == 2 and isinstance(result["text"], str)
    assert result["prefill_ms_p90"] >= result["prefill_ms"]
    with pytest.raises(ValueError, match="max_new_tokens"):
        L.measure_generation(torch_model, tokenizer, prompt, max_new_tokens=1)


def test_perplexity_is_finite_and_window_independent_when_window_covers_text(torch_model, tokenizer) -> None:
    text = _text(3000)
    whole = L.perplexity(torch_model, tokenizer, text, max_tokens=120, window=128, stride=128)
    slid = L.perplexity(torch_model, tokenizer, text, max_tokens=120, window=64, stride=32)
    assert math.isfinite(whole) and 1 < whole < 10 * len(tokenizer)
    assert math.isfinite(slid) and slid != whole  # less context per token
    assert L.perplexity(torch_model, tokenizer, text, max_tokens=120, window=200, stride=50) == pytest.approx(whole)
    with pytest.raises(ValueError, match="stride"):
        L.perplexity(torch_model, tokenizer, text, window=32, stride=64)


def test_woq_rtn_int4_clip_holds_what_was_asked(woq_int4) -> None:
    llm, info = woq_int4
    assert type(llm).__name__ == "WeightOnlyQuantPipeline"
    assert info["verified"] and info["quantized_linear"] == 14  # 2 layers x (q, k, v, o, gate, up, down)
    assert info["weight_dtypes"] == {"int4_clip": 14} and info["group_sizes"] == [32]
    assert info["float_linear"] == ["lm_head"]
    row = info["inspection"]["modules"][0]
    assert row["class"] == "QuantizedLinearQBits" and row["source"] == "packed blob"
    assert row["storage_dtype"] == "int8" and row["compute_dtype"] == "fp32"
    model = llm.pipeline.model
    with pytest.raises(L.QuantizationMismatch, match="'int4_clip' stored, 'nf4' asked"):
        L.assert_woq_matches(model, WoqConfig(weight_dtype="nf4", group_size=32))
    with pytest.raises(L.QuantizationMismatch, match="group size 32 stored, 128 asked"):
        L.assert_woq_matches(model, WoqConfig(weight_dtype="int4_clip", group_size=128))
    assert isinstance(llm.invoke("To be"), str)


def test_woq_model_inside_pipeline_measures_and_scores(woq_int4, tokenizer) -> None:
    llm, _ = woq_int4
    result = L.measure_generation(llm, None, L.make_prompt(tokenizer, "Who?"), max_new_tokens=4, iterations=1)
    assert result["new_tokens"] == 4
    assert math.isfinite(L.perplexity(llm, None, _text(2000), max_tokens=80, window=64, stride=32))


def test_woq_skip_lm_head_keeps_it_fp32_and_unchanged(tiny_dir: Path) -> None:
    import torch

    cfg = WoqConfig(weight_dtype="nf4", group_size=32, llm_int8_skip_modules=("lm_head",))
    llm, info = L.build_woq_pipeline(cfg, tiny_dir, num_threads=2)
    assert info["weight_dtypes"] == {"nf4": 14} and "lm_head" in info["notes"][0]
    head = llm.pipeline.model.lm_head
    assert type(head) is torch.nn.Linear and head.weight.dtype == torch.float32
    # assert_woq_matches already compared it with the checkpoint; a changed value must be caught
    head.weight.data[0, 0] += 1e-3
    with pytest.raises(L.QuantizationMismatch, match="lm_head: kept fp32 but its values changed"):
        L.assert_woq_matches(llm.pipeline.model, cfg, reference_dir=tiny_dir)


def test_woq_refusals(tiny_dir: Path) -> None:
    with pytest.raises(ValueError, match="llm_int8_skip_modules"):
        L.build_woq_pipeline(WoqConfig(llm_int8_skip_modules=("down_proj",)), tiny_dir, num_threads=2)
    with pytest.raises(ValueError, match="needs calibration_texts"):
        L.build_woq_pipeline(WoqConfig(weight_dtype="int4_clip", algorithm="AWQ"), tiny_dir, num_threads=2)


def test_woq_calibration_loader_shapes(tokenizer) -> None:
    texts = [_text(400), _text(800)[400:]]
    awq = L.woq_calibration_loader("AWQ", tokenizer, texts, max_tokens=16, batches=1)
    teq = L.woq_calibration_loader("TEQ", tokenizer, texts, max_tokens=16)
    assert awq.batch_size == 1 and len(awq) == 1 and tuple(next(iter(awq)).shape) == (1, 16)
    ids, labels = next(iter(teq))
    assert len(teq) == 2 and ids is labels and tuple(ids.shape) == (1, 16)


def test_openvino_export_is_fp32_cached_and_matches_torch(fp32_ir: Path, tiny_dir: Path, torch_model, tokenizer):
    report = L.assert_ov_matches(fp32_ir, "fp32")
    assert report["linear_weight_types"] == {"f32": 14}
    assert not set(report["constants_by_type"]) & set(L.OV_LOW_BIT_TYPES)
    assert (fp32_ir / "tokenizer.json").is_file() and (fp32_ir / L.OV_META_NAME).is_file()
    stamp = (fp32_ir / L.OV_XML_NAME).stat().st_mtime_ns
    assert L.export_openvino_llm(tiny_dir, fp32_ir) == fp32_ir
    assert (fp32_ir / L.OV_XML_NAME).stat().st_mtime_ns == stamp  # cached, not rebuilt
    model, ov_tokenizer = L.load_openvino_llm(fp32_ir, num_threads=1)  # raised to 2 for OpenVINO
    text = _text(3000)
    ov_ppl = L.perplexity(model, ov_tokenizer, text, max_tokens=120, window=64, stride=32)
    torch_ppl = L.perplexity(torch_model, tokenizer, text, max_tokens=120, window=64, stride=32)
    assert math.isfinite(ov_ppl) and ov_ppl == pytest.approx(torch_ppl, rel=1e-3)
    result = L.measure_generation(model, ov_tokenizer, L.make_prompt(tokenizer, "Who?"), max_new_tokens=4)
    assert result["new_tokens"] == 4


def test_openvino_nf4_is_real_nf4(fp32_ir: Path) -> None:
    cfg = WoqConfig(weight_dtype="nf4", group_size=32)
    path = L.compress_openvino_llm(cfg, fp32_ir)
    report = L.assert_ov_matches(path, cfg)
    assert report["rt_info_mode"] == "nf4"
    assert report["linear_weight_types"] == {"nf4": 14} and report["constants_by_type"]["nf4"] == 14
    assert report["group_sizes"] == [32] and report["zero_points"] == {"None": 14}
    edges = {x["role"]: x["weight_type"] for x in report["layers"] if x["role"] != "linear"}
    assert edges == {"embedding": "u8", "lm_head": "u8"}  # NNCF's int8 backup precision
    assert L.compress_openvino_llm(cfg, fp32_ir) == path  # cached by plan key
    with pytest.raises(L.QuantizationMismatch, match="int4_sym asked"):
        L.assert_ov_matches(path, "int4_sym")


@pytest.mark.parametrize(("scheme", "zero_point"), [("sym", "scalar=8"), ("asym", "per-group")])
def test_openvino_int4_gives_u4_with_the_right_zero_points(fp32_ir: Path, scheme: str, zero_point: str) -> None:
    cfg = WoqConfig(weight_dtype="int4_clip", scheme=scheme, group_size=32)
    path = L.compress_openvino_llm(cfg, fp32_ir)
    report = L.assert_ov_matches(path, to_openvino(cfg))
    assert set(report["linear_weight_types"]) <= {"u4", "i4"}
    assert report["zero_points"] == {zero_point: 14}
    other = "int4_asym" if scheme == "sym" else "int4_sym"
    with pytest.raises(L.QuantizationMismatch, match="symmetric asked"):
        L.assert_ov_matches(path, other)


def test_openvino_langchain_llm_answers(fp32_ir: Path) -> None:
    path = L.compress_openvino_llm(WoqConfig(weight_dtype="int8", group_size=-1), fp32_ir)
    L.assert_ov_matches(path, "int8_sym")
    llm = L.openvino_langchain_llm(path, num_threads=2, max_new_tokens=4)
    assert type(llm).__name__ == "HuggingFacePipeline"
    assert type(llm.pipeline.model).__name__ == "OVModelForCausalLM"
    assert isinstance(llm.invoke("To be"), str)


def test_data_aware_plan_needs_texts(fp32_ir: Path) -> None:
    plan = to_openvino(WoqConfig(weight_dtype="int4_clip", group_size=32), scale_estimation=True)
    with pytest.raises(ValueError, match="needs calibration_texts"):
        L.compress_openvino_llm(plan, fp32_ir)


def test_every_ir_is_stateful_even_after_itrex_was_imported(fp32_ir: Path) -> None:
    # the ITREX tests above imported ITREX into this process; the export runs in a fresh one and stays stateful
    report = L.inspect_openvino_ir(fp32_ir)
    assert report["stateful"] and report["inputs"] == ["attention_mask", "beam_idx", "input_ids", "position_ids"]
    path = L.compress_openvino_llm(WoqConfig(weight_dtype="int4_clip", group_size=32), fp32_ir)
    assert L.assert_ov_matches(path, "int4_sym")["stateful"]


def test_a_non_stateful_ir_is_refused(tmp_path: Path) -> None:
    import openvino as ov
    import openvino.runtime.opset13 as ops

    params = [ops.parameter([1, -1], np.int64, name=n) for n in ("input_ids", "attention_mask")]
    params += [ops.parameter([1, 2, -1, 8], np.float32, name=f"past_key_values.{i}.key") for i in range(3)]
    model = ov.Model([ops.convert(p, "f32") for p in params[:2]] + params[2:], params, "fake")
    ov.save_model(model, tmp_path / L.OV_XML_NAME)
    with pytest.raises(L.NotStatefulError, match="5 inputs .*not a stateful IR with 3 or 4 inputs"):
        L.check_stateful(tmp_path / L.OV_XML_NAME)


def test_impossible_group_size_is_refused_before_quantizing(tiny_dir: Path, fp32_ir: Path) -> None:
    # the tiny model's layers take 64 and 128 input channels: 128 does not divide 64
    allowed = "Allowed values for this model: -1, 1, 4, 8, 16, 32, 64"
    with pytest.raises(ValueError, match=f"group_size=128 does not divide .*{allowed}"):
        L.build_woq_pipeline(WoqConfig(weight_dtype="nf4", group_size=128), tiny_dir, num_threads=2)
    with pytest.raises(ValueError, match=f"group_size=128 .*NNCF 2.11 raises inside compress_weights. {allowed}"):
        L.compress_openvino_llm(WoqConfig(weight_dtype="int4_clip", group_size=128), fp32_ir)


def test_the_inspector_counts_matrices_not_ropes_frequency_vector(tmp_path: Path) -> None:
    """optimum-intel 2.x exports RoPE as a MatMul with a [1, d/2, 1] constant: not a layer's weight."""
    import openvino as ov
    from openvino.runtime import opset13 as ops

    x = ops.parameter([1, 4, 8], np.float32, name="x")
    linear = ops.matmul(x, ops.constant(np.ones((16, 8), np.float32)), False, True)
    linear.set_friendly_name("__module.model.layers.0.mlp.up_proj/aten::linear/MatMul")
    positions = ops.parameter([1, 1, 4], np.float32, name="positions")
    rope = ops.matmul(ops.constant(np.ones((1, 4, 1), np.float32)), positions, False, False)
    rope.set_friendly_name("__module.model.rotary_emb/aten::matmul/MatMul")
    ov.save_model(ov.Model([linear, rope], [x, positions]), tmp_path / L.OV_XML_NAME, compress_to_fp16=False)
    found = L.inspect_openvino_ir(tmp_path)
    assert [layer["shape"] for layer in found["layers"]] == [[16, 8]]  # the Linear only, not RoPE's [1, 4, 1]
    assert found["weights_by_type"] == {"f32": 1}
