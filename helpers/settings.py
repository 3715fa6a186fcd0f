"""Paths, offline mode and thread settings shared by every notebook, benchmark and test."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT: Path = Path(__file__).resolve().parent.parent
DATA_DIR: Path = REPO_ROOT / "data"
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"

#: Environment variable that moves the model cache (built models, ONNX/OpenVINO exports).
CACHE_ENV = "COOKBOOK_CACHE"
#: Environment variable that moves where benchmark results are written.
RESULTS_ENV = "COOKBOOK_RESULTS"

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "OPENVINO_TELEMETRY_DISABLE": "1",  # openvino-telemetry would otherwise try the network
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce_offline() -> None:
    """Make every Hugging Face / OpenVINO library refuse to touch the network (idempotent)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def cache_dir() -> Path:
    """Folder for models built from the offline packages; ``$COOKBOOK_CACHE`` overrides ``<repo>/.cache``."""
    path = Path(os.environ.get(CACHE_ENV, REPO_ROOT / ".cache")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir(name: str = "") -> Path:
    """Folder where benchmarks write result files; ``$COOKBOOK_RESULTS`` overrides ``<repo>/results``."""
    path = Path(os.environ.get(RESULTS_ENV, REPO_ROOT / "results")).expanduser() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def set_threads(num_threads: int) -> int:
    """Fix the compute thread count for torch, OpenMP and BLAS so that every benchmark uses the same.

    Returns the thread count set. OpenVINO takes it separately: pass ``ov_config(num_threads)``.
    """
    if not isinstance(num_threads, int) or isinstance(num_threads, bool) or num_threads < 1:
        raise ValueError(f"num_threads={num_threads!r} is invalid: allowed values are integers >= 1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(num_threads)
    try:
        import torch

        torch.set_num_threads(num_threads)
    except ImportError:  # torch is optional for the light helpers
        pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(num_threads)
    except ImportError:
        pass
    return num_threads


def ov_config(num_threads: int, hint: str = "LATENCY") -> dict[str, str]:
    """OpenVINO runtime config with a fixed thread count and no model cache on disk.

    ``INFERENCE_NUM_THREADS=1`` has crashed OpenVINO LLM compilation (SIGFPE), so 1 is raised to 2 there
    by callers that compile LLMs; embeddings are fine with 1.
    """
    return {"INFERENCE_NUM_THREADS": str(num_threads), "PERFORMANCE_HINT": hint, "CACHE_DIR": ""}


def machine_tag(num_threads: int) -> str:
    """File-name tag of this CPU and thread count (``amd-epyc-t2``): results from another machine never mix in."""
    import re

    from helpers.device import CpuInfo

    slug = re.sub(r"[^a-z0-9]+", "-", CpuInfo.from_host().model_name.lower()).strip("-") or "cpu"
    return f"{slug[:40]}-t{num_threads}"
