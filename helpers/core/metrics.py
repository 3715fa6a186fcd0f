"""Every notebook: Quality metrics: retrieval ranking (nDCG, recall, MRR), embedding agreement,
language-model perplexity, the KL divergence of next-token distributions over a top-k support
(``topk_kl_divergence``), and answer quality (token F1 against a reference, token support in the context).

Ranking metrics take, per query, the ranked list of retrieved ids and the set of relevant ids (binary relevance).
They are cross-checked against scikit-learn's ``ndcg_score`` in the tests.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

from helpers.core.intervals import bootstrap_ci


def _check_k(k: int) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k={k!r} is invalid: allowed values are integers >= 1")


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Share of the relevant ids found in the top k (k larger than the list just uses the whole list)."""
    _check_k(k)
    if not relevant:
        raise ValueError("relevant is empty: a query needs at least one relevant id")
    return len(set(ranked[:k]) & relevant) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], relevant: set[str], k: int | None = None) -> float:
    """1 / rank of the first relevant id (0 when none is in the top k)."""
    for rank, doc_id in enumerate(ranked[:k] if k else ranked, start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int) -> float:
    """Binary-relevance nDCG@k with the log2(rank + 1) discount."""
    _check_k(k)
    if not relevant:
        raise ValueError("relevant is empty: a query needs at least one relevant id")
    seen: set[str] = set()
    dcg = 0.0
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant and doc_id not in seen:  # a duplicate hit earns nothing twice
            dcg += 1.0 / math.log2(rank + 1)
            seen.add(doc_id)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return dcg / ideal


def ndcg_from_scores(scores: np.ndarray, relevant_index: int, k: int) -> float:
    """nDCG@k for one query from raw similarity scores, ties broken pessimistically.

    With tied scores the relevant document is ranked after every document that scores the same,
    so a constant scorer earns no credit from lucky ordering.
    """
    _check_k(k)
    target = scores[relevant_index]
    rank = int(np.sum(scores > target) + np.sum(scores == target))  # pessimistic: ties go first
    return 1.0 / math.log2(rank + 1) if rank <= k else 0.0


def retrieval_report(
    rankings: dict[str, Sequence[str]], qrels: dict[str, set[str]], ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Mean nDCG@10, recall@k for each k, and MRR over all queries in ``qrels``, with the 95 % bootstrap interval
    of the mean nDCG@10 over queries (``ndcg@10_lo`` / ``ndcg@10_hi``).

    A query missing from ``rankings`` counts as retrieving nothing.
    """
    if not qrels:
        raise ValueError("qrels is empty: nothing to evaluate")
    report: dict[str, list[float]] = {"ndcg@10": [], "mrr": []}
    for k in ks:
        report[f"recall@{k}"] = []
    for query_id, relevant in qrels.items():
        ranked = list(rankings.get(query_id, []))
        report["ndcg@10"].append(ndcg_at_k(ranked, relevant, 10))
        report["mrr"].append(reciprocal_rank(ranked, relevant))
        for k in ks:
            report[f"recall@{k}"].append(recall_at_k(ranked, relevant, k))
    summary = {name: float(np.mean(values)) for name, values in report.items()}
    ndcg = bootstrap_ci(np.asarray(report["ndcg@10"]), np.mean)
    summary["ndcg@10_lo"], summary["ndcg@10_hi"] = ndcg.lo, ndcg.hi
    return summary


def cosine_agreement(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Row-wise cosine similarity between two embedding matrices of the same texts: mean and min."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape:
        raise ValueError(f"shape mismatch: reference {reference.shape} vs candidate {candidate.shape}")
    num = np.sum(reference * candidate, axis=1)
    den = np.linalg.norm(reference, axis=1) * np.linalg.norm(candidate, axis=1)
    cos = num / np.maximum(den, 1e-12)
    return {"cosine_mean": float(cos.mean()), "cosine_min": float(cos.min())}


def perplexity_from_nll(total_nll: float, n_tokens: int) -> float:
    """Perplexity = exp(mean negative log-likelihood per predicted token)."""
    if n_tokens <= 0:
        raise ValueError(f"n_tokens={n_tokens!r} is invalid: allowed values are integers >= 1")
    return float(math.exp(total_nll / n_tokens))


def relative_change(value: float, reference: float) -> float:
    """(value - reference) / reference, e.g. -0.006 for a 0.6 % drop."""
    if reference == 0:
        raise ValueError("reference is 0: relative change is undefined")
    return (value - reference) / reference


def topk_kl_divergence(ref_logp: np.ndarray, cand_logp: np.ndarray, floor: float = 1e-12) -> np.ndarray:
    """KL(P || Q) per row over k buckets plus one "rest" bucket holding the mass outside them.

    ``ref_logp`` and ``cand_logp`` ([..., k]) are the reference's and the candidate's log-probabilities of the same
    k tokens (the reference's top k). Both rest masses are ``1 - sum(p)``, floored at ``floor``. Merging the tail
    into one bucket can only lower the divergence (log-sum inequality), so this is a lower bound of the full-vocabulary
    KL that is >= 0, and exactly 0 when both inputs are equal.
    """
    logp = np.asarray(ref_logp, dtype=np.float64)
    logq = np.asarray(cand_logp, dtype=np.float64)
    if logp.shape != logq.shape:
        raise ValueError(f"shape mismatch: reference {logp.shape} vs candidate {logq.shape}")
    p_rest = np.maximum(1.0 - np.exp(logp).sum(axis=-1), floor)
    q_rest = np.maximum(1.0 - np.exp(logq).sum(axis=-1), floor)
    with np.errstate(invalid="ignore"):  # -inf - -inf where both give a token zero probability: contributes 0
        head = np.where(np.isneginf(logp), 0.0, np.exp(logp) * (logp - logq)).sum(axis=-1)
    return np.maximum(head + p_rest * (np.log(p_rest) - np.log(q_rest)), 0.0)


def pareto_mask(
    cost: Sequence[float], quality: Sequence[float], *, higher_quality_is_better: bool = True
) -> np.ndarray:
    """True for points no other point beats on both axes (lower cost, better quality)."""
    cost_arr = np.asarray(cost, dtype=float)
    qual = np.asarray(quality, dtype=float)
    if not higher_quality_is_better:
        qual = -qual
    mask = np.ones(len(cost_arr), dtype=bool)
    for i in range(len(cost_arr)):
        better_or_equal = (cost_arr <= cost_arr[i]) & (qual >= qual[i])
        strictly = (cost_arr < cost_arr[i]) | (qual > qual[i])
        if np.any(better_or_equal & strictly):
            mask[i] = False
    return mask


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = re.compile(r"[^\w\s]")


def answer_tokens(text: str) -> list[str]:
    """SQuAD's answer normalisation: lower case, punctuation and articles (a, an, the) removed, split on white space."""
    return _ARTICLES.sub(" ", _PUNCTUATION.sub(" ", text.lower())).split()


def token_f1(answer: str, reference: str) -> float:
    """Harmonic mean of token precision and recall of an answer against a reference (SQuAD's F1, bag of tokens);
    0 when either is empty after normalisation."""
    ours, theirs = answer_tokens(answer), answer_tokens(reference)
    common = sum((Counter(ours) & Counter(theirs)).values())
    if not ours or not theirs or not common:
        return 0.0
    precision, recall = common / len(ours), common / len(theirs)
    return 2 * precision * recall / (precision + recall)


def token_support(answer: str, context: str) -> float:
    """Share of an answer's tokens that occur in the context it was given (1: every word is from the passages;
    low: the model wrote from elsewhere); NaN for an empty answer."""
    ours = answer_tokens(answer)
    if not ours:
        return math.nan
    seen = set(answer_tokens(context))
    return sum(token in seen for token in ours) / len(ours)
