"""Every notebook: ``python -m helpers.models``: build and verify the offline models."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from helpers.core.cache import folder_size_bytes, read_manifest
from helpers.core.settings import enforce_offline
from helpers.models.causal_lm import causal_lm_dir, verify_causal_lm
from helpers.models.common import ModelFileMismatch, ModelPackageMissing
from helpers.models.embedding import embedding_model_dir, verify_embedding
from helpers.models.registry import CAUSAL_LMS, DEFAULT_CAUSAL_LM, get_causal_lm
from helpers.models.sources import causal_lm_gguf_path, piece_paths


# ----------------------------------------------------------------------------------------------------- all of it
def _summary(path: Path, start: float) -> dict[str, Any]:
    """Where a built model (a folder) or a checked GGUF (a file) is, its size, and what its manifest says."""
    manifest = read_manifest(path if path.is_dir() else path.parent) or {}
    return {
        "path": str(path),
        "size_bytes": folder_size_bytes(path),
        "seconds": round(time.perf_counter() - start, 2),
        "build_seconds": manifest.get("build_seconds"),
        "source_sha256": manifest.get("source", {}).get("sha256") or manifest.get("sha256"),
    }


def provision_all(
    verify: bool = True, rebuild: bool = False, causal_lms: Sequence[str] | None = None
) -> dict[str, Any]:
    """Build (once) and optionally verify the embedding model and causal LMs; returns paths, sizes, build times and
    check results, keyed by model.

    Default: the GGUF of every registry model that is not an optional extra is found (pieces joined) and checked
    against its pinned sha256, and the default causal LM, the one the notebooks use, is converted; the others are
    converted on first use (``causal_lm_dir(model=...)``, ~1 min for the 0.5B). ``causal_lms``: convert these."""
    enforce_offline()
    required = [m for m in CAUSAL_LMS.values() if not m.optional]
    convert = [get_causal_lm(n) for n in causal_lms] if causal_lms is not None else [get_causal_lm(DEFAULT_CAUSAL_LM)]
    for spec in {s.name: s for s in (*required, *convert)}.values():
        piece_paths(spec)  # a missing piece fails here, before any build
    summary: dict[str, Any] = {}
    start = time.perf_counter()
    summary["embedding"] = _summary(embedding_model_dir(rebuild=rebuild), start)
    for spec in (s for s in required if s not in convert):
        start = time.perf_counter()
        summary[f"{spec.name} (GGUF)"] = _summary(causal_lm_gguf_path(spec), start)
    for spec in convert:
        start = time.perf_counter()
        summary[spec.name] = _summary(causal_lm_dir(rebuild=rebuild, model=spec), start)
    if verify:
        summary["embedding"]["check"] = verify_embedding(summary["embedding"]["path"])
        for spec in convert:
            start = time.perf_counter()
            summary[spec.name]["check"] = verify_causal_lm(summary[spec.name]["path"])
            summary[spec.name]["check_seconds"] = round(time.perf_counter() - start, 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.models [--model NAME ...] [--rebuild] [--no-verify]``: provision and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        action="append",
        choices=list(CAUSAL_LMS),
        help="causal LM(s) to convert and verify (default: the notebooks' model; the others' GGUFs are checked)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if the cache folders are current")
    parser.add_argument("--no-verify", action="store_true", help="skip the embedding and generation checks")
    args = parser.parse_args(argv)
    try:
        summary = provision_all(verify=not args.no_verify, rebuild=args.rebuild, causal_lms=args.model)
    except (ModelPackageMissing, ModelFileMismatch) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, info in summary.items():
        print(f"{key}: {info['path']} ({info['size_bytes'] / 1e6:.1f} MB, {info['seconds']} s)")
        if "check" in info:
            print(f"  check: {info['check']}")
    return 0
