"""Reading sweep results: tidy frame, Pareto fronts, what to pick for this CPU, and published results side by side.

Published numbers are citations (what the papers report), never our results; ours always come from results files.
Results live in ``results/<profile>/<kind>.jsonl`` (one machine profile per file, named by
:func:`helpers.settings.results_path`); :func:`profile_runs` reads this machine's file beside the committed reference
profiles', each labelled, never mixed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import device
from helpers.plots import pareto_mask
from helpers.results import ResultsStore
from helpers.settings import repo_relative, results_files, results_path

BASELINE_KEY = "torch/fp32"


def check_profile(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Give every row a ``profile`` (rows written without one take their ``results/<profile>/`` folder's) and refuse
    a file whose rows belong to another profile than its folder (or to several): their numbers must never mix."""
    path = Path(path)
    folder = path.parent.name if device.is_profile(path.parent.name) else None
    if df.empty:
        return df
    df["profile"] = df["profile"].fillna(folder or "unknown") if "profile" in df else folder or "unknown"
    allowed = folder or str(df["profile"].iloc[0])
    other = sorted(set(df["profile"]) - {allowed})
    if other:
        raise ValueError(
            f"profile={other[0]!r} in {path} is invalid: a results file holds rows of one machine profile; allowed "
            f"values are {allowed!r} (measure another machine into its own results/<profile>/ folder)"
        )
    return df


def _profiles(df: pd.DataFrame | dict) -> set[str]:
    """The profiles a frame's rows (or one row) name; empty for rows written without one."""
    if isinstance(df, dict):
        return {df["profile"]} if df.get("profile") else set()
    return set(df["profile"].dropna()) if "profile" in df else set()


def refuse_mixed_profiles(a: pd.DataFrame | dict, b: pd.DataFrame | dict, what: str) -> None:
    """ValueError when ``b``'s rows come from another machine profile than ``a``'s (one verdict, one profile)."""
    if _profiles(a) and _profiles(b) and _profiles(a) != _profiles(b):
        raise ValueError(
            f"profile={sorted(_profiles(b))} of the {what} is invalid: one verdict compares rows of one machine "
            f"profile; allowed values are {sorted(_profiles(a))}"
        )


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


@dataclass(frozen=True)
class ProfileRun:
    """One profile's results file of one kind, read with :func:`results_frame`."""

    profile: str
    path: Path
    mine: bool  # this machine's file; else a committed reference
    frame: pd.DataFrame = field(repr=False, compare=False)

    @property
    def name(self) -> str:
        """``<profile> (this machine)`` or ``<profile> (reference)``: the label of its rows in tables and plots."""
        return f"{self.profile} ({'this machine' if self.mine else 'reference'})"

    def beside(self, kind: str) -> Path:
        """The ``kind`` results file of the same profile and results folder (its peer, its second run)."""
        return results_path(kind, profile=self.profile, root=self.path.parent.parent)


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


@dataclass(frozen=True)
class Published:
    """One published comparison: lower is better for every value (perplexity)."""

    study: str
    setting: str
    values: dict[str, float]  # label -> published perplexity, in the paper's order
    ours: dict[str, str]  # label -> our point key measuring the same idea
    caveat: str


PUBLISHED: tuple[Published, ...] = (
    Published(
        "QLoRA (Dettmers et al. 2023), Table 2",
        "mean Pile Common Crawl perplexity over 125M-13B OPT, BLOOM, LLaMA and Pythia models, blocks of 64",
        {"Int4": 34.34, "FP4 (E2M1)": 31.07, "NF4 + DQ": 27.41},
        {
            "Int4": "itrex/int4_clip/g64/sym/RTN/fp32",
            "FP4 (E2M1)": "itrex/fp4_e2m1/g64/sym/RTN/fp32",
            "NF4 + DQ": "itrex/nf4/g64/sym/RTN/fp32",
        },
        "ours: one 135M model on Shakespeare, not a mean over 125M-13B models on Pile Common Crawl; QLoRA's Int4 "
        "is a symmetric absmax integer grid, read here as ITREX's int4_clip (levels -7..7; int4_fullrange adds -8); "
        "no double quantization (ITREX 1.3.2 does not support it), so NF4 + DQ is plain nf4; ITREX's fp4 table "
        "(0.0625 subnormal)",
    ),
    Published(
        "AWQ (Lin et al. 2024), Llama-2-7B WikiText-2",
        "INT4 g128 weight-only: FP16 / RTN / GPTQ / AWQ",
        {"FP16": 5.47, "RTN": 5.73, "GPTQ": 5.69, "AWQ": 5.60},
        {
            "FP16": BASELINE_KEY,
            "RTN": "itrex/int4_clip/g32/sym/RTN/fp32",
            "GPTQ": "itrex/int4_clip/g32/sym/GPTQ/fp32",
            "AWQ": "itrex/int4_clip/g32/sym/AWQ/fp32",
        },
        "ours: fp32 (dequantized Q4_1) baseline, group 32, seed ITREX path; GPTQ is recorded as unsupported there",
    ),
    Published(
        "AWQ ordering on today's path (NNCF)",
        "INT4 g64 weight-only on OpenVINO: fp32 / RTN / GPTQ / AWQ",
        {"FP16": 5.47, "RTN": 5.73, "GPTQ": 5.69, "AWQ": 5.60},
        {
            "FP16": BASELINE_KEY,
            "RTN": "openvino/int4/g64/sym/RTN/auto",
            "GPTQ": "openvino/int4/g64/sym/GPTQ/auto",
            "AWQ": "openvino/int4/g64/sym/AWQ/auto",
        },
        "same published numbers as above; ours: NNCF 2.11 GPTQ, and AWQ + scale estimation, calibrated on Python-docs "
        "passages (count and length in each row's budget)",
    ),
    Published(
        "NNCF weight compression, dolly-v2-3b",
        "perplexity on Lambada: fp32 / int8 / nf4 g128 with 60 % of layers in nf4 / int4 asym g32 with 50 % in int4",
        {"fp32": 5.01, "int8": 5.07, "nf4": 5.19, "int4": 5.28},
        {
            "fp32": BASELINE_KEY,
            "int8": "openvino/int8/g32/sym/RTN/auto",
            "nf4": "openvino/nf4/g64/sym/RTN/auto",
            "int4": "openvino/int4/g64/sym/RTN/auto",
        },
        "NNCF's 4-bit rows are mixed precision (the rest of the layers int8) with other group sizes and schemes; ours "
        "are all-4-bit, sym, groups of 64, on SmolLM2-135M and our held-out text: only the coarse ordering compares",
    ),
)


def order_verdict(published: dict[str, float], ours: dict[str, tuple[float, float, float]]) -> tuple[str, str]:
    """Judge our ordering pair by pair: each pair the paper orders *agrees* or *disagrees* when our two 95 % intervals
    (value, lo, hi) are disjoint, and is a *tie within noise* when they overlap. Returns (verdict, pair counts)."""
    counts = {"agree": 0, "disagree": 0, "tie": 0}
    labels = [label for label in published if label in ours]
    for a, b in itertools.combinations(labels, 2):
        better, worse = sorted((a, b), key=published.__getitem__)
        if ours[better][2] < ours[worse][1]:
            counts["agree"] += 1
        elif ours[worse][2] < ours[better][1]:
            counts["disagree"] += 1
        else:
            counts["tie"] += 1
    pairs = f"{counts['agree']} agree, {counts['disagree']} disagree, {counts['tie']} tie within noise"
    if len(labels) < 2:
        return "not enough points", pairs
    if counts["disagree"]:
        return "DISAGREES", pairs
    return ("agrees" if counts["agree"] else "tie within noise"), pairs


def row_interval(row: pd.Series, name: str) -> tuple[float, float] | None:
    """``(lo, hi)`` of a row's ``<name>_lo`` / ``<name>_hi`` columns, or None when the row has no finite interval."""
    lo, hi = row.get(f"{name}_lo"), row.get(f"{name}_hi")
    if lo is None or hi is None or not (np.isfinite(float(lo)) and np.isfinite(float(hi))):
        return None
    return float(lo), float(hi)


def _paired_perplexity(row: pd.Series, fp32_perplexity: float | None) -> tuple[float, float, float]:
    """(perplexity, lo, hi): the 95 % interval of the point's perplexity change vs fp32, bootstrapped over the same
    evaluation windows for both models (so the windows' own spread in difficulty cancels), on the perplexity scale.
    A row without that interval gets lo = hi = its perplexity (a point estimate)."""
    value, span = float(row["perplexity"]), row_interval(row, "ppl_change")
    if fp32_perplexity and span:
        return value, fp32_perplexity * (1 + span[0]), fp32_perplexity * (1 + span[1])
    return value, value, value


def compare_with_published(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per study: published value and rank next to ours (with the 95 % interval of its change vs fp32, on the
    perplexity scale); and a summary judging the orderings with :func:`order_verdict` (agrees / DISAGREES / tie
    within noise).

    A point that was not measured shows its status and reason instead of a number; the ordering is then judged
    on the labels both sides have.
    """
    rows, summary = [], []
    by_key = df.set_index("key") if not df.empty else pd.DataFrame()
    base = by_key.loc[BASELINE_KEY] if BASELINE_KEY in by_key.index else None
    fp32_ppl = float(base["perplexity"]) if base is not None and base.get("status") == "ok" else None
    for study in PUBLISHED:
        ours: dict[str, tuple[float, float, float]] = {}
        for label, key in study.ours.items():
            row = by_key.loc[key] if key in by_key.index else None
            if row is not None and row.get("status") == "ok":
                ours[label] = _paired_perplexity(row, fp32_ppl)
            status = "not in results" if row is None else row.get("status")
            value, lo, hi = ours.get(label, (None, None, None))
            rows.append(
                {
                    "study": study.study,
                    "label": label,
                    "published_ppl": study.values[label],
                    "our_point": key,
                    "our_ppl": value,
                    "our_ppl_lo": lo,
                    "our_ppl_hi": hi,
                    "status": status,
                    "reason": None if row is None or status == "ok" else row.get("reason"),
                }
            )
        common = [label for label in study.values if label in ours]
        verdict, pairs = order_verdict(study.values, ours)
        summary.append(
            {
                "study": study.study,
                "setting": study.setting,
                "published order (best first)": " < ".join(sorted(common, key=study.values.__getitem__)),
                "our order (best first)": " < ".join(sorted(common, key=lambda label: ours[label][0])),
                "verdict": verdict,
                "pairs": pairs,
                "agrees": {"agrees": True, "DISAGREES": False}.get(verdict),
                "compared": f"{len(common)} of {len(study.values)}",
                "caveat": study.caveat,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(summary)


def compare_runs(runs: list[ProfileRun]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`compare_with_published` of each run, stacked, with a first column ``profile`` naming the run."""
    parts = [tuple(t.assign(profile=run.name) for t in compare_with_published(run.frame)) for run in runs]
    if not parts:
        parts = [tuple(t.assign(profile=None) for t in compare_with_published(pd.DataFrame()))]
    rows, summary = (pd.concat([p[i] for p in parts], ignore_index=True) for i in (0, 1))
    return rows[["profile", *rows.columns[:-1]]], summary[["profile", *summary.columns[:-1]]]


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
