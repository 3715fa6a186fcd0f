"""helpers.sweep.verdicts: speed-ups and perplexity changes with intervals; a bar inside the noise is a tie."""

from __future__ import annotations

from pathlib import Path

from helpers.core.results import ResultsStore
from helpers.sweep import analysis as sa
from helpers.sweep import verdicts as sv

PROFILE = "test-cpu-avx2-t2"


def _row(key: str, dtype: str, ms: list[float], ppl: float, lo: float, hi: float, kld: float) -> dict:
    backend = key.split("/")[0]
    return {
        "key": key,
        "label": key.replace("/", " "),
        "backend": backend,
        "weight_dtype": dtype,
        "ratio": 1.0,
        "status": "ok",
        "perplexity": 20.0 * (1 + ppl),
        "ppl_change_lo": lo,
        "ppl_change_hi": hi,
        "kld_mean": kld,
        "top1_agreement": 1 - kld,
        "decode_ms_per_token": sorted(ms)[len(ms) // 2],
        "decode_tokens_per_s": 1000 / sorted(ms)[len(ms) // 2],
        "decode_ms_samples": ms,
        "prefill_ms": 100.0,
        "model_bytes": 1000,
    }


def _frame(tmp_path: Path, rows: list[dict], name: str = "workshop") -> sa.pd.DataFrame:
    store = ResultsStore(tmp_path / PROFILE / f"{name}.jsonl")
    store.extend(rows)
    return sa.results_frame(store.path)


BASE = _row("torch/fp32", "fp32", [100.0, 101.0, 99.0, 100.5, 99.5], 0.0, 0.0, 0.0, 0.0)
CLEAR = _row("openvino/int4/g16/asym/AWQ/auto", "int4", [20.0, 20.5, 19.5, 20.2, 19.8], 0.05, 0.03, 0.07, 0.02)
TIE_SPEED = _row("openvino/int4/g64/sym/RTN/auto", "int4", [30.0, 40.0, 33.0, 36.0, 28.0], 0.05, 0.03, 0.07, 0.03)
TIE_PPL = _row("openvino/nf4/g64/sym/RTN/auto", "nf4", [20.0, 20.5, 19.5, 20.2, 19.8], 0.11, 0.08, 0.14, 0.04)
MISS = _row("itrex/nf4/g32/sym/RTN/fp32", "nf4", [90.0, 91.0, 89.0, 90.5, 89.5], 0.25, 0.2, 0.3, 0.1)


def test_speedups_carry_intervals(tmp_path: Path) -> None:
    df = sv.with_intervals(_frame(tmp_path, [BASE, CLEAR]))
    row = df[df["key"] == CLEAR["key"]].iloc[0]
    assert row["decode_speedup_lo"] < row["decode_speedup"] < row["decode_speedup_hi"]
    assert 4.5 < row["decode_speedup_lo"] and row["decode_speedup_hi"] < 5.5


def test_verdicts_met_tie_and_missed(tmp_path: Path) -> None:
    table = sv.verdict_table(_frame(tmp_path, [BASE, CLEAR, TIE_SPEED, TIE_PPL, MISS])).set_index("label")
    assert tuple(table.loc[CLEAR["label"], [">= 3x", "<= +10%"]]) == ("met", "met")
    assert tuple(table.loc[TIE_SPEED["label"], [">= 3x", "<= +10%"]]) == ("tie within noise", "met")
    assert tuple(table.loc[TIE_PPL["label"], [">= 3x", "<= +10%"]]) == ("met", "tie within noise")
    assert tuple(table.loc[MISS["label"], [">= 3x", "<= +10%"]]) == ("missed", "missed")
    lines = sv.interval_verdict_lines(_frame(tmp_path / "b", [BASE, CLEAR, TIE_SPEED, TIE_PPL, MISS]))
    assert lines[0].endswith("1 of 4; ties within noise: 2")
    assert any(line.startswith("meets both: openvino int4 g16 asym AWQ auto") for line in lines)
    assert lines[-1].startswith("closest int4-class point to fp32 by KLD: openvino int4 g16 asym AWQ auto")


def test_rows_without_samples_say_so(tmp_path: Path) -> None:
    old = [{k: v for k, v in r.items() if not k.endswith(("_samples", "_lo", "_hi"))} for r in (BASE, CLEAR)]
    assert sv.interval_verdict_lines(_frame(tmp_path, old))[0].startswith("these rows carry no timing samples")


def test_verdict_movement_between_two_runs(tmp_path: Path) -> None:
    first = _frame(tmp_path / "a", [BASE, CLEAR, TIE_PPL])
    moved_ppl = {**TIE_PPL, "perplexity": 20 * 1.05, "ppl_change_lo": 0.03, "ppl_change_hi": 0.07}
    second = _frame(tmp_path / "b", [BASE, CLEAR, moved_ppl], "workshop-rerun")
    table = sv.verdict_movement(first, second, ("run 1", "run 2")).set_index("label")
    assert not table.loc[CLEAR["label"], "verdict moved"] and table.loc[TIE_PPL["label"], "verdict moved"]
    assert table.loc[TIE_PPL["label"], "<= +10% (run 2)"] == "met"


def test_accuracy_is_reported_per_source(tmp_path: Path) -> None:
    def by_source(row: dict, kld: dict[str, float]) -> dict:
        extra = {"eval_tokens_shakespeare": 4088, "eval_tokens_python_docs": 4088}
        for source, value in kld.items():
            extra |= {
                f"kld_mean_{source}": value,
                f"kld_mean_{source}_lo": value / 2,
                f"kld_mean_{source}_hi": value * 2,
            }
            extra |= {f"top1_agreement_{source}": 1 - value, f"ppl_change_{source}": value}
        return {**row, **extra}

    rows = [by_source(BASE, {"shakespeare": 0.0, "python_docs": 0.0})]
    rows += [
        by_source(MISS, {"shakespeare": 0.2, "python_docs": 0.01}),
        by_source(CLEAR, {"shakespeare": 0.02, "python_docs": 0.02}),
    ]
    table = sv.per_source_table(_frame(tmp_path, rows))
    assert list(table["label"]) == [CLEAR["label"]] * 2 + [MISS["label"]] * 2  # closest to fp32 first, no baseline
    assert list(table["source"]) == ["shakespeare", "python_docs"] * 2
    miss = table[table["label"] == MISS["label"]].set_index("source")
    assert miss.loc["shakespeare", "KLD mean (95% CI)"] == "0.2000 [0.1000, 0.4000]"  # the text it fails on shows
    assert miss.loc["python_docs", "top-1 agreement"] == "99.0%" and miss.loc["python_docs", "tokens"] == 4088
    assert sv.per_source_table(_frame(tmp_path, [BASE, CLEAR], "old")).empty  # rows without per-source columns


def test_takeaways_say_faster_slower_or_tie_by_the_interval(tmp_path: Path) -> None:
    ov_fp32 = _row("openvino/fp32", "fp32", [40.0, 40.5, 39.5, 40.2, 39.8], 0.0, 0.0, 0.0, 0.0)
    slower_loop = {**CLEAR, "genai_2026_tpot_ms_samples": [25.0, 25.5, 24.5, 25.2, 24.8]}  # C++ loop 1.25x slower
    lines = sv.takeaway_lines(_frame(tmp_path, [BASE, ov_fp32, slower_loop, MISS]))
    assert lines[0].startswith("runtime vs compression: OpenVINO with the same fp32 weights decodes 2.50x [")
    assert (
        "] faster than torch fp32; the fastest int4-class point (openvino int4 g16 asym AWQ auto) decodes 2.00x"
        in lines[0]
    )
    loop = next(line for line in lines if line.startswith("GenAI 2026 vs optimum-intel"))
    assert "Python generate() (2024.2 runtime) on 0 of 1 OpenVINO points, slower on 1, a tie" in loop
    assert "(speed ratios 0.80x-0.80x, median 0.80x)" in loop  # every OpenVINO point counts, not the fastest alone
    assert "not the loop's gain alone" in loop  # two runtime versions: the loop is not isolated
    same = {**CLEAR, "genai_2026_tpot_ms_samples": [19.0, 21.0, 20.0, 20.5, 19.5]}
    faster = {**TIE_SPEED, "genai_2026_tpot_ms_samples": [16.0, 16.5, 15.5, 16.2, 15.8]}
    loop = next(line for line in sv.takeaway_lines(_frame(tmp_path, [BASE, same, faster], "tie")) if "GenAI" in line)
    assert "on 1 of 2 OpenVINO points, slower on 0, a tie within noise on 1" in loop
    seed = next(line for line in lines if line.startswith("seed path"))
    assert seed.startswith("seed path: the fastest ITREX point (itrex nf4 g32 sym RTN fp32) decodes at 1.11x [")


def test_the_llama_cpp_line_carries_an_interval(tmp_path: Path) -> None:
    frame = _frame(tmp_path, [BASE, CLEAR])  # CLEAR decodes at ~20 ms/token
    for samples, word in (([10.0, 10.2, 9.8, 10.1, 9.9], "slower"), ([19.0, 21.5, 20.5, 18.5, 20.0], "a tie within")):
        peer = {"status": "ok", "decode_ms_per_token": 10.0, "decode_tokens_per_s": 100.0, "decode_ms_samples": samples}
        line = next(line for line in sv.pick_lines(frame, peer) if line.startswith("llama.cpp"))
        assert "the fastest int4-class point runs at " in line and f"its speed ({word}" in line
        assert "[" in line and "timed in separate runs" in line
