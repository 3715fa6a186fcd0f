"""Notebooks 01, 04, 06: The one resumable runner for every benchmark (sweep points, RAG-latency cases): each item not
yet in the results file is evaluated and its row appended as soon as it is done, as ``ok``, ``unsupported`` (with
the reason) or ``failed`` (with the error), so a killed run loses nothing and a re-run skips what is finished. Items
need a ``key``, a ``label`` and to be dataclasses (their fields go into the row). Local, or one Ray task per item."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from helpers.core.results import ResultsStore
from helpers.core.settings import without_checkout_path

#: ``evaluate(item) -> row fields``; ``unsupported_reason(item) -> reason or None``; ``reuse(row) -> keep it?``
Evaluator = Callable[[Any], dict[str, Any]]
SupportCheck = Callable[[Any], "str | None"]
RowCheck = Callable[[dict[str, Any]], bool]


def points_to_run(points: Iterable[Any], store: ResultsStore, reuse: RowCheck | None = None) -> list[Any]:
    """The points without a row in ``store``, plus those whose row ``reuse`` rejects (e.g. another budget)."""
    latest = store.latest()
    return [p for p in points if p.key not in latest or (reuse is not None and not reuse(latest[p.key]))]


def run_sweep(
    points: Sequence[Any],
    store: ResultsStore,
    evaluate: Evaluator,
    *,
    unsupported_reason: SupportCheck | None = None,
    progress: bool = True,
    reuse: RowCheck | None = None,
    stamp: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Evaluate each point not yet in ``store`` and append its row as soon as it is done.

    ``stamp`` (e.g. :func:`helpers.core.timing.profile_record`) goes into every row, unsupported and failed ones too, so
    each row says which machine profile wrote it.

    A point that raises is recorded with ``status="failed"`` and the error, so one bad point never kills a
    long sweep; delete its row to retry it. A finished row that ``reuse`` rejects (measured with another budget,
    say) is measured again and the new row supersedes it. Returns the rows written by this call.
    """
    from tqdm.auto import tqdm

    todo = points_to_run(points, store, reuse)
    written: list[dict[str, Any]] = []
    done = f"{len(points) - len(todo)} of {len(points)} already done"
    # progress=True leaves the choice to tqdm, so $TQDM_DISABLE (set for saved notebook runs) still turns it off
    bar = tqdm(todo, desc=f"sweep ({done})", unit="point", **({} if progress else {"disable": True}))
    for point in bar:
        bar.set_postfix_str(point.key)
        row = {**(stamp or {}), **evaluate_one(point, evaluate, unsupported_reason)}
        store.append(row)
        written.append(row)
    return written


def evaluate_one(point: Any, evaluate: Evaluator, unsupported_reason: SupportCheck | None) -> dict[str, Any]:
    """One results row for one point: measured, unsupported (with reason) or failed (with the error)."""
    row: dict[str, Any] = {"key": point.key, "label": point.label, **asdict(point)}
    reason = unsupported_reason(point) if unsupported_reason else None
    if reason:
        return {**row, "status": "unsupported", "reason": reason}
    start = time.perf_counter()
    try:
        measured = evaluate(point)
    except Exception as exc:  # recorded, not raised: a sweep must survive one bad point
        return {
            **row,
            "status": "failed",
            "reason": without_checkout_path(f"{type(exc).__name__}: {exc}"),
            "traceback": without_checkout_path(traceback.format_exc(limit=3)),
        }
    return {**row, **measured, "status": "ok", "point_seconds": round(time.perf_counter() - start, 2)}


def run_sweep_ray(
    points: Iterable[Any],
    store: ResultsStore,
    evaluate: Evaluator,
    *,
    unsupported_reason: SupportCheck | None = None,
    num_threads: int = 2,
    address: str | None = None,
    reuse: RowCheck | None = None,
    stamp: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Same as :func:`run_sweep` but one Ray task per point, each reserving ``num_threads`` CPUs.

    Rows are gathered back here and appended to the same results file as each task finishes, so a
    killed driver resumes like the local sweep. Needs the optional ``requirements-distributed.txt``.
    """
    try:
        import ray
    except ImportError as exc:
        raise RuntimeError("Ray is not installed: pip install -r requirements-distributed.txt") from exc

    points = list(points)
    todo = points_to_run(points, store, reuse)
    print(f"ray sweep: {len(todo)} points to run, {len(points) - len(todo)} of {len(points)} already done")
    if not ray.is_initialized():
        local = {"_node_ip_address": "127.0.0.1"} if address is None else {}  # a local cluster stays on loopback
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False, **local)

    @ray.remote(num_cpus=num_threads)
    def _task(point: Any) -> dict[str, Any]:
        import os

        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(num_threads)
        return evaluate_one(point, evaluate, unsupported_reason)

    pending = [_task.remote(p) for p in todo]
    written: list[dict[str, Any]] = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        row = {**(stamp or {}), **ray.get(ready[0])}
        store.append(row)
        written.append(row)
    return written
