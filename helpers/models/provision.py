"""Notebooks 00, 01, 02, 03, 04, 06: ``python -m helpers.models``: build and verify every offline model."""

from __future__ import annotations

import sys
import time
from typing import Any

from helpers.core.cache import folder_size_bytes, read_manifest
from helpers.core.settings import enforce_offline
from helpers.models.causal_lm import causal_lm_dir, verify_causal_lm
from helpers.models.common import ModelPackageMissing
from helpers.models.embedding import embedding_model_dir, verify_embedding


# ----------------------------------------------------------------------------------------------------- all of it
def provision_all(verify: bool = True, rebuild: bool = False) -> dict[str, Any]:
    """Build (once) and optionally verify both models; returns paths, sizes, build times and check results."""
    enforce_offline()
    summary: dict[str, Any] = {}
    for key, builder in (("embedding", embedding_model_dir), ("causal_lm", causal_lm_dir)):
        start = time.perf_counter()
        folder = builder(rebuild=rebuild)
        manifest = read_manifest(folder) or {}
        summary[key] = {
            "path": str(folder),
            "size_bytes": folder_size_bytes(folder),
            "seconds": round(time.perf_counter() - start, 2),
            "build_seconds": manifest.get("build_seconds"),
            "source_sha256": manifest.get("source", {}).get("sha256"),
        }
    if verify:
        summary["embedding"]["check"] = verify_embedding(summary["embedding"]["path"])
        start = time.perf_counter()
        summary["causal_lm"]["check"] = verify_causal_lm(summary["causal_lm"]["path"])
        summary["causal_lm"]["check_seconds"] = round(time.perf_counter() - start, 2)
    return summary


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.models [--rebuild] [--no-verify]``: provision both models and print a summary."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if the cache folders are current")
    parser.add_argument("--no-verify", action="store_true", help="skip the embedding and generation checks")
    args = parser.parse_args(argv)
    try:
        summary = provision_all(verify=not args.no_verify, rebuild=args.rebuild)
    except ModelPackageMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for key, info in summary.items():
        print(f"{key}: {info['path']} ({info['size_bytes'] / 1e6:.1f} MB, {info['seconds']} s)")
        if "check" in info:
            print(f"  check: {info['check']}")
    return 0

