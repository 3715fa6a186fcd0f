"""Notebook 06: the memory floor of a decode step: this machine's memory bandwidth (a STREAM-style triad at the
benchmark's thread count) and the bytes one decode step must read (the weights in their stored format, the
embedding table excepted unless it is also the output layer, plus the KV cache at the benchmark's context length).
bytes / bandwidth is the least time a step can take when every byte comes from memory once: a runtime's share of
that floor (floor / measured time per token) says how close to the memory it runs.

    python -m helpers.latency.floor [--threads 2]    # prints the triad; rows go to results/<profile>/bandwidth.jsonl
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from helpers import models
from helpers.core.intervals import bootstrap_ci
from helpers.core.results import ResultsStore
from helpers.core.settings import results_path
from helpers.core.timing import profile_record, triad_gb_s
from helpers.latency.runtimes import genai_settings

#: Bytes per KV-cache element by runtime (defaults: OpenVINO 2024.3+ on CPU keeps K/V in u8 (+ per-group scales,
#: ignored here), llama.cpp in f16, torch and ITREX in fp32).
KV_BYTES = {"torch": 4.0, "itrex": 4.0, "optimum-intel": 1.0, "genai-2026": 1.0, "genai-2024.2": 2.0, "llama.cpp": 2.0}
KV_PRECISION_BYTES = {"u8": 1.0, "f16": 2.0, "bf16": 2.0, "f32": 4.0}
#: ITREX's int4_clip g32 packs 4-bit weights with an fp32 scale per 32 and keeps lm_head fp32 (checked in notebook 03).
ITREX_INT4_G32_BYTES_PER_WEIGHT = 0.5 + 4 / 32


def measure_bandwidth(threads: int, sitting: str, out: Path | None = None) -> dict[str, Any]:
    """Measure the triad now and append it (key ``t<threads>/<sitting>``, e.g. the model run it sits beside) to the
    profile's ``bandwidth`` results; every call measures (the key carries the time, so a later run of the same
    model adds its own sitting's triad instead of reusing an earlier one)."""
    store = ResultsStore(out or results_path("bandwidth", num_threads=threads))
    key = f"t{threads}/{sitting}/{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}"
    samples = triad_gb_s(threads)
    ci = bootstrap_ci(np.asarray(samples), np.median)
    row = {
        "key": key,
        "status": "ok",
        "threads": threads,
        "sitting": sitting,
        "triad_gb_s_samples": [round(s, 2) for s in samples],
        "median_triad_gb_s": round(ci.value, 2),
        "triad_gb_s_lo": round(ci.lo, 2),
        "triad_gb_s_hi": round(ci.hi, 2),
        **profile_record(threads),
    }
    store.append(row)
    return row


def _safetensors_bytes(folder: Path) -> dict[str, int]:
    """Tensor name -> bytes, from the headers of a folder's safetensors files (no tensor is loaded)."""
    sizes: dict[str, int] = {}
    for path in sorted(folder.glob("*.safetensors")):
        with path.open("rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(length))
        for name, info in header.items():
            if name != "__metadata__":
                start, end = info["data_offsets"]
                sizes[name] = end - start
    return sizes


def hf_weight_bytes(folder: Path, bytes_per_linear_weight: float | None = None) -> int:
    """Bytes a decode step reads from an fp32 HF folder (``bytes_per_linear_weight`` re-prices the decoder's 2-D
    Linear weights, e.g. ITREX's packed int4; lm_head keeps fp32). The embedding table counts only when it is also the
    output layer (tied weights have no ``lm_head.weight``)."""
    sizes = _safetensors_bytes(folder)
    embedding = next((n for n in sizes if n.endswith("embed_tokens.weight")), None)
    tied = not any(n.endswith("lm_head.weight") for n in sizes)
    total = 0
    for name, size in sizes.items():
        if name == embedding and not tied:
            continue
        linear = name.endswith("proj.weight") and "layers." in name
        total += int(size / 4 * bytes_per_linear_weight) if linear and bytes_per_linear_weight else size
    return total


def gguf_weight_bytes(path: Path) -> int:
    """Bytes a decode step reads from a GGUF file: every tensor, ``token_embd`` only when there is no ``output``."""
    from gguf import GGUFReader

    tensors = {t.name: int(t.n_bytes) for t in GGUFReader(str(path)).tensors}
    skip = "token_embd.weight" if "output.weight" in tensors else None
    return sum(size for name, size in tensors.items() if name != skip)


def ir_weight_bytes(xml: Path) -> int:
    """Bytes a decode step reads from an OpenVINO IR: its weights file, less the constants that only feed the embedding
    lookup (a Gather's data input, through its decompression chain). Nodes are told apart by their unique
    names (friendly names repeat)."""
    import openvino as ov

    model = ov.Core().read_model(xml)

    def upstream_constants(node: Any) -> set[str]:
        found, stack = set(), [node]
        while stack:
            current = stack.pop()
            if current.get_type_name() == "Constant":
                found.add(current.get_name())
                continue
            if current.get_type_name() in ("Convert", "Subtract", "Multiply", "Reshape"):
                stack += [i.get_source_output().get_node() for i in current.inputs()]
        return found

    sizes = {op.get_name(): op.get_byte_size() for op in model.get_ops() if op.get_type_name() == "Constant"}
    gathered: set[str] = set()
    multiplied: set[str] = set()
    for op in model.get_ops():
        if op.get_type_name() == "Gather":
            gathered |= upstream_constants(op.input(0).get_source_output().get_node())
        elif op.get_type_name() == "MatMul":
            for port in op.inputs():
                multiplied |= upstream_constants(port.get_source_output().get_node())
    # the .bin stores each distinct blob once (constants may share one): start from it, not from the constants' sum
    embedding_only = sum(size for name, size in sizes.items() if name in gathered - multiplied)
    return xml.with_suffix(".bin").stat().st_size - embedding_only


def kv_cache_bytes(model_dir: Path, runtime: str, context_tokens: int, precision: str | None = None) -> int:
    """Bytes of K and V a decode step reads at ``context_tokens``, from the model's config and the runtime's KV
    element size (:data:`KV_BYTES`), or ``precision`` when a setting chose it (``KV_CACHE_PRECISION``)."""
    config = json.loads((model_dir / "config.json").read_text())
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads", heads)
    head_dim = config["hidden_size"] // heads
    elements = 2 * config["num_hidden_layers"] * kv_heads * head_dim * context_tokens
    size = KV_PRECISION_BYTES[precision] if precision else KV_BYTES.get(runtime, 4.0)
    return int(elements * size)


def decode_step_bytes(case: Any, weights_path: Path | None, context_tokens: int) -> dict[str, int | None]:
    """``{"weights": ..., "kv_cache": ...}`` bytes one decode step of ``case`` reads (weights None where the format
    is not stored in a file we can read, e.g. optimum-intel's own copy is the same IR: it is read as such)."""
    model_dir = models.causal_lm_dir(model=case.model_name)
    if case.runtime == "torch":
        weights: int | None = hf_weight_bytes(model_dir)
    elif case.runtime == "itrex":
        weights = hf_weight_bytes(model_dir, ITREX_INT4_G32_BYTES_PER_WEIGHT)
    elif weights_path is not None and weights_path.suffix == ".gguf":
        weights = gguf_weight_bytes(weights_path)
    elif weights_path is not None:
        weights = ir_weight_bytes(weights_path / "openvino_model.xml")
    else:
        weights = None
    precision = genai_settings(case.weights)[1].get("KV_CACHE_PRECISION") if case.runtime.startswith("genai") else None
    return {"weights": weights, "kv_cache": kv_cache_bytes(model_dir, case.runtime, context_tokens, precision)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sitting", default="alone", help="a name for this measurement (default: alone)")
    args = parser.parse_args(argv)
    row = measure_bandwidth(args.threads, args.sitting)
    print(f"triad, {args.threads} threads: {row['median_triad_gb_s']:.1f} GB/s "
          f"[{row['triad_gb_s_lo']:.1f}, {row['triad_gb_s_hi']:.1f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
