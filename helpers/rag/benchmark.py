"""Notebook 01: Embedder benchmark for the RAG chapter: quality, agreement with fp32, speed, size and memory per
embedder.

Each embedder runs in a fresh process (clean peak RSS, and IPEX / ITREX / OpenVINO never share one process),
one results row per embedder appended to a resumable results file.

    python -m helpers.rag.benchmark                                      # full -> results/<profile>/embedders.jsonl
    python -m helpers.rag.benchmark --smoke --out /tmp/rag_smoke.jsonl   # seconds
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from helpers import data
from helpers.core import metrics, runner, settings, timing
from helpers.core.intervals import bar_verdict, ratio_ci
from helpers.core.results import ResultsStore
from helpers.core.settings import results_path
from helpers.rag import embedders, pipeline

BASELINE = "hf-fp32"
#: Files that hold weights in the embedders' folders (ONNX, OpenVINO IR, safetensors, TorchScript).
_WEIGHT_SUFFIXES = (".onnx", ".bin", ".safetensors", ".pt", ".data")


@dataclass(frozen=True)
class EmbedBenchConfig:
    """What one embedder run measures. Defaults are the full run; :data:`SMOKE` is the seconds-long one."""

    num_threads: int = 2
    max_docs: int | None = None  # None: the whole corpus
    n_queries: int | None = None  # None: every FAQ question
    chunk_size: int = 1000
    chunk_overlap: int = 100
    throughput_texts: int = 256  # chunks encoded per throughput measurement
    warmup: int = 1
    iterations: int = 5
    agreement_texts: int = 200
    calibration_texts: int = 300

    @property
    def tag(self) -> str:
        """Short id of the settings, part of each row's key so different settings never mix."""
        return f"t{self.num_threads}-d{self.max_docs}-q{self.n_queries}-n{self.throughput_texts}-i{self.iterations}"


SMOKE = EmbedBenchConfig(
    max_docs=3, n_queries=12, throughput_texts=32, iterations=2, agreement_texts=16, calibration_texts=16
)


def _reference_path(out: Path, cfg: EmbedBenchConfig) -> Path:
    """The fp32 baseline's vectors beside the results file (``results/<profile>/embedders.hf-fp32.<tag>.npy``), so
    agreement is only ever measured against the same profile's baseline with the same settings."""
    return out.with_name(f"{out.stem}.{BASELINE}.{cfg.tag}.npy")


def measure_embedder(name: str, cfg: EmbedBenchConfig, reference_file: str) -> dict[str, Any]:
    """Build one embedder and measure it (runs inside a worker process)."""

    settings.enforce_offline()
    settings.set_threads(cfg.num_threads)
    spec = embedders.EMBEDDERS[name]
    calib = data.calibration_texts(cfg.calibration_texts) if spec.needs_calibration else None
    start = time.perf_counter()
    emb = embedders.build_embedder(name, num_threads=cfg.num_threads, calibration_texts=calib)
    build_seconds = time.perf_counter() - start

    chunks = pipeline.split_documents(data.load_docs(limit=cfg.max_docs), cfg.chunk_size, cfg.chunk_overlap)
    texts = [c.page_content for c in chunks]
    sample = (texts * (cfg.throughput_texts // max(len(texts), 1) + 1))[: cfg.throughput_texts]

    row: dict[str, Any] = {"embedder": name, "family": spec.family, "precision": spec.precision}
    # retrieval quality on the labelled FAQ set + query latency
    report, _, latencies = pipeline.faq_retrieval_eval(emb, data.load_faq(limit=cfg.n_queries))
    row.update(report)
    row["query_p50_ms"] = float(np.percentile(latencies, 50) * 1000)
    row["query_p90_ms"] = float(np.percentile(latencies, 90) * 1000)
    # agreement with the fp32 baseline on the same chunks
    vectors = np.asarray(emb.embed_documents(sample[: cfg.agreement_texts]), dtype=np.float32)
    ref = Path(reference_file)
    if name == BASELINE:
        np.save(ref, vectors, allow_pickle=False)
    if ref.exists():
        row.update(metrics.cosine_agreement(np.load(ref, allow_pickle=False), vectors))
    # throughput: batch 1 (one text per call) and batch 32 (32 texts per call)
    for batch in (1, 32):
        batches = [sample[i : i + batch] for i in range(0, len(sample), batch)]
        stats = timing.time_call(
            lambda bs=batches: [emb.embed_documents(b) for b in bs], warmup=cfg.warmup, iterations=cfg.iterations
        )
        row[f"texts_per_s_b{batch}"] = len(sample) / stats.median
        row[f"texts_per_s_b{batch}_p90"] = len(sample) / stats.p90
        row[f"texts_per_s_b{batch}_min"] = len(sample) / max(stats.seconds)  # the range of the timed runs
        row[f"texts_per_s_b{batch}_max"] = len(sample) / min(stats.seconds)
        row[f"seconds_b{batch}"] = list(stats.seconds)  # each timed run, for the speed-up's interval
    # index build over the corpus chunks (embedding included)
    _, row["index_build_s"] = pipeline.build_faiss(emb, chunks)
    row["n_chunks"] = len(chunks)
    row["build_s"] = build_seconds
    artifact = embedders.model_artifact_path(name, calib)
    row["model_bytes"] = sum(f.stat().st_size for f in artifact.parent.iterdir() if f.suffix in _WEIGHT_SUFFIXES)
    row["peak_rss_mb"] = timing.peak_rss_mb()
    row.update(timing.environment_record(cfg.num_threads))
    return row


@dataclass(frozen=True)
class EmbedderCase:
    """One embedder under one benchmark setting: a point of :func:`helpers.core.runner.run_sweep`."""

    embedder: str
    tag: str

    @property
    def key(self) -> str:
        return f"{self.embedder}/{self.tag}"

    @property
    def label(self) -> str:
        return self.embedder


def run(
    names: list[str] | None = None, cfg: EmbedBenchConfig = EmbedBenchConfig(), out: Path | None = None
) -> ResultsStore:
    """Measure each embedder not yet in the results file, each in its own process (the one resumable runner: a
    worker that crashes, SIGILL in a native library or an OOM kill, is recorded as failed); returns the store."""
    names = names or list(embedders.EMBEDDERS)
    for name in names:
        embedders.get_spec(name)  # unknown names fail here, listing the allowed ones
    if BASELINE in names:  # the baseline goes first: the others are compared with its vectors
        names = [BASELINE] + [n for n in names if n != BASELINE]
    out = Path(out) if out else results_path("embedders", num_threads=cfg.num_threads)
    store = ResultsStore(out)
    reference = str(_reference_path(out, cfg))

    def measure(case: EmbedderCase) -> dict[str, Any]:
        return timing.run_in_fresh_process(measure_embedder, case.embedder, cfg, reference)

    runner.run_sweep(
        [EmbedderCase(name, cfg.tag) for name in names],
        store,
        measure,
        unsupported_reason=lambda case: embedders.unavailable_reason(case.embedder),
        stamp={**timing.profile_record(cfg.num_threads), **asdict(cfg)},  # on every row, measured or not
    )
    return store


def _best_batch_seconds(row) -> list[float]:
    """The run times (same texts each run) of the row's faster batch setting; empty for rows written before run
    times were kept."""
    batch = 1 if row["texts_per_s_b1"] >= row["texts_per_s_b32"] else 32
    runs = row.get(f"seconds_b{batch}")
    return list(runs) if isinstance(runs, (list, tuple, np.ndarray)) else []


def best_batch_ratio(fast_row, slow_row):
    """``fast_row``'s texts/s over ``slow_row``'s, each at its own best batch setting, with the bootstrap interval of
    the ratio of median run times (:func:`helpers.core.intervals.ratio_ci`); NaN bounds when either row lacks runs."""
    fast, slow = _best_batch_seconds(fast_row), _best_batch_seconds(slow_row)
    best = max(fast_row["texts_per_s_b1"], fast_row["texts_per_s_b32"])
    value = best / max(slow_row["texts_per_s_b1"], slow_row["texts_per_s_b32"])
    if not fast or not slow:
        return value, float("nan"), float("nan")
    interval = ratio_ci(slow, fast)
    return value, interval.lo, interval.hi


def results_table(store: ResultsStore, cfg: EmbedBenchConfig | str):
    """The rows of one settings tag (a config or its tag) as a DataFrame with speed-ups relative to fp32."""
    df = store.to_frame()
    if df.empty:
        return df
    tag = cfg if isinstance(cfg, str) else cfg.tag
    df = df[df["key"].str.endswith(tag)].reset_index(drop=True)
    ok = df["status"] == "ok"
    if ok.any() and (df["embedder"] == BASELINE).any():
        base = df.loc[df["embedder"] == BASELINE].iloc[0]
        df["speedup_b32"] = df["texts_per_s_b32"] / base["texts_per_s_b32"]
        df["speedup_b1"] = df["texts_per_s_b1"] / base["texts_per_s_b1"]
        # the fair ratio: each embedder at its own best batch setting against fp32 at fp32's best one, with its interval
        ratios = [best_batch_ratio(row, base) if row["status"] == "ok" else (np.nan,) * 3 for _, row in df.iterrows()]
        columns = ("speedup_best", "speedup_best_lo", "speedup_best_hi")
        for column, values in zip(columns, zip(*ratios, strict=True), strict=True):
            df[column] = list(values)
        df["ndcg_rel_change"] = (df["ndcg@10"] - base["ndcg@10"]) / base["ndcg@10"]
    return df


def latest_table(store: ResultsStore):
    """:func:`results_table` of the settings the file's latest row was measured with (its key after the name)."""
    frame = store.to_frame()
    return frame if frame.empty else results_table(store, frame["key"].iloc[-1].split("/", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (default results/<profile>/embedders.jsonl); resumed"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny settings (seconds)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("names", nargs="*", help="embedders (default: all)")
    args = parser.parse_args(argv)
    base = SMOKE if args.smoke else EmbedBenchConfig()
    cfg = EmbedBenchConfig(**{**asdict(base), "num_threads": args.threads})
    store = run(args.names or None, cfg, args.out)
    table = results_table(store, cfg)
    cols = [c for c in ("embedder", "status", "ndcg@10", "recall@1", "texts_per_s_b32", "speedup_b32") if c in table]
    print(table[cols].to_string(index=False))
    print(f"results: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


def _with_interval(row) -> str:
    lo, hi = row.get("speedup_best_lo", np.nan), row.get("speedup_best_hi", np.nan)
    interval = f" [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) and np.isfinite(hi) else " (no interval: run times not kept)"
    return f"{row['speedup_best']:.2f}x{interval}"


def _bar(row, min_speedup: float) -> str:
    lo, hi = row.get("speedup_best_lo", np.nan), row.get("speedup_best_hi", np.nan)
    if np.isfinite(lo) and np.isfinite(hi):
        return bar_verdict((lo, hi), min_speedup, higher_is_better=True)
    return "met" if row["speedup_best"] >= min_speedup else "missed"


def embedder_verdicts(table, max_ndcg_drop: float = 0.01, min_speedup: float = 3.0) -> list[str]:
    """The chapter's bar in words: best int8 embedder >= 3x fp32 texts/s with nDCG@10 within 1 %; the ratio is
    judged with each side at its own best batch setting (batch 1 or 32), with its interval (a bar inside it is a tie),
    and the batch-32 ratio is shown beside. "Fastest overall" names the runner-up when the two tie within noise."""
    if table.empty or "speedup_best" not in table:
        return ["no baseline row (or a row written before both batch settings were timed): run hf-fp32 first"]
    ok = table[table["status"] == "ok"]
    lines = []
    int8 = ok[ok["precision"].str.contains("int8")]
    within = int8[int8["ndcg_rel_change"] >= -max_ndcg_drop]
    if within.empty:
        lines.append(f"no int8 embedder keeps nDCG@10 within {max_ndcg_drop:.0%} of fp32")
    else:
        best = within.sort_values("speedup_best", ascending=False).iloc[0]
        lines.append(
            f"best int8 embedder within {max_ndcg_drop:.0%} nDCG: {best['embedder']}: {_with_interval(best)} fp32 "
            f"texts/s, each at its best batch setting ({min_speedup:g}x bar: {_bar(best, min_speedup)}; "
            f"{best['speedup_b32']:.2f}x both at batch 32), "
            f"nDCG@10 {best['ndcg@10']:.4f} ({best['ndcg_rel_change']:+.2%})"
        )
    ranked = ok.sort_values("speedup_best", ascending=False)
    fastest = ranked.iloc[0]
    line = (
        f"fastest overall: {fastest['embedder']} ({fastest['precision']}): {_with_interval(fastest)} at best "
        f"batch settings ({fastest['speedup_b32']:.2f}x at batch 32), nDCG@10 {fastest['ndcg_rel_change']:+.2%}"
    )
    if len(ranked) > 1:
        second = ranked.iloc[1]
        value, lo, hi = best_batch_ratio(fastest, second)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            line += f"; {value:.2f}x {second['embedder']} (no interval)"
        elif lo <= 1.0:
            line += f"; a tie within noise with {second['embedder']} ({value:.2f}x [{lo:.2f}, {hi:.2f}])"
        else:
            line += f"; ahead of {second['embedder']} by {value:.2f}x [{lo:.2f}, {hi:.2f}]"
    lines.append(line)
    for _, row in table[table["status"] != "ok"].iterrows():
        lines.append(f"not measured: {row['embedder']}: {row['status']}: {row['reason']}")
    return lines


def padding_share(token_counts: list[int], batch: int) -> float:
    """Share of the token positions a batched encoder computes that are padding, when ``batch`` consecutive texts
    are padded to the longest of them (``token_counts``: each text's tokens after truncation)."""
    if batch < 1:
        raise ValueError(f"batch={batch!r} is invalid: allowed values are integers >= 1")
    groups = [token_counts[i : i + batch] for i in range(0, len(token_counts), batch)]
    computed = sum(max(g) * len(g) for g in groups if g)
    return 1.0 - sum(token_counts) / computed if computed else 0.0


def best_embedder(table, max_ndcg_drop: float = 0.01) -> str:
    """Fastest measured embedder (batch 32) whose nDCG@10 is within ``max_ndcg_drop`` of fp32; else the baseline."""
    ok = table[table["status"] == "ok"] if not table.empty else table
    if ok.empty or "ndcg_rel_change" not in ok:
        return BASELINE
    within = ok[ok["ndcg_rel_change"] >= -max_ndcg_drop]
    return (
        str(within.sort_values("texts_per_s_b32", ascending=False).iloc[0]["embedder"])
        if not within.empty
        else BASELINE
    )
