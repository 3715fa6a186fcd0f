"""helpers.latency.analysis / plots on a small synthetic rag_latency file (no models, no timing)."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from helpers.core.results import ResultsStore
from helpers.latency import analysis as la
from helpers.latency import plots as lp

PROFILE = "amd-epyc-avx512-bf16-t2"


def _row(runtime: str, weights: str, rnd: int, ttft: list[float], tpot: list[float], split: float | None = 0.9,
         new_tokens: int = 64) -> dict:
    """An ok row the way rag_latency.summarize writes it; ``split``: model share of each TPOT (None: no split)."""
    runs = []
    for t0, t in zip(ttft, tpot, strict=True):
        run = {"ttft_s": t0, "tpot_s": t, "e2e_s": t0 + (new_tokens - 1) * t, "new_tokens": new_tokens}
        if split is not None:
            run.update(model_s_per_token=split * t, other_s_per_token=(1 - split) * t)
        runs.append(run)
    row = {"key": f"r{rnd}/{runtime}/{weights}/t2", "label": f"{runtime} {weights}", "runtime": runtime,
           "weights": weights, "num_threads": 2, "round": rnd, "status": "ok", "profile": PROFILE, "runs": runs,
           "new_tokens": [new_tokens]}
    for metric in la.METRICS:
        values = [r[metric] for r in runs if metric in r]
        if values:
            row[f"{metric}_samples"], row[f"median_{metric}"] = values, statistics.median(values)
    return row


def _file(tmp_path: Path, rows: list[dict]) -> Path:
    path = tmp_path / PROFILE / "rag_latency.jsonl"
    ResultsStore(path).extend(rows)
    return path


def _rows(peer: bool = True) -> list[dict]:
    out = []
    for rnd in (1, 2):
        # torch: TPOT ~50 ms; the int4 OV case ~10 ms with wide noise -> ~5x, a tie with the 5x bar
        out.append(_row("torch", "fp32", rnd, [3.0, 3.1, 2.9], [0.050, 0.051, 0.049], split=0.7))
        out.append(_row("optimum-intel", "int4-sym-g64", rnd, [0.9, 1.0, 1.1], [0.007, 0.010, 0.014]))
        # genai: fastest end to end (0.10 + 63 x 0.008 ~ 0.6 s) but decodes slower than llama.cpp (8 vs 6.4 ms)
        out.append(_row("genai-2026", "int8", rnd, [0.10, 0.10, 0.11], [0.0080, 0.0081, 0.0079], split=0.95))
        out.append(_row("genai-2024.2", "int8", rnd, [0.2, 0.2, 0.2], [0.009, 0.009, 0.009], split=None))
        if peer:  # llama.cpp: slow prefill (2 s), fast decode -> E2E ~2.4 s, genai ~4x faster (>= 2x: met)
            out.append(_row("llama.cpp", "q4_1", rnd, [2.0, 2.1, 1.9], [0.0064, 0.0065, 0.0063], new_tokens=65))
    out.append({"key": "r1/genai-2026/int8@bf16/t2", "runtime": "genai-2026", "weights": "int8@bf16",
                "num_threads": 2, "round": 1, "status": "unsupported", "reason": "no BF16 here"})
    if not peer:
        out.append({"key": "r1/llama.cpp/q4_1/t2", "runtime": "llama.cpp", "weights": "q4_1", "num_threads": 2,
                    "round": 1, "status": "unsupported", "reason": "llama-cpp-python is not installed"})
    return out


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return _file(tmp_path, _rows())


def test_load_keeps_ok_rows_and_pooled_joins_both_rounds(path: Path) -> None:
    assert set(la.load(path)["status"]) == {"ok"}
    everything = la.load(path, only_ok=False)
    assert "unsupported" in set(everything["status"]) and set(everything["profile"]) == {PROFILE}
    pool = la.pooled(everything).set_index("label")
    assert "genai-2026 int8@bf16" not in pool.index
    torch = pool.loc["torch fp32"]
    assert torch["rounds"] == [1, 2] and torch["n_runs"] == 6 and torch["new_tokens"] == 64
    assert torch["tpot_s_samples"] == pytest.approx([0.050, 0.051, 0.049] * 2)
    assert pool.loc["genai-2024.2 int8", "model_s_per_token_samples"] == []
    assert la.load(path.parent / "missing.jsonl").empty


def test_samples_fall_back_to_runs(tmp_path: Path) -> None:
    row = _row("torch", "fp32", 1, [1.0, 2.0], [0.1, 0.2])
    del row["tpot_s_samples"]
    pool = la.pooled(la.load(_file(tmp_path, [row])))
    assert pool.iloc[0]["tpot_s_samples"] == [0.1, 0.2]


def test_summary_table_has_medians_inside_intervals(path: Path) -> None:
    table = la.summary_table(la.pooled(la.load(path)))
    assert table.iloc[0]["label"] == "genai-2026 int8"  # fastest end to end first
    for name in ("ttft_s", "tpot_ms", "e2e_s"):
        assert (table[f"{name}_lo"] <= table[name]).all() and (table[name] <= table[f"{name}_hi"]).all()
    torch = table.set_index("label").loc["torch fp32"]
    assert torch["tpot_ms"] == pytest.approx(50.0) and torch["ci"] >= 0.95


def test_three_verdicts_met_missed_tie(path: Path) -> None:
    got = {v.name: v for v in la.verdicts(la.load(path, only_ok=False))}
    a, b, c = got["a"], got["b"], got["c"]
    assert a.outcome == "met" and "genai-2026 int8" in a.line and "llama.cpp q4_1" in a.line
    assert a.ratio.lo <= a.ratio.value <= a.ratio.hi and a.ratio.value > 2
    assert b.outcome == "missed" and b.ratio.value == pytest.approx(0.0064 / 0.0080)
    assert c.outcome == "tie within noise" and "optimum-intel int4-sym-g64" in c.line and "torch fp32" in c.line
    assert c.ratio.lo < 5 < c.ratio.hi
    for v in (a, b, c):
        assert "95 % CI" in v.line and v.line.endswith(v.outcome)


def test_missing_peer_is_said_not_a_crash(tmp_path: Path) -> None:
    rows = la.load(_file(tmp_path, _rows(peer=False)), only_ok=False)
    got = {v.name: v for v in la.verdicts(rows)}
    for name in ("a", "b"):
        assert got[name].outcome == "no verdict" and "llama-cpp-python is not installed" in got[name].line
    assert got["c"].outcome == "tie within noise"
    assert la.verdict_lines(la.load(tmp_path / "none.jsonl", only_ok=False)) == ["no rows: no verdicts"]


def test_single_run_gives_no_verdict(tmp_path: Path) -> None:
    rows = [_row("torch", "fp32", 1, [3.0], [0.05]), _row("genai-2026", "int4-sym-g64", 1, [0.1], [0.008]),
            _row("llama.cpp", "q4_1", 1, [2.0], [0.006])]
    lines = la.verdict_lines(la.load(_file(tmp_path, rows), only_ok=False))
    assert len(lines) == 3 and all("fewer than 2 runs" in line for line in lines)


def test_breakdown_splits_decode_and_names_the_bound(path: Path) -> None:
    frame = la.breakdown(la.pooled(la.load(path))).set_index("label")
    torch = frame.loc["torch fp32"]
    assert torch["model_ms"] == pytest.approx(35.0) and torch["other_ms"] == pytest.approx(15.0)
    assert torch["overhead_share"] == pytest.approx(0.3) and torch["bound"] == "model-bound"
    assert frame.loc["genai-2024.2 int8", "bound"] == "n/a"


def test_plots_return_figures(path: Path) -> None:
    pool = la.pooled(la.load(path))
    figures = [lp.e2e_bars(pool, "t"), lp.decode_breakdown_bars(la.breakdown(pool)),
               lp.decode_breakdown_bars(la.breakdown(pool), per_runtime=False)]
    assert all(isinstance(f, Figure) for f in figures)
    labels = [t.get_text() for t in figures[1].axes[0].get_yticklabels()]
    assert len(labels) == len(set(pool["runtime"]))  # one bar per runtime
    assert lp.runtime_color("llama.cpp") == lp.RUNTIME_COLORS["llama.cpp"] and lp.runtime_color("x") == "black"
    assert lp.axis_cut([1.0, 1.1, 1.2]) is None and lp.axis_cut([1.0, 1.1, 1.2, 100.0]) == pytest.approx(1.5)


def test_profile_runs_never_crash_without_files(tmp_path: Path) -> None:
    (tmp_path / "amd-epyc-avx2-t2").mkdir()
    (tmp_path / "scratch").mkdir()
    mine = _file(tmp_path, _rows())
    runs = la.profile_runs(mine, root=tmp_path)
    assert [r.name for r in runs] == [f"{PROFILE} (this machine)", "amd-epyc-avx2-t2 (reference)"]
    lines = la.overview_lines(runs)
    assert "ok of" in lines[0] and "no RAG latency results" in lines[1]
    nothing = la.profile_runs(tmp_path / "intel-xeon-amx-t2" / "rag_latency.jsonl", root=tmp_path)
    assert nothing[0].frame.empty and "no RAG latency results" in la.overview_lines(nothing)[0]


def test_tables_verdicts_and_findings_by_profile(tmp_path: Path) -> None:
    (tmp_path / "amd-epyc-avx2-t2").mkdir()
    runs = la.profile_runs(_file(tmp_path, _rows()), root=tmp_path)
    summary, split = la.by_profile(runs), la.by_profile(runs, "breakdown")
    assert set(summary["profile"]) == {f"{PROFILE} (this machine)"} and summary.columns[0] == "profile"
    assert "overhead_share" in split and len(split) == len(summary)
    report = la.verdict_report(runs)
    assert report[0] == f"{PROFILE} (this machine):" and "amd-epyc-avx2-t2 (reference):" in report
    assert report[-1].strip() == "no results: no verdicts"
    assert la.by_profile(runs[1:]).columns.tolist() == ["profile"]
    found = la.findings(runs[0].frame)
    assert found[0].startswith("t2: fastest end to end is genai-2026 int8")
    assert "model per decode step: torch fp32 (30% of 50.0 ms)" in found[2] and "least: genai-2026 int8" in found[2]


def test_problems_and_thread_labels(tmp_path: Path) -> None:
    rows = _rows(peer=False) + [{**_row("torch", "fp32", 1, [6.0, 6.1], [0.1, 0.1]), "num_threads": 1,
                                 "key": "r1/torch/fp32/t1"}]
    runs = la.profile_runs(_file(tmp_path, rows), root=tmp_path)
    found = la.problems(runs)
    assert sorted(found["status"]) == ["unsupported", "unsupported"] and found["profile"].str.contains(PROFILE).all()
    labels = set(la.pooled(runs[0].frame)["label"])
    assert {"torch fp32 t1", "torch fp32 t2"} <= labels
    assert la.problems([]).columns.tolist() == ["profile", "key", "status", "reason"]
    assert {v.num_threads for v in la.verdicts(runs[0].frame)} == {1, 2}
