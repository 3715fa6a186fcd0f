"""Notebooks 01, 02, 03, 04, 05: Plots the cookbook shares: quality-vs-cost scatter with the Pareto front marked, and
bar charts of speed-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd
from adjustText import adjust_text
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

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
    vlines: dict[str, float] | None = None,
    ax=None,
):
    """Scatter ``y`` against ``x``, one point per row, with the Pareto front drawn as a step line.

    ``x_interval`` / ``y_interval`` name the (lo, hi) columns of 95 % intervals, drawn as error bars where finite.
    ``annotate="front"`` labels the front's points only (the others are told apart by colour and marker and listed
    in the tables), ``"all"`` labels every point. ``vlines`` draws reference x values (e.g. a peer's speed) as dotted
    red lines named in the legend. Returns the matplotlib Axes. Rows with missing x or y are skipped.
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
    texts = []
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
        if i in labelled:
            texts.append(ax.text(row[x], row[y], str(row[label]), fontsize=8, zorder=4))
        _error_bars(ax, row, x, y, x_interval, y_interval)
    front_pts = data[front].sort_values(x)
    ax.plot(front_pts[x], front_pts[y], "--", color="grey", drawstyle="steps-post", zorder=2)
    references = [
        ax.axvline(value, color="#d62728", linestyle=":", label=name) for name, value in (vlines or {}).items()
    ]
    if logx:
        ax.set_xscale("log")
    _spread_labels(ax, texts)
    ax.legend(
        handles=[Line2D([], [], color="grey", linestyle="--", label="Pareto front")]
        + references
        + _legend_handles(colors, markers),
        fontsize=8,
        loc="best",
    )
    ax.set_xlabel(xlabel)  # required: a human label with its unit, never the column name
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


def _spread_labels(ax, texts: list) -> None:
    """Push point labels apart from each other and from the points, with a thin grey line back to their point."""
    if texts:
        adjust_text(texts, ax=ax, arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5})


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
#: One marker per results profile where several share a panel (filled for the first, hollow for the others).
PROFILE_MARKERS = ("o", "s", "^", "D", "v")


def _category_map(values, palette, fixed: dict | None = None) -> dict:
    """Value -> colour/marker: the fixed one for a known name, else the palette in sorted order."""
    if values is None:
        return {}
    fixed = fixed or {}
    others = [v for v in sorted(set(values), key=str) if v not in fixed]
    mapped = {value: palette[i % len(palette)] for i, value in enumerate(others)}
    return {value: fixed.get(value, mapped.get(value)) for value in sorted(set(values), key=str)}


def _legend_handles(colors: dict, markers: dict) -> list:
    """Colour swatches for the colour key and hollow black markers for the marker key, so a grey backend and a
    marker shown in grey never look alike."""
    handles: list = [Patch(facecolor=color, label=str(name)) for name, color in colors.items()]
    handles += [
        Line2D([], [], marker=marker, linestyle="none", markerfacecolor="none", markeredgecolor="black", label=str(n))
        for n, marker in markers.items()
    ]
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
    ax.barh(range(len(df)), ratios, color=["grey" if lbl == baseline_label else "C0" for lbl in df[label]])
    ax.set_yticks(range(len(df)), df[label].astype(str))  # the y axis is named by its categories
    for i, ratio in enumerate(ratios):
        ax.text(ratio, i, f" {ratio:.2f}x", va="center", fontsize=8)
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel(f"{what} relative to {baseline_label} (ratio; > 1 is faster)")
    ax.set_title(title)
    ax.invert_yaxis()
    return ax


def measured_vs_ceiling(
    df: pd.DataFrame, *, label: str, measured: str, ceiling: str, what: str, title: str = "", ax=None
):
    """One row per ``label``: a pale bar up to the ``ceiling`` (an upper bound), a dot at the ``measured`` value and
    the measured share of the ceiling beside it; ``what`` names the measure with its unit (e.g. "decode tokens/s")."""
    import matplotlib.pyplot as plt

    data = df.dropna(subset=[measured, ceiling]).reset_index(drop=True)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.45 * len(data) + 1.2))
    rows = range(len(data))
    ax.barh(rows, data[ceiling], color="#c6dbef", label="ceiling: bandwidth / bytes a step reads")
    ax.scatter(data[measured], rows, color="black", zorder=3, label="measured (median)")
    for i, r in data.iterrows():
        ax.text(max(r[ceiling], r[measured]), i, f"  {r[measured] / r[ceiling]:.0%} of it", va="center", fontsize=8)
    ax.set_xlim(0, 1.18 * float(max(data[ceiling].max(), data[measured].max())))  # room for the shares
    ax.set_yticks(list(rows), data[label].astype(str))
    ax.set_xlabel(what)
    ax.set_title(title)
    ax.invert_yaxis()
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / max(len(data), 1)), ncol=2)
    ax.grid(axis="x", alpha=0.3)
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
    profiles = list(ours["profile"].unique())
    colors = {profile: f"C{i}" for i, profile in enumerate(profiles)}  # the same in every panel
    fig, axes = plt.subplots(1, len(studies), figsize=(4.2 * len(studies), 3.6), squeeze=False)
    for ax, study in zip(axes[0], studies, strict=True):
        rows_here = ours[ours["study"] == study]
        span = float(rows_here["published_ppl"].max() - rows_here["published_ppl"].min()) or 1.0
        texts, named = [], set()
        for profile, part in rows_here.groupby("profile", sort=False):
            # profiles side by side (a small shift along x) with their own marker, so equal values stay visible
            k = profiles.index(profile)
            shift = (k - (len(profiles) - 1) / 2) * 0.025 * span
            err = np.vstack([part["our_ppl"] - part["our_ppl_lo"], part["our_ppl_hi"] - part["our_ppl"]])
            ax.errorbar(
                (part["published_ppl"] + shift).to_numpy(float),
                part["our_ppl"].to_numpy(float),
                yerr=err,
                fmt=PROFILE_MARKERS[k % len(PROFILE_MARKERS)],
                mfc="white" if k else colors[profile],
                capsize=3,
                color=colors[profile],
                label=profile,
            )
            for _, r in part.iterrows():
                if r["label"] not in named:  # one label per format, not one per profile
                    named.add(r["label"])
                    texts.append(ax.text(r["published_ppl"], r["our_ppl"], r["label"], fontsize=8))
        _spread_labels(ax, texts)
        ax.set_title(study.split(",")[0], fontsize=9)
        ax.set_xlabel("published perplexity")
        ax.set_ylabel("our perplexity (95 % interval vs fp32)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("same ordering = points rise left to right", fontsize=10)
    fig.tight_layout()
    return fig
