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
