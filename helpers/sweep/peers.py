"""Notebook 04: The llama.cpp peer: the same SmolLM2 GGUF (Q4_1) timed with llama-cpp-python on the same threads and
prompt.

Optional extra (``requirements-peers.txt``, built from source). When it is not installed the benchmark records a
row saying so instead of failing.

    python -m helpers.sweep.peers [--threads 2] [--out FILE]     # default results/<profile>/peers.jsonl
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

from helpers import data, models
from helpers.core import timing
from helpers.core.results import ResultsStore
from helpers.core.settings import results_path

INSTALL_HINT = 'CMAKE_ARGS="-DGGML_NATIVE=ON" pip install -r requirements-peers.txt -c constraints.txt'


def llama_cpp_available() -> bool:
    """True when llama-cpp-python is importable."""
    return importlib.util.find_spec("llama_cpp") is not None


def benchmark_llama_cpp(
    *, num_threads: int = 2, prompt_tokens: int = 256, new_tokens: int = 64, warmup: int = 1, iterations: int = 5
) -> dict[str, Any]:
    """Prefill and decode timings of llama.cpp on the packaged GGUF.

    Prefill: evaluate ``prompt_tokens`` tokens in one batch. Decode: then evaluate ``new_tokens`` tokens one at a
    time (what generation does per step; which token is fed does not change the cost). Medians and p90 over
    ``iterations`` after ``warmup``.
    """
    gguf = models.causal_lm_gguf_path()
    llm = models.load_llama_cpp(gguf, num_threads, n_ctx=1024)
    tokens = llm.tokenize(data.load_perplexity_text().encode("utf-8"), add_bos=True)[:prompt_tokens]
    if len(tokens) < prompt_tokens:
        raise ValueError(f"the perplexity text has only {len(tokens)} tokens, fewer than prompt_tokens={prompt_tokens}")
    next_token = tokens[-1]

    def prefill() -> None:
        llm.reset()
        llm.eval(tokens)

    def decode() -> None:
        for _ in range(new_tokens):
            llm.eval([next_token])

    prefill_stats = timing.time_call(prefill, warmup=warmup, iterations=iterations)
    decode_seconds = []
    for i in range(warmup + iterations):
        prefill()
        stats = timing.time_call(decode, warmup=0, iterations=1)
        if i >= warmup:
            decode_seconds.append(stats.seconds[0])
    decode_stats = timing.TimingStats(tuple(decode_seconds), warmup)
    import llama_cpp

    return {
        "key": f"llama.cpp/{gguf.name}/t{num_threads}",
        "backend": "llama.cpp",
        "label": "llama.cpp Q4_1 (GGUF)",
        "weight_dtype": "q4_1",
        "status": "ok",
        "llama_cpp_version": llama_cpp.__version__,
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "prefill_ms": prefill_stats.median * 1000,
        "prefill_ms_p90": prefill_stats.p90 * 1000,
        "prefill_tokens_per_s": prompt_tokens / prefill_stats.median,
        "decode_ms_per_token": decode_stats.median / new_tokens * 1000,
        "decode_ms_per_token_p90": decode_stats.p90 / new_tokens * 1000,
        "decode_tokens_per_s": new_tokens / decode_stats.median,
        "decode_ms_samples": [round(t / new_tokens * 1000, 3) for t in decode_stats.seconds],  # per run: intervals
        "prefill_ms_samples": [round(t * 1000, 3) for t in prefill_stats.seconds],
        "model_bytes": gguf.stat().st_size,
        "peak_rss_mb": timing.peak_rss_mb(),
        **timing.environment_record(num_threads),
    }


def run(out: Path, num_threads: int = 2, **kwargs: Any) -> dict[str, Any]:
    """Benchmark the peer if installed (else record why not) and append the row to ``out``."""

    if llama_cpp_available():
        row = benchmark_llama_cpp(num_threads=num_threads, **kwargs)
    else:
        row = {
            **timing.profile_record(num_threads),
            "key": f"llama.cpp/t{num_threads}",
            "backend": "llama.cpp",
            "label": "llama.cpp Q4_1 (GGUF)",
            "status": "not installed",
            "reason": f"llama-cpp-python is not installed (optional extra): {INSTALL_HINT}",
        }
    ResultsStore(out).append(row)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=None, help="results file (default results/<profile>/peers.jsonl)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args(argv)
    out = args.out or results_path("peers", num_threads=args.threads)
    row = run(out, args.threads, iterations=args.iterations)
    print({k: row[k] for k in row if k in ("status", "reason", "prefill_tokens_per_s", "decode_tokens_per_s")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
