"""Notebook 06: Per-runtime timing loops for :mod:`helpers.latency.cases`: HF ``generate`` (torch, ITREX,
optimum-intel), OpenVINO GenAI (both runtimes, through :mod:`helpers.core.genai_timing`) and llama.cpp.

Each returns one dict per timed run: ``ttft_s``, ``tpot_s``, ``e2e_s``, ``new_tokens`` and, where the runtime lets
us see it, ``model_s_per_token`` (median time of one decode step's model execution: the OpenVINO infer request's
own latency, the torch forward, llama.cpp's eval, GenAI's per-token inference) and ``other_s_per_token`` (TPOT minus
that: the generation loop, sampling, detokenization, Python glue).
"""

from __future__ import annotations

import functools
import statistics
import time
from pathlib import Path
from typing import Any

from helpers import llm, models
from helpers.core import genai_timing
from helpers.llm.genai import prompt_token_ids
from helpers.quant.woq_config import WoqConfig


def _run_row(start: float, stamps: list[float], end: float, model_steps: list[float] | None) -> dict[str, Any]:
    n = len(stamps)
    tpot = (stamps[-1] - stamps[0]) / (n - 1) if n > 1 else None
    row: dict[str, Any] = {"ttft_s": stamps[0] - start if stamps else None, "tpot_s": tpot, "e2e_s": end - start}
    row["new_tokens"] = n
    if model_steps and tpot is not None:
        row["model_s_per_token"] = statistics.median(model_steps)
        row["other_s_per_token"] = tpot - row["model_s_per_token"]
    return row


def load_hf_style(case: Any, ir: Path | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of a torch / ITREX / optimum-intel case (fixed threads already set by the caller)."""
    model_dir = models.causal_lm_dir(model=case.model_name)
    if case.runtime == "torch":
        import torch
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32).eval()
        return model, llm.load_tokenizer(model_dir)
    if case.runtime == "itrex":

        dtype, group = case.weights.split("-g")
        pipe, _ = llm.build_woq_pipeline(
            WoqConfig(weight_dtype=dtype, group_size=int(group)), model_dir, num_threads=case.num_threads
        )
        return llm.unwrap_llm(pipe)
    if case.runtime == "optimum-intel":
        return llm.load_openvino_llm(ir, case.num_threads)  # optimum-intel: ``ir`` is the case's IR folder
    raise ValueError(f"runtime={case.runtime!r} is not an HF-generate runtime: allowed torch, itrex, optimum-intel")


def _timed_forward(model: Any, steps: list[float]) -> None:
    """Record each forward's model-execution time: the infer request's latency on OpenVINO, the forward on torch."""
    inner = model.forward

    @functools.wraps(inner)  # generate() validates its kwargs against forward's signature (followed via __wrapped__)
    def forward(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        out = inner(*args, **kwargs)
        request = getattr(model, "request", None)
        steps.append(request.latency / 1000 if request is not None else time.perf_counter() - start)
        return out

    model.forward = forward


def hf_runs(
    model: Any, tokenizer: Any, prompts: list[str], new_tokens: int, warmup: int, iterations: int
) -> list[dict]:
    """Greedy ``generate`` with a fixed output length and a timestamping streamer, per prompt."""
    import torch
    from transformers.generation.streamers import BaseStreamer

    class Stamps(BaseStreamer):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.prompt_seen = False

        def put(self, value: Any) -> None:
            if self.prompt_seen:  # generate() first puts the prompt ids, then one token per step
                self.times.append(time.perf_counter())
            self.prompt_seen = True

        def end(self) -> None:
            pass

    steps: list[float] = []
    _timed_forward(model, steps)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    runs = []
    for i, prompt in enumerate(prompts[: warmup + iterations]):
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        streamer, steps[:] = Stamps(), []
        start = time.perf_counter()
        with torch.inference_mode():
            model.generate(
                **inputs,
                max_new_tokens=new_tokens,
                min_new_tokens=new_tokens,
                do_sample=False,
                num_beams=1,
                pad_token_id=pad,
                streamer=streamer,
            )
        end = time.perf_counter()
        if i >= warmup:
            runs.append(_run_row(start, streamer.times, end, steps[1:]))  # steps[0] is the prefill
    return runs


def genai_runs(
    ir: Path, prompts: list[str], case: Any, new_tokens: int, warmup: int, iterations: int, gguf: Path | None = None
) -> list[dict]:
    """The same prompts through OpenVINO GenAI (``genai-2024.2`` or ``genai-2026``; settings after ``@`` in the
    weights name, see :func:`genai_settings`), on the IR folder ``ir`` or, given ``gguf``, on that GGUF file read
    directly (the IR's tokenizer still makes the ids)."""
    runtime = case.runtime.removeprefix("genai-")
    hint, properties = genai_settings(case.weights)
    result = genai_timing.run_genai(
        gguf or ir,
        prompts,
        runtime=runtime,
        new_tokens=new_tokens,
        threads=case.num_threads,
        warmup=warmup,
        iterations=iterations,
        hint=hint,
        properties=properties,
        prompt_ids=prompt_token_ids(ir, prompts),  # the same tokens as every other runtime
    )
    settings = genai_timing.settings_label(result.get("compiled_properties"))  # what the plugin compiled with
    runs = []
    for run in result["runs"]:
        row = {**run, "settings": settings}
        steps = run.get("genai_token_infer_s")
        if steps and run.get("tpot_s") is not None:
            row["model_s_per_token"] = statistics.median(steps[1:])
            row["other_s_per_token"] = run["tpot_s"] - row["model_s_per_token"]
        runs.append(row)
    return runs


#: Settings a weights name may carry after ``@`` (``+`` between several): the precision hint, a CPU plugin property,
#: or the pipeline's attention backend.
GENAI_SETTINGS = {
    "bf16": ("hint", "bf16"),
    "dq0": ("DYNAMIC_QUANTIZATION_GROUP_SIZE", "0"),  # dynamic quantization of activations off
    "dq128": ("DYNAMIC_QUANTIZATION_GROUP_SIZE", "128"),
    "kvf16": ("KV_CACHE_PRECISION", "f16"),
    "sdpa": ("ATTENTION_BACKEND", "SDPA"),  # the stateful model's attention instead of GenAI's default paged attention
}


def genai_settings(weights: str) -> tuple[str, dict[str, str]]:
    """``(precision hint, plugin properties)`` of a weights name: ``int8@bf16`` -> ("bf16", {}),
    ``int4-sym-g128-all@dq0+kvf16`` -> ("f32", {...}); the default hint is f32 (see :data:`GENAI_SETTINGS`)."""
    hint, properties = "f32", {}
    names = weights.split("@", 1)[1].split("+") if "@" in weights else []
    for name in names:
        if name not in GENAI_SETTINGS:
            allowed = ", ".join(GENAI_SETTINGS)
            raise ValueError(f"weights={weights!r}: setting {name!r} is unknown: allowed values are {allowed}")
        key, value = GENAI_SETTINGS[name]
        if key == "hint":
            hint = value
        else:
            properties[key] = value
    return hint, properties


def llama_cpp_runs(
    gguf: Path, prompts: list[str], case: Any, new_tokens: int, warmup: int, iterations: int
) -> list[dict]:
    """llama.cpp on the packaged GGUF: streamed completion with EOS suppressed (fixed length), perf counters."""
    import llama_cpp

    model = models.load_llama_cpp(gguf, case.num_threads)
    runs = []
    for i, prompt in enumerate(prompts[: warmup + iterations]):
        model.reset()  # no prefix reuse from the previous prompt
        llama_cpp.llama_perf_context_reset(model.ctx)
        stamps: list[float] = []
        start = time.perf_counter()
        for _ in model.create_completion(
            prompt,
            max_tokens=new_tokens,
            temperature=0.0,
            stream=True,
            logit_bias={model.token_eos(): -1e9},
        ):
            stamps.append(time.perf_counter())
        end = time.perf_counter()
        perf = llama_cpp.llama_perf_context(model.ctx)
        if i >= warmup:
            row = _run_row(start, stamps, end, None)
            if perf.n_eval > 0 and row["tpot_s"] is not None:
                row["model_s_per_token"] = perf.t_eval_ms / perf.n_eval / 1000
                row["other_s_per_token"] = row["tpot_s"] - row["model_s_per_token"]
                row["llama_new_tokens"] = int(perf.n_eval) + 1
            runs.append(row)
    return runs


#: llama-cpp-python's prompt lookup (``LlamaPromptLookupDecoding``): its documentation advises 2 predicted tokens on
#: CPU-only machines (10, its default, suits GPUs); n-grams of up to 3 tokens, as GenAI's lookup here.
LLAMA_LOOKUP = {"num_pred_tokens": 2, "max_ngram_size": 3}


def llama_cpp_answer_runs(
    gguf: Path, prompt_ids: list[list[int]], num_threads: int, max_new_tokens: int, warmup: int, lookup: bool
) -> list[dict[str, Any]]:
    """llama.cpp answering each prompt (the same token ids as GenAI gets) greedily to its natural end (EOS, at most
    ``max_new_tokens``), plain or with prompt lookup; one row per timed answer with its token ids."""
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding  # optional extra

    draft = LlamaPromptLookupDecoding(**LLAMA_LOOKUP) if lookup else None
    # llama-cpp-python keeps logits for a batch only; checking drafted tokens needs them at every position (it then
    # computes the vocabulary's logits at every prompt position too: lookup pays in prefill, measured in TTFT)
    model = models.load_llama_cpp(gguf, num_threads, draft_model=draft, logits_all=lookup)
    eos = model.token_eos()
    runs = []
    for i, ids in enumerate(prompt_ids):
        model.reset()  # no prefix reuse from the previous prompt
        stamps: list[float] = []
        tokens: list[int] = []
        start = time.perf_counter()
        for token in model.generate(ids, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True):
            if token == eos:
                break
            stamps.append(time.perf_counter())
            tokens.append(int(token))
            if len(tokens) >= max_new_tokens:
                break
        end = time.perf_counter()
        if i >= warmup:
            runs.append({**_run_row(start, stamps, end, None), "token_ids": tokens})
    return runs
