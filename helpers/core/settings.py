"""Every notebook: Paths, offline mode and thread settings shared by every notebook, benchmark and test."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from helpers import device

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
DATA_DIR: Path = REPO_ROOT / "data"
NOTEBOOKS_DIR: Path = REPO_ROOT / "notebooks"

#: Environment variable that moves the model cache (built models, ONNX/OpenVINO exports).
CACHE_ENV = "COOKBOOK_CACHE"
#: Environment variable that moves where benchmark results are written.
RESULTS_ENV = "COOKBOOK_RESULTS"
#: The committed results: ``results/<profile>/<kind>.jsonl``, the reference runs shown beside this machine's.
COMMITTED_RESULTS: Path = REPO_ROOT / "results"
_KIND_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}
#: openvino-telemetry's consent file (its documented switch; 2025.2 ignores environment variables, so a variable such
#: as OPENVINO_TELEMETRY_DISABLE does nothing): "0" is opted out. Without the file, model conversion (ovc) and NNCF
#: send events over the network: offline, a SmolLM2 export took 112 s with the attempts and 33 s without (2 cores).
TELEMETRY_CONSENT_FILE = Path.home() / "intel" / "openvino_telemetry"


def enforce_offline() -> None:
    """Make every Hugging Face / OpenVINO library refuse to touch the network (idempotent)."""
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


def opt_out_of_openvino_telemetry(consent_file: Path = TELEMETRY_CONSENT_FILE) -> str:
    """Write openvino-telemetry's opt-out ("0") unless the machine's owner has already chosen; say what was done.

    What ``opt_in_out --opt_out`` writes, without the opt-out event that tool sends over the network.
    """
    if consent_file.exists():
        choice = consent_file.read_text().strip()
        return f"OpenVINO telemetry: left as this machine has it ({consent_file} holds {choice!r}; 0 is opted out)"
    try:
        consent_file.parent.mkdir(parents=True, exist_ok=True)
        consent_file.write_text("0")
    except OSError as err:
        return f"OpenVINO telemetry: could not write {consent_file} ({err}); OpenVINO tools may try the network"
    return f"OpenVINO telemetry: opted out, the cookbook is offline ({consent_file} = 0; opt_in_out --opt_in undoes it)"


#: Third-party messages known to be harmless here, silenced by :func:`quiet_known_noise` (exact text starts; nothing
#: else is filtered): IPEX's CPU-autocast and BatchNorm-folding notices on a model without BatchNorm, transformers'
#: deprecation notices of the pinned 4.38, and the tracer's note while exporting to OpenVINO.
KNOWN_NOISE: tuple[str, ...] = (
    "In CPU autocast, but the target dtype is not supported",
    "Conv BatchNorm folding failed during the optimize process",
    "Linear BatchNorm folding failed during the optimize process",
    "`_is_quantized_training_enabled` is going to be deprecated",
    "Converting a tensor to a Python boolean might cause the trace to be incorrect",
    "The class `HuggingFacePipeline` was deprecated",  # langchain-community: the recipe uses it as documented
    "`langchain-community` is being sunset",  # its import warns; the seed classes live there and nowhere else
    'install "ipywidgets" for Jupyter support',  # rich (NNCF's progress display) in a kernel without widgets
)
#: Known log records of neural-compressor's ``neural_compressor`` logger (which ITREX logs through too) and of the
#: root logger: a rename in ITREX's own code path, a distributed-tuning hint that does not apply here, and ITREX's
#: import-time complaint about a transformers version it is in fact running with.
KNOWN_LOG_NOISE: tuple[str, ...] = (
    "use_llm_runtime is deprecated in version 1.3.2",
    "[Strategy] Please install `mpi4py` correctly",
    "`transformers` version >= 4.31 is requirements by intel-extension-for-transformers",  # root logger, at import
)


class _KnownLogNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(known in message for known in KNOWN_LOG_NOISE)


def quiet_known_noise(progress_bars: bool = False) -> None:
    """Silence the :data:`KNOWN_NOISE` warnings and :data:`KNOWN_LOG_NOISE` log records (the one place they are
    filtered; known messages only) and, unless ``progress_bars``,
    third-party tqdm bars in this process (``TQDM_DISABLE``): for benchmark workers whose output lands in a notebook."""
    import warnings

    for message in KNOWN_NOISE:
        warnings.filterwarnings("ignore", message=f"{re.escape(message)}.*")
    for log in (logging.getLogger("neural_compressor"), logging.getLogger()):  # ITREX also warns on the root logger
        if not any(isinstance(f, _KnownLogNoise) for f in log.filters):
            log.addFilter(_KnownLogNoise())
    if not progress_bars:
        os.environ["TQDM_DISABLE"] = "1"


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


def results_path(
    kind: str, *, num_threads: int | None = None, profile: str | None = None, root: str | Path | None = None
) -> Path:
    """``<root>/<profile>/<kind>.jsonl``: the one name of a results file (``root`` default: :func:`results_dir`).

    ``kind`` is what the file holds (``full``, ``openvino``, ``embedders``, ``peers``, ...). Give ``num_threads`` for
    this machine's file, or ``profile`` for another profile's (e.g. a committed reference); not both.
    """

    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise ValueError(f"kind={kind!r} is invalid: allowed values are lower-case names of a-z, 0-9, '-', '_'")
    if (num_threads is None) == (profile is None):
        raise ValueError(
            f"num_threads={num_threads!r}, profile={profile!r} are invalid: allowed is exactly one of them "
            "(num_threads: this machine's profile; profile: a named one)"
        )
    if profile is None:
        profile = device.machine_profile(num_threads)
    elif not device.is_profile(profile):
        raise ValueError(
            f"profile={profile!r} is invalid: allowed values are <cpu slug>-<isa class>-t<threads> with an isa class "
            f"in {', '.join(device.ISA_CLASSES)}"
        )
    base = Path(root).expanduser() if root is not None else results_dir()
    return base / profile / f"{kind}.jsonl"


def results_files(kind: str, root: str | Path | None = None) -> dict[str, Path]:
    """``{profile: path}`` of every ``<root>/<profile>/<kind>.jsonl`` (``root`` default: the committed results),
    sorted by profile; folders whose name is not a profile (``scratch``) are skipped."""

    base = Path(root) if root is not None else COMMITTED_RESULTS
    found = {path.parent.name: path for path in base.glob(f"*/{kind}.jsonl") if device.is_profile(path.parent.name)}
    return dict(sorted(found.items()))


def repo_relative(path: str | Path) -> str:
    """``path`` relative to the repository when it is inside it (as notebooks and the report print it), else as is."""
    path = Path(path)
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def without_checkout_path(text: str) -> str:
    """``text`` (an error, a traceback) with this checkout's absolute path dropped: results rows name no machine."""
    return text.replace(f"{REPO_ROOT}/", "")
