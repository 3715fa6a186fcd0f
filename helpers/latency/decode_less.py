"""Notebook 06: Decode less: prompt-lookup decoding against plain decoding on OpenVINO GenAI 2026, on RAG answers.

A RAG answer copies words from its context, and prompt-lookup decoding exploits that: it proposes the next few tokens
by finding the last few generated tokens in the prompt, and the model checks all the proposals in one step. Greedy
output is the same as plain decoding's (checked here, token by token); what changes is how many model steps it takes.

Protocol: the RAG-shaped prompts of :mod:`helpers.latency.cases` (~1,000 tokens of retrieved Python docs + a FAQ
question, in the model's chat template), answers generated to their natural end (EOS, at most
:data:`MAX_NEW_TOKENS`), fixed threads, one warm-up, the same prompts for every mode, each mode in a fresh process;
a second round runs the modes in reverse order. Paired per prompt: the answer's end-to-end time under plain decoding
over its time under lookup (same tokens, so the ratio is the answer's speed-up), median with a bootstrap interval.

    python -m helpers.latency.decode_less [--model qwen2.5-coder-0.5b-instruct] [--weights int8] [--prompts 8]
    # -> results/<profile>/decode_less.jsonl (resumable)
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import llm, models
from helpers.core import genai_timing, runner, timing
from helpers.core.intervals import bar_verdict, bootstrap_ci
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_path, set_threads
from helpers.latency.cases import OV_PLANS, ov_weights, rag_prompts
from helpers.llm.genai import prompt_token_ids

MODES = ("plain", "prompt_lookup")
MAX_NEW_TOKENS = 128
DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"


@dataclass(frozen=True)
class DecodeCase:
    """One model + weights + decoding mode + thread count + round on GenAI 2026."""

    model: str
    weights: str
    decoding: str
    num_threads: int = 2
    round: int = 1

    @property
    def key(self) -> str:
        return f"{self.model}/r{self.round}/{self.weights}/{self.decoding}/t{self.num_threads}"

    @property
    def label(self) -> str:
        return f"{self.weights} {self.decoding}"


def decode_cases(
    model: str = DEFAULT_MODEL, weights: str = "int8", num_threads: int = 2, rounds: int = 2
) -> list[DecodeCase]:
    """Plain and lookup per round (round 2 in reverse order); bad names fail here, naming the allowed values."""
    models.get_causal_lm(model)
    if weights not in OV_PLANS:
        raise ValueError(f"weights={weights!r} is unknown: allowed values are {', '.join(OV_PLANS)}")
    if rounds < 1:
        raise ValueError(f"rounds={rounds!r}: allowed values are integers >= 1")
    out = []
    for rnd in range(1, rounds + 1):
        order = MODES if rnd % 2 else MODES[::-1]
        out += [DecodeCase(model, weights, mode, num_threads, rnd) for mode in order]
    return out


def _ids_digest(ids: list[int]) -> str:
    return hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:16]


def measure_case(case: DecodeCase, prompts: list[str], ids: list[list[int]]) -> dict[str, Any]:
    """Time one mode on the prompts (the first one is the warm-up) in the today environment's GenAI."""
    enforce_offline()
    set_threads(case.num_threads)
    environment = timing.environment_record(case.num_threads)
    result = genai_timing.run_genai(
        ov_weights(case.weights, case.model),
        prompts,
        runtime="2026",
        new_tokens=MAX_NEW_TOKENS,
        threads=case.num_threads,
        warmup=1,
        iterations=len(prompts) - 1,
        prompt_ids=ids,
        decoding=case.decoding,
        natural_end=True,
    )
    runs = []
    for run in result["runs"]:
        steps = run.get("genai_token_infer_s")
        runs.append(
            {
                "e2e_s": run["e2e_s"],
                "ttft_s": run["ttft_s"],
                "new_tokens": run["new_tokens"],
                "answer_sha1": _ids_digest(run["token_ids"]),
                "model_steps": len(steps) if steps else None,  # prefill + decode steps of the main model
            }
        )
    return {
        **environment,
        "runs": runs,
        "genai_version": result["genai_version"],
        "decoding_config": result.get("decoding_config"),
        "settings": genai_timing.settings_label(result.get("compiled_properties")),
        "max_new_tokens": MAX_NEW_TOKENS,
    }


def decode_less_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Per model, weights and lookup round: identical answers, tokens per model step, the paired answer speed-up over
    plain decoding with its 95 % interval, and the verdict (faster / slower / tie within noise)."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("runs")]
    plain = {(r["model"], r["weights"], r["round"]): r for r in ok if r["decoding"] == "plain"}
    out = []
    for row in (r for r in ok if r["decoding"] != "plain"):
        base = plain.get((row["model"], row["weights"], row["round"]))
        if base is None or len(base["runs"]) != len(row["runs"]):
            continue
        pairs = list(zip(base["runs"], row["runs"], strict=True))
        ratios = np.array([b["e2e_s"] / r["e2e_s"] for b, r in pairs])
        span = bootstrap_ci(ratios, np.median, 2000, 0)
        steps = [r["new_tokens"] / (r["model_steps"] - 1) for _, r in pairs if r.get("model_steps", 0) > 1]
        out.append(
            {
                "model": row["model"],
                "weights": row["weights"],
                "decoding": row["decoding"],
                "round": row["round"],
                "answers": len(pairs),
                "identical_answers": sum(b["answer_sha1"] == r["answer_sha1"] for b, r in pairs),
                "median_answer_tokens": statistics.median(r["new_tokens"] for _, r in pairs),
                "tokens_per_model_step": statistics.median(steps) if steps else float("nan"),
                "speedup": span.value,
                "speedup_lo": span.lo,
                "speedup_hi": span.hi,
                "verdict": {"met": "faster", "missed": "slower"}.get(bar_verdict(span, 1.0, True), "tie within noise"),
                "settings": row.get("settings", "settings not read back"),
            }
        )
    return pd.DataFrame(out)


def findings(table: pd.DataFrame) -> list[str]:
    """One sentence per row of :func:`decode_less_table` (the prose of notebook 06 quotes these, nothing else)."""
    return [
        f"{r.model} {r.weights}, {r.decoding.replace('_', ' ')} (round {r.round}): answers {r.speedup:.2f}x "
        f"[{r.speedup_lo:.2f}, {r.speedup_hi:.2f}] as fast as plain decoding ({r.verdict}), {r.identical_answers} "
        f"of {r.answers} answers token-for-token identical, {r.tokens_per_model_step:.2f} tokens per model step, "
        f"median answer {r.median_answer_tokens:.0f} tokens; {r.settings}"
        for r in table.itertuples()
    ]


def run(
    out: str | Path | None = None,
    *,
    model: str = DEFAULT_MODEL,
    weights: str = "int8",
    n_prompts: int = 8,
    num_threads: int = 2,
    rounds: int = 2,
) -> list[dict[str, Any]]:
    """Run (or resume) the plain vs lookup cases into the profile's ``decode_less`` results; returns the rows written
    now. Names are checked and the today environment found before anything is built."""
    todo = decode_cases(model, weights, num_threads, rounds)
    if n_prompts < 2:
        raise ValueError(f"n_prompts={n_prompts!r}: allowed values are integers >= 2 (one is the warm-up)")
    genai_timing.genai_python("2026")  # FileNotFoundError naming `make setup-today` when it is missing
    out = Path(out) if out is not None else results_path("decode_less", num_threads=num_threads)
    store = ResultsStore(out)
    if not runner.points_to_run(todo, store):
        return []
    prompts = rag_prompts(n_prompts, model=model)
    ids = prompt_token_ids(llm.load_tokenizer(models.causal_lm_dir(model=model)), prompts)
    print(f"decode less: {len(todo)} cases of {model} {weights}, {n_prompts - 1} answers each -> {out}")

    def evaluate(case: DecodeCase) -> dict[str, Any]:
        row = timing.run_in_fresh_process(measure_case, case, prompts, ids)
        return {"model": case.model, "weights": case.weights, "decoding": case.decoding, "round": case.round, **row}

    stamp = timing.profile_record(num_threads)
    return runner.run_sweep(todo, store, evaluate, stamp=stamp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=list(models.CAUSAL_LMS))
    parser.add_argument("--weights", default="int8", choices=list(OV_PLANS))
    parser.add_argument("--prompts", type=int, default=8, help="RAG prompts per mode (the first is the warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    run(args.out, model=args.model, weights=args.weights, n_prompts=args.prompts, num_threads=args.threads,
        rounds=args.rounds)
    table = decode_less_table(ResultsStore(args.out or results_path("decode_less", num_threads=args.threads)).rows())
    print(table.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
