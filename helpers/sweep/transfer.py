"""`python -m helpers.sweep.transfer` (no notebook yet): does accuracy transfer across model sizes? The same five
weight formats on each model, scored against its fp32 model by KLD over the **full vocabulary** (the field's
convention: llama.cpp's perplexity tool keeps the whole base distribution), top-1 agreement and perplexity change,
with 95 % bootstrap intervals over windows; the top-64 KLD of the sweeps is computed beside it from the same data.

The fp32 distributions are computed once per model and window and stored as float16 log-probabilities (as llama.cpp
stores its base distribution quantized): 16 windows x 511 positions x 151,936 tokens is ~2.5 GB for a Qwen model,
so they live in the cache, one ``.npy`` per window (plain arrays, never pickles), not in memory.

With ``--tools 2026`` the OpenVINO points are also built by today's tools (optimum-intel 2.2 + NNCF 3.4 in the
today environment, :mod:`helpers.sweep.today_builds`) with the same plans and calibration, and scored the same way:
the "NNCF 2.11 vs 3.4" table (:func:`helpers.sweep.tools_compare.tools_table`).

    python -m helpers.sweep.transfer [--model NAME ...] [--tools 2026]   # -> results/<profile>/transfer.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from helpers import llm, models
from helpers.core import runner, timing
from helpers.core.cache import cached_build
from helpers.core.intervals import bar_verdict, bootstrap_ci
from helpers.core.metrics import topk_kl_divergence
from helpers.core.results import ResultsStore
from helpers.core.settings import cache_dir, enforce_offline, results_path, set_threads
from helpers.sweep import accuracy
from helpers.sweep.evaluate import BUDGETS, load_point, unsupported_reason
from helpers.sweep.grid import SweepPoint
from helpers.sweep.today_builds import today_ir_for
from helpers.sweep.tools_compare import tools_table

#: The formats compared at every size: int8 per channel, int4 sym g64 RTN, int4 asym g32 AWQ + scale estimation,
#: nf4 g64 (NNCF on OpenVINO) and the seed path's int4_clip g32 (ITREX RTN).
POINTS: tuple[SweepPoint, ...] = (
    SweepPoint("openvino", "int8", -1),
    SweepPoint("openvino", "int4", 64, "sym", "RTN"),
    SweepPoint("openvino", "int4", 32, "asym", "AWQ"),
    SweepPoint("openvino", "nf4", 64),
    SweepPoint("itrex", "int4_clip", 32),
)
#: Who built the IRs: the seed environment's tools, or today's (see :mod:`helpers.sweep.today_builds`).
TOOLS = ("2024", "2026")
#: The sweeps' accuracy bar: perplexity at most 10 % above fp32's.
PPL_BAR = 0.10
TOP_K = 64
_FULL_FORMAT = 1
_FACTS = ("quantize_s", "model_bytes", "low_bit_share", "tools", "tool_versions")


@dataclass(frozen=True)
class TransferCase:
    """One weight format of one model: a point of :func:`helpers.core.runner.run_sweep`."""

    model: str
    point: SweepPoint
    tools: str = "2024"  # "2024": optimum-intel 1.17.2 + NNCF 2.11 (seed env); "2026": optimum-intel 2.2 + NNCF 3.4

    @property
    def key(self) -> str:
        return f"{self.model}/{self.point.key}" + ("" if self.tools == "2024" else f"/tools-{self.tools}")

    @property
    def label(self) -> str:
        return self.point.label


def full_reference(model: str, num_threads: int) -> tuple[list[accuracy.EvalWindow], Path]:
    """The evaluation windows of ``model`` (the sweeps' 2 x 8 windows of 512 tokens) and the cached folder holding
    its fp32 log-probabilities, ``window_NNN.npy`` (float16, [511, vocabulary]); built once (locked, atomic)."""
    model_dir = models.causal_lm_dir(model=model)
    windows = accuracy.eval_windows(llm.load_tokenizer(model_dir))
    expected = {
        "format": _FULL_FORMAT,
        "model": accuracy.model_fingerprint(model_dir),
        "windows": accuracy.windows_fingerprint(windows),
    }
    digest = hashlib.sha1(json.dumps(expected, sort_keys=True).encode()).hexdigest()[:16]
    target = cache_dir() / accuracy.CACHE_SUBDIR / f"{model_dir.name}-full-{digest}"

    def build(tmp: Path) -> dict[str, Any]:
        import torch
        from transformers import AutoModelForCausalLM

        set_threads(num_threads)
        fp32 = AutoModelForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32).eval()
        fn = accuracy.as_logits_fn(fp32)
        for i, window in enumerate(windows):
            np.save(tmp / f"window_{i:03d}.npy", accuracy.window_logp(fn, window.ids).numpy().astype(np.float16))
        return {"windows": len(windows)}

    return windows, cached_build(target, expected, build)


def _normalized(logp16: np.ndarray) -> Any:
    """float64 log-probabilities from float16 ones, renormalized (rounding moved the sum off 1)."""
    import torch

    logp = torch.from_numpy(logp16.astype(np.float64))
    return logp - torch.logsumexp(logp, dim=-1, keepdim=True)


def compare_full(model_or_fn: Any, windows: list[accuracy.EvalWindow], folder: Path) -> tuple[Any, np.ndarray]:
    """Per-position scores of a candidate against the stored fp32 distributions: full-vocabulary KL(P || Q), top-1
    agreement, NLL (as :class:`~helpers.sweep.accuracy.WindowScores`), plus the top-64 KLD [W, T-1] of the same
    positions. Q is rounded to float16 like P, so the fp32 model itself scores exactly 0."""
    import torch

    fn = accuracy.as_logits_fn(model_or_fn)
    kld, top64, top1, nll, ref_nll = [], [], [], [], []
    for i, window in enumerate(windows):
        logp = _normalized(np.load(folder / f"window_{i:03d}.npy", allow_pickle=False))
        logq = _normalized(accuracy.window_logp(fn, window.ids).numpy().astype(np.float16))
        kld.append(torch.clamp((logp.exp() * (logp - logq)).sum(dim=-1), min=0).numpy())
        values, ids = torch.topk(logp, TOP_K, dim=-1)
        top64.append(topk_kl_divergence(values.numpy(), logq.gather(1, ids).numpy()))
        top1.append((logq.argmax(dim=-1) == logp.argmax(dim=-1)).numpy())
        targets = torch.from_numpy(window.ids[1:].astype(np.int64))[:, None]
        nll.append(-logq.gather(1, targets)[:, 0].numpy())
        ref_nll.append(-logp.gather(1, targets)[:, 0].numpy())
    scores = accuracy.WindowScores(
        sources=np.array([w.source for w in windows]),
        kld=np.stack(kld),
        top1=np.stack(top1),
        nll=np.stack(nll),
        ref_nll=np.stack(ref_nll),
    )
    return scores, np.stack(top64)


class TransferEvaluator:
    """Scores the cases of one run; the fp32 distributions of each model are built (or found) once."""

    def __init__(self, num_threads: int) -> None:
        self.num_threads = num_threads
        self.references: dict[str, tuple[list[accuracy.EvalWindow], Path]] = {}

    def __call__(self, case: TransferCase) -> dict[str, Any]:
        if case.model not in self.references:
            self.references[case.model] = full_reference(case.model, self.num_threads)
        windows, folder = self.references[case.model]
        ir = today_ir_for(case.point, case.model) if case.tools == "2026" else None
        candidate, _, facts = load_point(case.point, self.num_threads, BUDGETS["standard"], case.model, ir)
        scores, top64 = compare_full(candidate, windows, folder)
        row = accuracy.scores_row(scores, folder.name)
        top64_ci = bootstrap_ci(top64, np.mean)
        row |= {"kld_top64_mean": top64_ci.value, "kld_top64_mean_lo": top64_ci.lo, "kld_top64_mean_hi": top64_ci.hi}
        facts["tools"] = case.tools
        if ir is not None:
            facts["tool_versions"] = (llm.read_ov_meta(ir) or {}).get("versions")
        return {**row, **{k: facts.get(k) for k in _FACTS}}


def run(
    model_names: list[str], num_threads: int = 2, out: Path | None = None, tools: tuple[str, ...] = ("2024",)
) -> ResultsStore:
    """Score every point of :data:`POINTS` on every model with each set of ``tools`` (bad names fail first); rows
    appended as they finish. The ITREX point exists only with the 2024 tools."""
    bad = [name for name in tools if name not in TOOLS]
    if bad:
        raise ValueError(f"tools={bad[0]!r} is not supported: allowed values are {', '.join(TOOLS)}")
    specs = [models.get_causal_lm(name) for name in model_names]
    enforce_offline()
    set_threads(num_threads)
    store = ResultsStore(out or results_path("transfer", num_threads=num_threads))
    cases = [
        TransferCase(spec.name, point, name)
        for name in tools
        for spec in specs
        for point in POINTS
        if name == "2024" or point.backend == "openvino"
    ]
    if runner.points_to_run(cases, store):
        runner.run_sweep(
            cases,
            store,
            TransferEvaluator(num_threads),
            unsupported_reason=lambda case: unsupported_reason(case.point, case.model),
            stamp=timing.profile_record(num_threads),
        )
    return store


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per model and format: full-vocabulary KLD and the top-64 KLD, top-1 agreement, perplexity change, each with
    its interval, and whether the +10 % perplexity bar is met (judged on the interval)."""
    ok = rows[rows["status"] == "ok"] if not rows.empty else rows
    if "tools" in ok:  # the 2024 builds; today's are compared in tools_compare.tools_table
        ok = ok[ok["tools"].fillna("2024") == "2024"]
    cols = ["kld_mean", "kld_top64_mean", "top1_agreement", "ppl_change"]
    out = []
    for _, row in ok.iterrows():
        spec = models.get_causal_lm(row["model"])
        rec = {"model": row["model"], "parameters": spec.parameters, "format": row["label"]}
        for col in cols:
            rec |= {col: row[col], f"{col}_lo": row[f"{col}_lo"], f"{col}_hi": row[f"{col}_hi"]}
        verdict = bar_verdict((row["ppl_change_lo"], row["ppl_change_hi"]), PPL_BAR, higher_is_better=False)
        rec["ppl_bar"] = verdict
        out.append(rec)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", choices=list(models.CAUSAL_LMS), help="default: every required")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<profile>/transfer.jsonl")
    parser.add_argument("--tools", action="append", choices=TOOLS, help="default: 2024 (2026 adds today's builds)")
    args = parser.parse_args(argv)
    names = args.model or [m.name for m in models.CAUSAL_LMS.values() if not m.optional]
    store = run(names, args.threads, args.out, tuple(dict.fromkeys(["2024", *(args.tools or [])])))
    print(summary(store.to_frame()).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    if "2026" in (args.tools or []):
        print(tools_table(store.to_frame()).to_string(index=False))
    print(f"results: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
