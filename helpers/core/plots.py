"""Notebooks 01, 02, 03, 04, 05: Plots the cookbook shares: quality-vs-cost scatter with the Pareto front marked, and
bar charts of speed-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.metrics import pareto_mask


def pareto_scatter(
    df: pd.DataFrame,
    *,
    x: str,
    y: str,
    label: str,
    higher_y_is_better: bool = True,
    lower_x_is_better: bool = True,
    color_by: str | None = None,
    marker_by: str | None = None,
    title: str = "",
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    x_interval: tuple[str, str] | None = None,
    y_interval: tuple[str, str] | None = None,
    annotate: str = "front",
    ax=None,
):
    """Scatter ``y`` against ``x``, one point per row, with the Pareto front drawn as a step line.

    ``x_interval`` / ``y_interval`` name the (lo, hi) columns of 95 % intervals, drawn as error bars where finite.
    ``annotate="front"`` labels the front's points only (the others are told apart by colour and marker and listed
    in the tables), ``"all"`` labels every point. Returns the matplotlib Axes. Rows with missing x or y are skipped.
    """
    if annotate not in ("front", "all"):
        raise ValueError(f"annotate={annotate!r} is invalid: allowed values are 'front', 'all'")
    import matplotlib.pyplot as plt

    data = df.dropna(subset=[x, y]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    cost = data[x] if lower_x_is_better else -data[x]
    front = pareto_mask(cost, data[y], higher_quality_is_better=higher_y_is_better)
    from matplotlib.colors import to_hex

    palette = [c for c in plt.get_cmap("tab10").colors if to_hex(c) not in BACKEND_COLORS.values()]
    colors = _category_map(data[color_by] if color_by else None, palette, BACKEND_COLORS)
    markers = _category_map(data[marker_by] if marker_by else None, ["v", "X", "*", "h"], ALGORITHM_MARKERS)
    labelled = [i for i in data.index if annotate == "all" or front[i]]
    by_x = {i: n for n, i in enumerate(sorted(labelled, key=lambda i: data.at[i, x]))}  # neighbours' labels alternate
    for i, row in data.iterrows():
        ax.scatter(
            row[x],
            row[y],
            s=90 if front[i] else 45,
            color=colors.get(row[color_by], "C0") if color_by else "C0",
            marker=markers.get(row[marker_by], "o") if marker_by else "o",
            edgecolors="black" if front[i] else "none",
            zorder=3,
        )
        if i in by_x:  # above and below the point in turn, so labels of close points do not overprint
            offset = (5, 4) if by_x[i] % 2 == 0 else (5, -11)
            ax.annotate(str(row[label]), (row[x], row[y]), textcoords="offset points", xytext=offset, fontsize=8)
        _error_bars(ax, row, x, y, x_interval, y_interval)
    front_pts = data[front].sort_values(x)
    ax.plot(front_pts[x], front_pts[y], "--", color="grey", drawstyle="steps-post", label="Pareto front", zorder=2)
    for name, handle in _legend_handles(colors, markers, plt):
        ax.plot([], [], handle[0], color=handle[1], label=name, linestyle="none")
    ax.set_xlabel(xlabel)  # required: a human label with its unit, never the column name
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


def _error_bars(ax, row, x: str, y: str, x_interval, y_interval) -> None:
    """The row's 95 % intervals as grey error bars (skipped where a bound is missing)."""

    def span(columns, centre):
        if columns is None:
            return None
        lo, hi = (pd.to_numeric(row.get(c), errors="coerce") for c in columns)
        return None if pd.isna(lo) or pd.isna(hi) else [[max(centre - lo, 0.0)], [max(hi - centre, 0.0)]]

    xerr, yerr = span(x_interval, row[x]), span(y_interval, row[y])
    if xerr is not None or yerr is not None:
        ax.errorbar(row[x], row[y], xerr=xerr, yerr=yerr, fmt="none", ecolor="grey", alpha=0.7, capsize=2, zorder=2)


#: The same colour for a backend (or embedder family) and the same marker for an algorithm in every plot.
BACKEND_COLORS = {
    "torch": "#7f7f7f",
    "baseline": "#7f7f7f",
    "itrex": "#1f77b4",
    "seed": "#1f77b4",
    "openvino": "#ff7f0e",
    "llama.cpp": "#d62728",
}
ALGORITHM_MARKERS = {"RTN": "o", "AWQ": "s", "GPTQ": "^", "TEQ": "D", "fp32": "P"}


def _category_map(values, palette, fixed: dict | None = None) -> dict:
    """Value -> colour/marker: the fixed one for a known name, else the palette in sorted order."""
    if values is None:
        return {}
    fixed = fixed or {}
    others = [v for v in sorted(set(values), key=str) if v not in fixed]
    mapped = {value: palette[i % len(palette)] for i, value in enumerate(others)}
    return {value: fixed.get(value, mapped.get(value)) for value in sorted(set(values), key=str)}


def _legend_handles(colors: dict, markers: dict, plt) -> list[tuple[str, tuple[str, str]]]:
    handles = [(str(name), ("o", color)) for name, color in colors.items()]
    handles += [(str(name), (marker, "grey")) for name, marker in markers.items()]
    return handles


def speedup_bars(
    df: pd.DataFrame, *, label: str, value: str, baseline_label: str, what: str, title: str = "", ax=None
):
    """Horizontal bars of ``value`` relative to the row whose ``label`` is ``baseline_label`` (ratios, one run);
    ``what`` names the measure for the axis, with its unit (e.g. "decode tokens/s")."""
    import matplotlib.pyplot as plt

    base = df.loc[df[label] == baseline_label, value]
    if base.empty:
        raise ValueError(f"baseline_label={baseline_label!r} not found: allowed values are {sorted(df[label])}")
    ratios = df[value] / float(base.iloc[0])
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(df) + 1))
    ax.barh(df[label].astype(str), ratios, color=["grey" if lbl == baseline_label else "C0" for lbl in df[label]])
    for i, ratio in enumerate(ratios):
        ax.text(ratio, i, f" {ratio:.2f}x", va="center", fontsize=8)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"{what} relative to {baseline_label} (ratio; > 1 is faster)")
    ax.set_title(title)
    ax.invert_yaxis()
    return ax


def codebooks(books: dict[str, np.ndarray], *, normalise: bool = True, ax=None):
    """Draw each codebook's values on its own row (normalised to [-1, 1]) so their spacing can be compared."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 0.6 * len(books) + 1))
    for row, values in enumerate(books.values()):
        vals = np.asarray(values, dtype=float)
        if normalise:
            vals = vals / np.max(np.abs(vals))
        ax.scatter(vals, np.full(len(vals), row), marker="|", s=300)
        ax.text(1.05, row, f"{len(np.unique(vals))} levels", va="center", fontsize=8)
    ax.set_yticks(range(len(books)), list(books))
    ax.set_xlim(-1.1, 1.25)
    ax.set_xlabel("value / max |value|")
    ax.grid(axis="x", alpha=0.3)
    ax.invert_yaxis()
    return ax


def published_vs_ours(rows: pd.DataFrame):
    """One panel per study with at least two of our points in one profile: published perplexity (x) against ours
    (y, with the 95 % interval of its change vs fp32), one colour per profile; rows as
    :func:`helpers.sweep.analysis.compare_runs` gives them. Same ordering = points rise left to right. None when no
    study has two comparable points."""
    import matplotlib.pyplot as plt

    ours = rows[rows["our_ppl"].notna()]
    studies = [s for s in ours["study"].unique() if ours[ours["study"] == s].groupby("profile").size().max() >= 2]
    if not studies:
        return None
    colors = {profile: f"C{i}" for i, profile in enumerate(ours["profile"].unique())}  # the same in every panel
    fig, axes = plt.subplots(1, len(studies), figsize=(4.2 * len(studies), 3.6), squeeze=False)
    for ax, study in zip(axes[0], studies, strict=True):
        for profile, part in ours[ours["study"] == study].groupby("profile", sort=False):
            err = [part["our_ppl"] - part["our_ppl_lo"], part["our_ppl_hi"] - part["our_ppl"]]
            ax.errorbar(
                part["published_ppl"],
                part["our_ppl"],
                yerr=err,
                fmt="o",
                capsize=3,
                color=colors[profile],
                label=profile,
            )
            for _, r in part.iterrows():
                xy = (r["published_ppl"], r["our_ppl"])
                ax.annotate(r["label"], xy, textcoords="offset points", xytext=(4, 3), fontsize=8)
        ax.set_title(study.split(",")[0], fontsize=9)
        ax.set_xlabel("published perplexity")
        ax.set_ylabel("our perplexity (95 % interval vs fp32)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("same ordering = points rise left to right", fontsize=10)
    fig.tight_layout()
    return fig
