"""helpers.sweep.transfer: full-vocabulary KLD against stored fp32 distributions, beside the top-64 estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.sweep import accuracy, transfer


def _windows(n: int = 3, length: int = 12, vocab: int = 200) -> list[accuracy.EvalWindow]:
    rng = np.random.default_rng(0)
    return [accuracy.EvalWindow("python_docs", i, 0, rng.integers(0, vocab, length), f"w{i}") for i in range(n)]


def _logits_fn(seed: int, vocab: int = 200):
    import torch

    table = torch.from_numpy(np.random.default_rng(seed).normal(0, 3, (vocab, vocab)))

    def fn(input_ids):
        return table[input_ids[0]]

    return fn


def _store(folder: Path, fn, windows) -> None:
    folder.mkdir()
    for i, w in enumerate(windows):
        np.save(folder / f"window_{i:03d}.npy", accuracy.window_logp(fn, w.ids).numpy().astype(np.float16))


def test_the_reference_scores_zero_and_a_tail_only_change_is_seen_by_the_full_kld_alone(tmp_path: Path) -> None:
    import torch

    windows = _windows()
    reference = _logits_fn(1)
    _store(tmp_path / "ref", reference, windows)
    same, top64 = transfer.compare_full(reference, windows, tmp_path / "ref")
    assert np.allclose(same.kld, 0, atol=1e-9) and np.allclose(top64, 0, atol=1e-9) and same.top1.all()

    def tail_moved(input_ids):  # the same top tokens, the rest of the vocabulary reshuffled
        logits = reference(input_ids).clone()
        order = torch.argsort(logits, dim=-1, descending=True)
        tail = order[:, transfer.TOP_K:]
        logits.scatter_(1, tail, logits.gather(1, tail).flip(-1))
        return logits

    moved, moved64 = transfer.compare_full(tail_moved, windows, tmp_path / "ref")
    assert (moved.kld >= moved64 - 1e-9).all()  # merging the tail into one bucket can only lower the divergence
    assert moved.kld.mean() > 10 * moved64.mean()


def test_cases_keys_points_and_summary_bar() -> None:
    case = transfer.TransferCase("qwen2.5-coder-0.5b-instruct", transfer.POINTS[0])
    assert case.key == "qwen2.5-coder-0.5b-instruct/openvino/int8/g-1/sym/RTN/fp32"
    with pytest.raises(ValueError, match="model='gpt-2' is unknown"):
        transfer.run(["gpt-2"])
    row = {"status": "ok", "model": "smollm2-135m-instruct", "label": "openvino int8 per-channel sym"}
    for col, (v, lo, hi) in {"kld_mean": (0.01, 0.0, 0.02), "kld_top64_mean": (0.008, 0.0, 0.01),
                             "top1_agreement": (0.9, 0.8, 0.95), "ppl_change": (0.02, 0.01, 0.03)}.items():
        row |= {col: v, f"{col}_lo": lo, f"{col}_hi": hi}
    table = transfer.summary(pd.DataFrame([row]))
    assert table.loc[0, "ppl_bar"] == "met" and table.loc[0, "parameters"] == "135M"
