"""Run a sweep grid from the shell (resumable; one results row per point, nothing lost on a kill):

    python -m helpers.sweep --grid workshop --budget standard            # -> results/<profile>/workshop.jsonl
    python -m helpers.sweep --grid workshop --budget standard --reverse --out results/<profile>/workshop-rerun.jsonl
    python -m helpers.sweep --grid full --budget standard [--ray]

Grids: :mod:`helpers.sweep_grid`; what a point measures: :mod:`helpers.sweep_eval`; the runner: :mod:`helpers.runner`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from helpers import sweep_eval
from helpers.settings import results_path
from helpers.sweep_grid import GRIDS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", default="smoke", help=f"one of: {', '.join(GRIDS)}")
    parser.add_argument("--out", type=Path, default=None, help="results file; default results/<profile>/<grid>.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ray", action="store_true", help="one Ray task per point (optional extra)")
    parser.add_argument("--ray-address", default=None)
    parser.add_argument("--budget", default="full", choices=list(sweep_eval.BUDGETS), help="evaluation size per point")
    parser.add_argument("--reverse", action="store_true", help="run the points in the opposite order (a second run)")
    parser.add_argument(
        "--redo-busy", action="store_true", help="measure again the points timed while the CPU was busy (< 80%% idle)"
    )
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = results_path(args.grid, num_threads=args.threads)
    sweep_eval.run_grid(
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


if __name__ == "__main__":
    sys.exit(main())
