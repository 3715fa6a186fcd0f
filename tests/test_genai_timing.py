"""helpers.core.genai_timing: one timing protocol for OpenVINO GenAI 2024.2 (main env) and 2026 (runtime-only env)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import llm
from helpers.core import genai_timing

pytestmark = pytest.mark.slow


def test_runtime_names_are_validated() -> None:
    with pytest.raises(ValueError, match="runtime='2023' is not supported: allowed values are 2024.2, 2026"):
        genai_timing.genai_python("2023")


def test_missing_runtime_env_names_the_make_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(genai_timing.TODAY_VENV_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="make setup-today"):
        genai_timing.genai_python("2026")


@pytest.fixture(scope="module")
def stateful_ir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return llm.export_openvino_llm(tiny_dir, tmp_path_factory.mktemp("ov") / "tiny-fp32")


@pytest.mark.parametrize("runtime", genai_timing.RUNTIMES)
def test_both_runtimes_time_the_same_ir_with_a_fixed_output_length(stateful_ir: Path, runtime: str) -> None:
    assert (stateful_ir / "openvino_tokenizer.xml").is_file() and (stateful_ir / "openvino_detokenizer.xml").is_file()
    prompts = [f"To be or not to be, {i}" for i in range(3)]
    result = genai_timing.run_genai(stateful_ir, prompts, runtime=runtime, new_tokens=6, warmup=1, iterations=2)
    assert result["genai_version"].startswith(runtime)
    assert len(result["runs"]) == 2 and all(run["new_tokens"] == 6 for run in result["runs"])
    assert result["median_ttft_s"] > 0 and result["median_tpot_s"] > 0 and result["median_e2e_s"] > 0


@pytest.mark.parametrize("runtime", genai_timing.RUNTIMES)
def test_token_ids_go_in_as_given(stateful_ir: Path, runtime: str) -> None:
    from helpers.llm.genai import prompt_token_ids

    prompts = [f"<|im_start|>user\nMacbeth {i}?<|im_end|>\n<|im_start|>assistant\n" for i in range(3)]
    ids = prompt_token_ids(stateful_ir, prompts)
    result = genai_timing.run_genai(
        stateful_ir, prompts, runtime=runtime, new_tokens=5, warmup=1, iterations=2, prompt_ids=ids
    )
    assert result["prompt_input"] == "token ids" and all(run["new_tokens"] == 5 for run in result["runs"])
    if "genai_input_tokens" in result["runs"][0]:  # 2026 reports what it was fed
        assert [run["genai_input_tokens"] for run in result["runs"]] == [len(ids[1]), len(ids[2])]
    with pytest.raises(RuntimeError, match="prompt_ids: 1 given for 3 prompts"):
        genai_timing.run_genai(
            stateful_ir, prompts, runtime=runtime, new_tokens=2, warmup=1, iterations=2, prompt_ids=ids[:1]
        )


def test_settings_read_back_are_said_in_one_phrase() -> None:
    found = {
        "INFERENCE_NUM_THREADS": "2",
        "INFERENCE_PRECISION_HINT": "f32",
        "KV_CACHE_PRECISION": "u8",
        "KEY_CACHE_PRECISION": "u8",
        "VALUE_CACHE_PRECISION": "u8",
        "DYNAMIC_QUANTIZATION_GROUP_SIZE": "32",
    }
    assert genai_timing.settings_label(found) == "f32 compute, KV cache u8, dyn. quant. group 32, 2 threads"
    split = {**found, "VALUE_CACHE_PRECISION": "f16", "DYNAMIC_QUANTIZATION_GROUP_SIZE": "0"}
    assert genai_timing.settings_label(split) == "f32 compute, KV cache K u8 / V f16, dyn. quant. group off, 2 threads"
    assert genai_timing.settings_label(None) == "settings not read back"
    assert genai_timing.settings_label({**found, "ATTENTION_BACKEND": "SDPA"}).endswith("2 threads, attention SDPA")


def test_the_attention_backend_goes_to_the_pipeline_and_is_read_back_as_given(stateful_ir: Path) -> None:
    prompts = [f"To be or not to be, {i}" for i in range(3)]
    result = genai_timing.run_genai(
        stateful_ir, prompts, runtime="2026", new_tokens=4, warmup=1, iterations=2,
        properties={"ATTENTION_BACKEND": "SDPA", "KV_CACHE_PRECISION": "f16"},
    )
    compiled = result["compiled_properties"]  # the CPU plugin's compile did not see the pipeline's own property
    assert compiled["ATTENTION_BACKEND"] == "SDPA" and compiled["KV_CACHE_PRECISION"] == "f16"


def test_a_gguf_file_has_no_ir_to_read_back(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    assert genai_timing.read_back(str(gguf), {}) is None
