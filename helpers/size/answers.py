"""Notebook 01 (and `python -m helpers.size.answers`): does the RAG chain answer, per model and weight format? FAQ
questions go through retrieval over the FAQ pages and the model; each answer is scored by token F1 against the FAQ's
own answer and by how much of it is found in the retrieved passages; means with bootstrap intervals over questions.

    python -m helpers.size.answers [--model NAME ...] [--format fp32 int8 int4] [--questions 24]
                                   [--chunking questions characters] [--question-set scored held-out]
        # -> results/<profile>/rag_answers.jsonl (resumable: one row per model, format, chunking and question)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import data, llm, models
from helpers.core import metrics, runner, timing
from helpers.core.checks import check_choice
from helpers.core.intervals import bar_verdict, bootstrap_ci
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_files, results_path, set_threads
from helpers.llm.genai import cut_at_stop
from helpers.llm.genai_chat import chat_turns
from helpers.quant.woq_config import WoqConfig
from helpers.rag import embedders, pipeline

#: Weight formats of the answering model: fp32 (torch, the dequantized GGUF), OpenVINO int8 per channel and int4 sym
#: g64 RTN (data-free, the recipe of notebook 03).
FORMATS: dict[str, WoqConfig | None] = {
    "fp32": None,
    "int8": WoqConfig(weight_dtype="int8", group_size=-1),
    "int4": WoqConfig(weight_dtype="int4_clip", group_size=64),
}
#: The bar of the cookbook for the answering pick: mean token F1 at least this, judged on its 95 % interval.
F1_BAR = 0.45
#: Passages handed to the model per question, and the answer budget.
TOP_K = 3
MAX_NEW_TOKENS = 192
#: FAQ pages are the corpus: every question's answer is in it, among every other answer.
FAQ_PREFIX = "faq/"
#: How the FAQ pages are cut into passages: first at their question headings (``split_documents(at_questions=True)``)
#: or every ~1000 characters wherever they fall (the first rows). The first is the chain's: it was chosen on the
#: held-out questions, then scored on the scored ones.
CHUNKINGS = ("questions", "characters")
CHUNKING = "questions"
#: The questions scored, and held-out ones to choose the chain's settings on (never scored: none is among the scored).
QUESTION_SETS = ("scored", "held-out")
#: The first scored questions (:func:`questions`) and as many held-out ones: drawn from :data:`HELD_OUT_POOL` with
#: another seed, the first scored removed. More scored questions come from the rest of the FAQ, the held-out never.
SCORED_FIRST = 24
HELD_OUT_POOL = 60

#: What rows written before a field was recorded had: scored questions, pages cut every ~1000 characters.
EARLIER_ROWS = {"question_set": "scored", "chunking": "characters"}


def prompt_id(max_new_tokens: int = MAX_NEW_TOKENS, k: int = TOP_K) -> str:
    """Digest of what shapes an answer besides the model: the RAG prompt (its worked example included), where the
    chain stops (:data:`helpers.rag.pipeline.RAG_STOP`), the answer budget and the passages handed in. Rows carry it;
    rows of another prompt are answered again and never summarised with these."""
    prompt = json.dumps(chat_turns(pipeline.rag_prompt().format_messages(context="{context}", question="{question}")))
    stops = json.dumps(pipeline.RAG_STOP)
    return hashlib.sha256(f"{prompt}\x00{stops}\x00{max_new_tokens}\x00{k}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class AnswerCase:
    """One question answered by one model in one weight format: a point of :func:`helpers.core.runner.run_sweep`."""

    model: str
    format: str
    question_id: str
    chunking: str = CHUNKING
    question_set: str = "scored"

    @property
    def key(self) -> str:
        cut = "" if self.chunking == "characters" else f"/{self.chunking}"  # the first rows' keys are unchanged
        held = "" if self.question_set == "scored" else f"/{self.question_set}"
        return f"{self.model}/{self.format}/{self.question_id}{cut}{held}"

    @property
    def label(self) -> str:
        return f"{self.model} {self.format}"


def questions(n: int, seed: int = 0) -> list[data.QAPair]:
    """``n`` FAQ questions drawn across every FAQ page (fixed seed), in file order."""
    faq = data.load_faq()
    if not 1 <= n <= len(faq):
        raise ValueError(f"questions={n} is invalid: allowed values are 1 to {len(faq)}")
    picked = np.random.default_rng(seed).choice(len(faq), size=n, replace=False)
    return [faq[i] for i in sorted(picked)]


def question_set(name: str, n: int) -> list[data.QAPair]:
    """``n`` questions of a set of :data:`QUESTION_SETS`, in file order: held-out ones, or scored ones (the
    :data:`SCORED_FIRST` of :func:`questions` first, then the rest of the FAQ in a fixed random order, the held-out
    questions left out)."""
    check_choice("question_set", name, QUESTION_SETS)
    faq = data.load_faq()
    first = questions(SCORED_FIRST)
    held = [qa for qa in questions(HELD_OUT_POOL, seed=1) if qa not in first][:SCORED_FIRST]
    if name == "held-out":
        order = held
    else:
        shuffled = [faq[i] for i in np.random.default_rng(0).permutation(len(faq))]
        order = first + [qa for qa in shuffled if qa not in first and qa not in held]
    if not 1 <= n <= len(order):
        raise ValueError(f"questions={n} is invalid for {name} questions: allowed values are 1 to {len(order)}")
    picked = {qa.id for qa in order[:n]}
    return [qa for qa in faq if qa.id in picked]


def faq_retriever(num_threads: int, k: int = TOP_K, chunking: str = CHUNKING) -> Any:
    """A FAISS retriever over the FAQ pages, cut as ``chunking`` says (:data:`CHUNKINGS`), embedded with fp32
    MiniLM."""
    check_choice("chunking", chunking, CHUNKINGS)
    docs = [doc for doc in data.load_docs() if doc.source.startswith(FAQ_PREFIX)]
    chunks = pipeline.split_documents(docs, at_questions=chunking == "questions")
    store, _ = pipeline.build_faiss(embedders.build_embedder("hf-fp32", num_threads), chunks)
    return store.as_retriever(search_kwargs={"k": k})


def answering_llm(model: str, fmt: str, num_threads: int, max_new_tokens: int = MAX_NEW_TOKENS) -> tuple[Any, Any]:
    """``(LangChain LLM, tokenizer)`` of a model in a weight format: torch fp32, or its OpenVINO IR compressed by NNCF
    (exported and compressed once, cached)."""
    check_choice("format", fmt, FORMATS)
    model_dir = models.causal_lm_dir(model=model)
    tokenizer = llm.load_tokenizer(model_dir)
    if FORMATS[fmt] is None:
        return llm.torch_fp32_llm(model_dir, num_threads, max_new_tokens), tokenizer
    ir = llm.compress_openvino_llm(FORMATS[fmt], llm.export_openvino_llm(model_dir))
    return llm.openvino_langchain_llm(ir, num_threads, max_new_tokens), tokenizer


class AnswerEvaluator:
    """Answers the cases of one run; keeps the retriever and the last model loaded (cases come grouped by model)."""

    def __init__(self, faq: list[data.QAPair], num_threads: int) -> None:
        self.faq = {qa.id: qa for qa in faq}
        self.num_threads = num_threads
        self.retrievers: dict[str, Any] = {}  # one per chunking, built when first needed
        self.loaded: tuple[str, str] | None = None
        self.answer_llm: Any = None
        self.tokenizer: Any = None
        self.prompt = pipeline.rag_prompt()

    def __call__(self, case: AnswerCase) -> dict[str, Any]:
        if self.loaded != (case.model, case.format):
            self.answer_llm, self.tokenizer = answering_llm(case.model, case.format, self.num_threads)
            self.loaded = (case.model, case.format)
        qa = self.faq[case.question_id]
        start = time.perf_counter()
        if case.chunking not in self.retrievers:
            self.retrievers[case.chunking] = faq_retriever(self.num_threads, chunking=case.chunking)
        docs = self.retrievers[case.chunking].invoke(qa.question)
        context = pipeline.format_context(docs)
        turns = chat_turns(self.prompt.format_messages(context=context, question=qa.question))
        prompt = models.chat_prompt(self.tokenizer, turns)  # the model's chat template around the chain's prompt
        # the pipeline has no stop sequences: it runs to the budget and the chain's stop is applied to its text, which
        # under greedy decoding is the answer a stopping model gives; the text past it is kept to score what it cost
        generated = str(self.answer_llm.invoke(prompt)).strip()
        answer = cut_at_stop(generated, pipeline.RAG_STOP).strip()
        return {
            "question": qa.question,
            "answer": answer,
            "f1": metrics.token_f1(answer, qa.answer),
            "f1_unstopped": metrics.token_f1(generated, qa.answer),
            "stopped": answer != generated,
            "support": metrics.token_support(answer, context),
            "retrieved_own_page": qa.source in {d.metadata.get("source") for d in docs},
            "chunking": case.chunking,
            "question_set": case.question_set,
            "prompt_id": prompt_id(),
            "max_new_tokens": MAX_NEW_TOKENS,
            "seconds": round(time.perf_counter() - start, 2),
        }


def run(
    model_names: list[str],
    formats: list[str],
    n_questions: int = 24,
    num_threads: int = 2,
    out: Path | None = None,
    chunkings: tuple[str, ...] = (CHUNKING,),
    asked: str = "scored",
) -> ResultsStore:
    """Answer ``n_questions`` FAQ questions of the set ``asked`` (:data:`QUESTION_SETS`) with every model in every
    format, the pages cut each way of ``chunkings``; rows appended as they finish."""
    specs = [models.get_causal_lm(name) for name in model_names]  # bad names fail here, before any model is built
    for fmt in formats:
        check_choice("format", fmt, FORMATS)
    for chunking in chunkings:
        check_choice("chunking", chunking, CHUNKINGS)
    enforce_offline()
    set_threads(num_threads)
    faq = question_set(asked, n_questions)
    store = ResultsStore(out or results_path("rag_answers", num_threads=num_threads))
    cases = [
        AnswerCase(spec.name, fmt, qa.id, chunking, asked)
        for spec in specs
        for fmt in formats
        for chunking in chunkings
        for qa in faq
    ]
    current = prompt_id()

    def same_prompt(row: dict[str, Any]) -> bool:
        return row.get("prompt_id") == current

    if runner.points_to_run(cases, store, reuse=same_prompt):
        evaluator = AnswerEvaluator(faq, num_threads)
        runner.run_sweep(cases, store, evaluator, reuse=same_prompt, stamp=timing.profile_record(num_threads))
    return store


def answered(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows answered with the current prompt (:func:`prompt_id`), each with its ``chunking`` and
    ``question_set`` named."""
    if rows.empty or "prompt_id" not in rows:
        return pd.DataFrame()
    ok = rows[(rows["status"] == "ok") & (rows["prompt_id"] == prompt_id())]
    named = {field: ok[field].fillna(value) if field in ok else value for field, value in EARLIER_ROWS.items()}
    return ok.assign(**named)


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per question set, model, format and chunking: questions answered, mean token F1 and mean support with 95 %
    bootstrap intervals over questions, and how often the retrieved passages held the question's own FAQ page; only
    rows answered with the current prompt (:func:`prompt_id`). (Each row's ``seconds`` is progress information, not a
    benchmark: no warm-up, machine load not controlled; speed is notebook 06's.)"""
    ok = answered(rows)
    if ok.empty:
        return pd.DataFrame()
    out = []
    for (asked, model, fmt, chunking), group in ok.groupby(["question_set", "model", "format", "chunking"], sort=False):
        f1 = bootstrap_ci(group["f1"].to_numpy(float), np.mean)
        support = bootstrap_ci(group["support"].dropna().to_numpy(float), np.mean)
        out.append(
            {
                "question_set": asked,
                "model": model,
                "format": fmt,
                "chunking": chunking,
                "questions": len(group),
                "token_f1": f1.value,
                "token_f1_lo": f1.lo,
                "token_f1_hi": f1.hi,
                "support": support.value,
                "support_lo": support.lo,
                "support_hi": support.hi,
                "own_page_retrieved": float(group["retrieved_own_page"].mean()),
            }
        )
    return pd.DataFrame(out)


def _rows_of(ok: pd.DataFrame, model: str, fmt: str, asked: str) -> pd.DataFrame:
    return ok[(ok["model"] == model) & (ok["format"] == fmt) & (ok["question_set"] == asked)]


def _paired_change(differences: pd.Series) -> str:
    """The mean of per-question F1 differences with its 95 % bootstrap interval, and over how many questions."""
    gain = bootstrap_ci(differences.to_numpy(float), np.mean)
    return f"{gain.value:+.3f} [{gain.lo:+.3f}, {gain.hi:+.3f}] over the same {len(differences)}"


def chunking_gain(rows: pd.DataFrame, model: str, fmt: str, asked: str = "scored") -> str:
    """What cutting the pages at question headings changed for ``model`` in ``fmt`` on the question set ``asked``:
    the mean per-question F1 difference against cutting every ~1000 characters, with its 95 % bootstrap interval,
    over the questions answered both ways; empty when there are none."""
    ok = answered(rows)
    if ok.empty:
        return ""
    mine = _rows_of(ok, model, fmt, asked).pivot_table(index="question_id", columns="chunking", values="f1")
    if not set(CHUNKINGS) <= set(mine.columns):
        return ""
    both = mine.dropna(subset=list(CHUNKINGS))
    return (
        f"cutting the FAQ pages at their question headings instead of every ~1000 characters changed {model} "
        f"{fmt}'s token F1 by {_paired_change(both['questions'] - both['characters'])} {asked} questions"
    )


def stop_gain(rows: pd.DataFrame, model: str, fmt: str, asked: str = "scored") -> str:
    """What stopping at the next passage's marker (:data:`helpers.rag.pipeline.RAG_STOP`) changed for ``model`` in
    ``fmt`` on the question set ``asked``, pages cut as the chain cuts them: the mean per-question F1 difference
    against reading the model to its budget, with its 95 % bootstrap interval; empty when not measured."""
    ok = answered(rows)
    if ok.empty or "f1_unstopped" not in ok:
        return ""
    mine = _rows_of(ok, model, fmt, asked).loc[lambda rows: rows["chunking"] == CHUNKING]
    if mine.empty:
        return ""
    return (
        f"stopping at the next passage's marker changed {model} {fmt}'s token F1 by "
        f"{_paired_change(mine['f1'] - mine['f1_unstopped'])} {asked} questions ({int(mine['stopped'].sum())} "
        "answers stopped there)"
    )


def gain_lines(
    rows: pd.DataFrame, pairs: list[tuple[str, str]], question_sets: tuple[str, ...] = ("scored",)
) -> list[str]:
    """What the cut (:func:`chunking_gain`) and the stop (:func:`stop_gain`) changed, per (model, format) of
    ``pairs`` and question set, in that order; only the ones measured."""
    gains = (chunking_gain, stop_gain)
    lines = [gain(rows, model, fmt, asked) for gain in gains for model, fmt in pairs for asked in question_sets]
    return [line for line in lines if line]


def comparable(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of the questions every model and format answers: the first :data:`SCORED_FIRST` scored and the
    held-out ones (rows of more scored questions are summarised by :func:`whole_faq_lines`)."""
    if rows.empty:
        return rows
    asked = {qa.id for name in QUESTION_SETS for qa in question_set(name, SCORED_FIRST)}
    return rows[rows["question_id"].isin(asked)]


def whole_faq_lines(rows: pd.DataFrame, model: str | None = None) -> list[str]:
    """One sentence per model, format and chunking scored on more than the first questions: mean token F1 with its
    95 % interval over all its scored questions and the verdict against :data:`F1_BAR` on that narrower interval."""
    table = summary(rows)
    if table.empty:
        return []
    wide = table[(table["question_set"] == "scored") & (table["questions"] > SCORED_FIRST)]
    return [
        f"{r.model} {r.format} (pages cut at {r.chunking}) over all {r.questions} scored questions: token F1 "
        f"{r.token_f1:.3f} [{r.token_f1_lo:.3f}, {r.token_f1_hi:.3f}] (bar >= {F1_BAR}: "
        f"{bar_verdict((r.token_f1_lo, r.token_f1_hi), F1_BAR, higher_is_better=True)}), support {r.support:.3f}"
        for r in wide.itertuples()
        if model in (None, r.model)
    ]


def quality_line(model: str, profile: str) -> str:
    """One sentence: mean token F1 with its interval per model and weight format (what size buys), pages cut as the
    chain cuts them (:data:`CHUNKING`), and what that cut and the stop bought each format measured both ways; from
    ``profile``'s committed ``rag_answers.jsonl``, else from the first committed profile that answered with ``model``
    (answer quality is the model's, not the CPU's: greedy decoding differs across CPUs only by rounding), named."""
    files = results_files("rag_answers")
    ordered = [profile] * (profile in files) + [p for p in files if p != profile]
    for name in ordered:
        rows = ResultsStore(files[name]).to_frame()
        table = summary(comparable(rows))
        if not table.empty:
            table = table[(table["chunking"] == CHUNKING) & (table["question_set"] == "scored")]
        if table.empty or model not in set(table["model"]):
            continue
        ranked = table.sort_values("token_f1", ascending=False)
        parts = [
            f"{r.model} {r.format} {r.token_f1:.3f} [{r.token_f1_lo:.3f}, {r.token_f1_hi:.3f}]"
            for r in ranked.itertuples()
        ]
        n = int(table["questions"].max())
        line = f"answer quality, mean token F1 vs the FAQ answer over the same {n} questions (measured on {name}): "
        formats = list(ranked[ranked["model"] == model]["format"])  # best first
        gains = gain_lines(rows, [(model, fmt) for fmt in formats], tuple(reversed(QUESTION_SETS)))  # chosen, scored
        return "\n".join([line + "; ".join(parts)] + gains + whole_faq_lines(rows, model))
    return (
        f"answer quality of {model}: not measured with the current RAG prompt yet "
        f"(python -m helpers.size.answers --model {model})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", choices=list(models.CAUSAL_LMS), help="default: every required")
    parser.add_argument("--format", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--chunking", nargs="+", default=[CHUNKING], choices=CHUNKINGS)
    parser.add_argument("--question-set", default="scored", choices=QUESTION_SETS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<profile>/rag_answers.jsonl")
    args = parser.parse_args(argv)
    names = args.model or [m.name for m in models.CAUSAL_LMS.values() if not m.optional]
    store = run(names, args.format, args.questions, args.threads, args.out, tuple(args.chunking), args.question_set)
    table = summary(comparable(store.to_frame()))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(*whole_faq_lines(store.to_frame()), sep="\n")
    print(f"results: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
