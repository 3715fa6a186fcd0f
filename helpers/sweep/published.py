"""Notebook 05: published results (QLoRA, AWQ, NNCF) beside ours, ordering judged pair by pair with intervals.

Published numbers are citations (what the papers report), never our results; ours come from results files.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pandas as pd

from helpers import models
from helpers.core.profiles import ProfileRun
from helpers.sweep.analysis import BASELINE_KEY, row_interval


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
            "int4": "openvino/int4/g32/asym/RTN/auto",
        },
        "NNCF's 4-bit rows are mixed precision (the rest of the layers int8) and its nf4 uses groups of 128; ours are "
        "all-4-bit, int4 asym g32 as published, nf4 g64 (g128 does not divide SmolLM2's 576 channels), int8 per "
        "channel, on SmolLM2-135M and our held-out text: only the coarse ordering compares",
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


def _paired_perplexity(row: pd.Series, fp32_perplexity: float | None) -> tuple[float, float, float]:
    """(perplexity, lo, hi): the 95 % interval of the point's perplexity change vs fp32, bootstrapped over the same
    evaluation windows for both models (so the windows' own spread in difficulty cancels), on the perplexity scale.
    A row without that interval gets lo = hi = its perplexity (a point estimate)."""
    value, span = float(row["perplexity"]), row_interval(row, "ppl_change")
    if fp32_perplexity and span:
        return value, fp32_perplexity * (1 + span[0]), fp32_perplexity * (1 + span[1])
    return value, value, value


def compare_with_published(
    df: pd.DataFrame, studies: tuple[Published, ...] = PUBLISHED
) -> tuple[pd.DataFrame, pd.DataFrame]:
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
    for study in studies:
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


#: The studies whose points the accuracy-transfer table holds (``python -m helpers.sweep.transfer``), keyed as its
#: rows are (without the model prefix): read at the largest model measured, the size closest to the papers'.
AT_SIZE: tuple[Published, ...] = (
    Published(
        PUBLISHED[0].study,
        PUBLISHED[0].setting,
        PUBLISHED[0].values,
        {"Int4": "openvino/int4/g64/sym/RTN/fp32", "NF4 + DQ": "openvino/nf4/g64/sym/RTN/fp32"},
        "ours: NNCF int4 sym g64 and nf4 g64 (blocks of 64 as published, no double quantization), one model on our "
        "held-out text; the transfer table has no fp4 point",
    ),
    Published(
        PUBLISHED[3].study,
        PUBLISHED[3].setting,
        PUBLISHED[3].values,
        {
            "fp32": BASELINE_KEY,
            "int8": "openvino/int8/g-1/sym/RTN/fp32",
            "nf4": "openvino/nf4/g64/sym/RTN/fp32",
            "int4": "openvino/int4/g32/asym/AWQ/fp32",
        },
        "ours: all-4-bit (NNCF's rows keep part of the layers int8); int4 asym g32 as published but with AWQ + scale "
        "estimation (the transfer table's data-aware point), nf4 g64 instead of g128",
    ),
)


def transfer_frame(rows: pd.DataFrame, model: str) -> pd.DataFrame:
    """One model's accuracy-transfer rows shaped like a sweep's (keys without the model prefix, a torch fp32
    baseline row carrying the fp32 perplexity) for :func:`compare_with_published`."""
    ok = rows[(rows["model"] == model) & (rows["status"] == "ok")] if not rows.empty else rows
    if ok.empty:
        return pd.DataFrame(columns=["key", "status", "perplexity"])
    points = ok.assign(key=ok["key"].str.removeprefix(f"{model}/"))
    base = {"key": BASELINE_KEY, "status": "ok", "perplexity": float(ok["perplexity_fp32"].iloc[0])}
    return pd.concat([pd.DataFrame([base]), points], ignore_index=True)


def compare_at_size(rows: pd.DataFrame) -> tuple[str | None, pd.DataFrame, pd.DataFrame]:
    """:data:`AT_SIZE` judged on the largest model of an accuracy-transfer results frame: ``(model, rows,
    summary)`` as :func:`compare_with_published` gives them (``model`` None when the frame has no ok rows)."""
    ok = rows[rows["status"] == "ok"] if not rows.empty else rows
    if ok.empty:
        return None, *compare_with_published(pd.DataFrame(), AT_SIZE)
    model = max(set(ok["model"]), key=lambda name: models.get_causal_lm(name).parameter_count)
    return model, *compare_with_published(transfer_frame(ok, model), AT_SIZE)
