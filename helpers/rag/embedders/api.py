"""Notebook 01: Building an embedder as a LangChain ``Embeddings`` (the artefact built or reused first), and where its
weights live."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.core.cache import library_versions
from helpers.core.settings import cache_dir, enforce_offline, set_threads
from helpers.core.timing import run_in_fresh_process
from helpers.rag.embedders.builds import (
    _artifact_dir_name,
    _build_ipex_int8,
    _build_itrex_onnx,
    _build_ov_fp32,
    _build_ov_int8_static,
    _build_ov_int8_wc,
    _cached_build,
    _check_calibration,
    _ov_embeddings,
    calibration_key,
    source_model_dir,
)
from helpers.rag.embedders.registry import (
    BATCH_SIZE,
    ITREX_ONNX_FILE,
    MAX_SEQ_LEN,
    EmbedderUnavailable,
    _probe_itrex_engine,
    check_packages,
    get_spec,
    unavailable_reason,
)

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings

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
            **library_versions("torch", "intel-extension-for-pytorch"),
        }
        return _cached_build(
            _artifact_dir_name(name, texts), recipe, lambda source, out: _build_ipex_int8(source, out, texts)
        )
    if name == "itrex-bge-engine":
        recipe = {"variant": name, "onnx_file": ITREX_ONNX_FILE, **library_versions("torch", "onnx")}
        return _cached_build(_artifact_dir_name(name), recipe, _build_itrex_onnx)
    fp32_dir = _cached_build(
        _artifact_dir_name("ov-fp32"),
        {"variant": "ov-fp32", **library_versions("openvino", "optimum-intel")},
        # a fresh process: once ITREX is imported (01's QuantizedBgeEmbeddings cell) the PyTorch frontend fails on
        # prim::GetAttr and optimum-intel falls back to an ONNX export, printing the whole failure
        lambda source, out: run_in_fresh_process(_build_ov_fp32, source, out),
    )
    if name in ("ov-fp32", "ov-bf16"):
        return fp32_dir
    versions = library_versions("openvino", "optimum-intel", "nncf")
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
