"""Named sentence embedders for the cookbook, every one a LangChain ``Embeddings`` built offline from all-MiniLM-L6-v2.

All of them return L2-normalized, mean-pooled 384-dim vectors, comparable with sentence-transformers (the
``hf-fp32`` baseline). Models come from :func:`helpers.models.embedding_model_dir`; anything exported or
quantized is built once into ``cache_dir()`` (temporary folder + rename, under a file lock, with a
``cookbook_manifest.json``) and reused.

===========================  ========  ==============================================================
name                         family    what really runs
===========================  ========  ==============================================================
``hf-fp32``                  baseline  sentence-transformers (PyTorch fp32) via ``HuggingFaceEmbeddings``
``ipex-bi-encoder``          seed      ``QuantizedBiEncoderEmbeddings`` on the fp32 folder, ``export=True``:
                                       IPEX-optimized TorchScript, **fp32** (traced at every load)
``ipex-int8-bi-encoder``     seed      ``QuantizedBiEncoderEmbeddings`` on a TorchScript built here with IPEX
                                       static int8 (``nn.Linear`` int8, attention matmuls/adds fp32)
``itrex-bge-engine``         seed      ``QuantizedBgeEmbeddings`` (ITREX neural engine) on an **fp32** ONNX
                                       export; needs AVX-512 (see :data:`ITREX_ENGINE_NOTES`)
``ov-fp32``                  openvino  OpenVINO IR, ``INFERENCE_PRECISION_HINT=f32``, via ``OpenVINOEmbeddings``
``ov-bf16``                  openvino  same IR with ``INFERENCE_PRECISION_HINT=bf16``; only on bf16 CPUs
``ov-int8-wc``               openvino  NNCF ``compress_weights`` (int8 weights, fp32 activations)
``ov-int8-static``           openvino  NNCF ``quantize`` (int8 weights and activations, calibrated)
===========================  ========  ==============================================================

Threads: torch-based embedders go through :func:`helpers.settings.set_threads` (``torch.set_num_threads`` and
``OMP_NUM_THREADS``); OpenVINO ones get ``INFERENCE_NUM_THREADS`` from :func:`helpers.settings.ov_config`. The ITREX
engine is OpenMP code with no thread argument: ``set_threads`` runs before it is loaded, so ``OMP_NUM_THREADS`` and
the OpenMP runtime it shares with torch (the same ``libgomp-a34b3233.so.1``) carry the count; this could not be
checked on an AVX2-only CPU, where the engine cannot load at all.

API: :data:`EMBEDDERS` (name -> :class:`EmbedderSpec`), :func:`build_embedder`, :func:`build_artifact` (the cached
export without loading it), :func:`model_artifact_path` (weights file, for size on disk),
:func:`available_embedders` / :func:`unavailable_reason` / :func:`embedder_table` (what runs on this machine).

OpenVINO export note: with torch 2.1.2 optimum-intel's direct PyTorch -> OpenVINO conversion of BERT fails
("prim::GetAttr ... Failed to obtain data from GetAttr with output tensor name: embeddings") and optimum-intel
falls back to exporting through ONNX on its own; the resulting IR matches PyTorch.

Calibrated embedders (``ipex-int8-bi-encoder``, ``ov-int8-static``) need ``calibration_texts``; their cache
folder name carries a hash of those texts, so a test's calibration never overwrites a notebook's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.settings import REPO_ROOT, cache_dir, enforce_offline, ov_config, set_threads

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

EMBEDDING_DIM = 384
#: sentence-transformers' ``max_seq_length`` for all-MiniLM-L6-v2; the seed classes default to 512, so pass it.
MAX_SEQ_LEN = 256
BATCH_SIZE = 32
#: Texts used for calibration at most (NNCF ``subset_size``; IPEX observers see the same texts).
CALIBRATION_SUBSET = 300
#: Bump when a build recipe below changes, so cached folders are rebuilt.
RECIPE_VERSION = 1
#: ``QuantizedBgeEmbeddings`` takes ``onnx_file_name`` (default ``"int8-model.onnx"``, it is not hard-coded), so
#: the fp32 export keeps a truthful name.
ITREX_ONNX_FILE = "fp32-model.onnx"
ITREX_ONNX_OPSET = 14
#: Input order of the ONNX export: ``QuantizedBgeEmbeddings`` feeds the engine ``list(tokenizer_output.values())``.
ITREX_INPUT_NAMES = ("input_ids", "token_type_ids", "attention_mask")

ITREX_ENGINE_NOTES = (
    "QuantizedBgeEmbeddings runs the ITREX 1.3.2 neural engine. Its native library needs AVX-512: on an AVX2-only "
    "CPU (AMD EPYC, no avx512f) the first embed_documents() kills the Python process with SIGILL ('Illegal "
    "instruction', exit 132) while importing intel_extension_for_transformers.neural_engine_py: the static "
    "initializer jd::jit_generator::jit_generator in libkernellibs.so executes 'vpbroadcastq %r13,%xmm0' (an "
    "AVX-512 encoding). build_embedder() therefore checks the avx512f flag and then imports the engine in a child "
    "process, and raises EmbedderUnavailable instead of crashing the kernel. The model it is given is an fp32 ONNX "
    "export (opset 14, one output last_hidden_state, inputs input_ids/token_type_ids/attention_mask), checked "
    "against PyTorch with onnxruntime at build time. No int8 ONNX is built: an int8 file can only be accepted or "
    "rejected by the engine itself, which cannot run on a CPU without AVX-512, so none could be validated. "
    "model_kwargs are ignored by this class (it calls AutoModel.from_pretrained(onnx_path, "
    "use_embedding_runtime=True) with cast_type 'native'), so the engine's own dynamic_int8 cast is not reachable "
    "through LangChain either."
)

IPEX_INT8_NOTES = (
    "ipex-int8-bi-encoder is IPEX 2.1 static post-training quantization, saved as TorchScript (pytorch_model.bin, "
    "config.torchscript=true) so QuantizedBiEncoderEmbeddings loads it the way it loads Intel's int8-static hub "
    "models. Recipe: ipex.quantization.prepare with MinMaxObserver (activations quint8 per tensor) and "
    "PerChannelMinMaxObserver (weights qint8 per channel), calibration on up to 300 texts, then the qconf summary "
    "is edited so only nn.Linear runs int8 (attention matmuls and residual adds fall back to fp32), convert, "
    "torch.jit.trace + freeze. What did not work: IPEX's default_static_qconfig_mapping (HistogramObserver) fails "
    "during calibration with 'OverflowError: cannot convert float infinity to integer' "
    "(torch HistogramObserver._adjust_min_max; BERT's additive attention mask holds float32 min); MinMax "
    "observers on every op (Linear + matmul + add) work but ran slower than IPEX fp32 on an AVX2 CPU without "
    "VNNI; default_dynamic_qconfig_mapping (dynamic int8 Linear) was the fastest but its cosine to fp32 fell "
    "below 0.98. The optimum-intel INCQuantizer route was not needed once this worked."
)


class EmbedderError(RuntimeError):
    """Base class for embedder problems that the notebook should show instead of a traceback."""


class MissingPackagesError(EmbedderError, ImportError):
    """An embedder needs Python packages that are not installed; the message says what to ``pip install``."""


class EmbedderUnavailable(EmbedderError):
    """The embedder cannot run on this machine (CPU features), although its packages are installed."""


@dataclass(frozen=True)
class EmbedderSpec:
    """What an embedder is: LangChain class, the precision it really computes in, and what it needs."""

    name: str
    family: str  # "baseline" | "seed" | "openvino"
    precision: str
    description: str
    langchain_class: str
    #: ``(pip name, import name)`` pairs checked with ``importlib.util.find_spec`` before any heavy work.
    packages: tuple[tuple[str, str], ...]
    needs_calibration: bool = False
    #: ``/proc/cpuinfo``-level requirement in words ("" = any x86-64 CPU with AVX2).
    cpu_requirement: str = ""

    @property
    def pip_names(self) -> tuple[str, ...]:
        return tuple(pip for pip, _ in self.packages)


_LC = ("langchain-community", "langchain_community")
_TORCH = ("torch", "torch")
_TRANSFORMERS = ("transformers", "transformers")
_IPEX = ("intel-extension-for-pytorch", "intel_extension_for_pytorch")
_OPTIMUM_INTEL = ("optimum-intel", "optimum.intel")
_OPENVINO = ("openvino", "openvino")
_NNCF = ("nncf", "nncf")
_OV_PACKAGES = (_LC, _TORCH, _TRANSFORMERS, _OPTIMUM_INTEL, _OPENVINO)

EMBEDDERS: dict[str, EmbedderSpec] = {
    spec.name: spec
    for spec in (
        EmbedderSpec(
            "hf-fp32",
            "baseline",
            "fp32",
            "sentence-transformers on PyTorch, mean pooling + L2 normalization (the reference)",
            "langchain_community.embeddings.HuggingFaceEmbeddings",
            (_LC, ("sentence-transformers", "sentence_transformers"), _TORCH),
        ),
        EmbedderSpec(
            "ipex-bi-encoder",
            "seed",
            "fp32",
            "IPEX-optimized TorchScript of the fp32 model (optimum-intel IPEXModel, export=True); no quantization",
            "langchain_community.embeddings.QuantizedBiEncoderEmbeddings",
            (_LC, _TORCH, _TRANSFORMERS, _IPEX, _OPTIMUM_INTEL),
        ),
        EmbedderSpec(
            "ipex-int8-bi-encoder",
            "seed",
            "int8 static (Linear layers), fp32 attention",
            "IPEX static int8 TorchScript built here (see IPEX_INT8_NOTES), loaded without export",
            "langchain_community.embeddings.QuantizedBiEncoderEmbeddings",
            (_LC, _TORCH, _TRANSFORMERS, _IPEX, _OPTIMUM_INTEL),
            needs_calibration=True,
        ),
        EmbedderSpec(
            "itrex-bge-engine",
            "seed",
            "fp32 (ONNX export; no int8 could be validated)",
            "ITREX neural engine on an fp32 ONNX export (see ITREX_ENGINE_NOTES)",
            "langchain_community.embeddings.QuantizedBgeEmbeddings",
            (
                _LC,
                _TORCH,
                _TRANSFORMERS,
                ("intel-extension-for-transformers", "intel_extension_for_transformers"),
                ("onnx", "onnx"),
                ("onnxruntime", "onnxruntime"),
            ),
            cpu_requirement="AVX-512 (avx512f): the neural engine library dies with SIGILL without it",
        ),
        EmbedderSpec(
            "ov-fp32",
            "openvino",
            "fp32",
            "OpenVINO IR exported with optimum-intel, inference precision hint f32",
            "langchain_community.embeddings.OpenVINOEmbeddings",
            _OV_PACKAGES,
        ),
        EmbedderSpec(
            "ov-bf16",
            "openvino",
            "bf16 compute (fp32 weights)",
            "the ov-fp32 IR with INFERENCE_PRECISION_HINT=bf16",
            "langchain_community.embeddings.OpenVINOEmbeddings",
            _OV_PACKAGES,
            cpu_requirement="native bf16 (avx512_bf16 or amx_bf16)",
        ),
        EmbedderSpec(
            "ov-int8-wc",
            "openvino",
            "int8 weights, fp32 activations",
            "NNCF compress_weights (INT8_ASYM, per channel) of the ov-fp32 IR",
            "langchain_community.embeddings.OpenVINOEmbeddings",
            (*_OV_PACKAGES, _NNCF),
        ),
        EmbedderSpec(
            "ov-int8-static",
            "openvino",
            "int8 weights and activations (static)",
            f"NNCF quantize (ModelType.TRANSFORMER, subset_size up to {CALIBRATION_SUBSET}) of the ov-fp32 IR",
            "langchain_community.embeddings.OpenVINOEmbeddings",
            (*_OV_PACKAGES, _NNCF),
            needs_calibration=True,
        ),
    )
}


# ------------------------------------------------------------------------------------------------ lookups/checks
def get_spec(name: str) -> EmbedderSpec:
    """The :class:`EmbedderSpec` for ``name``; ValueError naming the value and the allowed names otherwise."""
    try:
        return EMBEDDERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown embedder {name!r}: allowed names are {', '.join(EMBEDDERS)}") from None


@lru_cache(maxsize=1)
def _requirement_pins() -> dict[str, str]:
    """``{normalized name: 'name==version'}`` from requirements.txt, so install hints match the pinned set."""
    pins: dict[str, str] = {}
    try:
        lines = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    except OSError:
        return pins
    for line in lines:
        requirement = line.split("#", 1)[0].strip()
        if "==" in requirement:
            pins[re.sub(r"[-_.]+", "-", requirement.split("==")[0].strip().lower())] = requirement
    return pins


def _pip_requirement(pip_name: str) -> str:
    return _requirement_pins().get(re.sub(r"[-_.]+", "-", pip_name.lower()), pip_name)


def _module_missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a missing parent package raises for dotted names
        return True


def missing_packages(name: str) -> list[str]:
    """pip names of the packages ``name`` needs that are not importable (checked without importing them)."""
    return [pip for pip, module in get_spec(name).packages if _module_missing(module)]


def check_packages(name: str) -> None:
    """Raise :class:`MissingPackagesError` with the exact ``pip install`` line if a package is missing."""
    missing = missing_packages(name)
    if missing:
        line = "pip install " + " ".join(_pip_requirement(pip) for pip in missing)
        raise MissingPackagesError(
            f"embedder {name!r} needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
            f"installed. Install with: {line}"
        )


def _cpu() -> Any:
    from helpers.device import CpuInfo

    return CpuInfo.from_host()


def _probe_itrex_engine() -> str | None:
    """Import the ITREX engine in a child process (it may die with SIGILL); None if it loads, else why not."""
    return _probe_itrex_engine_cached(sys.executable)


@lru_cache(maxsize=2)
def _probe_itrex_engine_cached(python: str) -> str | None:
    code = "import intel_extension_for_transformers.neural_engine_py"
    try:
        result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "importing intel_extension_for_transformers.neural_engine_py timed out in a child process"
    if result.returncode == 0:
        return None
    if result.returncode < 0:
        how = f"killed by {signal.Signals(-result.returncode).name}"
    else:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        how = f"exit code {result.returncode}: {tail}"
    return f"importing intel_extension_for_transformers.neural_engine_py in a child process failed ({how})"


def unavailable_reason(name: str, probe: bool = False) -> str | None:
    """Why ``name`` cannot be built here (missing packages, CPU features), or None.

    ``probe=True`` also imports the ITREX engine in a child process (a few seconds), the definitive check.
    """
    spec = get_spec(name)
    missing = missing_packages(name)
    if missing:
        return f"missing packages: {', '.join(missing)}"
    if name == "itrex-bge-engine":
        if not _cpu().avx512f:
            return "CPU has no avx512f; the ITREX neural engine dies with SIGILL (Illegal instruction) without it"
        if probe:
            return _probe_itrex_engine()
    if name == "ov-bf16" and not _cpu().has_bf16:
        return f"CPU lacks {spec.cpu_requirement}; OpenVINO would silently compute in fp32"
    return None


def available_embedders(probe: bool = False) -> list[str]:
    """Names that can be built on this machine, in registry order."""
    return [name for name in EMBEDDERS if unavailable_reason(name, probe=probe) is None]


def embedder_table() -> list[dict[str, Any]]:
    """One row per registered embedder (for a notebook DataFrame), with availability on this machine."""
    rows = []
    for spec in EMBEDDERS.values():
        rows.append(
            {
                "name": spec.name,
                "family": spec.family,
                "precision": spec.precision,
                "langchain_class": spec.langchain_class.rsplit(".", 1)[-1],
                "needs_calibration": spec.needs_calibration,
                "unavailable_reason": unavailable_reason(spec.name) or "",
                "description": spec.description,
            }
        )
    return rows


# ----------------------------------------------------------------------------------------------- cached builds
def source_model_dir() -> Path:
    """The plain Hugging Face folder of all-MiniLM-L6-v2 in the cache (built by :mod:`helpers.models`)."""
    from helpers.models import embedding_model_dir

    return embedding_model_dir()


#: Files copied from the source folder next to every export (config + tokenizer; no sentence-transformers files).
_SIDE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def _copy_side_files(source: Path, out: Path) -> None:
    for file_name in _SIDE_FILES:
        if (source / file_name).is_file():
            shutil.copy2(source / file_name, out / file_name)


def _versions(*dists: str) -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for dist in dists:
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = None
    return found


def calibration_key(texts: Sequence[str]) -> str:
    """Short stable hash of the calibration texts actually used (the first :data:`CALIBRATION_SUBSET`)."""
    digest = hashlib.sha256()
    for text in list(texts)[:CALIBRATION_SUBSET]:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:12]


def _check_calibration(name: str, texts: Sequence[str] | None) -> list[str]:
    if texts is None or isinstance(texts, str) or len(texts) == 0:
        raise ValueError(
            f"embedder {name!r} is statically quantized and needs calibration_texts: a non-empty list of str "
            f"(up to {CALIBRATION_SUBSET} are used), e.g. corpus chunks; got {type(texts).__name__}"
        )
    texts = list(texts)[:CALIBRATION_SUBSET]
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str) or not text.strip()]
    if bad:
        raise ValueError(f"calibration_texts must be non-empty strings; items {bad[:5]} are not")
    return texts


def _artifact_dir_name(name: str, calibration_texts: Sequence[str] | None = None) -> str:
    base = {"ov-bf16": "ov-fp32", "ipex-int8-bi-encoder": "ipex-int8-static"}.get(name, name)
    suffix = f"-{calibration_key(calibration_texts)}" if calibration_texts is not None else ""
    return f"embedder-{base}{suffix}"


def _cached_build(dir_name: str, recipe: dict[str, Any], build: Callable[[Path, Path], dict[str, Any]]) -> Path:
    """``cache_dir()/dir_name`` built by ``build(source_dir, tmp_dir)`` unless current (atomic, locked)."""
    from helpers.models import build_from_file

    source = source_model_dir()
    expected = {"kind": "embedder", "recipe_version": RECIPE_VERSION, **recipe}
    return build_from_file(dir_name, source / "model.safetensors", expected, lambda out: build(source, out))


def _tokenize(tokenizer: Any, texts: Sequence[str], return_tensors: str) -> dict[str, Any]:
    return dict(
        tokenizer(list(texts), padding=True, truncation=True, max_length=MAX_SEQ_LEN, return_tensors=return_tensors)
    )


# IPEX static int8 ------------------------------------------------------------------------------------------
def _build_ipex_int8(source: Path, out: Path, texts: list[str]) -> dict[str, Any]:
    import torch
    from intel_extension_for_pytorch.quantization import convert, prepare
    from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver, QConfig, QConfigMapping
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source, torchscript=True).eval()
    example = _tokenize(tokenizer, texts[:2], "pt")
    qconfig = QConfig(
        activation=MinMaxObserver.with_args(qscheme=torch.per_tensor_affine, dtype=torch.quint8),
        weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8, qscheme=torch.per_channel_symmetric),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "BatchNorm folding failed": BERT has no BatchNorm
        prepared = prepare(model, QConfigMapping().set_global(qconfig), example_kwarg_inputs=example, inplace=False)
    with torch.no_grad():
        for start in range(0, len(texts), BATCH_SIZE):
            prepared(**_tokenize(tokenizer, texts[start : start + BATCH_SIZE], "pt"))
    summary_path = out / "qconf_summary.json"
    prepared.save_qconf_summary(qconf_summary=str(summary_path))
    summary = json.loads(summary_path.read_text())
    int8_ops = fp32_ops = 0
    for module in summary.values():
        for op in module.get("q_op_infos", {}).values():
            if op.get("op_type_is_module") and "Linear" in op["op_type"]:
                int8_ops += 1
                continue
            fp32_ops += 1
            for info in op["input_tensor_infos"]:
                if info.get("force_dtype"):
                    info["force_dtype"] = info["inf_dtype"] = "torch.float32"
    summary_path.write_text(json.dumps(summary, indent=1))
    prepared.load_qconf_summary(qconf_summary=str(summary_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantized = convert(prepared)
        with torch.no_grad():
            traced = torch.jit.freeze(
                torch.jit.trace(quantized, example_kwarg_inputs=example, strict=False, check_trace=False)
            )
            traced(**example)
            traced(**example)
    torch.jit.save(traced, str(out / "pytorch_model.bin"))
    _copy_side_files(source, out)
    config = json.loads((out / "config.json").read_text())
    config["torchscript"] = True
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return {"calibration_texts": len(texts), "int8_ops": int8_ops, "fp32_fallback_ops": fp32_ops}


# ITREX fp32 ONNX ---------------------------------------------------------------------------------------------
def _build_itrex_onnx(source: Path, out: Path) -> dict[str, Any]:
    import numpy as np
    import onnxruntime
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source).eval()

    class LastHiddenState(torch.nn.Module):
        """One output only: the engine reads the first output as last_hidden_state."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, token_type_ids: Any, attention_mask: Any) -> Any:
            return self.inner(
                input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
            ).last_hidden_state

    sample = ["An ONNX export sample sentence.", "A second, somewhat longer sample sentence for the exporter."]
    example = _tokenize(tokenizer, sample, "pt")
    axes = {0: "batch", 1: "sequence"}
    wrapper = LastHiddenState(
        model
    ).eval()  # export restores the wrapper's mode afterwards: train() would enable dropout
    with torch.no_grad():
        torch.onnx.export(
            wrapper,
            tuple(example[key] for key in ITREX_INPUT_NAMES),
            str(out / ITREX_ONNX_FILE),
            input_names=list(ITREX_INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes={**{key: axes for key in ITREX_INPUT_NAMES}, "last_hidden_state": axes},
            opset_version=ITREX_ONNX_OPSET,
            do_constant_folding=True,
        )
        check = _tokenize(tokenizer, ["Checking the export with onnxruntime on a different length.", "Short."], "pt")
        expected = model(**check).last_hidden_state.numpy()
    session = onnxruntime.InferenceSession(str(out / ITREX_ONNX_FILE), providers=["CPUExecutionProvider"])
    got = session.run(None, {key: check[key].numpy() for key in ITREX_INPUT_NAMES})[0]
    max_abs_diff = float(np.abs(got - expected).max())
    if max_abs_diff > 1e-3:
        raise EmbedderError(f"ONNX export differs from PyTorch (max abs diff {max_abs_diff:.2e} > 1e-3)")
    _copy_side_files(source, out)
    return {"onnx_file": ITREX_ONNX_FILE, "opset": ITREX_ONNX_OPSET, "onnxruntime_max_abs_diff": max_abs_diff}


# OpenVINO --------------------------------------------------------------------------------------------------
def _build_ov_fp32(source: Path, out: Path) -> dict[str, Any]:
    from optimum.intel import OVModelForFeatureExtraction

    model = OVModelForFeatureExtraction.from_pretrained(source, export=True, compile=False)
    model.save_pretrained(out)  # optimum-intel saves with compress_to_fp16=False: fp32 weights
    _copy_side_files(source, out)
    return {"weights": "fp32"}


def _build_ov_int8_wc(fp32_dir: Path, source: Path, out: Path) -> dict[str, Any]:
    import nncf
    import openvino as ov

    model = ov.Core().read_model(fp32_dir / "openvino_model.xml")
    compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(compressed, out / "openvino_model.xml", compress_to_fp16=False)
    _copy_side_files(source, out)
    return {"mode": "INT8_ASYM"}


def _build_ov_int8_static(fp32_dir: Path, source: Path, out: Path, texts: list[str]) -> dict[str, Any]:
    import nncf
    import openvino as ov
    from transformers import AutoTokenizer

    model = ov.Core().read_model(fp32_dir / "openvino_model.xml")
    input_names = {port.get_any_name() for port in model.inputs}
    tokenizer = AutoTokenizer.from_pretrained(source)
    items = []
    for text in texts:  # one text per item: dynamic sequence length, no padding in the statistics
        encoded = _tokenize(tokenizer, [text], "np")
        items.append({key: value for key, value in encoded.items() if key in input_names})
    quantized = nncf.quantize(model, nncf.Dataset(items), model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items))
    ov.save_model(quantized, out / "openvino_model.xml", compress_to_fp16=False)
    _copy_side_files(source, out)
    return {"calibration_texts": len(items), "model_type": "TRANSFORMER"}


def _ov_embeddings(model_dir: Path, num_threads: int, precision_hint: str) -> Embeddings:
    from langchain_community.embeddings import OpenVINOEmbeddings

    config = {**ov_config(num_threads), "INFERENCE_PRECISION_HINT": precision_hint}
    embeddings = OpenVINOEmbeddings(
        model_name_or_path=str(model_dir),  # holds openvino_model.xml/.bin, so no export and no hub lookup
        model_kwargs={"device": "CPU", "ov_config": config},
        # CLS pooling (mean_pooling=False, the class default) is wrong for MiniLM; batch_size defaults to 4
        encode_kwargs={"mean_pooling": True, "normalize_embeddings": True, "batch_size": BATCH_SIZE},
    )
    import openvino as ov

    actual = embeddings.ov_model.request.get_property("INFERENCE_PRECISION_HINT")
    wanted = {"f32": ov.Type.f32, "bf16": ov.Type.bf16}[precision_hint]
    if actual != wanted:
        raise EmbedderUnavailable(
            f"OpenVINO compiled with INFERENCE_PRECISION_HINT={actual.get_type_name()}, not {wanted.get_type_name()}"
        )
    return embeddings


# ------------------------------------------------------------------------------------------------- public API
#: Weights file inside each embedder's folder (what :func:`model_artifact_path` returns).
_ARTIFACT_FILES = {
    "hf-fp32": "model.safetensors",
    "ipex-bi-encoder": "model.safetensors",
    "ipex-int8-bi-encoder": "pytorch_model.bin",
    "itrex-bge-engine": ITREX_ONNX_FILE,
    "ov-fp32": "openvino_model.bin",
    "ov-bf16": "openvino_model.bin",
    "ov-int8-wc": "openvino_model.bin",
    "ov-int8-static": "openvino_model.bin",
}


def build_artifact(name: str, calibration_texts: Sequence[str] | None = None) -> Path:
    """Build (once) and return the folder ``name`` loads from, without loading it for inference.

    Works where the embedder itself cannot run (e.g. the ITREX ONNX export on a CPU without AVX-512).
    ``hf-fp32`` and ``ipex-bi-encoder`` load the source folder itself; ``ov-bf16`` shares ``ov-fp32``'s IR.
    """
    spec = get_spec(name)
    check_packages(name)
    texts = _check_calibration(name, calibration_texts) if spec.needs_calibration else None
    enforce_offline()
    if name in ("hf-fp32", "ipex-bi-encoder"):
        return source_model_dir()
    if name == "ipex-int8-bi-encoder":
        assert texts is not None
        recipe = {
            "variant": name,
            "calibration": calibration_key(texts),
            **_versions("torch", "intel-extension-for-pytorch"),
        }
        return _cached_build(
            _artifact_dir_name(name, texts), recipe, lambda source, out: _build_ipex_int8(source, out, texts)
        )
    if name == "itrex-bge-engine":
        recipe = {"variant": name, "onnx_file": ITREX_ONNX_FILE, **_versions("torch", "onnx")}
        return _cached_build(_artifact_dir_name(name), recipe, _build_itrex_onnx)
    fp32_dir = _cached_build(
        _artifact_dir_name("ov-fp32"), {"variant": "ov-fp32", **_versions("openvino", "optimum-intel")}, _build_ov_fp32
    )
    if name in ("ov-fp32", "ov-bf16"):
        return fp32_dir
    versions = _versions("openvino", "optimum-intel", "nncf")
    if name == "ov-int8-wc":
        return _cached_build(
            _artifact_dir_name(name),
            {"variant": name, **versions},
            lambda source, out: _build_ov_int8_wc(fp32_dir, source, out),
        )
    if name == "ov-int8-static":
        assert texts is not None
        return _cached_build(
            _artifact_dir_name(name, texts),
            {"variant": name, "calibration": calibration_key(texts), **versions},
            lambda source, out: _build_ov_int8_static(fp32_dir, source, out, texts),
        )
    raise AssertionError(f"no builder for registered embedder {name!r}")  # pragma: no cover


def build_embedder(name: str, num_threads: int, calibration_texts: Sequence[str] | None = None) -> Embeddings:
    """Build embedder ``name`` as a LangChain ``Embeddings`` computing with ``num_threads`` threads.

    Exports/quantized models are built once into ``cache_dir()`` and reused. Raises ValueError (unknown name,
    bad thread count, missing ``calibration_texts``), :class:`MissingPackagesError` (with the ``pip install``
    line) and :class:`EmbedderUnavailable` (this CPU cannot run it).
    """
    spec = get_spec(name)
    check_packages(name)
    reason = unavailable_reason(name)
    if reason:
        raise EmbedderUnavailable(f"embedder {name!r} cannot run here: {reason}")
    if spec.needs_calibration:
        _check_calibration(name, calibration_texts)
    set_threads(num_threads)  # validates num_threads before any heavy work
    model_dir = build_artifact(name, calibration_texts)
    encode_kwargs = {"normalize_embeddings": True, "batch_size": BATCH_SIZE}

    if name == "hf-fp32":
        from langchain_community.embeddings import HuggingFaceEmbeddings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*HuggingFaceEmbeddings.*deprecated.*")
            return HuggingFaceEmbeddings(
                model_name=str(model_dir), model_kwargs={"device": "cpu"}, encode_kwargs=encode_kwargs
            )
    if name in ("ipex-bi-encoder", "ipex-int8-bi-encoder"):
        from langchain_community.embeddings import QuantizedBiEncoderEmbeddings

        # export=True traces the fp32 folder; the int8 folder is already TorchScript. MiniLM is symmetric, so no
        # query/document instruction (the docs' BGE instruction does not apply).
        return QuantizedBiEncoderEmbeddings(
            model_name=str(model_dir),
            max_seq_len=MAX_SEQ_LEN,
            model_kwargs={"export": True} if name == "ipex-bi-encoder" else {},
            encode_kwargs=encode_kwargs,
        )
    if name == "itrex-bge-engine":
        problem = _probe_itrex_engine()  # the engine may SIGILL: find out in a child process, not in this one
        if problem:
            raise EmbedderUnavailable(f"embedder {name!r} cannot run here: {problem}")
        from langchain_community.embeddings import QuantizedBgeEmbeddings

        return QuantizedBgeEmbeddings(
            model_name=str(model_dir),
            onnx_file_name=ITREX_ONNX_FILE,
            max_seq_len=MAX_SEQ_LEN,
            encode_kwargs=encode_kwargs,
        )
    return _ov_embeddings(model_dir, num_threads, "bf16" if name == "ov-bf16" else "f32")


def model_artifact_path(name: str, calibration_texts: Sequence[str] | None = None) -> Path:
    """The weights file ``name`` runs from (for its size on disk); it must have been built already.

    ``hf-fp32`` and ``ipex-bi-encoder`` use the source ``model.safetensors`` (the IPEX export lives in memory).
    For calibrated embedders pass the same ``calibration_texts`` as to :func:`build_embedder`; without them the
    most recently built folder is used.
    """
    spec = get_spec(name)
    file_name = _ARTIFACT_FILES[name]
    if name in ("hf-fp32", "ipex-bi-encoder"):
        return source_model_dir() / file_name
    if spec.needs_calibration and calibration_texts is None:
        built = [
            path / file_name
            for path in cache_dir().glob(_artifact_dir_name(name) + "-*")
            if (path / file_name).is_file()
        ]
        if not built:
            raise FileNotFoundError(f"embedder {name!r} has not been built yet: call build_embedder({name!r}, ...)")
        return max(built, key=lambda path: path.stat().st_mtime)
    texts = _check_calibration(name, calibration_texts) if spec.needs_calibration else None
    path = cache_dir() / _artifact_dir_name(name, texts) / file_name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: build it first with build_artifact({name!r}, ...)")
    return path


def embed_matrix(embeddings: Embeddings, texts: Sequence[str]) -> Any:
    """``embed_documents`` as a float32 numpy array (rows are the texts)."""
    import numpy as np

    return np.asarray(embeddings.embed_documents(list(texts)), dtype=np.float32)


__all__ = [
    "EMBEDDERS",
    "EMBEDDING_DIM",
    "EmbedderError",
    "EmbedderSpec",
    "EmbedderUnavailable",
    "IPEX_INT8_NOTES",
    "ITREX_ENGINE_NOTES",
    "MissingPackagesError",
    "available_embedders",
    "build_artifact",
    "build_embedder",
    "calibration_key",
    "check_packages",
    "embed_matrix",
    "embedder_table",
    "get_spec",
    "missing_packages",
    "model_artifact_path",
    "unavailable_reason",
]
