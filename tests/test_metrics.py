import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from helpers.core import metrics


def test_recall_at_k_with_k_larger_than_results():
    assert metrics.recall_at_k(["a", "b"], {"b", "z"}, k=10) == 0.5
    assert metrics.recall_at_k([], {"a"}, k=3) == 0.0


def test_reciprocal_rank_and_cutoff():
    assert metrics.reciprocal_rank(["x", "y", "a"], {"a"}) == pytest.approx(1 / 3)
    assert metrics.reciprocal_rank(["x", "y", "a"], {"a"}, k=2) == 0.0


def test_ndcg_hand_computed():
    # single relevant doc at rank 3: 1/log2(4) = 0.5
    assert metrics.ndcg_at_k(["x", "y", "a"], {"a"}, k=10) == pytest.approx(0.5)
    # two relevant, found at ranks 1 and 3: (1 + 0.5) / (1 + 1/log2(3))
    expected = 1.5 / (1 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["a", "x", "b"], {"a", "b"}, k=10) == pytest.approx(expected)
    assert metrics.ndcg_at_k(["x", "a"], {"a"}, k=1) == 0.0


def test_ndcg_duplicate_hits_count_once():
    assert metrics.ndcg_at_k(["a", "a"], {"a", "b"}, k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_from_scores_matches_sklearn_and_breaks_ties_pessimistically():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.normal(size=12)
        rel = int(rng.integers(12))
        truth = np.zeros(12)
        truth[rel] = 1
        assert metrics.ndcg_from_scores(scores, rel, 10) == pytest.approx(ndcg_score([truth], [scores], k=10))
    tied = np.array([0.5, 0.5, 0.5, 0.1])
    # relevant doc tied with two others: pessimistic rank 3 -> 1/log2(4)
    assert metrics.ndcg_from_scores(tied, 0, 10) == pytest.approx(0.5)
    # sklearn averages over tie orderings, so it is higher than our pessimistic value
    assert ndcg_score([[1, 0, 0, 0]], [tied], k=10) > 0.5


def test_retrieval_report_means_and_missing_query():
    qrels = {"q1": {"a"}, "q2": {"b"}}
    report = metrics.retrieval_report({"q1": ["a", "x"]}, qrels, ks=(1, 5))
    assert report["recall@1"] == 0.5
    assert report["mrr"] == 0.5
    assert report["ndcg@10"] == 0.5
    assert set(report) == {"ndcg@10", "ndcg@10_lo", "ndcg@10_hi", "mrr", "recall@1", "recall@5"}
    assert report["ndcg@10_lo"] <= 0.5 <= report["ndcg@10_hi"]  # the interval of the mean over the two queries


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_names_value(k):
    with pytest.raises(ValueError, match="allowed values are integers >= 1"):
        metrics.recall_at_k(["a"], {"a"}, k)


def test_cosine_agreement():
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    out = metrics.cosine_agreement(a, a * 3)
    assert out["cosine_mean"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="shape mismatch"):
        metrics.cosine_agreement(a, a[:1])


def test_perplexity_and_relative_change():
    assert metrics.perplexity_from_nll(10 * math.log(5.0), 10) == pytest.approx(5.0)
    assert metrics.relative_change(99.0, 100.0) == pytest.approx(-0.01)
    with pytest.raises(ValueError):
        metrics.perplexity_from_nll(1.0, 0)


def test_token_f1_follows_squad():
    assert metrics.answer_tokens("The cat, a HAT!") == ["cat", "hat"]
    assert metrics.token_f1("the cat sat", "a cat sat down") == pytest.approx(2 * 1.0 * (2 / 3) / (1 + 2 / 3))
    assert metrics.token_f1("Paris.", "paris") == 1.0
    assert metrics.token_f1("", "paris") == 0.0 and metrics.token_f1("london", "paris") == 0.0


def test_token_support_is_the_share_of_answer_words_in_the_context():
    assert metrics.token_support("use pickle or shelve", "The pickle and shelve modules ...") == 0.5
    assert math.isnan(metrics.token_support("the", "anything"))
