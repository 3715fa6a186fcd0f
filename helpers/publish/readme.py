"""`make run` and `make test` (no notebook): Markdown tables of the latest results, for the README: ``python -m
helpers.publish.readme``.

One block of sections per machine profile (``results/<profile>/``): the committed reference profiles, plus this
machine's own when ``$COOKBOOK_RESULTS`` holds results elsewhere. Rows of two profiles never meet in one table or
verdict.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from helpers import device
from helpers.advice import pick as advice
from helpers.core import settings
from helpers.core.profiles import check_profile
from helpers.core.results import ResultsStore
from helpers.core.settings import repo_relative
from helpers.latency import analysis as la
from helpers.latency import decode_less_analysis, sizes
from helpers.rag import benchmark
from helpers.size import answers
from helpers.sweep import analysis as sa
from helpers.sweep import tools_compare, transfer
from helpers.sweep import verdicts as sv
from helpers.sweep.grid import GRIDS
from helpers.tools import model_checks

#: Sweep columns: rows measured with the KLD evaluation, and rows written before it (committed references).
_SWEEP_COLUMNS = [
    "label",
    "kld_mean",
    "top1_agreement",
    "perplexity",
    "ppl_change",
    "decode_tokens_per_s",
    "decode_speedup",
    "genai_2026_tpot_ms",
    "prefill_ms",
    "model_mb",
]
_OLD_SWEEP_COLUMNS = ["label", "perplexity", "ppl_change", "faq_choice_accuracy", "decode_tokens_per_s"]
_OLD_SWEEP_COLUMNS += ["decode_speedup", "prefill_ms", "model_mb"]


def _machine(df: pd.DataFrame, path: Path) -> str:
    row = df.iloc[0]
    idle = df["cpu_idle_percent"].median() if "cpu_idle_percent" in df else float("nan")
    profile = row.get("profile") if isinstance(row.get("profile"), str) else path.parent.name
    cpu = f" ({row['cpu']})" if isinstance(row.get("cpu"), str) else ""
    return f"{profile}{cpu}, {int(row.get('num_threads', 0))} threads, median CPU idle before timing {idle:.0f}%"


def rag_table(path: Path) -> str:
    """Embedders: quality, agreement, throughput, size (latest full-settings rows)."""
    store = ResultsStore(path)
    check_profile(store.to_frame(), path)  # refuses a file mixing profiles
    table = benchmark.latest_table(store)  # the settings of the latest run
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
        "speedup_best",
        "speedup_best_lo",
        "speedup_best_hi",
        "query_p50_ms",
        "model_bytes",
    ]
    shown = ok[cols].assign(model_bytes=ok["model_bytes"] / 2**20).rename(columns={"model_bytes": "MiB"})
    lines = [
        f"Measured on: {_machine(ok, path)} — `{repo_relative(path)}`",
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
    cols = _SWEEP_COLUMNS if "kld_mean" in ok else _OLD_SWEEP_COLUMNS
    shown = ok.sort_values("decode_tokens_per_s", ascending=False).reindex(columns=cols)
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
    return f"Measured on: {_machine(ok, path)} — `{repo_relative(path)}`" + _budget(ok)


def _budget(ok: pd.DataFrame) -> str:
    """The evaluation budget of the baseline row, as one clause (empty for rows written without one)."""
    budget = sa.baseline_budget(ok)
    if budget is None:
        return ""
    if "kld_tokens_per_source" in budget:
        per_source, window = budget["kld_tokens_per_source"], budget["kld_window"]
        scored = 2 * (per_source // window) * (window - 1)  # each window scores its next-token predictions
        accuracy = (
            f"KLD / top-1 / perplexity vs fp32 over 2 x {per_source} held-out tokens ({scored:,} scored "
            f"predictions; Shakespeare + Python docs, {window}-token windows, 95% bootstrap intervals)"
        )
    else:  # rows written before the KLD evaluation (older results files)
        accuracy = f"perplexity over {budget['ppl_tokens']} tokens, {budget['choice_items']} multiple-choice items"
    return (
        f"; prompt {budget['prompt_tokens']} tokens, {budget['new_tokens']} new, warm-up {budget['warmup']} + "
        f"{budget['iterations']} timed runs (medians); {accuracy}, {budget['calib_texts']} x "
        f"{budget['calib_max_tokens']}-token calibration passages"
    )


def verdicts(sweep_path: Path, peer_path: Path | None) -> str:
    """The picks and bars of :func:`helpers.sweep.verdicts.pick_lines`, as a bullet list."""
    peer = sa.latest_peer(peer_path) if peer_path is not None else None
    return "\n".join(f"- {line}" for line in sv.pick_lines(sa.results_frame(sweep_path), peer))


def interval_verdicts(path: Path) -> str:
    """The 4-bit bars with intervals (decode on HF generate, and on GenAI 2026 where measured), and how the verdicts
    moved in the grid's second run (``<grid>-rerun``) if there is one."""
    df = sa.results_frame(path)
    lines = [f"- {line}" for line in sv.interval_verdict_lines(df)]
    if "genai_2026_tpot_ms_samples" in df:
        lines += ["", "OpenVINO points served by GenAI 2026 (same IRs):", ""]
        lines += [f"- {line}" for line in sv.interval_verdict_lines(df, speed="genai_2026_speedup")]
    rerun = path.with_name(f"{path.stem}-rerun.jsonl")
    if rerun.is_file():
        moved = sv.verdict_movement(df, sa.results_frame(rerun), ("run 1", "run 2"))
        lines += [
            "",
            f"Second run (`{_short(rerun)}`, fresh processes, opposite order): {int(moved['verdict moved'].sum())} "
            f"of {len(moved)} points changed a verdict.",
            "",
            moved.to_markdown(index=False),
        ]
    return "\n".join(lines)


def latency(path: Path) -> str:
    """RAG-shaped latency (1,000-token prompt, 64 new): medians with intervals per case, then the bars' verdicts."""
    rows = la.load(path, only_ok=False)
    ok = rows[rows["status"] == "ok"] if not rows.empty else rows
    if ok.empty:
        return f"(no measured cases in {path.name})"
    table = la.summary_table(la.pooled(ok))
    cols = ["label", "n_runs", "ttft_s", "tpot_ms", "tpot_ms_lo", "tpot_ms_hi", "e2e_s", "e2e_s_lo", "e2e_s_hi"]
    shown = table.reindex(columns=[*cols, "model_ms", "other_ms"]).round(3)
    lines = [f"Measured on: {_machine(ok, path)} — `{repo_relative(path)}`", "", shown.to_markdown(index=False)]
    lines += [""] + [f"- {line}" for line in la.verdict_lines(rows)]
    if (ok["num_threads"] == 1).any():
        lines.append(
            "- 1 thread: OpenVINO cases (optimum-intel, GenAI) keep 2 OpenVINO threads (INFERENCE_NUM_THREADS=1 has "
            "crashed OpenVINO LLM compilation), so only torch, ITREX and llama.cpp run on 1 thread here"
        )
    return "\n".join(lines)


def size_latency(path: Path) -> str:
    """What changes with size: per model and case, decode ms/token and TTFT with intervals, the bytes a step reads,
    the memory floor and the share of it reached, the ratio to llama.cpp; then the bars on the largest model."""
    rows = la.load(path, only_ok=False)
    ok = rows[rows["status"] == "ok"] if not rows.empty else rows
    if ok.empty:
        return f"(no measured cases in {path.name})"
    table = sizes.table_for(path)
    cols = [
        "model",
        "runtime",
        "weights",
        "n_runs",
        "tpot_ms",
        "tpot_ms_lo",
        "tpot_ms_hi",
        "ttft_s",
        "step_mb",
        "floor_ms",
        "share_of_floor",
        "vs_llama",
        "vs_llama_lo",
        "vs_llama_hi",
    ]
    head = (
        f"Measured on: {_machine(ok, path)} — `{repo_relative(path)}`; memory floor = bytes a decode step reads / "
        "triad bandwidth measured in the same sitting; vs_llama > 1: faster decode than llama.cpp on the same GGUF"
    )
    lines = [head, "", table.reindex(columns=cols).round(3).to_markdown(index=False), ""]
    found = sizes.size_verdicts(table) + sizes.settings_effects(table)
    return "\n".join(lines + [f"- {line}" for line in found])


def answer_quality(path: Path) -> str:
    """Does the RAG chain answer: mean token F1 against the FAQ answer and support in the passages, per model and
    weight format, with 95 % intervals over questions."""
    rows = ResultsStore(path).to_frame()
    check_profile(rows, path)
    table = answers.summary(answers.comparable(rows))
    if table.empty:
        return f"(no questions answered with the current RAG prompt in {path.name}: python -m helpers.size.answers)"
    shown = table.round(3)
    how = (
        f"FAQ questions through retrieval over the FAQ pages (top {answers.TOP_K} chunks) and the model, greedy, up "
        f"to {answers.MAX_NEW_TOKENS} new tokens, stopped at the next passage's marker; chunking: the pages cut "
        "first at their question headings "
        f"(`questions`, the chain's) or every ~1000 characters (`characters`) — `{repo_relative(path)}`"
    )
    pairs = [(r.model, r.format) for r in table.drop_duplicates(["model", "format"]).itertuples()]
    notes = answers.gain_lines(rows, pairs) + answers.whole_faq_lines(rows)
    return "\n".join([how, "", shown.to_markdown(index=False), ""] + [f"- {line}" for line in notes])


def accuracy_transfer(path: Path) -> str:
    """Does accuracy transfer across sizes: full-vocabulary KLD beside the top-64 one, top-1, perplexity change,
    with intervals, and the +10 % perplexity bar, per model and format."""
    rows = ResultsStore(path).to_frame()
    check_profile(rows, path)
    table = transfer.summary(rows)
    if table.empty:
        return f"(no scored formats in {path.name})"
    how = (
        "Each model against its own fp32 (its GGUF dequantized), 2 x 8 held-out windows of 512 tokens; KLD over the "
        f"full vocabulary and over the fp32 top-{transfer.TOP_K} (+ a rest bucket, the sweeps' estimator); bar: "
        f"perplexity at most +{transfer.PPL_BAR:.0%} — `{repo_relative(path)}`"
    )
    section = "\n".join([how, "", table.round(4).to_markdown(index=False)])
    tools = tools_compare.tools_table(rows)
    if tools.empty:
        return section
    versus = (
        "The OpenVINO formats built with 2024's tools (optimum-intel 1.17.2 + NNCF 2.11, the seed environment) and "
        "with today's (optimum-intel 2.2 + NNCF 3.4, `.venv-today`): same plan, same calibration, same scoring; "
        "`python -m helpers.sweep.transfer --tools 2026`"
    )
    return "\n".join([section, "", versus, "", tools.to_markdown(index=False)])


def conversion_checks(path: Path) -> str:
    """Each converted model against llama.cpp on the same GGUF: identical ids, top-1 agreement, the bars."""
    rows = ResultsStore(path).to_frame()
    check_profile(rows, path)
    if rows.empty:
        return f"(no rows in {path.name})"
    rows = rows.assign(bars=["met" if model_checks.meets_bars(r) else "MISSED" for r in rows.to_dict("records")])
    cols = ["model", "identical_ids", "samples", "top1_agreement", "positions", "llama_cpp_version", "bars"]
    bars = (
        f"bars: identical ids on every sample (>= {model_checks.MIN_SAMPLES}), "
        f"top-1 >= {model_checks.MIN_TOP1_AGREEMENT}"
    )
    return "\n".join([f"{bars} — `{repo_relative(path)}`", "", rows.reindex(columns=cols).to_markdown(index=False)])


def peer_line(path: Path) -> str:
    """The latest llama.cpp peer measurement as one sentence."""
    row = sa.latest_peer(path)
    if row is None:
        return f"(no peer rows in {path.name})"
    if row.get("status") != "ok":
        return f"llama.cpp: {row.get('status')} ({row.get('reason', '')})"
    return (
        f"{row['label']} (llama-cpp-python {row['llama_cpp_version']}), {row['num_threads']} threads, "
        f"prompt {row['prompt_tokens']} tokens, {row['new_tokens']} new: decode {row['decode_tokens_per_s']:.1f} tok/s "
        f"({row['decode_ms_per_token']:.2f} ms/token), prefill {row['prefill_ms']:.0f} ms, "
        f"CPU idle before timing {row['cpu_idle_percent']:.0f}% — `{repo_relative(path)}`"
    )


def _short(path: Path) -> str:
    """``<profile>/<kind>.jsonl``: a results file named by its profile."""
    return f"{path.parent.name}/{path.name}"


def profile_sections(profile: str, root: Path, label: str | None = None) -> list[str]:
    """The README sections of one profile: embedders, the sweep (the full grid, which holds the smaller grids'
    points, else every grid), the peer, the verdicts (with intervals, and how they moved in a second run) and the
    RAG-shaped latency, each headed by ``label`` (default: the profile)."""
    label = label or profile
    kinds = sorted(p.stem for p in (root / profile).glob("*.jsonl"))
    path = {kind: settings.results_path(kind, profile=profile, root=root) for kind in kinds}
    sweeps = [k for k in kinds if k in GRIDS]  # a ``<grid>-rerun`` file is a second run, shown with its grid
    out = [f"#### What to run ({label})\n\n" + "\n".join(f"- {line}" for line in advice.pick_lines(profile, root=root))]
    if "embedders" in path:
        out.append(f"#### Embedders ({label})\n\n" + rag_table(path["embedders"]))
    for kind in ["full"] if "full" in sweeps else sweeps:
        out.append(f"#### Weight-only sweep ({kind} grid, {label})\n\n" + sweep_table(path[kind]))
    if "peers" in path:
        out.append(f"#### Peer ({label})\n\n" + peer_line(path["peers"]))
    if "full" in path:
        out.append(f"#### Verdicts ({_short(path['full'])})\n\n" + verdicts(path["full"], path.get("peers")))
    for kind in sweeps:
        if "decode_ms_samples" in sa.results_frame(path[kind]):
            out.append(f"#### Verdicts with intervals ({_short(path[kind])})\n\n" + interval_verdicts(path[kind]))
    if "rag_latency" in path:
        out.append(f"#### RAG-shaped latency ({_short(path['rag_latency'])})\n\n" + latency(path["rag_latency"]))
    if "size_latency" in path:
        section = size_latency(path["size_latency"])
        out.append(f"#### What changes with size ({_short(path['size_latency'])})\n\n" + section)
    if "decode_less" in path:
        table = decode_less_analysis.decode_less_table(ResultsStore(path["decode_less"]).rows())
        lines = decode_less_analysis.findings(table)
        section = "\n".join(f"- {line}" for line in lines) or "- no measured pairs"
        out.append(f"#### Decode less: prompt lookup vs plain decoding ({_short(path['decode_less'])})\n\n" + section)
    if "rag_answers" in path:
        out.append(f"#### Does the RAG chain answer? ({label})\n\n" + answer_quality(path["rag_answers"]))
    if "transfer" in path:
        out.append(f"#### Does accuracy transfer across sizes? ({label})\n\n" + accuracy_transfer(path["transfer"]))
    if "model_checks" in path:
        out.append(f"#### Converted models vs llama.cpp ({label})\n\n" + conversion_checks(path["model_checks"]))
    return out


README_START = "<!-- results: generated by python -m helpers.publish.readme --readme; do not edit by hand -->"
README_END = "<!-- end of generated results -->"


def committed_sections() -> str:
    """Every committed profile's sections, labelled by profile only (the same text on any machine)."""
    root = settings.COMMITTED_RESULTS
    profiles = sorted({f.parent.name for f in root.glob("*/*.jsonl") if device.is_profile(f.parent.name)})
    return "\n\n".join(section for profile in profiles for section in profile_sections(profile, root))


def write_readme(readme: Path = settings.REPO_ROOT / "README.md") -> bool:
    """Replace the README's generated block with :func:`committed_sections`; True when it changed."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.index(README_START) + len(README_START), text.index(README_END)
    new = text[:start] + "\n\n" + committed_sections() + "\n\n" + text[end:]
    readme.write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="thread count of this machine's profile")
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's generated results block")
    args = parser.parse_args(argv)
    if args.readme:
        print("README.md", "updated" if write_readme() else "already current")
        return 0
    mine = device.machine_profile(args.threads)
    roots = dict.fromkeys([settings.COMMITTED_RESULTS, settings.results_dir()])  # the same folder unless moved
    found = [(p, root) for root in roots for p in sorted({f.parent.name for f in root.glob("*/*.jsonl")})]
    found = [(p, root) for p, root in found if device.is_profile(p)]
    where = "has results" if any(p == mine for p, _ in found) else "has no results yet: showing the references"
    print(f"this machine's profile: {mine} ({where})", file=sys.stderr)
    for profile, root in found:
        label = f"{profile}, this machine" if profile == mine and root == settings.results_dir() else profile
        for section in profile_sections(profile, root, label):
            print(section + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
