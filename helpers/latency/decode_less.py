"""`python -m helpers.latency.decode_less` (no notebook; 06 reads its rows): Decode less: prompt-lookup and speculative
decoding against plain decoding on OpenVINO GenAI 2026, and llama.cpp's own prompt lookup against its plain decoding,
on RAG answers.

A RAG answer copies words from its context, and prompt-lookup decoding exploits that: it proposes the next few tokens
by finding the last few generated tokens in the prompt, and the model checks all the proposals in one step. Greedy
output is the same as plain decoding's (checked here, token by token); what changes is how many model steps it takes.

Protocol: the RAG-shaped prompts of :mod:`helpers.latency.cases` (~1,000 tokens of Python docs + a FAQ question, in
the model's chat template; :data:`CONTEXTS`: the context starts with the question's FAQ answer, as when retrieval
found it, or holds only other docs; the questions: the first ones of the FAQ, or ``--questions by-kind``, the kinds
of question in turn), answers generated to their natural end (EOS, at most :data:`MAX_NEW_TOKENS`), fixed threads,
one warm-up, the same prompts for every mode, each mode in a fresh process; a second round runs the modes in reverse
order. Paired per prompt: the answer's end-to-end time under plain decoding
over its time under lookup (same tokens, so the ratio is the answer's speed-up), median with a bootstrap interval.

Speculative decoding runs where the model has a draft (:data:`DRAFTS`: the 0.5B, same tokenizer, drafting for the
1.5B); weights ``gguf`` are llama.cpp on the packaged GGUF (``LlamaPromptLookupDecoding`` for its lookup). Across
runtimes the answers differ (other weights), so :func:`~helpers.latency.decode_less_analysis.versus_llama_cpp`
compares decode speed (tokens after the first over the time after the first), paired per prompt, best mode against
best mode. The reading of the rows is :mod:`helpers.latency.decode_less_analysis`.

    python -m helpers.latency.decode_less [--model qwen2.5-coder-0.5b-instruct] [--weights int8 gguf] [--prompts 8]
        [--questions by-kind]
    # -> results/<profile>/decode_less.jsonl (resumable)
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import data, llm, models
from helpers.core import genai_timing, runner, timing
from helpers.core.checks import check_choice
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_path, set_threads
from helpers.latency import runtimes
from helpers.latency.cases import OV_PLANS, ov_weights, questions_by_kind, rag_prompts
from helpers.latency.decode_less_analysis import (
    GGUF,
    QUESTION_SETS,
    by_question_kind,
    decode_less_table,
    findings,
    kind_findings,
    peer_findings,
    versus_llama_cpp,
)
from helpers.llm.genai import prompt_token_ids

MODES = ("plain", "prompt_lookup")
#: GenAI also checks 2 proposed tokens per step (its lookup proposes 5; llama.cpp's proposes 2, as its docs advise
#: for CPUs, where every checked token costs compute).
GENAI_MODES = (*MODES, "prompt_lookup_2")
MAX_NEW_TOKENS = 128
DEFAULT_MODEL = "qwen2.5-coder-0.5b-instruct"
#: Draft models for speculative decoding (same tokenizer), and the draft's OpenVINO weights.
DRAFTS = {"qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-0.5b-instruct"}
DRAFT_WEIGHTS = "int8"
#: What the prompt's context holds: the question's FAQ answer first (then other docs), or other docs only. Lookup
#: can only copy what the context holds. Rows written before contexts were named are "docs-only".
CONTEXTS = ("with-answer", "docs-only")
DEFAULT_CONTEXT = "with-answer"


def modes(model: str, weights: str) -> tuple[str, ...]:
    """The decoding modes measured for a model and weights: plain and lookup, plus speculative on GenAI where the
    model has a draft."""
    if weights == GGUF:
        return MODES
    return (*GENAI_MODES, "speculative") if model in DRAFTS else GENAI_MODES


@dataclass(frozen=True)
class DecodeCase:
    """One model + weights + decoding mode + thread count + round on GenAI 2026."""

    model: str
    weights: str
    decoding: str
    num_threads: int = 2
    round: int = 1
    context: str = DEFAULT_CONTEXT
    questions: str = "first"

    @property
    def key(self) -> str:
        base = f"{self.model}/r{self.round}/{self.weights}/{self.decoding}/t{self.num_threads}"
        base = base if self.context == "docs-only" else f"{base}/{self.context}"  # docs-only: the first rows' keys
        return base if self.questions == "first" else f"{base}/{self.questions}"

    @property
    def label(self) -> str:
        return f"{self.weights} {self.decoding}"


def decode_cases(
    model: str = DEFAULT_MODEL,
    weights: str | tuple[str, ...] = "int8",
    num_threads: int = 2,
    rounds: int = 2,
    context: str = DEFAULT_CONTEXT,
    questions: str = "first",
) -> list[DecodeCase]:
    """Every mode of every weights per round (round 2 in reverse order); bad names fail here, naming the allowed
    values."""
    models.get_causal_lm(model)
    check_choice("context", context, CONTEXTS)
    check_choice("questions", questions, QUESTION_SETS)
    names = (weights,) if isinstance(weights, str) else tuple(weights)
    for name in names:
        check_choice("weights", name, [*OV_PLANS, GGUF])
    if rounds < 1:
        raise ValueError(f"rounds={rounds!r}: allowed values are integers >= 1")
    one_round = [(name, mode) for name in names for mode in modes(model, name)]
    out = []
    for rnd in range(1, rounds + 1):
        order = one_round if rnd % 2 else one_round[::-1]
        out += [DecodeCase(model, name, mode, num_threads, rnd, context, questions) for name, mode in order]
    return out


def _ids_digest(ids: list[int]) -> str:
    return hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:16]


def _llama_case(case: DecodeCase, ids: list[list[int]]) -> dict[str, Any]:
    """llama.cpp answering the prompts (the first is the warm-up), plain or with its prompt lookup."""
    import llama_cpp  # optional extra (requirements-peers.txt): its version goes on the row

    lookup = case.decoding == "prompt_lookup"
    gguf = models.causal_lm_gguf_path(case.model)
    runs = runtimes.llama_cpp_answer_runs(gguf, ids, case.num_threads, MAX_NEW_TOKENS, 1, lookup)
    return {
        "runs": [{**_answer_row(run), "model_steps": None} for run in runs],
        "llama_cpp_version": llama_cpp.__version__,
        "decoding_config": runtimes.LLAMA_LOOKUP if lookup else {},
        "settings": f"llama.cpp {llama_cpp.__version__}, {case.num_threads} threads",
    }


def _answer_row(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "e2e_s": run["e2e_s"],
        "ttft_s": run["ttft_s"],
        "new_tokens": run["new_tokens"],
        "answer_sha1": _ids_digest(run["token_ids"]),
    }


def measure_case(case: DecodeCase, prompts: list[str], ids: list[list[int]]) -> dict[str, Any]:
    """Time one mode on the prompts (the first one is the warm-up): GenAI 2026 from the today environment, or
    llama.cpp for the ``gguf`` weights."""
    enforce_offline()
    set_threads(case.num_threads)
    environment = timing.environment_record(case.num_threads)
    if case.weights == GGUF:
        return {**environment, **_llama_case(case, ids), "max_new_tokens": MAX_NEW_TOKENS}
    draft = DRAFTS.get(case.model) if case.decoding == "speculative" else None
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
        draft_dir=ov_weights(DRAFT_WEIGHTS, draft) if draft else None,
    )
    runs = []
    for run in result["runs"]:
        steps = run.get("genai_token_infer_s")
        row = {**_answer_row(run), "model_steps": len(steps) if steps else None}  # prefill + decode steps
        if "draft_acceptance_rate" in run:
            row["draft_acceptance_rate"] = run["draft_acceptance_rate"]
        runs.append(row)
    return {
        **environment,
        "runs": runs,
        "genai_version": result["genai_version"],
        "decoding_config": result.get("decoding_config"),
        "settings": genai_timing.settings_label(result.get("compiled_properties")),
        "max_new_tokens": MAX_NEW_TOKENS,
        **({"draft": f"{draft} {DRAFT_WEIGHTS}"} if draft else {}),
    }


def run(
    out: str | Path | None = None,
    *,
    model: str = DEFAULT_MODEL,
    weights: str | tuple[str, ...] = "int8",
    n_prompts: int = 8,
    num_threads: int = 2,
    rounds: int = 2,
    context: str = DEFAULT_CONTEXT,
    questions: str = "first",
) -> list[dict[str, Any]]:
    """Run (or resume) the decoding cases into the profile's ``decode_less`` results; returns the rows written now.
    Names are checked, and the today environment, the draft model and llama.cpp found, before anything is built."""
    todo = decode_cases(model, weights, num_threads, rounds, context, questions)
    if n_prompts < 2:
        raise ValueError(f"n_prompts={n_prompts!r}: allowed values are integers >= 2 (one is the warm-up)")
    asked = questions_by_kind(n_prompts) if questions == "by-kind" else [q.id for q in data.load_faq(n_prompts)]
    genai_timing.genai_python("2026")  # FileNotFoundError naming `make setup-today` when it is missing
    if any(case.weights == GGUF for case in todo) and importlib.util.find_spec("llama_cpp") is None:
        raise ModuleNotFoundError("weights 'gguf' needs llama-cpp-python: the optional extra requirements-peers.txt")
    if any(case.decoding == "speculative" for case in todo):
        models.causal_lm_dir(model=DRAFTS[model])  # the draft is provisioned (a clear error naming it if not)
    out = Path(out) if out is not None else results_path("decode_less", num_threads=num_threads)
    store = ResultsStore(out)
    if not runner.points_to_run(todo, store):
        return []
    prompts = rag_prompts(n_prompts, model=model, answer_in_context=context == "with-answer", question_ids=asked)
    ids = prompt_token_ids(llm.load_tokenizer(models.causal_lm_dir(model=model)), prompts)
    print(
        f"decode less: {len(todo)} cases of {model} {weights} (context {context}, questions {questions}), "
        f"{n_prompts - 1} answers each"
    )

    def evaluate(case: DecodeCase) -> dict[str, Any]:
        row = timing.run_in_fresh_process(measure_case, case, prompts, ids)
        names = {"model": case.model, "weights": case.weights, "decoding": case.decoding, "round": case.round}
        return {**names, "context": case.context, "questions": case.questions, "question_ids": asked[1:], **row}

    stamp = timing.profile_record(num_threads)
    return runner.run_sweep(todo, store, evaluate, stamp=stamp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, choices=list(models.CAUSAL_LMS))
    parser.add_argument("--weights", nargs="+", default=["int8"], choices=[*OV_PLANS, GGUF])
    parser.add_argument("--prompts", type=int, default=8, help="RAG prompts per mode (the first is the warm-up)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--context", default=DEFAULT_CONTEXT, choices=CONTEXTS, help="what the prompts' context holds")
    parser.add_argument("--questions", default="first", choices=QUESTION_SETS, help="which FAQ questions are asked")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    run(
        args.out,
        model=args.model,
        weights=tuple(args.weights),
        n_prompts=args.prompts,
        num_threads=args.threads,
        rounds=args.rounds,
        context=args.context,
        questions=args.questions,
    )
    rows = ResultsStore(args.out or results_path("decode_less", num_threads=args.threads)).rows()
    print(*findings(decode_less_table(rows)), *peer_findings(versus_llama_cpp(rows)), sep="\n")
    print(*kind_findings(by_question_kind(rows)), sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
