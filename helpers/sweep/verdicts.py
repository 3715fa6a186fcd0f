"""Notebooks 00, 01, 04, 06: Verdicts with intervals: every speed ratio and accuracy change carries its 95 % interval,
and a bar whose interval straddles it is a *tie within noise*, not a finding.

Works on sweep rows that carry the raw timing samples (``decode_ms_samples``, GenAI ``*_tpot_ms_samples``) and the
accuracy intervals of :func:`helpers.sweep.accuracy.accuracy_row` (``ppl_change_lo``/``_hi``, ``kld_mean``, ...). Rows
written before those existed (older results files; the committed ones all have them) get no interval columns, and
their verdicts say so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.intervals import bar_verdict, median_ci, ratio_ci
from helpers.core.profiles import refuse_mixed_profiles
from helpers.sweep.accuracy import DEFAULT_SOURCES  # the held-out sources every accuracy column is reported for
from helpers.sweep.analysis import (
    BASELINE_KEY,
    broken,
    int4_class,
    measured,
    pick,
    row_interval,
)

#: The cookbook's bars for a 4-bit point: decode speed vs torch fp32, and perplexity change vs fp32.
MIN_SPEEDUP = 3.0
MAX_PPL_INCREASE = 0.10
#: Decode samples per runtime column: (samples column in ms per token, name of the derived speed-up columns).
RUNTIME_SAMPLES = {
    "decode_ms_samples": "decode_speedup",
    "genai_2024_2_tpot_ms_samples": "genai_2024_2_speedup",
    "genai_2026_tpot_ms_samples": "genai_2026_speedup",
}


def with_intervals(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``<speedup>``, ``<speedup>_lo``/``_hi`` for every runtime whose samples a row has: median ratio of the
    torch fp32 row's decode time to the point's, with a bootstrap interval (both sets resampled)."""
    df = df.copy()
    if "decode_ms_samples" in df:  # the median decode time's own interval (plots draw it)
        spans = [median_ci(s) if isinstance(s, list) and len(s) > 1 else None for s in df["decode_ms_samples"]]
        df["decode_ms_per_token_lo"] = [v.lo if v else np.nan for v in spans]
        df["decode_ms_per_token_hi"] = [v.hi if v else np.nan for v in spans]
    base = df[(df["key"] == BASELINE_KEY) & (df["status"] == "ok")]
    if base.empty or "decode_ms_samples" not in df:
        return df
    baseline = base.iloc[0]["decode_ms_samples"]
    for column, name in RUNTIME_SAMPLES.items():
        if column not in df:
            continue
        values = [
            ratio_ci(baseline, samples) if isinstance(samples, list) and samples else None for samples in df[column]
        ]
        df[name] = [v.value if v else np.nan for v in values]
        df[f"{name}_lo"] = [v.lo if v else np.nan for v in values]
        df[f"{name}_hi"] = [v.hi if v else np.nan for v in values]
    return df


def point_verdicts(row: pd.Series, speed: str = "decode_speedup") -> tuple[str, str]:
    """(speed verdict vs :data:`MIN_SPEEDUP`, accuracy verdict vs :data:`MAX_PPL_INCREASE`): met / missed / tie
    within noise, or "no interval" for rows without samples."""
    s, p = row_interval(row, speed), row_interval(row, "ppl_change")
    return (
        bar_verdict(s, MIN_SPEEDUP, higher_is_better=True) if s else "no interval",
        bar_verdict(p, MAX_PPL_INCREASE, higher_is_better=False) if p else "no interval",
    )


def _span(row: pd.Series, name: str, fmt: str, unit: str = "") -> str:
    """``value[unit] [lo, hi]`` of a row's column in format ``fmt`` (``n/a`` without a value, no brackets without an
    interval), e.g. ``5.47x [4.49, 5.79]`` or ``+7.4% [+6.5%, +8.5%]``."""
    value, span = row.get(name), row_interval(row, name)
    if value is None or pd.isna(value):
        return "n/a"
    return format(value, fmt) + unit + (f" [{format(span[0], fmt)}, {format(span[1], fmt)}]" if span else "")


def per_source_table(df: pd.DataFrame) -> pd.DataFrame:
    """One line per measured point and evaluation source: KLD mean and p99, top-1 agreement and perplexity change
    vs fp32, each with its 95 % interval, so a point that only holds on one kind of text shows it."""
    ok = measured(df)
    ok = (
        ok[ok["key"] != BASELINE_KEY].sort_values("kld_mean")
        if f"kld_mean_{DEFAULT_SOURCES[0]}" in ok
        else ok.iloc[0:0]
    )
    rows = []
    for _, row in ok.iterrows():  # closest to fp32 first, both sources of a point together
        for source in DEFAULT_SOURCES:
            rows.append(
                {
                    "label": row["label"],
                    "source": source,
                    "KLD mean (95% CI)": _span(row, f"kld_mean_{source}", ".4f"),
                    "KLD p99": _span(row, f"kld_p99_{source}", ".3f"),
                    "top-1 agreement": _span(row, f"top1_agreement_{source}", ".1%"),
                    "ppl change": _span(row, f"ppl_change_{source}", "+.1%"),
                    "tokens": int(row[f"eval_tokens_{source}"]) if pd.notna(row.get(f"eval_tokens_{source}")) else None,
                }
            )
    return pd.DataFrame(
        rows, columns=["label", "source", "KLD mean (95% CI)", "KLD p99", "top-1 agreement", "ppl change", "tokens"]
    )


def verdict_table(df: pd.DataFrame, speed: str = "decode_speedup") -> pd.DataFrame:
    """One line per measured point: speed-up and perplexity change with intervals, KLD, top-1 and both verdicts."""
    ok = with_intervals(measured(df))
    if ok.empty:
        return ok
    rows = []
    for _, row in ok.iterrows():
        speed_verdict, ppl_verdict = point_verdicts(row, speed)
        rows.append(
            {
                "label": row["label"],
                "int4_class": bool(int4_class(row.to_frame().T).iloc[0]),
                "speed-up (95% CI)": _span(row, speed, ".2f", "x"),
                f">= {MIN_SPEEDUP:g}x": speed_verdict,
                "ppl change (95% CI)": _span(row, "ppl_change", "+.1%"),
                f"<= +{MAX_PPL_INCREASE:.0%}": ppl_verdict,
                "KLD mean": row.get("kld_mean", np.nan),
                "top-1 agreement": row.get("top1_agreement", np.nan),
            }
        )
    return pd.DataFrame(rows)


def interval_verdict_lines(df: pd.DataFrame, speed: str = "decode_speedup") -> list[str]:
    """The 4-bit bars with intervals: how many int4-class points meet / tie / miss both, and the best of them."""
    table = verdict_table(df, speed)
    if table.empty:
        return ["no measured points"]
    four = table[table["int4_class"]]
    if four.empty:
        return ["no int4-class point measured"]
    speed_col, ppl_col = f">= {MIN_SPEEDUP:g}x", f"<= +{MAX_PPL_INCREASE:.0%}"
    if (four[speed_col] == "no interval").all():
        return ["these rows carry no timing samples or accuracy intervals (written before they were recorded)"]
    both = four[(four[speed_col] == "met") & (four[ppl_col] == "met")]
    ties = four[(four[speed_col] != "missed") & (four[ppl_col] != "missed")].drop(both.index)
    lines = [
        f"int4-class points meeting both bars (>= {MIN_SPEEDUP:g}x fp32 decode, perplexity <= +{MAX_PPL_INCREASE:.0%}, "
        f"both outside the noise): {len(both)} of {len(four)}; ties within noise: {len(ties)}"
    ]
    for title, part in (("meets both", both), ("tie within noise", ties)):
        for _, row in part.iterrows():
            speed_text, ppl_text = row["speed-up (95% CI)"], row["ppl change (95% CI)"]
            lines.append(f"{title}: {row['label']}: {speed_text}, perplexity {ppl_text}")
    ranked = four.sort_values("KLD mean")
    if not ranked.empty and pd.notna(ranked.iloc[0]["KLD mean"]):
        top = ranked.iloc[0]
        lines.append(
            f"closest int4-class point to fp32 by KLD: {top['label']} (KLD {top['KLD mean']:.4f}, top-1 agreement "
            f"{top['top-1 agreement']:.1%}), {top['speed-up (95% CI)']}"
        )
    return lines


def pick_lines(df: pd.DataFrame, peer: dict | None = None, max_ppl_increase: float = MAX_PPL_INCREASE) -> list[str]:
    """What to pick, in words, every ratio with its interval: per backend the fastest point within the accuracy
    budget, the fastest int4-class point against both bars (met / missed / tie within noise), and llama.cpp."""
    if peer:
        refuse_mixed_profiles(df, peer, "llama.cpp peer row")
    ok = with_intervals(measured(df))
    lines = []
    for backend in (b for b in ("itrex", "openvino") if b in set(ok.get("backend", ()))):
        best = pick(ok, backend, max_ppl_increase)
        if best is None:
            lines.append(f"{backend}: no measured point within +{max_ppl_increase:.0%} perplexity of fp32")
            continue
        lines.append(
            f"{backend}: fastest within +{max_ppl_increase:.0%} perplexity: {best['label']}: "
            f"{best['decode_tokens_per_s']:.1f} tok/s, "
            f"{_span(best, 'decode_speedup', '.2f', 'x')} fp32 decode, perplexity {_span(best, 'ppl_change', '+.1%')}"
        )
    bad = broken(df)
    if not bad.empty:
        lines.append(f"broken (non-finite perplexity, excluded from picks and fronts): {', '.join(bad['label'])}")
    ok = ok[~ok["broken"]] if "broken" in ok else ok
    four = ok[int4_class(ok)].sort_values("decode_ms_per_token")
    if four.empty or "decode_speedup" not in four:
        return lines
    top = four.iloc[0]
    speed_verdict, ppl_verdict = point_verdicts(top)
    lines.append(
        f"fastest int4-class point (by median): {top['label']}: {_span(top, 'decode_speedup', '.2f', 'x')} fp32 decode "
        f"({speed_verdict} vs the {MIN_SPEEDUP:g}x bar), perplexity {_span(top, 'ppl_change', '+.1%')} "
        f"({ppl_verdict} vs +{max_ppl_increase:.0%})"
    )
    if peer and peer.get("status") == "ok":
        ci = _ratio(peer, top)  # llama.cpp's per-run decode times against the point's
        if ci is None:  # a peer row written before the per-run samples were kept
            speed = f"{peer['decode_ms_per_token'] / top['decode_ms_per_token']:.2f}x its speed (no interval)"
        else:
            speed = f"{_x(ci)} its speed ({'faster' if ci.lo > 1 else 'slower' if ci.hi < 1 else 'a tie within noise'})"
        lines.append(
            f"llama.cpp Q4_1 decodes at {peer['decode_tokens_per_s']:.1f} tok/s; the fastest int4-class point runs at "
            f"{speed}; the two were timed in separate runs, notebook 06 times both in one"
        )
    elif peer:
        lines.append(f"llama.cpp peer: {peer.get('status')} ({peer.get('reason', '')})")
    return lines


def verdict_movement(first: pd.DataFrame, second: pd.DataFrame, names: tuple[str, str]) -> pd.DataFrame:
    """Each point's verdicts in two independent runs side by side, and whether either verdict moved (two runs of
    one profile: another profile's run is refused)."""
    refuse_mixed_profiles(first, second, "second run")
    a, b = (verdict_table(df).set_index("label") for df in (first, second))
    cols = [f">= {MIN_SPEEDUP:g}x", f"<= +{MAX_PPL_INCREASE:.0%}", "speed-up (95% CI)", "ppl change (95% CI)"]
    both = a[cols].join(b[cols], how="inner", lsuffix=f" ({names[0]})", rsuffix=f" ({names[1]})")
    moved = np.zeros(len(both), dtype=bool)
    for col in cols[:2]:
        moved |= (both[f"{col} ({names[0]})"] != both[f"{col} ({names[1]})"]).to_numpy()
    both.insert(0, "verdict moved", moved)
    return both.reset_index()


def _row(df: pd.DataFrame, key: str) -> pd.Series | None:
    hit = df[(df["key"] == key) & (df["status"] == "ok")]
    return None if hit.empty else hit.iloc[0]


def _ratio(slow: pd.Series, fast: pd.Series, slow_col: str = "decode_ms_samples", fast_col: str = "decode_ms_samples"):
    a, b = slow.get(slow_col), fast.get(fast_col)
    return ratio_ci(a, b) if isinstance(a, list) and isinstance(b, list) and a and b else None


def _x(interval) -> str:
    return f"{interval.value:.2f}x [{interval.lo:.2f}, {interval.hi:.2f}]"


def _faster_than(interval, other: str) -> str:
    """``<ratio> faster than <other>``, ``... slower than ...`` or ``as fast as ... (a tie within noise)``, by where
    the speed ratio's interval lies against 1."""
    if interval.lo > 1:
        return f"{_x(interval)} faster than {other}"
    if interval.hi < 1:
        return f"{1 / interval.value:.2f}x [{1 / interval.hi:.2f}, {1 / interval.lo:.2f}] slower than {other}"
    return f"as fast as {other} ({_x(interval)}: a tie within noise)"


def _loop_line(ok: pd.DataFrame) -> str | None:
    """GenAI 2026's C++ loop vs optimum-intel's Python generate() on every OpenVINO IR timed on both: how many points
    are faster, slower or a tie within noise, and the range of the ratios (every point, not the fastest one alone:
    picking the point where one runtime happened to be fastest would bias the comparison toward it)."""
    counts = {"faster": 0, "slower": 0, "tie": 0}
    values = []
    for _, row in ok[ok["backend"] == "openvino"].iterrows():
        if (ci := _ratio(row, row, "decode_ms_samples", "genai_2026_tpot_ms_samples")) is None:
            continue
        values.append(ci.value)
        counts["faster" if ci.lo > 1 else "slower" if ci.hi < 1 else "tie"] += 1
    if not values:
        return None
    return (
        "GenAI 2026 vs optimum-intel: on the same IRs, OpenVINO GenAI 2026 (C++ loop, 2026 runtime) decodes faster "
        f"than optimum-intel's Python generate() (2024.2 runtime) on {counts['faster']} of {len(values)} OpenVINO "
        f"points, slower on {counts['slower']}, a tie within noise on {counts['tie']} (speed ratios "
        f"{min(values):.2f}x-{max(values):.2f}x, median {float(np.median(values)):.2f}x); the runtime versions "
        "differ, so this is not the loop's gain alone: notebook 06 times GenAI 2024.2 beside optimum-intel on one "
        "runtime"
    )


def takeaway_lines(df: pd.DataFrame) -> list[str]:
    """The run's story in numbers, each ratio with its interval: runtime gain vs compression gain, the accuracy
    spread by KLD, the C++ generation loop vs Python's, and the seed path. Rows without samples give no lines."""
    ok = measured(df)
    torch_row, ov_fp32 = _row(ok, BASELINE_KEY), _row(ok, "openvino/fp32")
    four = ok[int4_class(ok)].sort_values("decode_ms_per_token")
    lines = []
    if torch_row is not None and ov_fp32 is not None and not four.empty:
        runtime, compression = _ratio(torch_row, ov_fp32), _ratio(ov_fp32, four.iloc[0])
        if runtime and compression:
            lines.append(
                "runtime vs compression: OpenVINO with the same fp32 weights decodes "
                f"{_faster_than(runtime, 'torch fp32')}; the fastest int4-class point ({four.iloc[0]['label']}) "
                f"decodes {_faster_than(compression, 'OpenVINO fp32')}"
            )
    if "kld_mean" in ok and ok["kld_mean"].notna().any():
        int8 = ok[ok["weight_dtype"] == "int8"].dropna(subset=["kld_mean"])
        ranked = four.dropna(subset=["kld_mean"]).sort_values("kld_mean")
        if not int8.empty and not ranked.empty:
            best, worst = ranked.iloc[0], ranked.iloc[-1]
            lines.append(
                f"accuracy by KLD from fp32: int8 points {int8['kld_mean'].min():.4f}-{int8['kld_mean'].max():.4f} "
                f"(top-1 agreement >= {int8['top1_agreement'].min():.1%}); int4-class points from "
                f"{best['kld_mean']:.3f} ({best['label']}) to {worst['kld_mean']:.3f} ({worst['label']})"
            )
    if "genai_2026_tpot_ms_samples" in ok and (line := _loop_line(ok)):
        lines.append(line)
    itrex = ok[ok["backend"] == "itrex"].sort_values("decode_ms_per_token")
    if torch_row is not None and not itrex.empty and (seed := _ratio(torch_row, itrex.iloc[0])):
        lines.append(f"seed path: the fastest ITREX point ({itrex.iloc[0]['label']}) decodes at {_x(seed)} torch fp32")
    return lines
