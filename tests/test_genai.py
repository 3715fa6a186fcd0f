"""helpers.llm.genai on the tiny random Llama (conftest ``tiny_dir``): a stateful IR run by OpenVINO GenAI 2024.2.

Plumbing only: the model is random, its text is noise (with split UTF-8 characters, which the streamer must survive).
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.prompts import PromptTemplate

from helpers.llm import check_stateful
from helpers.llm import genai as G

pytestmark = pytest.mark.slow

PROMPT = "Macbeth shall sleep no more"


@pytest.fixture(scope="module")
def ir_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Stateful fp32 IR of the tiny model, built by the cookbook's export (a fresh process, so ITREX imported by
    other tests cannot push optimum-intel onto its non-stateful ONNX path), tokenizer and tokenizer IRs inside."""
    from helpers import llm

    return llm.export_openvino_llm(tiny_dir, tmp_path_factory.mktemp("genai") / "tiny-ir")


def test_convert_tokenizer_irs_writes_both(tiny_dir: Path, tmp_path: Path) -> None:
    assert G.convert_tokenizer_irs(tiny_dir, tmp_path) == (tmp_path / G.TOKENIZER_XML, tmp_path / G.DETOKENIZER_XML)
    assert all(p.is_file() for p in (tmp_path / G.TOKENIZER_XML, tmp_path / G.DETOKENIZER_XML))


@pytest.fixture(scope="module")
def llm(ir_dir: Path) -> G.OpenVINOGenAILLM:
    return G.OpenVINOGenAILLM(model_dir=ir_dir, num_threads=2, max_new_tokens=24)


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: str, **kwargs: object) -> None:
        self.tokens.append(token)


def test_ir_is_stateful_and_a_stateless_one_is_refused(ir_dir: Path, tmp_path: Path) -> None:
    names = check_stateful(ir_dir / G.MODEL_XML)
    assert len(names) in (3, 4) and "input_ids" in names and "beam_idx" in names
    assert (ir_dir / G.TOKENIZER_XML).is_file() and (ir_dir / G.DETOKENIZER_XML).is_file()
    # a one-input IR (the tokenizer) stands in for an IR that is not stateful
    shutil.copy(ir_dir / G.TOKENIZER_XML, tmp_path / G.MODEL_XML)
    shutil.copy((ir_dir / G.TOKENIZER_XML).with_suffix(".bin"), tmp_path / "openvino_model.bin")
    with pytest.raises(ValueError, match="1 inputs.*stateful IR with 3 or 4 inputs"):
        check_stateful(tmp_path / G.MODEL_XML)


def test_invoke_returns_greedy_text_through_langchain(llm: G.OpenVINOGenAILLM) -> None:
    text = llm.invoke(PROMPT)
    assert isinstance(text, str) and text.strip()
    assert "<|im_end|>" not in text  # the detokenizer skips special tokens
    assert llm.invoke(PROMPT) == text  # greedy: deterministic
    chain = PromptTemplate.from_template("{question}") | llm
    assert chain.invoke({"question": PROMPT}) == text
    params = llm._identifying_params
    assert params["model_dir"] == str(llm.model_dir) and params["max_new_tokens"] == 24
    assert llm._llm_type == "openvino_genai"


def test_ignore_eos_fixes_the_number_of_new_tokens(llm: G.OpenVINOGenAILLM) -> None:
    for n in (5, 17):
        run = llm.generate_timed(PROMPT, max_new_tokens=n, ignore_eos=True)
        assert run["new_tokens"] == n
        assert run["ttft_ms"] > 0 and run["e2e_s"] > 0 and run["decode_ms_per_token"] > 0
        assert llm.invoke(PROMPT, max_new_tokens=n, ignore_eos=True) == run["text"]


def test_stream_chunks_join_to_the_greedy_output(llm: G.OpenVINOGenAILLM) -> None:
    handler = _Tokens()
    chunks = list(llm.stream(PROMPT, config={"callbacks": [handler]}))
    assert len(chunks) >= 3
    assert "".join(chunks) == llm.invoke(PROMPT)
    assert handler.tokens == chunks
    first = next(iter(llm.stream(PROMPT)))  # leaving early stops the worker (the generator is closed)
    assert first == chunks[0]


def test_stop_sequence_truncates_invoke_and_stream(llm: G.OpenVINOGenAILLM) -> None:
    greedy = llm.invoke(PROMPT)
    middle = len(greedy) // 2
    stop = greedy[middle : middle + 3]
    expected = greedy[: greedy.find(stop)]
    assert stop and len(expected) < len(greedy)
    assert llm.invoke(PROMPT, stop=[stop]) == expected
    assert "".join(llm.stream(PROMPT, stop=[stop])) == expected
    with_default = G.OpenVINOGenAILLM(model_dir=llm.model_dir, max_new_tokens=24, stop=[stop])
    assert with_default.invoke(PROMPT) == expected
    assert with_default.invoke(PROMPT, stop=[]) == greedy  # a call's own list replaces the default
    # GenAI was told to stop: fewer tokens generated than asked
    streamer = llm._streamer([stop])
    llm.pipeline().generate(llm.encode(PROMPT), llm.generation_config(), streamer)
    assert len(streamer.tokens) < 24


def test_stop_scanner_holds_back_a_possible_stop_start() -> None:
    scanner = G._StopScanner(["</s>", "\n\n"])
    assert [scanner.feed(x) for x in ("ab<", "/x", "y\n", "z</", "s>tail")] == ["ab", "</x", "y", "\nz", ""]
    assert scanner.stopped and scanner.flush() == ""
    scanner = G._StopScanner(["END"])
    assert scanner.feed("xE") == "x" and scanner.flush() == "E"
    assert G.cut_at_stop("a--b++c", ["++", "--"]) == "a" and G.cut_at_stop("abc", ["", "z"]) == "abc"


def test_bad_inputs_are_refused_before_loading(ir_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    shutil.copy(ir_dir / G.MODEL_XML, tmp_path / G.MODEL_XML)
    with pytest.raises(FileNotFoundError, match=r"model_dir=.* has no openvino_tokenizer\.xml: allowed is a folder"):
        G.OpenVINOGenAILLM(model_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="tokenizer_dir="):
        G.convert_tokenizer_irs(tmp_path / "missing", tmp_path)
    bad = {
        "num_threads": (0, "integers >= 1"),
        "max_new_tokens": (0, "integers >= 1"),
        "top_p": (1.5, r"floats in \(0, 1\]"),
        "precision_hint": ("f8", "None, 'f32', 'bf16'"),
    }
    for field, (value, allowed) in bad.items():
        with pytest.raises(ValueError, match=rf"{field}={value!r} is invalid: .*{allowed}"):
            G.OpenVINOGenAILLM(model_dir=ir_dir, **{field: value})
    fresh = G.OpenVINOGenAILLM(model_dir=ir_dir, num_threads=1)
    with pytest.raises(ValueError, match=r"temperature=0 is invalid: allowed values are floats > 0 \(with do_"):
        fresh.invoke(PROMPT, do_sample=True, temperature=0)
    with pytest.raises(ValueError, match=r"\['beams'\] are invalid: allowed names are"):
        fresh.invoke(PROMPT, beams=2)
    assert fresh._pipe is None  # nothing was loaded
    with caplog.at_level(logging.WARNING, logger="helpers.llm.genai"):
        assert fresh.plugin_config()["INFERENCE_NUM_THREADS"] == "2"
    assert "num_threads=1 raised to 2" in caplog.text


def test_from_model_dir_converts_missing_tokenizer_irs(ir_dir: Path, tiny_dir: Path, tmp_path: Path) -> None:
    for path in ir_dir.glob("openvino_model.*"):
        shutil.copy(path, tmp_path / path.name)
    llm = G.OpenVINOGenAILLM.from_model_dir(tmp_path, tokenizer_dir=tiny_dir, max_new_tokens=6, precision_hint="f32")
    assert (tmp_path / G.TOKENIZER_XML).is_file() and (tmp_path / G.DETOKENIZER_XML).is_file()
    assert llm.plugin_config()["INFERENCE_PRECISION_HINT"] == "f32"
    assert isinstance(llm.invoke(PROMPT), str)


def test_generation_config_keeps_the_models_eos(llm: G.OpenVINOGenAILLM, ir_dir: Path) -> None:
    # a fresh openvino_genai.GenerationConfig has eos_token_id -1: generation would run past the end of the answer
    eos = json.loads((ir_dir / "generation_config.json").read_text())["eos_token_id"]
    assert llm.pipeline().get_generation_config().eos_token_id == eos
    assert llm.generation_config(max_new_tokens=5).eos_token_id == eos


def test_chat_prompts_go_in_as_the_models_own_token_ids(llm: G.OpenVINOGenAILLM, tiny_dir: Path) -> None:
    # the 2024.2 tokenizer IR would split <|im_start|> into plain pieces; the wrapper feeds the HF tokenizer's ids
    from transformers import AutoTokenizer

    chat = "<|im_start|>user\nMacbeth?<|im_end|>\n<|im_start|>assistant\n"
    expected = AutoTokenizer.from_pretrained(tiny_dir).encode(chat, add_special_tokens=False)
    inputs = llm.encode(chat)
    assert inputs.input_ids.data.tolist() == [expected] and inputs.attention_mask.data.tolist() == [[1] * len(expected)]
    assert isinstance(llm.invoke(chat), str)
