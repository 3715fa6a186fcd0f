"""Notebook 01: The embedders of notebook 01: what each one is, which packages and CPU features it needs, and why one
cannot run here (checked before anything heavy is imported)."""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from helpers.core.settings import REPO_ROOT
from helpers.device import CpuInfo

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


@lru_cache(maxsize=1)
def _cpu() -> CpuInfo:
    return CpuInfo.from_host()  # read once: every embedder's check asks for it


#: The oneDNN ISAs the ITREX engine accepts (``executor/include/isa.hpp``: any other value aborts the process with
#: "Only support device with Intel AVX-512!"), as ``dnnl_cpu_isa_t`` values of the oneDNN it bundles (3.2's
#: ``dnnl_types.h``).
ITREX_ENGINE_ISAS = {0x27: "avx512_core", 0x67: "avx512_core_vnni", 0xE7: "avx512_core_bf16", 0xFEF: "avx512_core_amx"}
#: Names of the other oneDNN 3.x ISA values, for the message.
ONEDNN_OTHER_ISAS = {
    0x1: "sse41",
    0x3: "avx",
    0x7: "avx2",
    0xF: "avx2_vnni",
    0x1F: "avx2_vnni_2",
    0x1EF: "avx512_core_fp16",
    0x1FEF: "avx512_core_amx_fp16",
}
#: Child-process probe: import the engine (it may die with SIGILL), then print the ISA its bundled oneDNN detects.
_ITREX_PROBE = """
import ctypes, os
import intel_extension_for_transformers as itrex
import intel_extension_for_transformers.neural_engine_py
onednn = ctypes.CDLL(os.path.join(os.path.dirname(itrex.__file__), "libdnnl.so.3"))
print(onednn.dnnl_get_effective_cpu_isa())
"""


def itrex_engine_isa_problem(isa: int) -> str | None:
    """Why the ITREX engine would abort on a CPU whose bundled oneDNN detects ``isa``, or None if it accepts it."""
    if isa in ITREX_ENGINE_ISAS:
        return None
    name = ONEDNN_OTHER_ISAS.get(isa, "an ISA the engine does not know")
    return (
        f"ITREX's oneDNN detects this CPU's ISA as {name} ({isa:#x}); the neural engine accepts only "
        f"{', '.join(ITREX_ENGINE_ISAS.values())} and aborts otherwise ('Only support device with Intel AVX-512!')"
    )


def predicted_onednn_isa(cpu: CpuInfo) -> int:
    """The ``dnnl_cpu_isa_t`` value oneDNN 3.x would detect from ``cpu``'s flags (the widest it can use), for
    :func:`itrex_engine_isa_problem` on recorded cpuinfo; the probe asks the engine's own oneDNN instead."""
    widest_first = (
        (cpu.amx_fp16, 0x1FEF),
        (cpu.has_amx, 0xFEF),
        (cpu.avx512_fp16, 0x1EF),
        (cpu.avx512_bf16, 0xE7),
        (cpu.avx512_vnni, 0x67),
        (cpu.avx512f, 0x27),
        (cpu.avx_vnni, 0xF),
        (cpu.avx2, 0x7),
    )
    return next((isa for has, isa in widest_first if has), 0x1)


def _probe_itrex_engine() -> str | None:
    """Import the ITREX engine in a child process and run its ISA check there; None if it would run, else why not."""
    return _probe_itrex_engine_cached(sys.executable)


@lru_cache(maxsize=2)
def _probe_itrex_engine_cached(python: str) -> str | None:
    try:
        result = subprocess.run([python, "-c", _ITREX_PROBE], capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "importing intel_extension_for_transformers.neural_engine_py timed out in a child process"
    if result.returncode == 0:
        words = result.stdout.split()
        if not words or not words[-1].isdigit():
            return f"the ITREX engine probe printed no oneDNN ISA (stdout: {result.stdout.strip()[-200:]!r})"
        return itrex_engine_isa_problem(int(words[-1]))
    if result.returncode < 0:
        how = f"killed by {signal.Signals(-result.returncode).name}"
    else:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        how = f"exit code {result.returncode}: {tail}"
    return f"importing intel_extension_for_transformers.neural_engine_py in a child process failed ({how})"


def unavailable_reason(name: str, probe: bool = False) -> str | None:
    """Why ``name`` cannot be built here (missing packages, CPU features), or None.

    ``probe=True`` also imports the ITREX engine in a child process and asks its oneDNN which ISA it detects (a few
    seconds), the definitive check; without it the same ISA check runs on the ISA predicted from the CPU flags.
    """
    spec = get_spec(name)
    missing = missing_packages(name)
    if missing:
        return f"missing packages: {', '.join(missing)}"
    cpu = _cpu()
    if name == "itrex-bge-engine":
        if not cpu.avx512f:
            return "CPU has no avx512f; the ITREX neural engine dies with SIGILL (Illegal instruction) without it"
        by_flags = itrex_engine_isa_problem(predicted_onednn_isa(cpu))
        if by_flags or not probe:
            return by_flags
        return _probe_itrex_engine()
    if name == "ov-bf16" and not cpu.has_bf16:
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
