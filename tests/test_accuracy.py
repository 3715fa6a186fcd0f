"""helpers.sweep.accuracy on a tiny random Llama built here: reference cache, KLD, top-1, perplexity, intervals."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest

from helpers import data
from helpers.core import intervals as I
from helpers.core.metrics import topk_kl_divergence
from helpers.sweep import accuracy as A

pytestmark = pytest.mark.slow

SMALL = {"tokens_per_source": 512, "window": 64}  # 8 windows of 64 tokens per source


@pytest.fixture(scope="module")
def tiny_lm_dir(tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared tiny Llama (tests/conftest.py) with its lm_head scaled x8: peaked next-token distributions, so that
    top-k and top-1 mean something."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("tiny_lm")
    shutil.copytree(tiny_dir, out, dirs_exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(8.0)
    model.save_pretrained(out, safe_serialization=True)
    return out


@pytest.fixture(scope="module")
def tiny(tiny_lm_dir: Path) -> tuple:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_lm_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_lm_dir)


@pytest.fixture(scope="module")
def reference(tiny: tuple) -> A.Reference:
    model, tokenizer = tiny
    return A.build_reference(model, A.eval_windows(tokenizer, **SMALL), k=16)


def _noisy(model, scale: float = 0.05, seed: int = 1):
    import torch

    noisy = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in noisy.parameters():
            param.add_(scale * param.std() * torch.randn(param.shape, generator=generator))
    return noisy


def test_default_windows_cover_8k_tokens_from_two_sources_without_overlap(tiny: tuple):
    windows = A.eval_windows(tiny[1])
    assert [w.source for w in windows] == ["shakespeare"] * 8 + ["python_docs"] * 8  # 4,096 tokens per source
    assert sum(len(w.ids) for w in windows) == 8192
    assert sum(len(w.ids) - 1 for w in windows) == 8176  # scored next-token predictions: >= 8,000
    for source in A.DEFAULT_SOURCES:
        starts = [w.start for w in windows if w.source == source]
        assert all(b - a >= 512 for a, b in zip(starts, starts[1:], strict=False))
    assert len({w.fingerprint for w in windows}) == 16
    assert A.windows_fingerprint(windows) == A.windows_fingerprint(A.eval_windows(tiny[1]))
    with pytest.raises(ValueError, match="sources"):
        A.eval_windows(tiny[1], sources=("wikipedia",))


def test_eval_windows_are_disjoint_from_calibration_text(tiny: tuple):
    tokenizer = tiny[1]
    held = " ".join(data.heldout_docs_text().split())
    calibration = data.calibration_texts(data.CALIBRATION_MAX_N)
    for w in A.eval_windows(tokenizer, sources=("python_docs",)):
        decoded = tokenizer.decode(w.ids.tolist(), clean_up_tokenization_spaces=False)
        text = " ".join(decoded[8:-8].split())  # the ends may cut a UTF-8 character
        assert len(text) > 300 and text in held
        assert not any(text[:200] in passage or passage[:200] in text for passage in calibration)


def test_kld_is_a_nonnegative_lower_bound_and_zero_for_equal_inputs():
    rng = np.random.default_rng(0)
    logits_p, logits_q = rng.normal(size=(50, 100)) * 3, rng.normal(size=(50, 100)) * 3
    logp = logits_p - np.log(np.exp(logits_p).sum(-1, keepdims=True))
    logq = logits_q - np.log(np.exp(logits_q).sum(-1, keepdims=True))
    full = (np.exp(logp) * (logp - logq)).sum(-1)
    top = np.argsort(-logp, axis=-1)[:, :10]
    approx = topk_kl_divergence(np.take_along_axis(logp, top, -1), np.take_along_axis(logq, top, -1))
    assert np.all(approx >= 0) and np.all(approx <= full + 1e-12) and approx.mean() > 0.3 * full.mean()
    assert np.all(topk_kl_divergence(logp[:, :10], logp[:, :10]) == 0)
    np.testing.assert_allclose(topk_kl_divergence(logp, logq), full, rtol=1e-9)  # k = V: the full KL


def test_model_against_itself_scores_zero_kld_and_full_agreement(tiny: tuple, reference: A.Reference):
    row = A.accuracy_row(tiny[0], reference, n_boot=200)
    for name in ("kld_mean", "kld_p99", "ppl_change"):
        assert row[name] == row[f"{name}_lo"] == row[f"{name}_hi"] == 0.0
    assert row["top1_agreement"] == row["top1_agreement_lo"] == row["top1_agreement_hi"] == 1.0
    assert row["perplexity"] == pytest.approx(row["perplexity_fp32"], rel=1e-12)
    assert row["eval_tokens"] == 16 * 63 and row["eval_tokens_shakespeare"] == row["eval_tokens_python_docs"] == 8 * 63
    groups = ("", "_shakespeare", "_python_docs")
    expected = {f"{m}{s}{b}" for m in A.METRICS for s in groups for b in ("", "_lo", "_hi")}
    assert expected <= set(row)
    # a plain logits_fn (numpy out, [1, T, V]) gives the same numbers as the model
    fn_row = A.accuracy_row(lambda ids: tiny[0](input_ids=ids).logits.detach().numpy(), reference, n_boot=200)
    assert fn_row["kld_mean"] == 0.0 and fn_row["perplexity"] == row["perplexity"]


def test_reference_row_is_what_the_reference_model_scores_when_run_again(tiny: tuple, reference: A.Reference):
    # the sweep's torch fp32 point takes reference_row instead of running the same model over the windows again
    assert A.reference_row(reference, n_boot=200) == A.accuracy_row(tiny[0], reference, n_boot=200)


def test_perturbed_model_scores_worse_with_intervals_around_the_estimate(tiny: tuple, reference: A.Reference):
    row = A.accuracy_row(_noisy(tiny[0]), reference, n_boot=300)
    assert 0 < row["kld_mean_lo"] <= row["kld_mean"] <= row["kld_mean_hi"]
    assert row["kld_p99"] > row["kld_mean"] > 0
    assert row["top1_agreement_lo"] <= row["top1_agreement"] < 1
    assert row["ppl_change"] != 0 and row["perplexity"] != row["perplexity_fp32"]
    assert row["ppl_change_lo"] <= row["ppl_change"] <= row["ppl_change_hi"]
    assert math.isclose(row["ppl_change"], row["perplexity"] / row["perplexity_fp32"] - 1, rel_tol=1e-9)
    louder = A.accuracy_row(_noisy(tiny[0], scale=0.2), reference, n_boot=300)
    assert louder["kld_mean"] > row["kld_mean"] and louder["top1_agreement"] < row["top1_agreement"]


def test_intervals_shrink_with_more_windows(tiny: tuple):
    model, tokenizer = tiny
    noisy = _noisy(model)
    widths = []
    for tokens in (256, 2048):  # 4 then 32 windows of 64 tokens per source
        ref = A.build_reference(model, A.eval_windows(tokenizer, tokens_per_source=tokens, window=64), k=16)
        row = A.accuracy_row(noisy, ref, n_boot=300)
        widths.append({m: row[f"{m}_hi"] - row[f"{m}_lo"] for m in ("kld_mean", "perplexity", "ppl_change")})
    assert all(widths[1][m] < 0.75 * widths[0][m] for m in widths[0]), widths


def test_reference_cache_is_reused_and_invalidated_by_other_windows(tiny_lm_dir, tmp_path, monkeypatch):
    first = A.reference_for(tiny_lm_dir, cache=tmp_path, k=8, **SMALL)
    assert not first.from_cache and first.topk_logp.dtype == np.float16 and first.topk_ids.dtype == np.int32
    assert first.topk_logp.shape == (16, 63, 8)
    folder = tmp_path / f"{tiny_lm_dir.name}-{first.manifest['key']}"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [folder.name]  # no temps
    assert sorted(p.name for p in folder.iterdir()) == ["cookbook_manifest.json", "reference.json", "reference.npz"]
    manifest = json.loads((folder / "reference.json").read_text())
    assert manifest["k"] == 8 and manifest["windows"] == A.windows_fingerprint(first.windows)

    def no_build(*args, **kwargs):
        raise AssertionError("the cached reference should have been reused")

    monkeypatch.setattr(A, "build_reference", no_build)
    second = A.reference_for(tiny_lm_dir, cache=tmp_path, k=8, **SMALL)
    assert second.from_cache and second.manifest == first.manifest
    for name in ("topk_logp", "topk_ids", "top1", "target_logp"):
        np.testing.assert_array_equal(getattr(second, name), getattr(first, name))
    assert [w.fingerprint for w in second.windows] == [w.fingerprint for w in first.windows]
    with pytest.raises(AssertionError, match="reused"):  # other windows: another key, built again
        A.reference_for(tiny_lm_dir, cache=tmp_path, k=8, tokens_per_source=256, window=64)
    stem = folder / "reference"
    manifest["windows"] = "0" * 16  # windows changed under the same name: not loaded
    (folder / "reference.json").write_text(json.dumps(manifest))
    assert A.load_reference(stem) is None and A.load_reference(stem, "other") is None


@pytest.mark.parametrize(
    ("interval", "bar", "higher", "verdict"),
    [
        ((0.02, 0.08), 0.10, False, "met"),
        ((0.09, 0.12), 0.10, False, "tie within noise"),
        ((0.11, 0.20), 0.10, False, "missed"),
        ((0.10, 0.20), 0.10, False, "tie within noise"),  # the bar on the edge counts as inside
        ((2.1, 2.6), 2.0, True, "met"),
        ((1.5, 1.9), 2.0, True, "missed"),
        (I.Interval(2.0, 1.9, 2.2), 2.0, True, "tie within noise"),
    ],
)
def test_bar_verdict(interval, bar, higher, verdict):
    assert I.bar_verdict(interval, bar, higher_is_better=higher) == verdict


def test_bar_verdict_refuses_unknown_intervals():
    with pytest.raises(ValueError):
        I.bar_verdict((math.nan, 1.0), 0.5, True)


def test_ratio_and_median_intervals_on_synthetic_timings():
    rng = np.random.default_rng(0)
    baseline, fast = 2.0 + 0.02 * rng.standard_normal(20), 1.0 + 0.01 * rng.standard_normal(20)
    ratio = I.ratio_ci(baseline, fast)
    assert ratio.lo < ratio.value < ratio.hi and 1.95 < ratio.lo and ratio.hi < 2.05
    assert I.bar_verdict(ratio, 1.5, higher_is_better=True) == "met"
    noisy = I.ratio_ci(1.0 + 0.2 * rng.standard_normal(5), 1.0 + 0.2 * rng.standard_normal(5))
    assert I.bar_verdict(noisy, 1.0, higher_is_better=True) == "tie within noise"
    assert I.ratio_ci([1.0, 1.1], [0.5, 0.55]) == I.ratio_ci([1.0, 1.1], [0.5, 0.55])  # fixed seed
    five = I.median_ci([5.0, 1.0, 3.0, 2.0, 4.0])
    assert five[:3] == (3.0, 1.0, 5.0) and five.confidence == pytest.approx(1 - 2 / 32)
    many = I.median_ci(rng.standard_normal(200))
    assert many.confidence >= 0.95 and many.lo < 0 < many.hi and many.hi - many.lo < 0.5


def test_bootstrap_ci_resamples_windows_and_is_deterministic():
    rng = np.random.default_rng(0)
    few, more = rng.exponential(size=(8, 50)), rng.exponential(size=(128, 50))
    narrow, wide = I.bootstrap_ci(more, np.mean), I.bootstrap_ci(few, np.mean)
    assert narrow.hi - narrow.lo < 0.5 * (wide.hi - wide.lo)
    assert I.bootstrap_ci(few, np.mean) == wide
    assert I.bootstrap_ci(np.ones((6, 3)), np.mean) == (1.0, 1.0, 1.0, 0.95)
    assert math.isnan(I.bootstrap_ci(few[:1], np.mean).lo)
    paired = I.bootstrap_ci((few, few + 1), lambda a, b: np.mean(b) - np.mean(a))
    assert paired[:3] == pytest.approx((1.0, 1.0, 1.0))  # the same windows for both: the difference has no noise
