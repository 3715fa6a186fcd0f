"""Notebooks 00, 01, 04, 06: What changes with model size: the size table (135M, 0.5B, 1.5B; every runtime on the same
RAG-shaped prompts, :data:`helpers.latency.cases.SIZE_CASES`) beside each case's memory floor
(:mod:`helpers.latency.floor`), the share of that floor each runtime reaches, and its decode speed against llama.cpp on
the same GGUF from the same results file (the size cases of one model run in one sitting; ``--settings`` cases run
later unless named with the others in ``--cases``, so their ratio may cross sittings); plus the two bars of the
largest model measured and what each GenAI setting did to decode (:func:`settings_effects`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from helpers import models
from helpers.core.intervals import Interval, bar_verdict, ratio_ci
from helpers.core.results import ResultsStore
from helpers.latency import analysis
from helpers.latency.plots import runtime_color

KIND = "size_latency"
#: The bars of the largest model: the best OpenVINO int4 decode against llama.cpp's, and against the memory floor.
BAR_VS_LLAMA = 1.0
BAR_SHARE_OF_FLOOR = 0.70
OPENVINO_INT4 = ("optimum-intel", "genai-2026")
#: One runtime, one colour (as in every latency plot); its weight formats told apart by the line.
LINE_STYLES = {"int8": ":", "int4-sym-g128-all": "--", "gguf": "-."}


def parameters(model: str) -> float:
    """A registry model's parameter count as a number ("135M" -> 1.35e8, "1.5B" -> 1.5e9)."""
    return models.get_causal_lm(model).parameter_count


def bandwidth(path: str | Path) -> dict[str, list[float]]:
    """Triad GB/s samples per model sitting (``size_latency/<model>/before|after`` rows pooled), from a profile's
    ``bandwidth.jsonl``; empty when there is none."""
    path = Path(path)
    out: dict[str, list[float]] = {}
    if not path.is_file():
        return out
    for row in ResultsStore(path).latest().values():
        parts = str(row.get("sitting", "")).split("/")
        if row.get("status") == "ok" and len(parts) == 3 and parts[0] == KIND:
            out.setdefault(parts[1], []).extend(float(v) for v in row["triad_gb_s_samples"])
    return out


def _decode_bytes(part: pd.DataFrame) -> float:
    """Weights + KV-cache bytes a decode step reads (the same for every round of a case: the first row's)."""
    step = part["decode_step_bytes"].iloc[0] if "decode_step_bytes" in part else None
    if not isinstance(step, dict) or step.get("weights") is None:
        return math.nan
    return float(step["weights"]) + float(step.get("kv_cache") or 0)


def _settings(rows: pd.DataFrame, runtime: str) -> str:
    """The compiled settings a GenAI case's rows read back, or why there are none."""
    if not runtime.startswith("genai-"):
        return "n/a (not OpenVINO GenAI)"
    found = sorted({str(v) for v in rows.get("settings", pd.Series(dtype=object)).dropna()})
    return "; ".join(found) if found else "not read back (rows measured before settings were recorded)"


def _floor_ms_samples(step_mb: float, triad_gb_s: list[float]) -> list[float]:
    """The floor each triad sample implies (MB / (GB/s) = ms/token); the floor is their median. Empty without a
    triad or the bytes."""
    return [step_mb / gb_s for gb_s in triad_gb_s] if math.isfinite(step_mb) else []


def _share_of_floor(floor_ms_samples: list[float], tpot_s: list[float]) -> Interval:
    """floor / TPOT: median floor over median TPOT, both sides resampled; NaN without a floor."""
    if not floor_ms_samples or not tpot_s:
        return Interval(math.nan, math.nan, math.nan)
    return ratio_ci(floor_ms_samples, [t * 1e3 for t in tpot_s])


def size_table(rows: pd.DataFrame, triad: dict[str, list[float]]) -> pd.DataFrame:
    """One row per model and case: TPOT (ms/token) and TTFT (s) medians with intervals, the bytes a decode step
    reads (MB), the floor (ms/token: the median over the triad samples of the model's sitting of bytes / triad;
    ``triad_gb_s`` is their median), the share of the floor
    reached (floor / TPOT; its bootstrap interval resamples both the triad samples and the TPOT samples, since the
    bandwidth moves between and within sittings too), and decode speed vs llama.cpp on the same GGUF (llama.cpp
    TPOT / this TPOT, bootstrap interval; > 1 is faster). ``tpot_s_samples`` keeps the pooled runs (for
    :func:`settings_effects`)."""
    ok = rows[rows["status"] == "ok"] if "status" in rows else rows
    out: list[dict[str, Any]] = []
    for model, part in ok.groupby("model", sort=False):
        pool = analysis.pooled(part)
        peer = pool[pool["runtime"] == "llama.cpp"]
        peer_tpot = peer["tpot_s_samples"].iloc[0] if not peer.empty else []
        gb_s = triad.get(str(model), [])
        bw = float(pd.Series(gb_s).median()) if gb_s else math.nan
        for _, case in pool.iterrows():
            sel = part[(part["runtime"] == case["runtime"]) & (part["weights"] == case["weights"])]
            tpot = analysis.interval(case["tpot_s_samples"])
            ttft = analysis.interval(case["ttft_s_samples"])
            step_mb = _decode_bytes(sel) / 1e6
            floors = _floor_ms_samples(step_mb, gb_s)
            floor_ms = float(pd.Series(floors).median()) if floors else math.nan
            vs = ratio_ci(peer_tpot, case["tpot_s_samples"]) if len(peer_tpot) > 1 else None
            share = _share_of_floor(floors, case["tpot_s_samples"])
            out.append({
                "model": model, "parameters": parameters(str(model)), "runtime": case["runtime"],
                "weights": case["weights"], "n_runs": case["n_runs"],
                "tpot_ms": tpot.value * 1e3, "tpot_ms_lo": tpot.lo * 1e3, "tpot_ms_hi": tpot.hi * 1e3,
                "ttft_s": ttft.value, "ttft_s_lo": ttft.lo, "ttft_s_hi": ttft.hi,
                "step_mb": step_mb, "triad_gb_s": bw, "floor_ms": floor_ms,
                "share_of_floor": share.value, "share_lo": share.lo, "share_hi": share.hi,
                "vs_llama": vs.value if vs else math.nan,
                "vs_llama_lo": vs.lo if vs else math.nan, "vs_llama_hi": vs.hi if vs else math.nan,
                "settings": _settings(sel, str(case["runtime"])), "tpot_s_samples": list(case["tpot_s_samples"]),
            })
    table = pd.DataFrame(out)
    return table.sort_values(["parameters", "tpot_ms"]).reset_index(drop=True) if not table.empty else table


def table_for(path: str | Path) -> pd.DataFrame:
    """:func:`size_table` of one profile's ``size_latency.jsonl`` with the ``bandwidth.jsonl`` beside it."""
    path = Path(path)
    return size_table(analysis.load(path), bandwidth(path.with_name("bandwidth.jsonl")))


def size_verdicts(table: pd.DataFrame) -> list[str]:
    """The bars on the largest model measured: its fastest OpenVINO int4 decode >= 1.0x llama.cpp's (interval
    judged: met / missed / tie within noise) and >= 70 % of its own memory floor; and, where another case of that
    model runs closer to its own floor beyond the noise, that case (the int4 decode then waits on its kernels)."""
    if table.empty:
        return ["no size results on this profile: run `python -m helpers.latency --model NAME` per model"]
    largest = table[table["parameters"] == table["parameters"].max()]
    name = largest["model"].iloc[0]
    int4 = largest[largest["runtime"].isin(OPENVINO_INT4) & largest["weights"].str.startswith("int4")]
    if int4.empty:
        return [f"{name}: no OpenVINO int4 case measured"]
    best = int4.sort_values("tpot_ms").iloc[0]
    label = f"{best['runtime']} {best['weights']}"
    lines = []
    if math.isfinite(best["vs_llama_lo"]):
        outcome = bar_verdict((best["vs_llama_lo"], best["vs_llama_hi"]), BAR_VS_LLAMA, higher_is_better=True)
        lines.append(
            f"{name}: fastest OpenVINO int4 decode ({label}, {best['tpot_ms']:.1f} ms/token) is "
            f"{best['vs_llama']:.2f}x llama.cpp's [{best['vs_llama_lo']:.2f}, {best['vs_llama_hi']:.2f}] "
            f"(bar >= {BAR_VS_LLAMA:g}x): {outcome}"
        )
    else:
        lines.append(f"{name}: no llama.cpp case in the same sitting: no verdict against the peer")
    if math.isfinite(best["share_lo"]):
        outcome = bar_verdict((best["share_lo"], best["share_hi"]), BAR_SHARE_OF_FLOOR, higher_is_better=True)
        lines.append(
            f"{name}: {label} reaches {best['share_of_floor']:.0%} of its memory floor "
            f"({best['floor_ms']:.1f} ms/token: {best['step_mb']:.0f} MB at a median triad of "
            f"{best['triad_gb_s']:.1f} GB/s) "
            f"[{best['share_lo']:.0%}, {best['share_hi']:.0%}] (bar >= {BAR_SHARE_OF_FLOOR:.0%}): {outcome}"
        )
    closest = largest[largest["share_of_floor"].notna()].sort_values("share_of_floor", ascending=False)
    if not closest.empty and closest.iloc[0]["share_lo"] > best["share_hi"]:
        top = closest.iloc[0]
        lines.append(
            f"{name}: {top['runtime']} {top['weights']} runs closer to its own floor ({top['share_of_floor']:.0%} "
            f"[{top['share_lo']:.0%}, {top['share_hi']:.0%}]) than {label}, beyond the noise: that decode step "
            "waits on more than memory traffic, so its gap to the floor is in its kernels, not in the bandwidth"
        )
    return lines


def settings_effects(table: pd.DataFrame) -> list[str]:
    """Per model of a :func:`size_table`, what each GenAI setting case (``<weights>@<setting>``, ``--settings``) did to
    decode against the same IR without it: base TPOT / setting TPOT with its bootstrap interval (> 1: faster), judged
    faster / slower / tie within noise; fastest first."""
    lines = []
    for model, part in table.groupby("model", sort=False):
        pool = part.set_index(part["runtime"] + " " + part["weights"])
        found = []
        for label, case in pool.iterrows():
            base = f"{case['runtime']} {str(case['weights']).split('@')[0]}"
            if "@" not in str(case["weights"]) or base not in pool.index:
                continue
            gain = ratio_ci(pool.loc[base, "tpot_s_samples"], case["tpot_s_samples"])
            if not (math.isfinite(gain.lo) and math.isfinite(gain.hi)):
                continue
            outcome = bar_verdict((gain.lo, gain.hi), 1.0, higher_is_better=True)
            verdict = {"met": "faster", "missed": "slower"}.get(outcome, outcome)
            found.append(
                (
                    gain.value,
                    f"{model}: {label} decodes {gain.value:.2f}x [{gain.lo:.2f}, {gain.hi:.2f}] "
                    f"the speed of {base}: {verdict}",
                )
            )
        lines += [line for _, line in sorted(found, reverse=True)]
    return lines


def pick_lines(table: pd.DataFrame) -> list[str]:
    """Per model, smallest first: the fastest decode measured, the cases tied with it (their TPOT intervals overlap
    its interval) and the fastest prefill; the one answer to "which runtime for this model size here"."""
    lines = []
    for model, part in table.groupby("model", sort=False):
        part = part[part["tpot_ms"].notna()].sort_values("tpot_ms")
        if part.empty:
            continue
        best = part.iloc[0]
        tied = part.iloc[1:][part.iloc[1:]["tpot_ms_lo"] <= best["tpot_ms_hi"]]
        prefill = part.sort_values("ttft_s").iloc[0]
        tie_text = f"; tied within noise: {', '.join(tied['runtime'] + ' ' + tied['weights'])}" if len(tied) else ""
        lines.append(
            f"{model} ({models.get_causal_lm(str(model)).parameters}): fastest decode {best['runtime']} "
            f"{best['weights']} {best['tpot_ms']:.1f} ms/token [{best['tpot_ms_lo']:.1f}, {best['tpot_ms_hi']:.1f}]"
            f"{tie_text}; fastest prefill {prefill['runtime']} {prefill['weights']} ({prefill['ttft_s']:.2f} s "
            "for ~1,000 tokens)"
        )
    return lines


def share_plot(table: pd.DataFrame, title: str = "") -> Figure:
    """Two panels against model size: decode ms/token (log) with each case's floor dashed, and the share of the
    floor each case reaches."""
    fig = Figure(figsize=(12, 4.5))
    left, right = fig.subplots(1, 2)
    # llama.cpp runs each model's own GGUF (q4_1, q4_k_m): one line across sizes
    lines = table.assign(line=table["weights"].where(table["runtime"] != "llama.cpp", "its GGUF"))
    for (runtime, weights), part in lines.groupby(["runtime", "line"], sort=False):
        part = part.sort_values("parameters")
        style = {"color": runtime_color(str(runtime)), "marker": "o", "label": f"{runtime} {weights}",
                 "linestyle": LINE_STYLES.get(str(weights), "-")}
        left.plot(part["parameters"], part["tpot_ms"], **style)
        right.plot(part["parameters"], part["share_of_floor"], **style)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("parameters")
        ax.grid(alpha=0.3)
    left.set_yscale("log")
    left.set_ylabel("decode ms/token (median)")
    right.set_ylabel("share of the memory floor (floor / measured)")
    right.axhline(BAR_SHARE_OF_FLOOR, color="grey", linestyle="--", linewidth=1)
    right.legend(fontsize=7, loc="best")
    fig.suptitle(title or "RAG-shaped decode against model size (1,000-token prompt, 64 new tokens)")
    fig.tight_layout()
    return fig
