"""Markdown tables of the latest committed results, for the README: ``python -m helpers.report``."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from helpers import rag_bench
from helpers import sweep_analysis as sa
from helpers.results import ResultsStore
from helpers.settings import REPO_ROOT


def _machine(df: pd.DataFrame, path: Path) -> str:
    row = df.iloc[0]
    idle = df["cpu_idle_percent"].median() if "cpu_idle_percent" in df else float("nan")
    cpu = row.get("cpu") if isinstance(row.get("cpu"), str) else path.stem.split("-", 1)[1]  # file name carries the tag
    return f"{cpu}, {int(row.get('num_threads', 0))} threads, median CPU idle before timing {idle:.0f}%"


def rag_table(path: Path) -> str:
    """Embedders: quality, agreement, throughput, size (latest full-settings rows)."""
    store = ResultsStore(path)
    rows = store.to_frame()
    tag = rows["key"].iloc[-1].split("/", 1)[1]  # the settings of the latest run
    table = rag_bench.results_table(store, tag)
    if table.empty:
        return f"(no full-settings rows in {path.name})"
    ok = table[table["status"] == "ok"]
    cols = [
        "embedder",
        "precision",
        "ndcg@10",
        "recall@1",
        "mrr",
        "cosine_mean",
        "texts_per_s_b32",
        "speedup_b32",
        "query_p50_ms",
        "model_bytes",
    ]
    shown = ok[cols].assign(model_bytes=ok["model_bytes"] / 2**20).rename(columns={"model_bytes": "MiB"})
    lines = [
        f"Measured on: {_machine(ok, path)} — `{path.relative_to(REPO_ROOT)}`",
        "",
        shown.round(3).to_markdown(index=False),
    ]
    for _, row in table[table["status"] != "ok"].iterrows():
        lines.append(f"- {row['embedder']}: {row['status']}: {row['reason']}")
    return "\n".join(lines)


def sweep_table(path: Path) -> str:
    """Sweep: measured points sorted by decode speed."""
    df = sa.results_frame(path)
    ok = sa.measured(df)
    if ok.empty:
        return f"(no measured points in {path.name})"
    cols = [
        "label",
        "perplexity",
        "ppl_change",
        "faq_choice_accuracy",
        "decode_tokens_per_s",
        "decode_speedup",
        "prefill_ms",
        "model_mb",
    ]
    shown = ok.sort_values("decode_tokens_per_s", ascending=False)[cols]
    lines = [
        _measured_on(ok, path),
        "",
        shown.round(3).to_markdown(index=False),
        "",
        f"{len(df) - len(ok)} more points recorded as unsupported or failed, with reasons, in the file.",
    ]
    bad = sa.broken(df)
    if not bad.empty:
        lines.append(f"Broken (ran, but perplexity is NaN: non-finite logits): {', '.join(bad['label'])}.")
    return "\n".join(lines)


def _measured_on(ok: pd.DataFrame, path: Path) -> str:
    """Machine, threads, load, file and evaluation budget of a sweep's measured rows, as one line."""
    return f"Measured on: {_machine(ok, path)} — `{path.relative_to(REPO_ROOT)}`" + _budget(ok)


def _budget(ok: pd.DataFrame) -> str:
    """The evaluation budget of the baseline row, as one clause (empty for rows written without one)."""
    budget = sa.baseline_budget(ok)
    if budget is None:
        return ""
    return (
        f"; prompt {budget['prompt_tokens']} tokens, {budget['new_tokens']} new, warm-up {budget['warmup']} + "
        f"{budget['iterations']} timed runs (medians); perplexity over {budget['ppl_tokens']} tokens, "
        f"{budget['choice_items']} multiple-choice items, {budget['calib_texts']} x {budget['calib_max_tokens']}-token "
        "calibration passages"
    )


def verdicts(sweep_path: Path, peer_path: Path | None) -> str:
    """The bars and picks of :func:`helpers.sweep_analysis.verdict_lines`, as a bullet list."""
    peer = _latest_peer(peer_path) if peer_path is not None and peer_path.is_file() else None
    return "\n".join(f"- {line}" for line in sa.verdict_lines(sa.results_frame(sweep_path), peer))


def budget_check(path: Path, reference: Path) -> str:
    """A second run of some points at another budget: its verdicts, then its changes next to the reference run's."""
    check = sa.results_frame(path)
    ok = sa.measured(check)
    if ok.empty:
        return f"(no measured points in {path.name})"
    lines = [_measured_on(ok, path), ""]
    lines += [f"- {line}" for line in sa.verdict_lines(check)]
    if reference.is_file():
        ref = sa.results_frame(reference)
        names = (sa.run_name(reference, ref), sa.run_name(path, check))
        table = sa.budget_comparison(ref, check, names).drop(columns="key")
        lines += ["", f"Each run relative to its own fp32 row (`{reference.name}` vs `{path.name}`):", ""]
        lines.append(table.round(3).to_markdown(index=False))
    return "\n".join(lines)


def _latest_peer(path: Path) -> dict | None:
    """The last llama.cpp peer row of a peers file (the newest measurement), or None."""
    rows = ResultsStore(path).rows()
    return rows[-1] if rows else None


def peer_line(path: Path) -> str:
    """The latest llama.cpp peer measurement as one sentence."""
    row = _latest_peer(path)
    if row is None:
        return f"(no peer rows in {path.name})"
    if row.get("status") != "ok":
        return f"llama.cpp: {row.get('status')} ({row.get('reason', '')})"
    return (
        f"{row['label']} (llama-cpp-python {row['llama_cpp_version']}), {row['num_threads']} threads, "
        f"prompt {row['prompt_tokens']} tokens, {row['new_tokens']} new: decode {row['decode_tokens_per_s']:.1f} tok/s "
        f"({row['decode_ms_per_token']:.2f} ms/token), prefill {row['prefill_ms']:.0f} ms, "
        f"CPU idle before timing {row['cpu_idle_percent']:.0f}% — `{path.relative_to(REPO_ROOT)}`"
    )


def _same_machine(path: Path, prefix: str) -> Path:
    """The results file ``<prefix>-<machine>.jsonl`` beside ``<grid>-<machine>.jsonl`` (same machine and threads)."""
    return path.with_name(f"{prefix}-{path.name.split('-', 1)[1]}")


def main() -> int:
    for path in sorted((REPO_ROOT / "results" / "rag").glob("embedders-*.jsonl")):
        print("### Embedders\n\n" + rag_table(path) + "\n")
    sweeps = [p for p in sorted((REPO_ROOT / "results" / "sweep").glob("*.jsonl")) if not p.name.startswith("peers-")]
    full = [p for p in sweeps if p.name.startswith("full-")]
    for path in full or sweeps:  # the full grid contains the smaller grids' points
        print(f"### Weight-only sweep ({path.name.split('-')[0]} grid)\n\n" + sweep_table(path) + "\n")
    for path in sorted((REPO_ROOT / "results" / "sweep").glob("peers-*.jsonl")):
        print("### Peer\n\n" + peer_line(path) + "\n")
    for path in full:  # same machine and threads: results/sweep/full-<tag>.jsonl next to peers-<tag>.jsonl
        peer = _same_machine(path, "peers")
        print(f"### Verdicts ({path.name})\n\n" + verdicts(path, peer) + "\n")
    for path in sorted((REPO_ROOT / "results" / "sweep").glob("openvino-*.jsonl")):
        reference = _same_machine(path, "full")
        print(f"### The bars re-checked at another budget ({path.name})\n\n" + budget_check(path, reference) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
