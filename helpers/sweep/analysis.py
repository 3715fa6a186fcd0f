"""Notebooks 00, 01, 04, 05, 06: reading sweep results: the tidy frame, each profile's run, Pareto fronts, the
int4 class.

Results live in ``results/<profile>/<kind>.jsonl`` (one machine profile per file, named by
:func:`~helpers.core.settings.results_path`); :func:`profile_runs` reads this machine's file beside the committed
reference profiles', each labelled, never mixed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.metrics import pareto_mask
from helpers.core.profiles import ProfileRun, check_profile
from helpers.core.results import ResultsStore
from helpers.core.settings import repo_relative, results_files

BASELINE_KEY = "torch/fp32"


def results_frame(path: str | Path) -> pd.DataFrame:
    """Latest row per point with derived columns: speed-up vs torch fp32, perplexity change, size in MB, profile."""
    df = check_profile(ResultsStore(path).to_frame(), path)
    if df.empty:
        return df
    ok = df[df["status"] == "ok"]
    base = ok[ok["key"] == BASELINE_KEY]
    if not base.empty:
        b = base.iloc[0]
        df["decode_speedup"] = b["decode_ms_per_token"] / df["decode_ms_per_token"]
        df["prefill_speedup"] = b["prefill_ms"] / df["prefill_ms"]
        df["ppl_change"] = df["perplexity"] / b["perplexity"] - 1
        df["size_ratio"] = df["model_bytes"] / b["model_bytes"]
    df["ratio"] = df["ratio"].fillna(1.0) if "ratio" in df else 1.0  # rows written before the ratio axis
    if "model_bytes" in df:
        df["model_mb"] = df["model_bytes"] / 2**20
    if "perplexity" in df:
        # a point that ran but whose perplexity is NaN/inf is a broken model, not a quality number
        df["broken"] = (df["status"] == "ok") & ~np.isfinite(df["perplexity"].astype(float))
        if "faq_choice_accuracy" in df:  # rows written before the evaluator caught NaN scores show a false 1.0
            df.loc[df["broken"], "faq_choice_accuracy"] = np.nan
    return df


def profile_runs(mine: str | Path, reference: str | None = "full", root: str | Path | None = None) -> list[ProfileRun]:
    """This machine's results file ``mine`` (if it exists), then every committed profile's ``<reference>.jsonl``
    (``root`` default: the committed results; ``reference=None``: none). A file is listed once."""
    mine = Path(mine)
    runs = [ProfileRun(mine.parent.name, mine, True, results_frame(mine))] if mine.is_file() else []
    for profile, path in (results_files(reference, root) if reference else {}).items():
        if not mine.is_file() or not path.samefile(mine):
            runs.append(ProfileRun(profile, path, False, results_frame(path)))
    return runs


def runs_overview(runs: list[ProfileRun], mine: str | Path) -> list[str]:
    """One line per run (this machine's first, saying so when it has no results yet) with its file and point count."""
    mine = Path(mine)
    lines = []
    if not any(r.mine for r in runs):
        lines.append(f"{mine.parent.name} (this machine): no results yet ({repo_relative(mine)} does not exist)")
    for run in runs:
        n = len(measured(run.frame))
        lines.append(f"{run.name}: {n} measured of {len(run.frame)} points in {repo_relative(run.path)}")
    return lines


def stacked(
    runs: list[ProfileRun],
    columns: list[str],
    select: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    sort_by: str | None = None,
    ascending: bool = True,
) -> pd.DataFrame:
    """``select(frame)[columns]`` (default: the measured points) of each run, one block per run, sorted within it
    by ``sort_by``, with a first column ``profile`` naming the run. Empty (with those columns) when no run has rows."""
    parts = []
    for run in (r for r in runs if not r.frame.empty):
        part = (select or measured)(run.frame).reindex(columns=columns)
        part = part.sort_values(sort_by, ascending=ascending) if sort_by else part
        parts.append(part.assign(profile=run.name))
    if not parts:
        return pd.DataFrame(columns=["profile", *columns])
    return pd.concat(parts, ignore_index=True)[["profile", *columns]]


def latest_peer(path: str | Path) -> dict | None:
    """The last llama.cpp peer row of a peers file (the newest measurement), or None (no file, no rows)."""
    rows = ResultsStore(path).rows() if Path(path).is_file() else []
    return rows[-1] if rows else None


def broken(df: pd.DataFrame) -> pd.DataFrame:
    """Points that ran but produced non-finite perplexity (NaN/inf logits): broken models, shown separately."""
    if df.empty or "broken" not in df:
        return df.iloc[0:0]
    columns = ["key", "label", "perplexity", "decode_tokens_per_s"]
    return df[df["broken"]].reindex(columns=columns).reset_index(drop=True)


def measured(df: pd.DataFrame) -> pd.DataFrame:
    """Only the points that ran (status ok)."""
    return df[df["status"] == "ok"].reset_index(drop=True) if not df.empty else df


def not_measured(df: pd.DataFrame) -> pd.DataFrame:
    """Unsupported or failed points with their reasons."""
    if df.empty:
        return df
    rest = df[df["status"] != "ok"].reindex(columns=["key", "status", "reason"])
    return rest.reset_index(drop=True)


def pareto_front(df: pd.DataFrame, cost: str = "decode_ms_per_token", quality: str = "perplexity") -> pd.DataFrame:
    """Measured points no other point beats on both cost (lower) and quality (lower perplexity)."""
    ok = measured(df).dropna(subset=[cost, quality])
    mask = pareto_mask(ok[cost], ok[quality], higher_quality_is_better=False)
    return ok[mask].sort_values(cost).reset_index(drop=True)


def pick(df: pd.DataFrame, backend: str | None = None, max_ppl_increase: float = 0.10) -> pd.Series | None:
    """Fastest decode among measured points whose perplexity is within ``max_ppl_increase`` of fp32."""
    ok = measured(df)
    if backend:
        ok = ok[ok["backend"] == backend]
    ok = ok[ok["ppl_change"] <= max_ppl_increase] if "ppl_change" in ok else ok.iloc[0:0]
    return None if ok.empty else ok.sort_values("decode_ms_per_token").iloc[0]


def row_interval(row: pd.Series, name: str) -> tuple[float, float] | None:
    """``(lo, hi)`` of a row's ``<name>_lo`` / ``<name>_hi`` columns, or None when the row has no finite interval."""
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    if lo is None or hi is None or not (np.isfinite(float(lo)) and np.isfinite(float(hi))):
        return None
    return float(lo), float(hi)


INT4_CLASS = ("int4", "int4_clip", "int4_fullrange", "nf4", "fp4_e2m1")
#: A mixed int4/int8 model (NNCF ``ratio``) counts as int4-class from this share of 4-bit linear layers up:
#: optimum-intel 1.17's own int4 presets use 0.6-1.0, most of them 0.8. Below it, a point is reported as mixed.
INT4_CLASS_MIN_RATIO = 0.8


def int4_class(df: pd.DataFrame) -> pd.Series:
    """Boolean mask: 4-bit weight dtype with at least :data:`INT4_CLASS_MIN_RATIO` of the layers in 4 bits
    (``ratio`` as :func:`results_frame` derives it; a frame without the column means every point is all-4-bit)."""
    return df["weight_dtype"].isin(INT4_CLASS) & (df.get("ratio", 1.0) >= INT4_CLASS_MIN_RATIO)


def baseline_budget(df: pd.DataFrame) -> dict | None:
    """The evaluation budget (``EvalBudget`` fields) the fp32 row of a results frame was measured with, or None."""
    base = df[df["key"] == BASELINE_KEY] if not df.empty and "budget" in df else df.iloc[0:0]
    budget = base["budget"].iloc[0] if not base.empty else None
    return budget if isinstance(budget, dict) else None
