"""Notebook 04 (and the shell): run or resume a sweep grid into its results file (one row per point, nothing
lost on a kill):

    python -m helpers.sweep --grid workshop --budget workshop            # -> results/<profile>/workshop.jsonl
    python -m helpers.sweep --grid workshop --budget workshop --reverse --out results/<profile>/workshop-rerun.jsonl
    python -m helpers.sweep --grid full --budget standard [--ray]

Grids: :mod:`helpers.sweep.grid`; what a point measures: :mod:`helpers.sweep.evaluate`; the runner:
:mod:`helpers.core.runner`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from helpers.core import runner, timing
from helpers.core.checks import check_choice
from helpers.core.results import ResultsStore
from helpers.core.settings import results_path
from helpers.sweep.evaluate import BUDGETS, EvalBudget, PointEvaluator, unsupported_reason
from helpers.sweep.grid import GRIDS, get_grid


def measured_with(budget: EvalBudget, redo_busy: bool = False) -> Callable[[dict[str, Any]], bool]:
    """Resume rule for :func:`~helpers.core.runner.run_sweep`: keep a finished row only if it was measured with
    ``budget`` (unsupported and failed rows do not depend on it), so a completed resume never mixes budgets in its
    results.
    ``redo_busy``: also measure again the rows timed while the machine was busy (CPU idle below
    :func:`helpers.core.timing.is_quiet`, 80 %); the newer row supersedes the old one."""
    wanted = asdict(budget)

    def reuse(row: dict[str, Any]) -> bool:
        if row.get("status") != "ok":
            return True
        busy = redo_busy and not timing.is_quiet(float(row.get("cpu_idle_percent", 100.0)))
        return row.get("budget") == wanted and not busy

    return reuse


def run_grid(
    grid: str,
    out: str | Path,
    budget: str = "full",
    num_threads: int = 2,
    *,
    ray: bool = False,
    ray_address: str | None = None,
    reverse: bool = False,
    redo_busy: bool = False,
) -> list[dict[str, Any]]:
    """Run (or resume) a named grid into a results file with a named budget; rows of another budget are measured
    again. ``reverse`` runs the points in the opposite order; ``redo_busy`` measures again the rows timed on a busy
    machine. Validates the names before any work; returns the rows written now. Used by the CLI and notebook 04."""
    check_choice("budget", budget, BUDGETS)
    points = get_grid(grid).points()
    if reverse:  # a second, independent run in the opposite order: drift over the run hits the points differently
        points = points[::-1]
    store = ResultsStore(out)
    evaluator = PointEvaluator(num_threads=num_threads, budget=BUDGETS[budget])
    stamp = timing.profile_record(num_threads)  # every row, unsupported ones too, names its machine profile
    reuse = measured_with(BUDGETS[budget], redo_busy)
    print(f"grid {grid}, {budget} budget -> {out}")
    if ray:
        return runner.run_sweep_ray(
            points,
            store,
            evaluator,
            unsupported_reason=unsupported_reason,
            num_threads=num_threads,
            address=ray_address,
            reuse=reuse,
            stamp=stamp,
        )
    return runner.run_sweep(points, store, evaluator, unsupported_reason=unsupported_reason, reuse=reuse, stamp=stamp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", default="smoke", help=f"one of: {', '.join(GRIDS)}")
    parser.add_argument("--out", type=Path, default=None, help="results file; default results/<profile>/<grid>.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="one Ray task per point (optional extra)")
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--budget", default="full", choices=list(BUDGETS), help="evaluation size per point")
    parser.add_argument("--reverse", action="store_true", help="run the points in the opposite order (a second run)")
    parser.add_argument(
        "--redo-busy", action="store_true", help="measure again the points timed while the CPU was busy (< 80%% idle)"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = results_path(args.grid, num_threads=args.threads)
    run_grid(
        args.grid,
        args.out,
        args.budget,
        args.threads,
        ray=args.ray,
        ray_address=args.ray_address,
        reverse=args.reverse,
        redo_busy=args.redo_busy,
    )
    print(f"results: {args.out}")
    return 0
