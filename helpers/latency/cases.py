"""Notebook 06: RAG-shaped latency: a ~1,000-token prompt (retrieved Python-docs chunks + a FAQ question), a 64-token
answer.

Every runtime answers the same prompts (a different prompt per run, so no runtime serves a cached prefix) with a
fixed output length, greedy, on fixed threads, each case in a fresh process, so the rows compare one thing: the
runtime. Per run: time to first token (TTFT), time per output token after it (TPOT), end to end (E2E), from
token timestamps (a streamer), and **where the time of a decode step goes** (:func:`breakdown`): model execution
(the OpenVINO infer request / the torch forward / llama.cpp's eval / GenAI's inference) vs everything around it.

Cases (:data:`CASES`): torch fp32 (baseline), the seed path (ITREX QBits through ``WeightOnlyQuantPipeline``),
OpenVINO through optimum-intel + HF ``generate``, OpenVINO GenAI 2024.2 (main env) and 2026 (``.venv-genai``),
and llama.cpp on the model's own GGUF. Every case names its model (SmolLM2-135M by default; :data:`SIZE_CASES` are
the cases of the size table, run per model with ``--model``). ``python -m helpers.latency`` runs them (resumable)
into ``results/<profile>/rag_latency.jsonl``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import data, llm, models
from helpers.core import genai_timing, runner, timing
from helpers.core.checks import check_choice
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_path, set_threads
from helpers.latency import floor
from helpers.latency import runtimes as rt
from helpers.quant import woq_config as wc
from helpers.quant.shape_checks import group_size_problem, linear_in_features

PROMPT_TOKENS = 1000
NEW_TOKENS = 64
QUESTION_SYSTEM = "Answer the question from the context in one or two sentences."


@dataclass(frozen=True)
class LatencyCase:
    """One model + runtime + weights + thread count + round (a second round runs the cases in reverse order)."""

    runtime: str
    weights: str
    num_threads: int = 2
    round: int = 1
    model: str | None = None  # None: the runtime comparison on the default model; a name: a size-table case

    @property
    def key(self) -> str:
        prefix = "" if self.model is None else f"{self.model}/"
        return f"{prefix}r{self.round}/{self.runtime}/{self.weights}/t{self.num_threads}"

    @property
    def model_name(self) -> str:
        """The registry name of the model this case runs."""
        return self.model or models.DEFAULT_CAUSAL_LM

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
#: The cases of the size table (one model at a time, ``--model``): the same runtimes, GenAI 2026 also on NNCF's int4
#: g128 with embeddings and lm_head in int4 too ("-all": the fewest bytes per decode step) and on the GGUF file
#: itself (its direct-GGUF reader), llama.cpp on the model's GGUF (its quantization, e.g. q4_k_m).
SIZE_CASES: dict[str, tuple[str, ...]] = {
    "torch": ("fp32",),
    "itrex": ("int4_clip-g32",),
    "optimum-intel": ("int4-sym-g64",),
    "genai-2026": ("int8", "int4-sym-g64", "int4-sym-g128-all", "gguf"),
    "llama.cpp": ("gguf",),
}
#: What might close the decode gap to llama.cpp at 1.5B (``--settings``): the same int4 g128-all IR with dynamic
#: quantization of activations off or in groups of 128 (default 32), the KV cache in f16 (default u8), bf16 compute,
#: dq128 and kvf16 together (each looked faster in an early sitting on the AVX-512 BF16 Xeon; its one-sitting
#: table calls both ties, so the results, not this list, say what helps); and GenAI's stateful
#: SDPA attention instead of its default paged attention (continuous batching, built for many sequences), alone and
#: with the f16 KV cache.
SETTINGS_CASES: dict[str, tuple[str, ...]] = {
    "genai-2026": tuple(
        f"int4-sym-g128-all@{s}" for s in ("dq0", "dq128", "kvf16", "bf16", "dq128+kvf16", "sdpa", "sdpa+kvf16")
    ),
}
#: NNCF plans of the OpenVINO weights names (``@<hint>`` after a name picks the inference precision, not the weights)
OV_PLANS = {
    "int8": wc.WoqConfig(weight_dtype="int8", group_size=-1),
    "int4-sym-g64": wc.WoqConfig(weight_dtype="int4_clip", group_size=64),
    "int4-sym-g128-all": wc.to_openvino(wc.WoqConfig(weight_dtype="int4_clip", group_size=128), all_layers=True),
}


def cases(
    threads: tuple[int, ...] = (2,),
    rounds: int = 2,
    model: str | None = None,
    settings: bool = False,
    only: tuple[str, ...] = (),
) -> list[LatencyCase]:
    """Every case per thread count: :data:`CASES` on the default model (``model=None``), or the size table's
    :data:`SIZE_CASES` on ``model`` (llama.cpp's ``gguf`` named by the file's quantization, e.g. ``q4_k_m``), plus
    :data:`SETTINGS_CASES` with ``settings``; ``only`` keeps the cases named ``runtime/weights`` as the table names
    them (e.g. ``llama.cpp/gguf``). Round 2 runs in the reverse order (drift hits both ends alike)."""
    spec = models.get_causal_lm(model or models.DEFAULT_CAUSAL_LM)  # a bad name fails here, naming the allowed ones
    table = CASES if model is None else SIZE_CASES
    if settings:
        if model is None:
            raise ValueError("settings=True needs a model: the settings cases belong to the size table")
        table = {r: SIZE_CASES.get(r, ()) + SETTINGS_CASES.get(r, ()) for r in SIZE_CASES}
    names = [f"{r}/{w}" for r, ws in table.items() for w in ws]
    for name in only:
        check_choice("case", name, names)
    gguf_label = spec.quantization.lower()
    one = [
        LatencyCase(r, gguf_label if (r, w) == ("llama.cpp", "gguf") else w, t, model=model and spec.name)
        for t in threads
        for r, ws in table.items()
        for w in ws
        if not only or f"{r}/{w}" in only
    ]
    out = list(one)
    for rnd in range(2, rounds + 1):
        order = one[::-1] if rnd % 2 == 0 else one
        out += [LatencyCase(c.runtime, c.weights, c.num_threads, rnd, c.model) for c in order]
    return out


def questions_by_kind(n: int) -> list[str]:
    """``n`` FAQ question ids taking the kinds of :data:`helpers.data.QUESTION_KINDS` in turn, each kind's in FAQ
    order."""
    faq = data.load_faq()
    queues = [[q.id for q in faq if data.question_kind(q.question) == kind] for kind in data.QUESTION_KINDS]
    turns = [qid for group in itertools.zip_longest(*queues) for qid in group if qid is not None]
    if not 1 <= n <= len(turns):
        raise ValueError(f"n={n!r} questions by kind: allowed values are 1 to {len(turns)}")
    return turns[:n]


def rag_prompts(
    n: int,
    target_tokens: int = PROMPT_TOKENS,
    model: str | None = None,
    *,
    answer_in_context: bool = False,
    question_ids: list[str] | None = None,
) -> list[str]:
    """``n`` distinct chat prompts of ~``target_tokens`` tokens of ``model``'s tokenizer and chat template: held-out
    Python-docs text as context + a FAQ question (the first ``n`` in FAQ order, or those of ``question_ids``). With
    ``answer_in_context`` the context starts with that question's FAQ answer (what a retriever that found it would
    hand over), so an answer can copy its context."""
    faq = data.load_faq()
    if question_ids is not None:
        known = {q.id: q for q in faq}
        unknown = [i for i in question_ids if i not in known]
        if unknown or len(question_ids) < n:
            raise ValueError(f"question_ids={question_ids!r}: allowed are at least {n} FAQ ids (faq-000 ...)")
        faq = [known[i] for i in question_ids]
    tokenizer = llm.load_tokenizer(models.causal_lm_dir(model=model or models.DEFAULT_CAUSAL_LM))
    docs = data.heldout_docs()
    prompts = []
    for i in range(n):
        passages = ([faq[i].answer] if answer_in_context else []) + [d.text for d in docs[i * 3 : i * 3 + 6]]
        prompts.append(llm.prompt_with_tokens(tokenizer, faq[i].question, "\n\n".join(passages), target_tokens))
    return prompts


def ov_weights(weights: str, model: str | None = None) -> Path:
    """The IR folder of an OpenVINO weights name of :data:`OV_PLANS` (exported and compressed once, cached)."""
    name = weights.split("@")[0]
    if name != "fp32" and name not in OV_PLANS:  # before the export: a bad name costs nothing
        raise ValueError(f"weights={weights!r} is unknown: allowed values are fp32, {', '.join(OV_PLANS)}")
    ir = llm.export_openvino_llm(models.causal_lm_dir(model=model or models.DEFAULT_CAUSAL_LM))
    return ir if name == "fp32" else llm.compress_openvino_llm(OV_PLANS[name], ir)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the runs plus the raw samples (for intervals and ratios in the analysis)."""
    row: dict[str, Any] = {"runs": runs}
    for key in ("ttft_s", "tpot_s", "e2e_s", "model_s_per_token", "other_s_per_token"):
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            row[f"median_{key}"] = statistics.median(values)
            row[f"{key}_samples"] = values
    row["new_tokens"] = sorted({r["new_tokens"] for r in runs})
    settings = sorted({r["settings"] for r in runs if r.get("settings")})
    if settings:  # GenAI's compiled settings, read back (one per case)
        row["settings"] = "; ".join(settings)
    return row


def measure_case(case: LatencyCase, prompts: list[str], warmup: int, iterations: int) -> dict[str, Any]:
    """Time one case (call it in a fresh process): runs, medians, breakdown, environment."""

    enforce_offline()
    set_threads(case.num_threads)
    environment = timing.environment_record(case.num_threads)  # machine load sampled before, not after, the runs
    weights = _weights_path(case)  # resolved (built or checked) once: it is timed and then counted in bytes
    if case.runtime.startswith("genai-") and case.weights == "gguf":
        ir = ov_weights("fp32", case.model)  # its tokenizer IRs give every runtime the same prompt ids
        runs = rt.genai_runs(ir, prompts, case, NEW_TOKENS, warmup, iterations, weights)
    elif case.runtime.startswith("genai-"):
        runs = rt.genai_runs(weights, prompts, case, NEW_TOKENS, warmup, iterations)
    elif case.runtime == "llama.cpp":
        runs = rt.llama_cpp_runs(weights, prompts, case, NEW_TOKENS, warmup, iterations)
    else:
        model, tokenizer = rt.load_hf_style(case, weights)
        runs = rt.hf_runs(model, tokenizer, prompts, NEW_TOKENS, warmup, iterations)
    step = floor.decode_step_bytes(case, weights, PROMPT_TOKENS + NEW_TOKENS // 2)
    return {**summarize(runs), **environment, "peak_rss_mb": timing.peak_rss_mb(), "decode_step_bytes": step}


def _weights_path(case: LatencyCase) -> Path | None:
    """The file or IR folder a case's weights are read from (None for torch and ITREX: the fp32 HF folder)."""
    if case.runtime == "llama.cpp" or case.weights == "gguf":
        return models.causal_lm_gguf_path(case.model_name)
    if case.runtime in ("torch", "itrex"):
        return None
    return ov_weights(case.weights, case.model)


def unsupported_reason(case: LatencyCase) -> str | None:
    """Why a case cannot run here (optional extra missing, today env missing), else None."""
    import importlib.util

    if case.runtime == "llama.cpp" and importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (optional extra: requirements-peers.txt)"
    if case.runtime == "genai-2026":
        try:
            genai_timing.genai_python("2026")
        except FileNotFoundError as err:
            return str(err)
    plan = OV_PLANS.get(case.weights.split("@")[0])
    group = getattr(plan, "group_size", None)
    if case.runtime != "itrex" and group not in (None, -1):  # e.g. g128 on SmolLM2's 576 input channels
        model_dir = models.causal_lm_dir(model=case.model_name)
        return group_size_problem(group, linear_in_features(model_dir), "openvino")
    return None


@dataclass
class CaseEvaluator:
    """The sweep runner's evaluator: one case in a fresh process, on its model's prompts (made once per model)."""

    n_prompts: int
    prompt_tokens: int = PROMPT_TOKENS
    warmup: int = 1
    iterations: int = 5
    prompts: dict[str, list[str]] = field(default_factory=dict)

    def __call__(self, case: LatencyCase) -> dict[str, Any]:
        if case.model not in self.prompts:
            self.prompts[case.model] = rag_prompts(self.n_prompts, self.prompt_tokens, case.model)
        return timing.run_in_fresh_process(measure_case, case, self.prompts[case.model], self.warmup, self.iterations)


def run(
    out: str | Path | None = None,
    *,
    threads: tuple[int, ...] = (2,),
    rounds: int = 2,
    warmup: int = 1,
    iterations: int = 5,
    prompt_tokens: int = PROMPT_TOKENS,
    model: str | None = None,
    settings: bool = False,
    only: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Run (or resume) the runtime comparison (``model=None``) into the profile's ``rag_latency`` results, or the
    size-table cases of ``model`` into its ``size_latency`` results (``only``: those cases, :func:`cases`); returns
    the rows written now. The memory bandwidth is measured before and after, in the same sitting
    (:mod:`helpers.latency.floor`)."""
    if warmup < 0 or iterations < 1:
        raise ValueError(f"warmup={warmup!r}, iterations={iterations!r}: allowed are warmup >= 0, iterations >= 1")
    todo = cases(threads, rounds, model, settings, only)  # bad names fail here, before anything is built
    kind = "rag_latency" if model is None else "size_latency"
    out = Path(out) if out is not None else results_path(kind, num_threads=max(threads))
    store = ResultsStore(out)
    evaluator = CaseEvaluator(warmup + iterations, prompt_tokens, warmup, iterations)
    print(f"RAG-shaped latency: {len(todo)} cases of {model or models.DEFAULT_CAUSAL_LM} -> {out}")
    stamp = timing.profile_record(max(threads))  # unsupported rows name their profile too
    if not runner.points_to_run(todo, store):
        return []
    sitting = f"{kind}/{model or models.DEFAULT_CAUSAL_LM}"
    floor.measure_bandwidth(max(threads), f"{sitting}/before", out.with_name("bandwidth.jsonl"))  # same sitting
    rows = runner.run_sweep(todo, store, evaluator, unsupported_reason=unsupported_reason, stamp=stamp)
    floor.measure_bandwidth(max(threads), f"{sitting}/after", out.with_name("bandwidth.jsonl"))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<profile>/rag_latency.jsonl")
    parser.add_argument("--threads", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--prompt-tokens", type=int, default=PROMPT_TOKENS)
    parser.add_argument("--model", default=None, choices=list(models.CAUSAL_LMS),
                        help="run the size table's cases on this model (-> size_latency.jsonl)")
    parser.add_argument("--settings", action="store_true",
                        help="with --model: also the GenAI settings cases (dynamic quantization, KV cache, bf16)")
    parser.add_argument("--cases", nargs="+", default=[], metavar="RUNTIME/WEIGHTS",
                        help="only these cases, e.g. genai-2026/int4-sym-g128-all@kvf16 llama.cpp/gguf")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    run(args.out, threads=tuple(args.threads), rounds=args.rounds, iterations=args.iterations,
        prompt_tokens=args.prompt_tokens, model=args.model, settings=args.settings, only=tuple(args.cases))
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
