"""Notebook 06: Reading the decode-less results (:mod:`helpers.latency.decode_less`): each mode against plain decoding
on the same answers (:func:`decode_less_table`), the same split by the kind of question asked
(:func:`by_question_kind`), and OpenVINO's best mode against llama.cpp's best (:func:`versus_llama_cpp`).

Rows are paired only within one prompt set: the same model, weights, round, context and questions. Each sentence the
notebook prints about these results comes from the ``*_findings`` functions here, nothing else."""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from helpers import data
from helpers.core import genai_timing
from helpers.core.intervals import bar_verdict, bootstrap_ci

#: llama.cpp on the model's packaged GGUF (Q4_K_M) instead of an OpenVINO IR.
GGUF = "gguf"
#: The bar of the cookbook: best OpenVINO decoding at least this many times llama.cpp's best on the same answers.
PEER_BAR = 1.3
#: Which FAQ questions the prompts ask: the first ones in FAQ order (mostly "why" questions), or the kinds of
#: :data:`helpers.data.QUESTION_KINDS` in turn. Rows written before question sets were named are "first".
QUESTION_SETS = ("first", "by-kind")


def mode_label(row: dict[str, Any]) -> str:
    """A row's decoding mode as printed; lookup and speculative with the tokens proposed per step."""
    config = row.get("decoding_config") or {}
    proposed = config.get("num_assistant_tokens", config.get("num_pred_tokens"))
    method = row.get("decoding_method") or genai_timing.DECODING_METHOD.get(row["decoding"], row["decoding"])
    name = method.replace("_", " ")
    return f"{name}, {proposed} proposed per step" if proposed else name


def context_of(row: dict[str, Any]) -> str:
    """The context a row's prompts had (rows from before contexts were named had docs only)."""
    return row.get("context", "docs-only")


def questions_of(row: dict[str, Any]) -> str:
    """The question set a row's prompts asked (rows from before question sets were named asked the first ones)."""
    return row.get("questions", "first")


def question_ids(row: dict[str, Any], faq: Sequence[data.QAPair] | None = None) -> list[str]:
    """The FAQ id each timed answer of a row answers: recorded on the row, or for the first rows (the first questions
    in FAQ order, the first of them the warm-up) by position in ``faq`` (default: the FAQ, read here)."""
    if row.get("question_ids"):
        return list(row["question_ids"])
    faq = data.load_faq() if faq is None else faq
    return [q.id for q in faq[1 : 1 + len(row["runs"])]]


def _where(r: Any) -> str:
    """Round, context and (when not the first ones) questions of a table row, as printed."""
    asked = "" if r.questions == "first" else f", questions {r.questions}"
    return f"round {r.round}, context {r.context}{asked}"


def _prompt_set(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["model"], row["round"], context_of(row), questions_of(row)


def paired_with_plain(rows: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], list[tuple[dict, dict]]]]:
    """Each non-plain row with its runs paired, answer by answer, to plain decoding's on the same weights and
    prompts (rows without such a plain row are skipped)."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("runs")]
    plain = {(*_prompt_set(r), r["weights"]): r for r in ok if r["decoding"] == "plain"}
    for row in (r for r in ok if r["decoding"] != "plain"):
        base = plain.get((*_prompt_set(row), row["weights"]))
        if base is not None and len(base["runs"]) == len(row["runs"]):
            yield row, list(zip(base["runs"], row["runs"], strict=True))


def _paired_columns(row: dict[str, Any], pairs: list[tuple[dict, dict]]) -> dict[str, Any]:
    """What every table says of a mode's row and its answers paired with plain decoding's: names, answers, identical
    answers, answer length and tokens per model step."""
    steps = [r["new_tokens"] / (r["model_steps"] - 1) for _, r in pairs if (r.get("model_steps") or 0) > 1]
    return {
        "model": row["model"],
        "runtime": "llama.cpp" if row["weights"] == GGUF else "genai-2026",
        "weights": row["weights"],
        "decoding": row["decoding"],
        "mode": mode_label(row),
        "round": row["round"],
        "context": context_of(row),
        "questions": questions_of(row),
        "answers": len(pairs),
        "identical_answers": sum(b["answer_sha1"] == r["answer_sha1"] for b, r in pairs),
        "median_answer_tokens": statistics.median(r["new_tokens"] for _, r in pairs),
        "tokens_per_model_step": statistics.median(steps) if steps else float("nan"),
    }


def _speedups(pairs: list[tuple[dict, dict]]) -> np.ndarray:
    """Per answer: its end-to-end time under plain decoding over its time under the mode."""
    return np.array([b["e2e_s"] / r["e2e_s"] for b, r in pairs])


def decode_less_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Per model, weights and lookup round: identical answers, tokens per model step, the paired answer speed-up over
    plain decoding with its 95 % interval, and the verdict (faster / slower / tie within noise)."""
    out = []
    for row, pairs in paired_with_plain(rows):
        span = bootstrap_ci(_speedups(pairs), np.median, 2000, 0)
        accepted = [r["draft_acceptance_rate"] for _, r in pairs if r.get("draft_acceptance_rate") is not None]
        out.append(
            {
                **_paired_columns(row, pairs),
                "draft_acceptance": statistics.median(accepted) if accepted else float("nan"),
                "speedup": span.value,
                "speedup_lo": span.lo,
                "speedup_hi": span.hi,
                "verdict": {"met": "faster", "missed": "slower"}.get(bar_verdict(span, 1.0, True), "tie within noise"),
                "settings": row.get("settings", "settings not read back"),
            }
        )
    return pd.DataFrame(out)


def _weights_text(r: Any) -> str:
    return "llama.cpp Q4_K_M" if r.weights == GGUF else r.weights


def _steps_text(r: Any) -> str:
    parts = []
    if np.isfinite(r.tokens_per_model_step):
        parts.append(f"{r.tokens_per_model_step:.2f} tokens per model step")
    if np.isfinite(getattr(r, "draft_acceptance", float("nan"))):
        parts.append(f"{r.draft_acceptance:.0%} of drafted tokens accepted")  # GenAI reports a fraction
    return ", ".join(parts) + ", " if parts else ""


def findings(table: pd.DataFrame) -> list[str]:
    """One sentence per row of :func:`decode_less_table` (the prose of notebook 06 quotes these, nothing else)."""
    return [
        f"{r.model} {_weights_text(r)}, {r.mode} "
        f"({_where(r)}): answers {r.speedup:.2f}x [{r.speedup_lo:.2f}, {r.speedup_hi:.2f}] "
        f"as fast as plain decoding ({r.verdict}), {r.identical_answers} of {r.answers} answers token-for-token "
        f"identical, {_steps_text(r)}median answer {r.median_answer_tokens:.0f} tokens; {r.settings}"
        for r in table.itertuples()
    ]


def _decode_rates(row: dict[str, Any]) -> np.ndarray:
    """Per answer: tokens after the first over the time after the first (NaN for a one-token answer)."""
    return np.array(
        [
            (r["new_tokens"] - 1) / (r["e2e_s"] - r["ttft_s"]) if r["new_tokens"] > 1 else np.nan
            for r in row["runs"]
        ]
    )


def versus_llama_cpp(rows: list[dict[str, Any]], bar: float = PEER_BAR) -> pd.DataFrame:
    """Per model and round: the best OpenVINO mode (weights and decoding, by median decode rate) against llama.cpp's
    best mode, decode rates paired per prompt (median ratio, bootstrap interval) and the verdict against ``bar``.
    The two sides answer with other weights, so their answers differ; each side's identity with its own plain
    decoding is :func:`decode_less_table`'s."""
    ok = [r for r in rows if r.get("status") == "ok" and r.get("runs")]
    out = []
    for model, rnd, context, questions in sorted({_prompt_set(r) for r in ok}):
        mine = [r for r in ok if _prompt_set(r) == (model, rnd, context, questions)]
        ov = [r for r in mine if r["weights"] != GGUF]
        peer = [r for r in mine if r["weights"] == GGUF]
        if not ov or not peer:
            continue
        rates = {id(r): _decode_rates(r) for r in mine}  # each row's per-answer rates, computed once
        best_ov = max(ov, key=lambda r: np.nanmedian(rates[id(r)]))
        best_peer = max(peer, key=lambda r: np.nanmedian(rates[id(r)]))
        ov_rates, peer_rates = rates[id(best_ov)], rates[id(best_peer)]
        if len(ov_rates) != len(peer_rates):  # not the same prompts: nothing to pair
            continue
        ratios = ov_rates / peer_rates
        ratios = ratios[np.isfinite(ratios)]
        if len(ratios) < 2:
            continue
        span = bootstrap_ci(ratios, np.median, 2000, 0)
        out.append(
            {
                "model": model,
                "round": rnd,
                "context": context,
                "questions": questions,
                "openvino": f"{best_ov['weights']} {mode_label(best_ov)}",
                "openvino_tokens_per_s": float(np.nanmedian(ov_rates)),
                "llama_cpp": f"Q4_K_M {mode_label(best_peer)}",
                "llama_cpp_tokens_per_s": float(np.nanmedian(peer_rates)),
                "answers": len(ratios),
                "ratio": span.value,
                "ratio_lo": span.lo,
                "ratio_hi": span.hi,
                "verdict": bar_verdict(span, bar, True),
                "bar": bar,
            }
        )
    return pd.DataFrame(out)


def peer_findings(table: pd.DataFrame) -> list[str]:
    """One sentence per row of :func:`versus_llama_cpp`."""
    return [
        f"{r.model} ({_where(r)}): best OpenVINO decoding ({r.openvino}, "
        f"{r.openvino_tokens_per_s:.1f} tok/s) is {r.ratio:.2f}x [{r.ratio_lo:.2f}, {r.ratio_hi:.2f}] llama.cpp's "
        f"best ({r.llama_cpp}, {r.llama_cpp_tokens_per_s:.1f} tok/s), decode rates paired over "
        f"{r.answers} answers: {r.verdict} against the {r.bar:g}x bar"
        for r in table.itertuples()
    ]


def by_question_kind(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """:func:`decode_less_table` per kind of question (:func:`helpers.data.question_kind`): answers, the
    median answer speed-up over plain decoding with the lowest and highest (a few answers per kind: a range, not an
    interval), identical answers, tokens per model step and answer length."""
    faq = data.load_faq()
    question_of = {q.id: q.question for q in faq}
    out = []
    for row, pairs in paired_with_plain(rows):
        kinds = [data.question_kind(question_of[i]) for i in question_ids(row, faq)]
        for kind in dict.fromkeys(kinds):
            mine = [pair for pair, k in zip(pairs, kinds, strict=True) if k == kind]
            ratios = _speedups(mine)
            out.append(
                {
                    **_paired_columns(row, mine),
                    "kind": kind,
                    "speedup": float(np.median(ratios)),
                    "speedup_min": float(ratios.min()),
                    "speedup_max": float(ratios.max()),
                }
            )
    return pd.DataFrame(out)


def kind_findings(table: pd.DataFrame) -> list[str]:
    """One sentence per row of :func:`by_question_kind`."""
    return [
        f"{r.model} {_weights_text(r)}, {r.mode} ({_where(r)}), "
        f"{r.kind} questions: {r.speedup:.2f}x as fast as plain decoding (median of {r.answers} answers, "
        f"{r.speedup_min:.2f}-{r.speedup_max:.2f}), {r.identical_answers} identical, {_steps_text(r)}"
        f"median answer {r.median_answer_tokens:.0f} tokens"
        for r in table.itertuples()
    ]
