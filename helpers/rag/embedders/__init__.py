"""Notebook 01: Named sentence embedders for the cookbook, every one a LangChain ``Embeddings`` built offline from
all-MiniLM-L6-v2.

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

Threads: torch-based embedders go through :func:`helpers.core.settings.set_threads` (``torch.set_num_threads`` and
``OMP_NUM_THREADS``); OpenVINO ones get ``INFERENCE_NUM_THREADS`` from :func:`~helpers.core.settings.ov_config`.
The ITREX engine is OpenMP code with no thread argument: ``set_threads`` runs before it is loaded, so
``OMP_NUM_THREADS`` and the OpenMP runtime it shares with torch (the same ``libgomp-a34b3233.so.1``) carry the count;
this could not be checked on an AVX2-only CPU, where the engine cannot load at all.

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

from helpers.rag.embedders.api import (
    build_artifact,
    build_embedder,
    embed_matrix,
    model_artifact_path,
)
from helpers.rag.embedders.builds import (
    calibration_key,
    source_model_dir,
)
from helpers.rag.embedders.registry import (
    BATCH_SIZE,
    CALIBRATION_SUBSET,
    EMBEDDERS,
    EMBEDDING_DIM,
    IPEX_INT8_NOTES,
    ITREX_ENGINE_NOTES,
    ITREX_INPUT_NAMES,
    ITREX_ONNX_FILE,
    ITREX_ONNX_OPSET,
    MAX_SEQ_LEN,
    RECIPE_VERSION,
    EmbedderError,
    EmbedderSpec,
    EmbedderUnavailable,
    MissingPackagesError,
    available_embedders,
    check_packages,
    embedder_table,
    get_spec,
    missing_packages,
    unavailable_reason,
)

__all__ = [
    "BATCH_SIZE",
    "CALIBRATION_SUBSET",
    "EMBEDDERS",
    "EMBEDDING_DIM",
    "EmbedderError",
    "EmbedderSpec",
    "EmbedderUnavailable",
    "IPEX_INT8_NOTES",
    "ITREX_ENGINE_NOTES",
    "ITREX_INPUT_NAMES",
    "ITREX_ONNX_FILE",
    "ITREX_ONNX_OPSET",
    "MAX_SEQ_LEN",
    "MissingPackagesError",
    "RECIPE_VERSION",
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
    "source_model_dir",
    "unavailable_reason",
]
