"""Notebooks 00, 01, 04, 06: Reading RAG-shaped latency results (:mod:`helpers.latency.cases`): pooled samples,
intervals, bars, breakdown.

* :func:`load`: a ``rag_latency`` results file as a frame (latest row per key; ok rows by default).
* :func:`pooled`: both rounds of a case (runtime, weights, threads) pooled into one sample set per metric.
* :func:`summary_table`: medians with distribution-free 95 % intervals (:func:`helpers.core.intervals.median_ci`).
* :func:`verdicts` / :func:`verdict_lines`: the chapter's bars, ratios with bootstrap intervals
  (:func:`~helpers.core.intervals.ratio_ci`) judged by
  :func:`~helpers.core.intervals.bar_verdict`; a missing case is said.
* :func:`breakdown`: decode ms/token split into model execution and everything around it, per case.
* :func:`profile_runs` / :func:`overview_lines`: this machine's file beside each committed profile's, labelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from helpers import device
from helpers.core.intervals import Interval, bar_verdict, median_ci, ratio_ci
from helpers.core.profiles import ProfileRun, check_profile
from helpers.core.results import ResultsStore
from helpers.core.settings import COMMITTED_RESULTS, repo_relative
from helpers.llm.common import OV_MIN_THREADS

KIND = "rag_latency"
METRICS = ("ttft_s", "tpot_s", "e2e_s", "model_s_per_token", "other_s_per_token")
CASE = ["runtime", "weights", "num_threads"]
OPENVINO_RUNTIMES = ("optimum-intel", "genai-2024.2", "genai-2026")
BASELINE = ("torch", "fp32")
PEER = ("llama.cpp", "q4_1")


def load(path: str | Path, *, only_ok: bool = True) -> pd.DataFrame:
    """Latest row per key of a ``rag_latency`` file (profile checked); ``only_ok=False`` keeps non-ok rows too.
    A missing file gives an empty frame."""
    path = Path(path)
    df = ResultsStore(path).to_frame() if path.is_file() else pd.DataFrame()
    if df.empty:
        return pd.DataFrame(columns=["key", "status", *CASE])
    if "profile" in df and df["profile"].notna().any():  # non-ok rows carry no profile: they take the file's
        df["profile"] = df["profile"].fillna(df["profile"].dropna().iloc[0])
    df = check_profile(df, path)
    return df[df["status"] == "ok"].reset_index(drop=True) if only_ok else df.reset_index(drop=True)


def _samples(row: pd.Series, metric: str) -> list[float]:
    """A row's samples of ``metric``: its ``<metric>_samples`` list, else read from its ``runs``."""
    values = row.get(f"{metric}_samples")
    if not isinstance(values, list):
        runs = row.get("runs") if isinstance(row.get("runs"), list) else []
        values = [r.get(metric) for r in runs]
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def pooled(df: pd.DataFrame) -> pd.DataFrame:
    """One row per case (runtime, weights, threads) of the ok rows: ``label``, ``rounds``, ``n_runs``,
    ``new_tokens`` and, per metric, ``<metric>_samples`` pooled over every round (empty list when not measured)."""
    ok = df[df["status"] == "ok"] if "status" in df else df
    cols = ["label", "rounds", "n_runs", "new_tokens", *CASE, *(f"{m}_samples" for m in METRICS)]
    out = []
    for (runtime, weights, threads), part in ok.groupby(CASE, sort=False):
        rec: dict[str, Any] = {"runtime": runtime, "weights": weights, "num_threads": int(threads)}
        rec["label"] = f"{runtime} {weights}"
        rec["rounds"] = sorted(int(r) for r in part["round"])
        for metric in METRICS:
            rec[f"{metric}_samples"] = [v for _, row in part.iterrows() for v in _samples(row, metric)]
        tokens = {int(t) for _, row in part.iterrows() for t in _listed(row.get("new_tokens"))}
        rec["new_tokens"] = max(tokens) if tokens else math.nan
        rec["n_runs"] = len(rec["e2e_s_samples"])
        out.append(rec)
    frame = pd.DataFrame(out, columns=cols)
    if frame["num_threads"].nunique() > 1:  # labels name the thread count when the cases differ in it
        frame["label"] = frame["label"] + " t" + frame["num_threads"].astype(str)
    return frame


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None or value != value else [value]


def interval(samples: list[float]) -> Interval:
    """:func:`median_ci` of the samples; NaN everywhere when there are none."""
    return median_ci(samples) if samples else Interval(math.nan, math.nan, math.nan, math.nan)


def summary_table(pool: pd.DataFrame) -> pd.DataFrame:
    """Per case: runs, rounds, TTFT (s), TPOT (ms/token), E2E (s), each a median with its interval ``lo``/``hi``
    (``ci`` is the coverage the order statistics achieve: 95 % or a bit more), plus the decode split medians."""
    scale = {"ttft_s": ("ttft_s", 1.0), "tpot_s": ("tpot_ms", 1e3), "e2e_s": ("e2e_s", 1.0)}
    rows = []
    for _, case in pool.iterrows():
        rec: dict[str, Any] = {k: case[k] for k in ("label", *CASE, "n_runs", "rounds")}
        for metric, (name, factor) in scale.items():
            ci = interval(case[f"{metric}_samples"])
            rec.update({name: ci.value * factor, f"{name}_lo": ci.lo * factor, f"{name}_hi": ci.hi * factor})
            rec["ci"] = ci.confidence
        for metric, name in (("model_s_per_token", "model_ms"), ("other_s_per_token", "other_ms")):
            rec[name] = interval(case[f"{metric}_samples"]).value * 1e3
        rows.append(rec)
    return pd.DataFrame(rows).sort_values(["num_threads", "e2e_s"]).reset_index(drop=True) if rows else pd.DataFrame()


def breakdown(pool: pd.DataFrame) -> pd.DataFrame:
    """Decode ms/token per case split into model execution (``model_ms``) and everything around it
    (``other_ms``: the generation loop, sampling, detokenization, Python glue), medians over the pooled runs;
    ``overhead_share`` = other / (model + other); ``bound`` names the larger part ("n/a" when not split)."""
    rows = []
    for _, case in pool.iterrows():
        model = interval(case["model_s_per_token_samples"]).value * 1e3
        other = interval(case["other_s_per_token_samples"]).value * 1e3
        share = other / (model + other) if math.isfinite(model) and math.isfinite(other) else math.nan
        bound = "n/a" if not math.isfinite(share) else "overhead-bound" if share > 0.5 else "model-bound"
        rows.append({
            **{k: case[k] for k in ("label", *CASE)},
            "tpot_ms": interval(case["tpot_s_samples"]).value * 1e3,
            "model_ms": model, "other_ms": other, "overhead_share": share, "bound": bound,
        })
    return pd.DataFrame(rows, columns=["label", *CASE, "tpot_ms", "model_ms", "other_ms", "overhead_share", "bound"])


@dataclass(frozen=True)
class Verdict:
    """One bar: ``ratio`` (> 1: the candidate is faster) with its interval, the outcome, and the printed line."""

    name: str
    num_threads: int
    bar: float
    outcome: str  # "met", "missed", "tie within noise", or "no verdict"
    line: str
    ratio: Interval | None = field(default=None)


def _best(pool: pd.DataFrame, runtimes: tuple[str, ...], metric: str, int4: bool = False) -> pd.Series | None:
    """The case of ``runtimes`` with the lowest median ``metric`` (``int4``: int4 weights only), or None."""
    part = pool[pool["runtime"].isin(runtimes)]
    if int4:
        part = part[part["weights"].str.contains("int4")]
    medians = part[f"{metric}_samples"].map(lambda s: interval(s).value)
    medians = medians[medians.notna()]
    return None if medians.empty else part.loc[medians.idxmin()]


def _one(pool: pd.DataFrame, runtime: str, weights: str) -> pd.Series | None:
    part = pool[(pool["runtime"] == runtime) & (pool["weights"] == weights)]
    return None if part.empty else part.iloc[0]


def _missing(rows: pd.DataFrame, runtime: str, weights: str | None, threads: int) -> str:
    """Why a case has no ok rows: the reasons of its non-ok rows, or 'not in the file'."""
    sel = (rows["runtime"] == runtime) & (rows["num_threads"] == threads) & (rows["status"] != "ok")
    if weights is not None:
        sel &= rows["weights"] == weights
    reasons = sorted({f"{r['status']}: {r.get('reason', '')}".strip() for _, r in rows[sel].iterrows()})
    return "; ".join(reasons) if reasons else "not in the file"


def _judge(name: str, threads: int, bar: float, what: str, base: pd.Series, cand: pd.Series, metric: str) -> Verdict:
    if not base[f"{metric}_samples"] or not cand[f"{metric}_samples"]:
        why = f"{metric} was not measured for {cand['label']} or {base['label']}"
        return Verdict(name, threads, bar, "no verdict", f"({name}) t{threads}: no verdict (bar >= {bar:g}x): {why}")
    ci = ratio_ci(base[f"{metric}_samples"], cand[f"{metric}_samples"])
    head = f"({name}) t{threads}: {cand['label']} is {ci.value:.2f}x {what} {base['label']}"
    if not (math.isfinite(ci.lo) and math.isfinite(ci.hi)):
        return Verdict(name, threads, bar, "no verdict", f"{head} (bar >= {bar:g}x): no verdict, fewer than 2 "
                       f"runs on a side ({cand['n_runs']} vs {base['n_runs']})", ci)
    outcome = bar_verdict(ci, bar, higher_is_better=True)
    line = (f"{head} (95 % CI {ci.lo:.2f}-{ci.hi:.2f}x; {cand['n_runs']} vs {base['n_runs']} runs; "
            f"bar >= {bar:g}x): {outcome}")
    return Verdict(name, threads, bar, outcome, line, ci)


def _absent(name: str, threads: int, bar: float, what: str, why: str) -> Verdict:
    return Verdict(name, threads, bar, "no verdict", f"({name}) t{threads}: no verdict on {what} (bar >= {bar:g}x): "
                   f"{why}")


#: name -> (bar, how the ratio reads, metric, what is compared)
BARS: dict[str, tuple[float, str, str, str]] = {
    "a": (2.0, "faster end to end than", "e2e_s", "best OpenVINO E2E vs llama.cpp"),
    "b": (1.0, "the decode speed (TPOT) of", "tpot_s", "its TPOT vs llama.cpp"),
    "c": (5.0, "the decode speed (TPOT) of", "tpot_s", "best OpenVINO int4 TPOT vs torch fp32"),
}


def _pairs(rows: pd.DataFrame, threads: int) -> dict[str, tuple[pd.Series | None, pd.Series | None, str]]:
    """Per bar: (candidate case, reference case, why one is missing) among the ``threads`` rows."""
    pool = pooled(rows[rows["num_threads"] == threads])
    best, peer = _best(pool, OPENVINO_RUNTIMES, "e2e_s"), _one(pool, *PEER)
    int4, base = _best(pool, OPENVINO_RUNTIMES, "tpot_s", int4=True), _one(pool, *BASELINE)
    no_ov = "no OpenVINO case has ok rows (" + "; ".join(
        f"{r}: {_missing(rows, r, None, threads)}" for r in OPENVINO_RUNTIMES) + ")"
    no_peer = f"{' '.join(PEER)} has no ok rows ({_missing(rows, *PEER, threads)})"
    no_base = f"{' '.join(BASELINE)} has no ok rows ({_missing(rows, *BASELINE, threads)})"
    why_ab = no_ov if best is None else no_peer
    why_c = "no OpenVINO int4 case has ok rows" if int4 is None else no_base
    return {"a": (best, peer, why_ab), "b": (best, peer, why_ab), "c": (int4, base, why_c)}


def verdicts(rows: pd.DataFrame) -> list[Verdict]:
    """The three bars per thread count, from every row of one file (``load(path, only_ok=False)``):
    (a) the best OpenVINO case by median E2E is >= 2x faster end to end than llama.cpp; (b) that case's decode
    (TPOT) is >= 1.0x llama.cpp's; (c) the best OpenVINO int4 case by median TPOT decodes >= 5x faster than torch
    fp32. Ratios are speed-ups (reference median / candidate median) of pooled runs of one file and thread count;
    the best case is picked on the same data, so a verdict near its bar deserves a re-run."""
    out: list[Verdict] = []
    for threads in sorted({int(t) for t in rows["num_threads"].dropna()}):
        for name, (cand, ref, why) in _pairs(rows, threads).items():
            bar, what, metric, label = BARS[name]
            if threads < OV_MIN_THREADS:  # every bar has an OpenVINO side, and OpenVINO ran on more threads
                why = (f"OpenVINO's cases ran on {OV_MIN_THREADS} threads (1 has crashed OpenVINO LLM compilation), "
                       f"the others on {threads}: not a like-for-like ratio")
                out.append(_absent(name, threads, bar, label, why))
            elif cand is None or ref is None:
                out.append(_absent(name, threads, bar, label, why))
            else:
                out.append(_judge(name, threads, bar, what, ref, cand, metric))
    return out


def verdict_lines(rows: pd.DataFrame) -> list[str]:
    """The printed form of :func:`verdicts`; a single line saying so when the file has no rows."""
    if rows.empty:
        return ["no rows: no verdicts"]
    return [v.line for v in verdicts(rows)]


def profile_runs(mine: str | Path, root: str | Path | None = None, kind: str = KIND) -> list[ProfileRun]:
    """This machine's file first, then every committed profile folder's ``<kind>.jsonl`` (``rag_latency``, or
    ``size_latency`` for the size table; ``root`` default: the committed results), each listed once; a profile
    without the file gets an empty ``rows`` frame."""
    mine = Path(mine)
    runs = [ProfileRun(mine.parent.name, mine, True, load(mine, only_ok=False))]
    base = Path(root) if root is not None else COMMITTED_RESULTS
    for folder in sorted(p for p in base.glob("*/") if p.is_dir() and device.is_profile(p.name)):
        path = folder / f"{kind}.jsonl"
        if path.resolve() != mine.resolve():
            runs.append(ProfileRun(folder.name, path, False, load(path, only_ok=False)))
    return runs


def overview_lines(runs: list[ProfileRun]) -> list[str]:
    """One line per profile: its file and ok / non-ok case counts, or that it has no results."""
    lines = []
    for run in runs:
        if run.frame.empty:
            lines.append(f"{run.name}: no RAG latency results ({repo_relative(run.path)} does not exist or is empty)")
            continue
        ok = int((run.frame["status"] == "ok").sum())
        lines.append(f"{run.name}: {ok} ok of {len(run.frame)} rows in {repo_relative(run.path)}")
    return lines


def by_profile(runs: list[ProfileRun], table: str = "summary") -> pd.DataFrame:
    """:func:`summary_table` (``table="summary"``) or :func:`breakdown` of each profile with ok rows, stacked,
    with a first column ``profile`` naming the run; empty when no profile has rows."""
    make = {"summary": summary_table, "breakdown": breakdown}[table]
    parts = [make(pooled(r.frame)).assign(profile=r.name) for r in runs if not r.frame.empty]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=["profile"])
    out = pd.concat(parts, ignore_index=True)
    return out[["profile", *[c for c in out.columns if c != "profile"]]]


def problems(runs: list[ProfileRun]) -> pd.DataFrame:
    """The cases that did not run (unsupported / failed) of every profile, with the first line of their reason."""
    cols = ["profile", "key", "status", "reason"]
    parts = [r.frame[r.frame["status"] != "ok"].assign(profile=r.name) for r in runs if not r.frame.empty]
    parts = [p.reindex(columns=cols) for p in parts if not p.empty]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out["reason"] = out["reason"].fillna("").astype(str).str.split("\n").str[0].str.slice(0, 160)
    return out


def verdict_report(runs: list[ProfileRun]) -> list[str]:
    """The verdict lines of every profile under its name (a profile without results says so)."""
    lines = []
    for run in runs:
        lines.append(f"{run.name}:")
        body = verdict_lines(run.frame) if not run.frame.empty else ["no results: no verdicts"]
        lines += [f"  {line}" for line in body]
    return lines


def findings(rows: pd.DataFrame) -> list[str]:
    """Sentences read off the data (for the narrative): fastest case end to end and its prefill share, the range of
    prefill shares, the most and least overhead-bound decode step, per thread count."""
    out = []
    for threads in sorted({int(t) for t in rows["num_threads"].dropna()}):
        pool = pooled(rows[rows["num_threads"] == threads])
        table = summary_table(pool)
        if table.empty:
            continue
        share = table["ttft_s"] / table["e2e_s"]
        table = table.assign(prefill_share=share)
        fast, lo, hi = table.iloc[0], table.loc[share.idxmin()], table.loc[share.idxmax()]
        out.append(f"t{threads}: fastest end to end is {fast['label']} at {fast['e2e_s']:.2f} s, of which the "
                   f"prompt (TTFT) takes {fast['ttft_s']:.2f} s ({fast['prefill_share']:.0%}).")
        if len(table) > 1:
            out.append(f"t{threads}: the prompt's share of end-to-end time ranges from {lo['prefill_share']:.0%} "
                       f"({lo['label']}) to {hi['prefill_share']:.0%} ({hi['label']}).")
        split = breakdown(pool).dropna(subset=["overhead_share"])
        if len(split) > 1:
            most, least = split.loc[split["overhead_share"].idxmax()], split.loc[split["overhead_share"].idxmin()]
            out.append(f"t{threads}: most time around the model per decode step: {most['label']} "
                       f"({most['overhead_share']:.0%} of {most['tpot_ms']:.1f} ms); least: {least['label']} "
                       f"({least['overhead_share']:.0%} of {least['tpot_ms']:.1f} ms).")
    return out
