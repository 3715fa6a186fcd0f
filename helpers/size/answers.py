"""Notebook 01 (and `python -m helpers.size.answers`): does the RAG chain answer, per model and weight format? FAQ
questions go through retrieval over the FAQ pages and the model; each answer is scored by token F1 against the FAQ's
own answer and by how much of it is found in the retrieved passages; means with bootstrap intervals over questions.

    python -m helpers.size.answers [--model NAME ...] [--format fp32 int8 int4] [--questions 24]
        # -> results/<profile>/rag_answers.jsonl (resumable: one row per model, format and question)
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import data, llm, models
from helpers.core import metrics, runner, timing
from helpers.core.intervals import bootstrap_ci
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_files, results_path, set_threads
from helpers.quant.woq_config import WoqConfig
from helpers.rag import embedders, pipeline

#: Weight formats of the answering model: fp32 (torch, the dequantized GGUF), OpenVINO int8 per channel and int4 sym
#: g64 RTN (data-free, the recipe of notebook 03).
FORMATS: dict[str, WoqConfig | None] = {
    "fp32": None,
    "int8": WoqConfig(weight_dtype="int8", group_size=-1),
    "int4": WoqConfig(weight_dtype="int4_clip", group_size=64),
}
#: Passages handed to the model per question, and the answer budget.
TOP_K = 3
MAX_NEW_TOKENS = 192
#: FAQ pages are the corpus: every question's answer is in it, among every other answer.
FAQ_PREFIX = "faq/"


def check_format(fmt: str) -> None:
    """Refuse a weight format this module does not build, naming the allowed ones."""
    if fmt not in FORMATS:
        raise ValueError(f"format={fmt!r} is unknown: allowed values are {', '.join(FORMATS)}")


def prompt_id(template: str = pipeline.RAG_PROMPT, max_new_tokens: int = MAX_NEW_TOKENS, k: int = TOP_K) -> str:
    """Digest of what shapes an answer besides the model: the RAG prompt, the answer budget and the passages handed
    in. Rows carry it; rows of another prompt are answered again and never summarised with these."""
    return hashlib.sha256(f"{template}\x00{max_new_tokens}\x00{k}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class AnswerCase:
    """One question answered by one model in one weight format: a point of :func:`helpers.core.runner.run_sweep`."""

    model: str
    format: str
    question_id: str

    @property
    def key(self) -> str:
        return f"{self.model}/{self.format}/{self.question_id}"

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


def faq_retriever(num_threads: int, k: int = TOP_K) -> Any:
    """A FAISS retriever over the FAQ pages, chunked as notebook 01 chunks, embedded with fp32 MiniLM."""
    docs = [doc for doc in data.load_docs() if doc.source.startswith(FAQ_PREFIX)]
    store, _ = pipeline.build_faiss(embedders.build_embedder("hf-fp32", num_threads), pipeline.split_documents(docs))
    return store.as_retriever(search_kwargs={"k": k})


def answering_llm(model: str, fmt: str, num_threads: int, max_new_tokens: int = MAX_NEW_TOKENS) -> tuple[Any, Any]:
    """``(LangChain LLM, tokenizer)`` of a model in a weight format: torch fp32, or its OpenVINO IR compressed by NNCF
    (exported and compressed once, cached)."""
    check_format(fmt)
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
        self.retriever = faq_retriever(num_threads)
        self.loaded: tuple[str, str] | None = None
        self.answer_llm: Any = None
        self.template = ""

    def __call__(self, case: AnswerCase) -> dict[str, Any]:
        if self.loaded != (case.model, case.format):
            self.answer_llm, tokenizer = answering_llm(case.model, case.format, self.num_threads)
            self.template = llm.make_prompt(tokenizer, pipeline.RAG_PROMPT)  # the chat template around the RAG prompt
            self.loaded = (case.model, case.format)
        qa = self.faq[case.question_id]
        start = time.perf_counter()
        docs = self.retriever.invoke(qa.question)
        context = pipeline.format_context(docs)
        prompt = self.template.replace("{context}", context).replace("{question}", qa.question)
        answer = str(self.answer_llm.invoke(prompt)).strip()
        return {
            "question": qa.question,
            "answer": answer,
            "f1": metrics.token_f1(answer, qa.answer),
            "support": metrics.token_support(answer, context),
            "retrieved_own_page": qa.source in {d.metadata.get("source") for d in docs},
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
) -> ResultsStore:
    """Answer ``n_questions`` FAQ questions with every model in every format; rows appended as they finish."""
    specs = [models.get_causal_lm(name) for name in model_names]  # bad names fail here, before any model is built
    for fmt in formats:
        check_format(fmt)
    enforce_offline()
    set_threads(num_threads)
    faq = questions(n_questions)
    store = ResultsStore(out or results_path("rag_answers", num_threads=num_threads))
    cases = [AnswerCase(spec.name, fmt, qa.id) for spec in specs for fmt in formats for qa in faq]
    current = prompt_id()

    def same_prompt(row: dict[str, Any]) -> bool:
        return row.get("prompt_id") == current

    if runner.points_to_run(cases, store, reuse=same_prompt):
        evaluator = AnswerEvaluator(faq, num_threads)
        runner.run_sweep(cases, store, evaluator, reuse=same_prompt, stamp=timing.profile_record(num_threads))
    return store


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model and format: questions answered, mean token F1 and mean support with 95 % bootstrap intervals over
    questions, and how often the retrieved passages held the question's own FAQ page; only rows answered with the
    current prompt (:func:`prompt_id`). (Each row's ``seconds`` is progress information, not a benchmark: no
    warm-up, machine load not controlled; speed is notebook 06's.)"""
    if rows.empty or "prompt_id" not in rows:
        return pd.DataFrame()
    ok = rows[(rows["status"] == "ok") & (rows["prompt_id"] == prompt_id())]
    out = []
    for (model, fmt), group in ok.groupby(["model", "format"], sort=False):
        f1 = bootstrap_ci(group["f1"].to_numpy(float), np.mean)
        support = bootstrap_ci(group["support"].dropna().to_numpy(float), np.mean)
        out.append(
            {
                "model": model,
                "format": fmt,
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


def quality_line(model: str, profile: str) -> str:
    """One sentence: mean token F1 with its interval per model and weight format (what size buys), from ``profile``'s
    committed ``rag_answers.jsonl``, else from the first committed profile that answered with ``model`` (answer
    quality is the model's, not the CPU's: greedy decoding differs across CPUs only by rounding), named."""
    files = results_files("rag_answers")
    ordered = [profile] * (profile in files) + [p for p in files if p != profile]
    for name in ordered:
        table = summary(ResultsStore(files[name]).to_frame())
        if table.empty or model not in set(table["model"]):
            continue
        parts = [
            f"{r.model} {r.format} {r.token_f1:.3f} [{r.token_f1_lo:.3f}, {r.token_f1_hi:.3f}]"
            for r in table.sort_values("token_f1", ascending=False).itertuples()
        ]
        n = int(table["questions"].max())
        return f"answer quality, mean token F1 vs the FAQ answer over {n} questions (measured on {name}): " + "; ".join(
            parts
        )
    return (
        f"answer quality of {model}: not measured with the current RAG prompt yet "
        f"(python -m helpers.size.answers --model {model})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", choices=list(models.CAUSAL_LMS), help="default: every required")
    parser.add_argument("--format", nargs="+", default=list(FORMATS), choices=list(FORMATS))
    parser.add_argument("--questions", type=int, default=24)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<profile>/rag_answers.jsonl")
    args = parser.parse_args(argv)
    names = args.model or [m.name for m in models.CAUSAL_LMS.values() if not m.optional]
    store = run(names, args.format, args.questions, args.threads, args.out)
    table = summary(store.to_frame())
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"results: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
