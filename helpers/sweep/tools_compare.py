"""Notebook 05: each OpenVINO format built with 2024's tools beside the same format built with today's (the rows of
``python -m helpers.sweep.transfer --tools 2026``), as one table."""

from __future__ import annotations

import pandas as pd


def _with_interval(row: pd.Series, col: str, digits: int) -> str:
    return f"{row[col]:.{digits}f} [{row[col + '_lo']:.{digits}f}, {row[col + '_hi']:.{digits}f}]"


def tools_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Each OpenVINO format built with 2024's tools (optimum-intel 1.17.2 + NNCF 2.11) beside today's (2.2 + 3.4),
    same plan and calibration, same scoring: full-vocabulary KLD, top-1 agreement and perplexity change with their
    95 % intervals, NNCF's compression seconds and the weights' size. ``kld`` says which is lower, or "tie within
    noise" when the two KLD intervals overlap."""
    if rows.empty or "tools" not in rows:
        return pd.DataFrame()
    ok = rows[(rows["status"] == "ok") & rows["key"].str.contains("/openvino/")].assign(
        tools=lambda f: f["tools"].fillna("2024")
    )
    out = []
    for (model, label), group in ok.groupby(["model", "label"], sort=False):
        by = {row["tools"]: row for _, row in group.iterrows()}
        if not {"2024", "2026"} <= set(by):
            continue
        old, new = by["2024"], by["2026"]
        if old["kld_mean_hi"] < new["kld_mean_lo"]:
            kld = "2024 lower"
        elif new["kld_mean_hi"] < old["kld_mean_lo"]:
            kld = "2026 lower"
        else:
            kld = "tie within noise"
        rec = {"model": model, "format": label}
        for name, row in (("2024", old), ("2026", new)):
            rec[f"KLD {name}"] = _with_interval(row, "kld_mean", 4)
        rec["kld"] = kld
        for name, row in (("2024", old), ("2026", new)):
            rec[f"top-1 {name}"] = _with_interval(row, "top1_agreement", 3)
        for name, row in (("2024", old), ("2026", new)):
            rec[f"ppl change {name}"] = f"{100 * row['ppl_change']:+.1f}%"
        for name, row in (("2024", old), ("2026", new)):
            rec[f"compress s {name}"] = round(float(row["quantize_s"]), 1)
        for name, row in (("2024", old), ("2026", new)):
            rec[f"MB {name}"] = round(float(row["model_bytes"]) / 2**20, 1)
        out.append(rec)
    return pd.DataFrame(out)
