"""Reading sweep results: derived columns, Pareto front, picks, published orderings and verdicts (synthetic rows)."""

import pandas as pd

from helpers.core.results import ResultsStore
from helpers.publish import readme
from helpers.sweep import analysis as sa
from helpers.sweep import published
from helpers.sweep import verdicts as sv
from helpers.sweep.published import order_verdict


def _row(key, backend, dtype, ppl, ms, algorithm="RTN", status="ok", ratio=1.0):
    return {
        "ratio": ratio,
        "key": key,
        "label": key.replace("/", " "),
        "backend": backend,
        "weight_dtype": dtype,
        "algorithm": algorithm,
        "status": status,
        "perplexity": ppl,
        "decode_ms_per_token": ms,
        "decode_tokens_per_s": 1000 / ms,
        "prefill_ms": 100.0,
        "model_bytes": 1000,
    }


PROFILE = "test-cpu-avx2-t2"

ROWS = [
    _row("torch/fp32", "torch", "fp32", 10.0, 100.0),
    _row("openvino/int8/g32/sym/RTN/auto", "openvino", "int8", 10.1, 20.0),
    _row("openvino/int4/g64/sym/RTN/auto", "openvino", "int4", 13.0, 15.0),
    _row("openvino/int4/g64/sym/AWQ/auto", "openvino", "int4", 10.5, 16.0, "AWQ"),
    _row("openvino/int4/g32/asym/RTN/auto", "openvino", "int4", 13.0, 15.5),  # the NNCF study's int4 setting
    _row("itrex/nf4/g32/sym/RTN/fp32", "itrex", "nf4", 12.0, 90.0),
    _row("itrex/nf4/g128/sym/RTN/fp32", "itrex", "nf4", float("nan"), 80.0),
    _row("openvino/int4/g32/asym/AWQ/auto/r0.6", "openvino", "int4", 10.2, 18.0, "AWQ", ratio=0.6),
    {"key": "itrex/int4_clip/g32/sym/GPTQ/fp32", "status": "unsupported", "reason": "needs algorithm_args"},
]


def _frame(tmp_path):
    store = ResultsStore(tmp_path / "sweep.jsonl")
    for row in ROWS:
        store.append(row)
    return sa.results_frame(store.path)


def test_results_frame_derives_speedup_and_ppl_change(tmp_path):
    df = _frame(tmp_path).set_index("key")
    assert df.loc["openvino/int4/g64/sym/RTN/auto", "decode_speedup"] == 100.0 / 15.0
    assert abs(df.loc["openvino/int4/g64/sym/RTN/auto", "ppl_change"] - 0.3) < 1e-12
    assert list(sa.not_measured(df.reset_index())["key"]) == ["itrex/int4_clip/g32/sym/GPTQ/fp32"]


def test_nan_perplexity_is_flagged_broken_and_kept_out_of_picks(tmp_path):
    df = _frame(tmp_path)
    assert list(sa.broken(df)["key"]) == ["itrex/nf4/g128/sym/RTN/fp32"]
    assert "itrex/nf4/g128/sym/RTN/fp32" not in set(sa.pareto_front(df)["key"])
    assert "broken (non-finite perplexity, excluded from picks and fronts): itrex nf4 g128" in "\n".join(
        sv.pick_lines(df)
    )


def test_pareto_front_and_pick(tmp_path):
    df = _frame(tmp_path)
    front = sa.pareto_front(df)
    assert set(front["key"]) == {
        "torch/fp32",
        "openvino/int8/g32/sym/RTN/auto",
        "openvino/int4/g64/sym/RTN/auto",
        "openvino/int4/g64/sym/AWQ/auto",
        "openvino/int4/g32/asym/AWQ/auto/r0.6",
    }
    assert sa.pick(df, "openvino", 0.10)["key"] == "openvino/int4/g64/sym/AWQ/auto"
    assert sa.pick(df, "itrex", 0.10) is None


def test_compare_with_published_orders_only_what_was_measured(tmp_path):
    rows, summary = published.compare_with_published(_frame(tmp_path))
    nncf = summary[summary["study"].str.startswith("NNCF")].iloc[0]
    assert nncf["our order (best first)"] == "fp32 < int8 < int4" and nncf["compared"] == "3 of 4"
    gptq = rows[rows["our_point"] == "itrex/int4_clip/g32/sym/GPTQ/fp32"].iloc[0]
    assert gptq["status"] == "unsupported" and gptq["reason"] == "needs algorithm_args"


def test_pick_lines_name_picks_bars_and_peer(tmp_path):
    peer = {"status": "ok", "decode_ms_per_token": 7.5, "decode_tokens_per_s": 133.3}
    text = "\n".join(sv.pick_lines(_frame(tmp_path), peer, 0.10))
    assert (
        "openvino: fastest within +10% perplexity: openvino int4 g64 sym AWQ auto: 62.5 tok/s, 6.25x fp32 decode, "
        "perplexity +5.0%"
    ) in text
    assert "itrex: no measured point within +10% perplexity of fp32" in text
    # rows without timing samples or accuracy intervals get no verdict, not a made-up "met"
    assert (
        "fastest int4-class point (by median): openvino int4 g64 sym RTN auto: 6.67x fp32 decode (no interval vs "
        "the 3x bar), perplexity +30.0% (no interval vs +10%)" in text
    )
    assert "runs at 0.50x its speed (no interval); the two were timed in separate runs" in text  # no samples
    assert "llama.cpp peer: not installed (pip install x)" in sv.pick_lines(
        pd.DataFrame(ROWS).assign(decode_speedup=1.0, ppl_change=0.0),
        {"status": "not installed", "reason": "pip install x"},
    )


def test_pick_lines_judge_with_intervals_when_rows_carry_samples(tmp_path):
    rows = [dict(r) for r in ROWS[:3]]
    rows[0]["decode_ms_samples"] = [100.0, 101.0, 99.0, 100.5, 100.2]
    rows[2]["decode_ms_samples"] = [15.0, 15.2, 14.9, 15.1, 15.0]
    rows[2].update(ppl_change_lo=0.25, ppl_change_hi=0.35)
    store = ResultsStore(tmp_path / "s.jsonl")
    store.extend(rows)
    text = "\n".join(sv.pick_lines(sa.results_frame(store.path)))
    assert "(met vs the 3x bar)" in text and "(missed vs +10%)" in text and "[" in text


def test_report_peer_line(tmp_path):
    store = ResultsStore(tmp_path / "peers.jsonl")
    assert "no peer rows" in readme.peer_line(store.path)
    store.append(
        {
            "key": "p",
            "status": "ok",
            "label": "llama.cpp Q4_1 (GGUF)",
            "llama_cpp_version": "0.3.36",
            "num_threads": 2,
            "prompt_tokens": 256,
            "new_tokens": 64,
            "decode_tokens_per_s": 125.0,
            "decode_ms_per_token": 8.0,
            "prefill_ms": 1174.2,
            "cpu_idle_percent": 100.0,
        }
    )
    line = readme.peer_line(store.path)
    assert line.startswith("llama.cpp Q4_1 (GGUF) (llama-cpp-python 0.3.36), 2 threads") and "125.0 tok/s" in line


def test_report_verdicts_and_budget_clause(tmp_path):
    store = ResultsStore(tmp_path / PROFILE / "full.jsonl")
    budget = {"prompt_tokens": 256, "new_tokens": 64, "warmup": 1, "iterations": 5, "ppl_tokens": 1024}
    budget |= {"choice_items": 20, "calib_texts": 8, "calib_max_tokens": 128}
    for row in ROWS:
        store.append({**row, "budget": budget} if row["status"] == "ok" else row)
    text = readme.verdicts(store.path, tmp_path / PROFILE / "peers.jsonl")  # no peer file: no peer line
    assert text.startswith("- itrex: no measured point within +10% perplexity of fp32")
    assert "- fastest int4-class point (by median): openvino int4 g64 sym RTN auto" in text and "llama.cpp" not in text
    clause = readme._budget(sa.measured(sa.results_frame(store.path)))
    assert clause.startswith("; prompt 256 tokens, 64 new, warm-up 1 + 5 timed runs (medians)")


def test_readme_results_block_is_generated_from_the_committed_results():
    text = (readme.settings.REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(readme.README_START) + len(readme.README_START)
    block = text[start : text.index(readme.README_END)].strip()
    assert block == readme.committed_sections().strip(), "run: python -m helpers.publish.readme --readme"


def test_orderings_are_judged_pair_by_pair_with_intervals():
    published = {"a": 1.0, "b": 2.0, "c": 3.0}
    apart = {"a": (10.0, 9.9, 10.1), "b": (11.0, 10.9, 11.1), "c": (12.0, 11.9, 12.1)}
    assert order_verdict(published, apart) == ("agrees", "3 agree, 0 disagree, 0 tie within noise")
    close = {**apart, "c": (10.95, 10.8, 11.2)}  # c overlaps b: a tie, not a disagreement
    assert order_verdict(published, close) == ("agrees", "2 agree, 0 disagree, 1 tie within noise")
    flipped = {**apart, "a": (12.5, 12.4, 12.6)}  # a is clearly worst: the paper's order is contradicted
    assert order_verdict(published, flipped)[0] == "DISAGREES"
    blur = {k: (v[0], 0.0, 100.0) for k, v in apart.items()}
    assert order_verdict(published, blur) == ("tie within noise", "0 agree, 0 disagree, 3 tie within noise")
    assert order_verdict(published, {"a": apart["a"]})[0] == "not enough points"


def test_published_rows_carry_our_interval_and_the_summary_a_verdict(tmp_path):
    store = ResultsStore(tmp_path / "s.jsonl")
    for row in ROWS:
        if row["status"] == "ok":  # the change vs fp32 (10.0), paired on the same windows, +-0.1 %
            change = row["perplexity"] / 10.0 - 1
            row = {**row, "ppl_change_lo": change - 0.001, "ppl_change_hi": change + 0.001, "perplexity_lo": 0.0}
        store.append(row)
    rows, summary = published.compare_with_published(sa.results_frame(store.path))
    nncf = summary[summary["study"].str.startswith("NNCF")].iloc[0]
    assert nncf["verdict"] == "agrees" and nncf["agrees"] is True and nncf["pairs"].startswith("3 agree")
    int8 = rows[rows["our_point"] == "openvino/int8/g32/sym/RTN/auto"].iloc[0]
    assert int8["our_ppl"] == 10.1 and abs(int8["our_ppl_lo"] - 10.09) < 1e-9 and abs(int8["our_ppl_hi"] - 10.11) < 1e-9
