"""helpers.rag.benchmark.run on fakes: the baseline first, one row per embedder through the one runner, resumable,
unavailable and crashing embedders recorded with their reasons (no model is loaded)."""

from __future__ import annotations

import pytest

from helpers.core import timing
from helpers.rag import benchmark, embedders


def test_run_measures_each_embedder_once_and_records_what_cannot_run(tmp_path, monkeypatch):
    calls: list[str] = []

    def fake_worker(fn, name, cfg, reference):
        calls.append(name)
        if name == "ov-int8-static":
            raise RuntimeError("worker died")
        return {"embedder": name, "texts_per_s_b32": 10.0}

    monkeypatch.setattr(timing, "run_in_fresh_process", fake_worker)
    monkeypatch.setattr(embedders, "unavailable_reason", lambda name: "no avx512f" if name == "ov-bf16" else None)
    out = tmp_path / "embedders.jsonl"
    names = ["ov-fp32", "ov-bf16", "ov-int8-static", benchmark.BASELINE]
    store = benchmark.run(names, benchmark.SMOKE, out)
    assert calls == [benchmark.BASELINE, "ov-fp32", "ov-int8-static"]  # baseline first; ov-bf16 never started
    rows = {row["embedder"]: row for row in store.latest().values()}
    assert {name: rows[name]["status"] for name in names} == {
        "ov-fp32": "ok",
        "ov-bf16": "unsupported",
        "ov-int8-static": "failed",
        benchmark.BASELINE: "ok",
    }
    assert rows["ov-bf16"]["reason"] == "no avx512f" and "worker died" in rows["ov-int8-static"]["reason"]
    assert all(row["key"] == f"{row['embedder']}/{benchmark.SMOKE.tag}" for row in rows.values())
    assert all("isa_class" in row and row["iterations"] == benchmark.SMOKE.iterations for row in rows.values())
    benchmark.run(names, benchmark.SMOKE, out)  # resumed: finished rows (failed ones too) are not measured again
    assert len(calls) == 3


def test_padding_share_counts_the_positions_padded_to_the_longest_text_of_each_batch() -> None:
    assert benchmark.padding_share([10, 10, 10], 1) == 0.0
    assert benchmark.padding_share([4, 8], 2) == 0.25  # 16 positions computed, 12 real
    with pytest.raises(ValueError, match="batch=0 is invalid: allowed values are integers >= 1"):
        benchmark.padding_share([4], 0)


def test_speed_ups_are_judged_at_each_sides_best_batch_setting() -> None:
    import pandas as pd

    rows = pd.DataFrame(
        [
            {"embedder": "hf-fp32", "status": "ok", "precision": "fp32", "ndcg@10": 0.9,
             "texts_per_s_b1": 24.0, "texts_per_s_b32": 14.0},
            {"embedder": "ov-int8-static", "status": "ok", "precision": "int8 weights and activations",
             "ndcg@10": 0.9, "texts_per_s_b1": 55.0, "texts_per_s_b32": 60.0},
        ]
    )
    base = rows.iloc[0]
    rows["speedup_b32"] = rows["texts_per_s_b32"] / base["texts_per_s_b32"]
    rows["speedup_best"] = rows[["texts_per_s_b1", "texts_per_s_b32"]].max(axis=1) / 24.0
    rows["ndcg_rel_change"] = 0.0
    text = "\n".join(benchmark.embedder_verdicts(rows))
    assert "2.50x (no interval: run times not kept) fp32 texts/s" in text
    assert "each at its best batch setting (3x bar: missed; 4.29x both at batch 32)" in text


def test_best_batch_speed_ups_carry_an_interval_and_a_close_runner_up_is_a_tie(tmp_path) -> None:
    from helpers.core.results import ResultsStore

    def row(name: str, b1_runs: list[float], b32_runs: list[float]) -> dict:
        texts = 32
        return {
            "key": f"{name}/t2-dNone-qNone-n32-i5", "embedder": name, "status": "ok", "precision": "int8",
            "ndcg@10": 0.9, "texts_per_s_b1": texts / sorted(b1_runs)[len(b1_runs) // 2],
            "texts_per_s_b32": texts / sorted(b32_runs)[len(b32_runs) // 2],
            "seconds_b1": b1_runs, "seconds_b32": b32_runs,
        }

    store = ResultsStore(tmp_path / "embedders.jsonl")
    store.extend([
        {**row(benchmark.BASELINE, [2.0, 2.1, 1.9, 2.0, 2.2], [3.0, 3.1, 2.9, 3.0, 3.0]), "precision": "fp32"},
        row("a", [1.0, 1.1, 0.9, 1.0, 1.2], [0.5, 0.55, 0.45, 0.5, 0.6]),
        row("b", [1.0, 1.0, 1.0, 1.0, 1.0], [0.52, 0.56, 0.47, 0.5, 0.58]),
    ])
    table = benchmark.results_table(store, "t2-dNone-qNone-n32-i5")
    a = table.set_index("embedder").loc["a"]
    assert a["speedup_best"] == pytest.approx(4.0)  # batch 32 (0.5 s) against fp32's batch 1 (2.0 s)
    assert a["speedup_best_lo"] < 4.0 < a["speedup_best_hi"]
    text = "\n".join(benchmark.embedder_verdicts(table))
    assert "fastest overall: a (int8): 4.00x [" in text
    assert "a tie within noise with b" in text
    assert "3x bar: met" in text
