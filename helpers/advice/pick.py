"""Notebooks 00, 01, 04, 06, the decision guide and the README: the one answer to "what do I run here, for this
model?", from the committed results of the nearest measured profile (same ISA class, then the nearest thread count);
the ISA rules of :mod:`helpers.device.recommend` only where nothing is measured, and then the answer says so.

Evidence, per model:
* the weight-only sweep (notebook 04: accuracy and decode speed per point) where the profile has one for the model
  (SmolLM2): the fastest decode among points within +10 % perplexity of fp32;
* else the accuracy-transfer table (KLD / perplexity per format) joined with the size table (GenAI 2026 decode per
  format, notebook 06): the fastest format measured in both whose perplexity stays within +10 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import device, models
from helpers.core.intervals import bar_verdict
from helpers.core.profiles import nearest_profile, profile_parts
from helpers.core.results import ResultsStore
from helpers.core.settings import COMMITTED_RESULTS, results_files
from helpers.latency import sizes
from helpers.sweep import analysis as sa
from helpers.sweep import verdicts as sv
from helpers.sweep.grid import SweepPoint

#: Perplexity budget of every pick: at most 10 % above the model's own fp32.
MAX_PPL_INCREASE = 0.10
#: The sweep a pick reads, first found first: notebook 04's workshop grid (its second run tells whether a verdict
#: moved), else the full grid.
SWEEP_KINDS = ("workshop", "full")
#: The size table's OpenVINO weights of each transfer format (both tables name the same NNCF / ITREX recipe).
SIZE_WEIGHTS = {
    SweepPoint("openvino", "int8", -1).key: ("genai-2026", "int8"),
    SweepPoint("openvino", "int4", 64, "sym", "RTN").key: ("genai-2026", "int4-sym-g64"),
    SweepPoint("itrex", "int4_clip", 32).key: ("itrex", "int4_clip-g32"),
}
#: What the rules answer where nothing is measured: :func:`helpers.device.recommend`'s OpenVINO weights.
RULES_POINT = SweepPoint("openvino", "int8", -1)
POINT_FIELDS = ("backend", "weight_dtype", "group_size", "scheme", "algorithm", "compute_dtype")


@dataclass(frozen=True)
class Pick:
    """What to run for ``model`` on ``profile``, where the answer came from, and the numbers behind it."""

    model: str
    profile: str
    basis: str  # "measured" (this profile), "nearest" (another profile of the same ISA class), "rules"
    source: str  # the results file(s) read, repo-relative, or the rules module
    backend: str  # "openvino" (NNCF weights, GenAI / optimum-intel) or "itrex" (the seed path)
    weights: str  # the point's label, e.g. "openvino int8 per-channel sym"
    point: SweepPoint | None
    evidence: str  # the measured numbers in one clause
    source_profile: str | None = None
    moved: bool | None = None  # the point's verdict moved between two runs of its grid (None: no second run)

    def line(self) -> str:
        """The pick in one sentence, the same wherever it is printed."""
        where = {
            "measured": f"measured on `{self.profile}`",
            "nearest": f"measured on `{self.source_profile}`, the nearest profile to `{self.profile}`",
            "rules": "the ISA rules",
        }[self.basis]
        moved = " (its verdict moved between two runs of the grid: treat it as a tie)" if self.moved else ""
        return f"{self.model}: run {self.weights}: {self.evidence}{moved} ({where}; {self.source})"


def _short(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _sweep_path(profile: str, root: Path) -> Path | None:
    for kind in SWEEP_KINDS:
        path = results_files(kind, root).get(profile)
        if path is not None and not sa.measured(sa.results_frame(path)).empty:
            return path
    return None


def _nearest_sweep(profile: str, root: str | Path | None = None) -> tuple[str, Path] | None:
    """Notebook 04's measured sweep of ``profile``, else of the nearest measured profile (see :func:`nearest_profile`):
    ``(that profile, its results file)``; None when no profile of the same ISA class has one."""
    base = Path(root) if root is not None else COMMITTED_RESULTS
    profiles = sorted({p for kind in SWEEP_KINDS for p in results_files(kind, base)})
    paths = {p: path for p in profiles if (path := _sweep_path(p, base)) is not None}  # read once each
    at = nearest_profile(profile, list(paths))
    return None if at is None else (at, paths[at])


def _from_sweep(model: str, profile: str, path: Path) -> tuple[str, SweepPoint | None, str, bool | None]:
    frame = sa.results_frame(path)
    best = sa.pick(frame, None, MAX_PPL_INCREASE)
    if best is None:
        return "", None, f"no point within +{MAX_PPL_INCREASE:.0%} perplexity of fp32", None
    best = sv.with_intervals(frame[frame["key"] == best["key"]]).iloc[0]
    speed = f"{best['decode_tokens_per_s']:.1f} tok/s"
    if "decode_speedup_lo" in best and pd.notna(best.get("decode_speedup_lo")):
        speed += f", {best['decode_speedup']:.2f}x [{best['decode_speedup_lo']:.2f}, {best['decode_speedup_hi']:.2f}]"
    else:
        speed += f", {best['decode_speedup']:.2f}x"
    evidence = f"{speed} torch fp32 decode, perplexity {_change(best)} (fastest within +{MAX_PPL_INCREASE:.0%})"
    moved = None
    rerun = path.with_name(f"{path.stem}-rerun.jsonl")
    if rerun.is_file():
        table = sv.verdict_movement(frame, sa.results_frame(rerun), ("run 1", "run 2"))
        hit = table[table["label"] == best["label"]]
        moved = bool(hit["verdict moved"].iloc[0]) if not hit.empty else None
    row = best.to_dict()
    point = SweepPoint.from_row(row) if set(POINT_FIELDS) <= set(row) else None  # rows of every current sweep have them
    return str(best["label"]), point, evidence, moved


def _change(row: pd.Series) -> str:
    lo, hi = row.get("ppl_change_lo"), row.get("ppl_change_hi")
    if lo is None or hi is None or not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        return f"{row['ppl_change']:+.1%}"
    verdict = bar_verdict((float(lo), float(hi)), MAX_PPL_INCREASE, higher_is_better=False)
    return f"{row['ppl_change']:+.1%} [{float(lo):+.1%}, {float(hi):+.1%}] ({verdict} vs +{MAX_PPL_INCREASE:.0%})"


def _from_transfer(model: str, transfer_path: Path, size_path: Path) -> tuple[str, SweepPoint | None, str]:
    accuracy = sa.measured(ResultsStore(transfer_path).to_frame())
    accuracy = accuracy[(accuracy["model"] == model) & (accuracy["ppl_change"] <= MAX_PPL_INCREASE)]
    speed = sizes.table_for(size_path)
    speed = speed[speed["model"] == model]
    found = []
    for _, row in accuracy.iterrows():
        runtime, weights = SIZE_WEIGHTS.get(str(row["key"]).removeprefix(f"{model}/"), ("", ""))
        hit = speed[(speed["runtime"] == runtime) & (speed["weights"] == weights)]
        if not hit.empty:
            found.append((float(hit["tpot_ms"].iloc[0]), row, hit.iloc[0]))
    if not found:
        return "", None, f"no format measured for both accuracy (within +{MAX_PPL_INCREASE:.0%}) and speed"
    tpot, row, case = min(found, key=lambda item: item[0])
    point = SweepPoint(**row["point"])
    evidence = (
        f"{case['runtime']} {tpot:.1f} ms/token [{case['tpot_ms_lo']:.1f}, {case['tpot_ms_hi']:.1f}] on a 1k-token "
        f"prompt, perplexity {_change(row)}, KLD {row['kld_mean']:.4f} (fastest within +{MAX_PPL_INCREASE:.0%})"
    )
    return str(row["label"]), point, evidence


def _rules(model: str, profile: str, cpu: device.CpuInfo | None) -> Pick:
    rec = device.recommend(cpu, openvino_available=True) if cpu is not None else None
    compute = f", {rec.compute_dtype} compute where a kernel takes it" if rec else ""
    return Pick(
        model=model, profile=profile, basis="rules", source="helpers.device.recommend", backend="openvino",
        weights=f"{RULES_POINT.label}{compute}", point=RULES_POINT,
        evidence=f"accuracy and speed are not both measured for it on this ISA class ({_how_to_measure(model)})",
    )


def _how_to_measure(model: str) -> str:
    if model == models.DEFAULT_CAUSAL_LM:
        return "`make run` measures yours: notebook 04's sweep"
    return f"`python -m helpers.sweep.transfer --model {model}` and `python -m helpers.latency --model {model}` " + (
        "measure it"
    )


def pick(profile: str, model: str = models.DEFAULT_CAUSAL_LM, cpu: device.CpuInfo | None = None,
         root: str | Path | None = None) -> Pick:
    """The one answer for ``model`` on ``profile`` (see the module docstring); ``root``: the results folder
    (default: the committed results); ``cpu``: the CPU the rules read when nothing is measured."""
    spec = models.get_causal_lm(model)  # a bad name fails here, naming the allowed ones
    base = Path(root) if root is not None else COMMITTED_RESULTS
    profile_parts(profile)  # a bad profile fails here
    sweep = _nearest_sweep(profile, base) if spec.name == models.DEFAULT_CAUSAL_LM else None
    if sweep is not None:
        sweep_at, path = sweep
        label, point, evidence, moved = _from_sweep(spec.name, sweep_at, path)
        return Pick(
            model=spec.name, profile=profile, basis="measured" if sweep_at == profile else "nearest",
            source=_short(path), backend=point.backend if point else "", weights=label or "nothing",
            point=point, evidence=evidence, source_profile=sweep_at, moved=moved,
        )
    both = set(results_files("transfer", base)) & set(results_files("size_latency", base))
    with_model = [
        p for p in sorted(both)
        if all(_has_model(results_files(kind, base)[p], spec.name) for kind in ("transfer", "size_latency"))
    ]
    at = nearest_profile(profile, with_model)
    if at is None:
        return _rules(spec.name, profile, cpu)
    transfer_path, size_path = results_files("transfer", base)[at], results_files("size_latency", base)[at]
    label, point, evidence = _from_transfer(spec.name, transfer_path, size_path)
    return Pick(
        model=spec.name, profile=profile, basis="measured" if at == profile else "nearest",
        source=f"{_short(transfer_path)} + {_short(size_path)}", backend=point.backend if point else "",
        weights=label or "nothing", point=point, evidence=evidence, source_profile=at,
    )


def _has_model(path: Path, model: str) -> bool:
    frame = ResultsStore(path).to_frame()
    return not frame.empty and bool(((frame["model"] == model) & (frame["status"] == "ok")).any())


def pick_lines(profile: str, cpu: device.CpuInfo | None = None, root: str | Path | None = None) -> list[str]:
    """:meth:`Pick.line` for every registered model, smallest first (what the guide and the README print)."""
    return [pick(profile, spec.name, cpu, root).line() for spec in models.CAUSAL_LMS.values()]


