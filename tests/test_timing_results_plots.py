import json

import pandas as pd
import pytest

from helpers.core import metrics, plots, timing
from helpers.core.results import ResultsStore


def test_time_call_counts_warmup_and_iterations():
    calls = []
    stats = timing.time_call(lambda: calls.append(1), warmup=2, iterations=5)
    assert len(calls) == 7 and stats.iterations == 5 and stats.warmup == 2
    assert stats.median >= 0 and stats.p90 >= stats.median - 1e-12
    assert set(stats.as_dict("x_")) == {"x_median_s", "x_p90_s", "x_min_s", "x_iterations"}


@pytest.mark.parametrize("kwargs", [{"iterations": 0}, {"warmup": -1}])
def test_time_call_rejects_bad_counts(kwargs):
    with pytest.raises(ValueError, match="allowed values"):
        timing.time_call(lambda: None, **kwargs)


def test_machine_load_and_rss():
    load = timing.machine_load(0.05)
    assert 0 <= load.cpu_idle_percent <= 100
    assert timing.peak_rss_mb() > 0 and timing.current_rss_mb() > 0


def test_results_store_resume_and_atomicity(tmp_path):
    store = ResultsStore(tmp_path / "r.jsonl")
    store.append({"key": "a", "v": 1})
    store.append({"key": "b", "v": 2})
    store.append({"key": "a", "v": 3})
    assert store.done_keys() == {"a", "b"}
    assert store.latest()["a"]["v"] == 3
    assert [json.loads(line)["key"] for line in (tmp_path / "r.jsonl").read_text().splitlines()] == ["a", "b", "a"]
    assert not list(tmp_path.glob(".*.tmp"))  # no temp file left behind
    with pytest.raises(ValueError, match="key"):
        store.append({"v": 1})
    assert len(store.to_frame()) == 2


def test_pareto_mask():
    cost = [1, 2, 3, 2]
    quality = [0.5, 0.9, 0.95, 0.4]
    assert metrics.pareto_mask(cost, quality).tolist() == [True, True, True, False]
    assert metrics.pareto_mask([1, 2], [5.0, 4.0], higher_quality_is_better=False).tolist() == [True, True]


def test_pareto_scatter_and_speedup_bars_draw():
    df = pd.DataFrame({"name": ["fp32", "int8"], "lat": [2.0, 1.0], "acc": [0.9, 0.89], "dtype": ["fp32", "int8"]})
    ax = plots.pareto_scatter(
        df, x="lat", y="acc", label="name", color_by="dtype", xlabel="latency (s)", ylabel="accuracy (share)"
    )
    assert ax.get_xlabel() == "latency (s)"
    ax2 = plots.speedup_bars(df, label="name", value="lat", baseline_label="fp32", what="texts/s")
    assert len(ax2.patches) == 2
    assert ax2.get_xlabel() == "texts/s relative to fp32 (ratio; > 1 is faster)"  # a human label, not a column
    with pytest.raises(ValueError, match="allowed values"):
        plots.speedup_bars(df, label="name", value="lat", baseline_label="nope", what="texts/s")


def test_pareto_scatter_labels_the_front_only_and_draws_intervals():
    df = pd.DataFrame(
        {
            "name": ["fast", "accurate", "dominated"],
            "ms": [1.0, 3.0, 4.0],
            "kld": [0.5, 0.1, 0.6],
            "ms_lo": [0.9, 2.8, float("nan")],
            "ms_hi": [1.2, 3.1, float("nan")],
            "kld_lo": [0.4, 0.05, 0.5],
            "kld_hi": [0.6, 0.2, 0.7],
        }
    )
    ax = plots.pareto_scatter(
        df,
        x="ms",
        y="kld",
        label="name",
        xlabel="decode ms/token",
        ylabel="KLD (nats)",
        higher_y_is_better=False,
        x_interval=("ms_lo", "ms_hi"),
        y_interval=("kld_lo", "kld_hi"),
    )
    assert sorted(t.get_text() for t in ax.texts) == ["accurate", "fast"]  # the dominated point is not labelled
    assert len(ax.containers) == 3  # one error bar per row (the NaN x interval still has a y interval)
    every = plots.pareto_scatter(
        df, x="ms", y="kld", label="name", xlabel="ms", ylabel="KLD", higher_y_is_better=False, annotate="all"
    )
    assert len(every.texts) == 3 and not every.containers
    with pytest.raises(ValueError, match="annotate='some' is invalid: allowed values are 'front', 'all'"):
        plots.pareto_scatter(df, x="ms", y="kld", label="name", xlabel="ms", ylabel="KLD", annotate="some")


def test_environment_record_names_the_profile_isa_class_and_flags(monkeypatch):
    from helpers import device

    monkeypatch.delenv(device.PROFILE_ENV, raising=False)
    record = timing.environment_record(2)
    cpu = device.CpuInfo.from_host()
    assert record["profile"] == device.machine_profile(2, cpu) and record["profile"].endswith("-t2")
    assert record["isa_class"] == device.isa_class(cpu) in device.ISA_CLASSES
    assert record["isa_flags"] == [f for f in device.ISA_FLAGS if f in cpu.present_flags()]
    assert record["num_threads"] == 2 and record["cpu"] == cpu.model_name
    assert timing.profile_record(2).items() <= record.items()  # one source for the profile fields
    json.dumps(record)  # a results row must serialise


def test_published_vs_ours_draws_a_panel_per_study_with_two_points():
    rows = pd.DataFrame(
        {
            "study": ["A", "A", "B", "C", "C"],
            "profile": ["p"] * 5,
            "label": ["fp32", "int4", "int8", "x", "y"],
            "published_ppl": [5.0, 5.5, 5.1, 1.0, 2.0],
            "our_ppl": [20.0, 25.0, 21.0, 30.0, None],  # B and C have one measured point each: no panel
            "our_ppl_lo": [20.0, 24.0, 20.5, 29.0, None],
            "our_ppl_hi": [20.0, 26.0, 21.5, 31.0, None],
        }
    )
    fig = plots.published_vs_ours(rows)
    assert [ax.get_title() for ax in fig.axes] == ["A"]
    assert plots.published_vs_ours(rows[rows["study"] != "A"]) is None


def test_peak_rss_is_this_process_high_water_mark_not_the_rusage_kept_across_exec() -> None:
    from helpers.core import timing

    status = "Name:\tpython\nVmPeak:\t 9000000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert timing.peak_rss_mb(status) == 200.0
    assert timing.peak_rss_mb() > 0  # this process, read from /proc (or rusage off Linux)


def test_colour_key_and_marker_key_never_share_a_symbol():
    # "torch" (grey) and "RTN" (a circle) once both showed as a grey circle in 04's legend
    df = pd.DataFrame(
        {"name": ["a", "b"], "ms": [1.0, 2.0], "ppl": [2.0, 1.0], "backend": ["torch", "openvino"]}
    ).assign(alg=["RTN", "AWQ"])
    ax = plots.pareto_scatter(
        df, x="ms", y="ppl", label="name", color_by="backend", marker_by="alg", higher_y_is_better=False,
        xlabel="decode ms/token", ylabel="perplexity",
    )
    legend = {t.get_text(): h for t, h in zip(ax.get_legend().get_texts(), ax.get_legend().legend_handles, strict=True)}
    assert type(legend["torch"]).__name__ == "Rectangle"  # a colour swatch
    assert legend["RTN"].get_markerfacecolor() == "none" and legend["RTN"].get_marker() == "o"  # a hollow marker


def test_equal_values_of_two_profiles_stay_visible_side_by_side():
    rows = pd.DataFrame(
        {
            "study": ["A"] * 4,
            "profile": ["p", "p", "q", "q"],
            "label": ["fp32", "int4", "fp32", "int4"],
            "published_ppl": [5.0, 5.5, 5.0, 5.5],
            "our_ppl": [20.0, 25.0, 20.0, 25.0],  # the same measurement on two CPUs
            "our_ppl_lo": [20.0, 24.0, 20.0, 24.0],
            "our_ppl_hi": [20.0, 26.0, 20.0, 26.0],
        }
    )
    ax = plots.published_vs_ours(rows).axes[0]
    xs = [tuple(line.get_xdata()) for line in ax.lines if line.get_marker() not in (None, "None", "")]
    assert len(set(xs)) == 2  # two profiles, two positions (caps share their point's x)
    assert sorted(t.get_text() for t in ax.texts) == ["fp32", "int4"]  # one label per format


def test_measured_vs_ceiling_draws_a_bar_and_a_dot_per_row_with_the_share():
    df = pd.DataFrame({"name": ["int8", "int4"], "tok_s": [50.0, 40.0], "ceiling": [100.0, 200.0]})
    ax = plots.measured_vs_ceiling(df, label="name", measured="tok_s", ceiling="ceiling", what="decode tokens/s")
    assert len(ax.patches) == 2 and ax.get_xlabel() == "decode tokens/s"
    assert [t.get_text().strip() for t in ax.texts] == ["50% of it", "20% of it"]
