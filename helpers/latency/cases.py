"""Notebook 06: RAG-shaped latency: a ~1,000-token prompt (retrieved Python-docs chunks + a FAQ question), a 64-token
answer.

Every runtime answers the same prompts (a different prompt per run, so no runtime serves a cached prefix) with a
fixed output length, greedy, on fixed threads, each case in a fresh process, so the rows compare one thing: the
runtime. Per run: time to first token (TTFT), time per output token after it (TPOT), end to end (E2E), from
token timestamps (a streamer), and **where the time of a decode step goes** (:func:`breakdown`): model execution
(the OpenVINO infer request / the torch forward / llama.cpp's eval / GenAI's inference) vs everything around it.

Cases (:data:`CASES`): torch fp32 (baseline), the seed path (ITREX QBits through ``WeightOnlyQuantPipeline``),
OpenVINO through optimum-intel + HF ``generate``, OpenVINO GenAI 2024.2 (main env) and 2026 (``.venv-genai``),
and llama.cpp on the packaged Q4_1 GGUF. ``python -m helpers.latency`` runs them all (resumable) into
``results/<profile>/rag_latency.jsonl``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import data, llm, models
from helpers.core import genai_timing, runner, timing
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_path, set_threads
from helpers.latency import runtimes as rt
from helpers.quant.woq_config import WoqConfig

PROMPT_TOKENS = 1000
NEW_TOKENS = 64
QUESTION_SYSTEM = "Answer the question from the context in one or two sentences."


@dataclass(frozen=True)
class LatencyCase:
    """One runtime + weights + thread count + round (a second round runs the cases in reverse order)."""

    runtime: str
    weights: str
    num_threads: int = 2
    round: int = 1

    @property
    def key(self) -> str:
        return f"r{self.round}/{self.runtime}/{self.weights}/t{self.num_threads}"

    @property
    def label(self) -> str:
        return f"{self.runtime} {self.weights}"


#: runtime -> weights measured (NNCF plans for OpenVINO; the ITREX config for the seed path; the GGUF for llama.cpp)
CASES: dict[str, tuple[str, ...]] = {
    "torch": ("fp32",),
    "itrex": ("int4_clip-g32",),
    "optimum-intel": ("int8", "int4-sym-g64"),
    "genai-2024.2": ("int8", "int4-sym-g64"),
    "genai-2026": ("int8", "int4-sym-g64", "int8@bf16"),  # @bf16: OpenVINO's default precision on BF16 CPUs
    "llama.cpp": ("q4_1",),
}


def cases(threads: tuple[int, ...] = (2,), rounds: int = 2) -> list[LatencyCase]:
    """Every case per thread count; round 2 runs in the reverse order (drift hits both ends alike)."""
    one = [LatencyCase(r, w, t) for t in threads for r, ws in CASES.items() for w in ws]
    out = list(one)
    for rnd in range(2, rounds + 1):
        order = one[::-1] if rnd % 2 == 0 else one
        out += [LatencyCase(c.runtime, c.weights, c.num_threads, rnd) for c in order]
    return out


def rag_prompts(n: int, target_tokens: int = PROMPT_TOKENS) -> list[str]:
    """``n`` distinct chat prompts of ~``target_tokens`` tokens: held-out Python-docs text as context + a question."""

    tokenizer = llm.load_tokenizer(models.causal_lm_dir())
    docs = data.heldout_docs()
    faq = data.load_faq()
    prompts = []
    for i in range(n):
        text = "\n\n".join(d.text for d in docs[i * 3 : i * 3 + 6])
        prompts.append(llm.prompt_with_tokens(tokenizer, faq[i].question, text, target_tokens))
    return prompts


def _ov_weights(weights: str) -> Path:

    ir = llm.export_openvino_llm(models.causal_lm_dir())
    if weights == "fp32":
        return ir
    plans = {
        "int8": WoqConfig(weight_dtype="int8", group_size=-1),
        "int4-sym-g64": WoqConfig(weight_dtype="int4_clip", group_size=64),
    }
    return llm.compress_openvino_llm(plans[weights.split("@")[0]], ir)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the runs plus the raw samples (for intervals and ratios in the analysis)."""
    row: dict[str, Any] = {"runs": runs}
    for key in ("ttft_s", "tpot_s", "e2e_s", "model_s_per_token", "other_s_per_token"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            row[f"median_{key}"] = statistics.median(values)
            row[f"{key}_samples"] = values
    row["new_tokens"] = sorted({r["new_tokens"] for r in runs})
    return row


def measure_case(case: LatencyCase, prompts: list[str], warmup: int, iterations: int) -> dict[str, Any]:
    """Time one case (call it in a fresh process): runs, medians, breakdown, environment."""

    enforce_offline()
    set_threads(case.num_threads)
    environment = timing.environment_record(case.num_threads)  # machine load sampled before, not after, the runs
    if case.runtime.startswith("genai-"):
        runs = rt.genai_runs(_ov_weights(case.weights), prompts, case, NEW_TOKENS, warmup, iterations)
    elif case.runtime == "llama.cpp":
        runs = rt.llama_cpp_runs(models.causal_lm_gguf_path(), prompts, case, NEW_TOKENS, warmup, iterations)
    else:
        model, tokenizer = rt.load_hf_style(case, _ov_weights)
        runs = rt.hf_runs(model, tokenizer, prompts, NEW_TOKENS, warmup, iterations)
    return {**summarize(runs), **environment, "peak_rss_mb": timing.peak_rss_mb()}


def unsupported_reason(case: LatencyCase) -> str | None:
    """Why a case cannot run here (optional extra missing, runtime-only env missing), else None."""
    import importlib.util

    if case.runtime == "llama.cpp" and importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (optional extra: requirements-peers.txt)"
    if case.runtime == "genai-2026":
        try:
            genai_timing.genai_python("2026")
        except FileNotFoundError as err:
            return str(err)
    return None


@dataclass(frozen=True)
class CaseEvaluator:
    """The sweep runner's evaluator: one case in a fresh process."""

    prompts: tuple[str, ...]
    warmup: int = 1
    iterations: int = 5

    def __call__(self, case: LatencyCase) -> dict[str, Any]:
        return timing.run_in_fresh_process(measure_case, case, list(self.prompts), self.warmup, self.iterations)


def run(
    out: str | Path | None = None,
    *,
    threads: tuple[int, ...] = (2,),
    rounds: int = 2,
    warmup: int = 1,
    iterations: int = 5,
    prompt_tokens: int = PROMPT_TOKENS,
) -> list[dict[str, Any]]:
    """Run (or resume) every case into the profile's ``rag_latency`` results file; returns the rows written now."""
    if warmup < 0 or iterations < 1:
        raise ValueError(f"warmup={warmup!r}, iterations={iterations!r}: allowed are warmup >= 0, iterations >= 1")
    out = Path(out) if out is not None else results_path("rag_latency", num_threads=max(threads))
    prompts = tuple(rag_prompts(warmup + iterations, prompt_tokens))
    store = ResultsStore(out)
    evaluator = CaseEvaluator(prompts, warmup, iterations)
    print(f"RAG-shaped latency: {len(cases(threads, rounds))} cases -> {out}")
    stamp = timing.profile_record(max(threads))  # unsupported rows name their profile too
    todo = cases(threads, rounds)
    return runner.run_sweep(todo, store, evaluator, unsupported_reason=unsupported_reason, stamp=stamp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<profile>/rag_latency.jsonl")
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--prompt-tokens", type=int, default=PROMPT_TOKENS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    run(args.out, threads=tuple(args.threads), rounds=args.rounds, iterations=args.iterations,
        prompt_tokens=args.prompt_tokens)
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
