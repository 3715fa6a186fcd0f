"""Notebooks 00, 01, 04, 06: Plots of RAG-shaped latency (:mod:`helpers.latency.analysis`): where the end-to-end time
and a decode step go.

One colour per runtime (:data:`RUNTIME_COLORS`) in both plots; the lighter, hatched part of a bar is decode in
:func:`e2e_bars` and "everything around the model" in :func:`decode_breakdown_bars`.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers.core.intervals import Interval
from helpers.latency.analysis import interval

#: runtime -> colour, the same in every latency plot (order of :data:`helpers.latency.cases.CASES`)
RUNTIME_COLORS: dict[str, str] = {
    "torch": "tab:gray",
    "itrex": "tab:brown",
    "optimum-intel": "tab:blue",
    "genai-2024.2": "tab:purple",
    "genai-2026": "tab:green",
    "llama.cpp": "tab:orange",
}
_HATCH = "///"


def runtime_color(runtime: str) -> str:
    """The runtime's colour (black for a runtime the map does not know)."""
    return RUNTIME_COLORS.get(runtime, "black")


def _legend(ax, runtimes: list[str], solid: str, hatched: str) -> None:
    handles = [Patch(color=runtime_color(r), label=r) for r in dict.fromkeys(runtimes)]
    handles += [Patch(facecolor="white", edgecolor="black", label=solid),
                Patch(facecolor="white", edgecolor="black", hatch=_HATCH, label=hatched)]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: no overlap


def _figure(n_bars: int) -> tuple[Figure, object]:
    fig = Figure(figsize=(10, 0.45 * max(n_bars, 5) + 1.5), layout="constrained")
    return fig, fig.subplots()


def _e2e_rows(pool: pd.DataFrame) -> list[tuple[str, str, float, float, Interval]]:
    """(label, runtime, TTFT, (n-1) x TPOT, E2E interval) per case with E2E runs, fastest first."""
    rows = []
    for _, case in pool.iterrows():
        e2e = interval(case["e2e_s_samples"])
        ttft, tpot = interval(case["ttft_s_samples"]).value, interval(case["tpot_s_samples"]).value
        if math.isfinite(e2e.value):
            n = case["new_tokens"] if math.isfinite(case["new_tokens"]) else 1
            rows.append((case["label"], case["runtime"], ttft, (n - 1) * tpot, e2e))
    return sorted(rows, key=lambda r: r[4].value)


def axis_cut(values: list[float], spread: float = 10.0, headroom: float = 1.25) -> float | None:
    """Where to cut a linear axis so that the fast cases stay readable: None when every value is within
    ``spread`` x the median, else ``headroom`` x the largest value that is (room for the labels)."""
    if not values:
        return None
    middle = sorted(values)[len(values) // 2]
    kept = [v for v in values if v <= spread * middle]
    return None if len(kept) == len(values) else headroom * max(kept)


def _end_label(ax, i: int, end: float, text: str, cut: float | None) -> None:
    """``text`` just right of a bar's end, or inside the axis edge (marked) when the bar runs off a cut axis."""
    if cut is not None and end > cut:
        ax.plot([cut], [i], marker=">", color="black", clip_on=False)
        ax.annotate(f"{text} (off the axis)", (cut, i), xytext=(-4, 0), textcoords="offset points", va="center",
                    ha="right", fontsize=8, bbox={"facecolor": "white", "edgecolor": "none"})
    else:
        ax.annotate(text, (end, i), xytext=(4, 0), textcoords="offset points", va="center", fontsize=8)


def e2e_bars(pool: pd.DataFrame, title: str = "") -> Figure:
    """End-to-end latency per case (horizontal bars, fastest on top): TTFT (solid) + (n-1) x TPOT (hatched, decode),
    medians; the black whisker is the E2E median's 95 % interval, with the E2E median written beside it. Cases over
    10x the median case run off a cut axis (marked, value written) so the fast ones stay readable."""
    rows = _e2e_rows(pool)
    cut = axis_cut([r[4].hi if math.isfinite(r[4].hi) else r[4].value for r in rows])
    fig, ax = _figure(len(rows))
    for i, (_, runtime, ttft, decode, e2e) in enumerate(rows):
        color = runtime_color(runtime)
        ax.barh(i, ttft, color=color, edgecolor="black", linewidth=0.5)
        ax.barh(i, decode, left=ttft, color=color, alpha=0.45, hatch=_HATCH, edgecolor="black", linewidth=0.5)
        if math.isfinite(e2e.lo):
            ax.errorbar(e2e.value, i, xerr=[[e2e.value - e2e.lo], [e2e.hi - e2e.value]], fmt="none",
                        ecolor="black", capsize=3, linewidth=1)
        _end_label(ax, i, e2e.hi if math.isfinite(e2e.hi) else e2e.value, f"{e2e.value:.2f} s", cut)
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    right_edge = max((r[4].hi if math.isfinite(r[4].hi) else r[4].value for r in rows), default=1.0)
    ax.set_xlim(0, cut if cut is not None else right_edge * 1.18)
    ax.set_xlabel("end-to-end latency, s (median; whisker: 95 % interval)" + (" - axis cut" if cut else ""))
    ax.set_title(title or "Where the end-to-end time goes: prefill (TTFT) vs decode")
    ax.grid(axis="x", alpha=0.3)
    _legend(ax, [r[1] for r in rows], "time to first token (prefill)", "decode: (n-1) x TPOT")
    return fig


def _per_runtime(frame: pd.DataFrame) -> pd.DataFrame:
    """Each runtime's fastest-decode case (per thread count), preferring cases whose decode step is split."""
    frame = frame.dropna(subset=["tpot_ms"]).assign(split=lambda d: d["model_ms"].notna())
    frame = frame.sort_values(["split", "tpot_ms"], ascending=[False, True])
    return frame.drop_duplicates(["runtime", "num_threads"]).sort_values("tpot_ms").reset_index(drop=True)


def decode_breakdown_bars(breakdown: pd.DataFrame, title: str = "", per_runtime: bool = True) -> Figure:
    """Decode ms/token as stacked bars: model execution (solid) + everything around it (hatched), one bar per
    runtime (its fastest-decode case; ``per_runtime=False``: every case). A runtime whose decode step cannot be
    split (no per-token model timings) shows its TPOT as an outline bar marked "not split". Linear axis, cut (and
    marked) when a runtime is over 10x the median one."""
    frame = _per_runtime(breakdown) if per_runtime else breakdown.dropna(subset=["tpot_ms"]).sort_values("tpot_ms")
    frame = frame.reset_index(drop=True)
    split = frame["model_ms"].notna() & frame["other_ms"].notna()
    ends = (frame["model_ms"] + frame["other_ms"]).where(split, frame["tpot_ms"])
    cut = axis_cut(ends.tolist(), headroom=1.8)  # room for the long labels
    fig, ax = _figure(len(frame))
    for i, row in frame.iterrows():
        color = runtime_color(row["runtime"])
        if split[i]:
            ax.barh(i, row["model_ms"], color=color, edgecolor="black", linewidth=0.5)
            ax.barh(i, row["other_ms"], left=row["model_ms"], color=color, alpha=0.45, hatch=_HATCH,
                    edgecolor="black", linewidth=0.5)
            text = f"{ends[i]:.1f} ms ({row['overhead_share']:.0%} around the model)"
        else:
            ax.barh(i, row["tpot_ms"], facecolor="none", edgecolor=color, linewidth=1.5)
            text = f"{row['tpot_ms']:.1f} ms (not split)"
        _end_label(ax, i, ends[i], text, cut)
    ax.set_yticks(range(len(frame)), frame["label"].tolist())
    ax.invert_yaxis()
    ax.set_xlim(0, cut if cut is not None else max(float(ends.max()) if len(ends) else 1.0, 1e-9) * 1.6)
    ax.set_xlabel("decode time per output token, ms (median)" + (" - axis cut" if cut else ""))
    ax.set_title(title or "Where a decode step goes: model execution vs everything around it")
    ax.grid(axis="x", alpha=0.3)
    _legend(ax, frame["runtime"].tolist(), "model execution", "around it (loop, sampling, detokenize, glue)")
    return fig


def speedup_by_kind(table: pd.DataFrame, title: str = "") -> Figure:
    """Answer speed-up over plain decoding per kind of question (rows of
    :func:`helpers.latency.decode_less_analysis.by_question_kind`): the median as a dot, lowest to highest as a line,
    one row per kind and mode (llama.cpp's modes in its colour), 1x (no gain) marked."""
    peer = table["runtime"] == "llama.cpp"
    frame = table.assign(
        label=table["kind"] + " | " + table["weights"].where(~peer, "llama.cpp") + ", " + table["mode"],
        peer=peer,  # within a kind: OpenVINO's modes first, then llama.cpp's
    ).sort_values(["kind", "peer", "weights", "mode"]).reset_index(drop=True)
    fig, ax = _figure(len(frame))
    for i, row in frame.iterrows():
        color = runtime_color(row["runtime"])
        ax.plot([row["speedup_min"], row["speedup_max"]], [i, i], color=color, linewidth=2, alpha=0.5)
        ax.plot(row["speedup"], i, "o", color=color)
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_yticks(range(len(frame)), frame["label"].tolist())
    ax.invert_yaxis()
    ax.set_xlabel("answer speed-up over plain decoding, x (dot: median, line: lowest to highest answer)")
    ax.set_title(title or "Which questions a lookup helps: speed-up per kind of question")
    ax.grid(axis="x", alpha=0.3)
    return fig
