"""Notebooks 00, 01, 03, 04, 06: Measuring any of them: the torch fp32 baseline, prefill / decode timing, full-sequence
logits and perplexity."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any

from helpers.core.settings import enforce_offline, set_threads
from helpers.core.timing import TimingStats, machine_load, peak_rss_mb, time_call
from helpers.llm.common import _hf_pipeline, _langchain_hf, load_tokenizer, unwrap_llm


# --------------------------------------------------------------------------------------------------------------
# 3. Common: baseline, measurements
# --------------------------------------------------------------------------------------------------------------
def torch_fp32_llm(model_dir: str | Path, num_threads: int, max_new_tokens: int = 64) -> Any:
    """LangChain ``HuggingFacePipeline`` around the plain fp32 PyTorch model (the baseline; greedy, answer only)."""
    import torch
    from transformers import AutoModelForCausalLM

    enforce_offline()
    set_threads(num_threads)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32).eval()
    tokenizer = load_tokenizer(model_dir)
    return _langchain_hf(_hf_pipeline(model, tokenizer, max_new_tokens, return_full_text=False))


def _no_grad(model: Any) -> contextlib.AbstractContextManager[Any]:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return torch.inference_mode() if isinstance(model, torch.nn.Module) else contextlib.nullcontext()


def measure_generation(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    max_new_tokens: int = 32,
    warmup: int = 1,
    iterations: int = 3,
) -> dict[str, Any]:
    """Greedy generation timings for a torch model, an ``OVModelForCausalLM`` or a LangChain pipeline wrapping one.

    Prefill = time to generate 1 token from the prompt; decode ms/token = ``(t(N) - t(1)) / (N - 1)`` with
    ``min_new_tokens=N`` so that EOS cannot cut a run short. Medians and p90 over ``iterations`` after ``warmup``
    (``helpers.core.timing.time_call``); each iteration runs the 1-token and the N-token generation back to back and
    decode is their paired difference. The machine load before the run is recorded (busy -> ``notes``): timings
    on a busy 2-core machine are pessimistic and noisy.
    """
    if hasattr(getattr(model, "pipeline", None), "model"):
        model, wrapped_tokenizer = unwrap_llm(model)
        tokenizer = tokenizer or wrapped_tokenizer
    if max_new_tokens < 2:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} is invalid: allowed values are integers >= 2")
    load = machine_load(0.5)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def generate(n: int) -> Any:
        with _no_grad(model):
            return model.generate(
                **inputs,
                max_new_tokens=n,
                min_new_tokens=n,
                do_sample=False,
                num_beams=1,
                pad_token_id=pad,
            )

    output = generate(max_new_tokens)
    new_tokens = int(output.shape[1]) - prompt_tokens
    if new_tokens != max_new_tokens:
        raise RuntimeError(f"generated {new_tokens} tokens instead of {max_new_tokens}")
    text = tokenizer.decode(output[0, prompt_tokens:], skip_special_tokens=True)
    one: list[float] = []
    many: list[float] = []

    def pair() -> None:  # 1-token and N-token runs back to back, so that both see the same machine state
        start = time.perf_counter()
        generate(1)
        middle = time.perf_counter()
        generate(max_new_tokens)
        one.append(middle - start)
        many.append(time.perf_counter() - middle)

    time_call(pair, warmup=warmup, iterations=iterations)
    prefill = TimingStats(tuple(one[warmup:]), warmup)
    full = TimingStats(tuple(many[warmup:]), warmup)
    decode = TimingStats(tuple((n - p) / (max_new_tokens - 1) for p, n in zip(one, many, strict=True))[warmup:], warmup)
    decode_median = 1000 * decode.median
    notes = list(load.notes)
    if decode_median <= 0:
        notes.append("decode time <= 0: the 1-token runs were slower than the N-token runs (noise); rerun")
    return {
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "prefill_ms": round(1000 * prefill.median, 2),
        "prefill_ms_p90": round(1000 * prefill.p90, 2),
        "decode_ms_per_token": round(decode_median, 2),
        "decode_ms_per_token_p90": round(1000 * decode.p90, 2),
        "decode_tokens_per_s": round(1000 / decode_median, 2) if decode_median > 0 else float("nan"),
        "e2e_s": round(full.median, 3),
        "e2e_s_p90": round(full.p90, 3),
        "e2e_tokens_per_s": round(max_new_tokens / full.median, 2),
        # raw per-run samples, for intervals on medians and on speed-up ratios (helpers.core.intervals.ratio_ci)
        "prefill_ms_samples": [round(1000 * x, 3) for x in prefill.seconds],
        "decode_ms_samples": [round(1000 * x, 3) for x in decode.seconds],
        "warmup": warmup,
        "iterations": iterations,
        "text": text,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "loadavg_1min": round(load.loadavg_1min, 2),
        "cpu_idle_percent": round(load.cpu_idle_percent, 1),
        "notes": notes,
    }


def sequence_logits(model: Any, input_ids: Any) -> Any:
    """Full-sequence logits, fresh context (no KV cache carried in or kept) for torch and OpenVINO models."""
    import torch

    attention_mask = torch.ones_like(input_ids)
    if isinstance(model, torch.nn.Module):
        with torch.inference_mode():
            out = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, return_dict=True)
        return out.logits
    # OVModelForCausalLM: past_key_values=None resets a stateful model's KV state, so every window starts empty
    return model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=None).logits


def perplexity(
    model: Any,
    tokenizer: Any,
    text: str,
    *,
    max_tokens: int = 2048,
    window: int = 512,
    stride: int = 256,
) -> float:
    """Perplexity of the first ``max_tokens`` tokens of ``text`` with a sliding window.

    Each window holds up to ``window`` tokens and scores only the tokens not scored before (at least
    ``window - stride`` tokens of context for every scored token after the first window); every token but the
    first is scored exactly once, so the same budget gives comparable numbers across torch, ITREX and OpenVINO.
    """
    import torch

    if hasattr(getattr(model, "pipeline", None), "model"):
        model, wrapped_tokenizer = unwrap_llm(model)
        tokenizer = tokenizer or wrapped_tokenizer
    if not 0 < stride <= window:
        raise ValueError(f"stride={stride!r} is invalid: allowed values are 1 <= stride <= window ({window})")
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids[:, :max_tokens]
    total = int(ids.shape[1])
    if total < 2:
        raise ValueError("text has fewer than 2 tokens")
    nll = 0.0
    scored = 0
    prev_end = 0
    for begin in range(0, total, stride):
        end = min(begin + window, total)
        chunk = ids[:, begin:end]
        new = min(end - prev_end, chunk.shape[1] - 1)
        logits = sequence_logits(model, chunk)[0, -new - 1 : -1].double()
        targets = chunk[0, -new:]
        nll -= torch.log_softmax(logits, dim=-1).gather(1, targets[:, None]).sum().item()
        scored += new
        prev_end = end
        if end == total:
            break
    return math.exp(nll / scored)
