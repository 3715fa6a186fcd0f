"""Notebook 01: The model folders behind each embedder, built once from the offline MiniLM package into the cache (IPEX
static int8 TorchScript, the ITREX ONNX export, OpenVINO fp32 / int8 IRs), each a locked atomic cached build."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from helpers.core.cache import copy_side_files
from helpers.core.settings import ov_config
from helpers.models import build_from_file, embedding_model_dir
from helpers.rag.embedders.registry import (
    BATCH_SIZE,
    CALIBRATION_SUBSET,
    ITREX_INPUT_NAMES,
    ITREX_ONNX_FILE,
    ITREX_ONNX_OPSET,
    MAX_SEQ_LEN,
    RECIPE_VERSION,
    EmbedderError,
    EmbedderUnavailable,
)

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


# ----------------------------------------------------------------------------------------------- cached builds
def source_model_dir() -> Path:
    """The plain Hugging Face folder of all-MiniLM-L6-v2 in the cache (built by :mod:`helpers.models`)."""

    return embedding_model_dir()


#: Files copied from the source folder next to every export (config + tokenizer; no sentence-transformers files).
_SIDE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


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
    copy_side_files(source, out, _SIDE_FILES, replace=True)
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
    copy_side_files(source, out, _SIDE_FILES, replace=True)
    return {"onnx_file": ITREX_ONNX_FILE, "opset": ITREX_ONNX_OPSET, "onnxruntime_max_abs_diff": max_abs_diff}


# OpenVINO --------------------------------------------------------------------------------------------------
def _build_ov_fp32(source: Path, out: Path) -> dict[str, Any]:
    from optimum.intel import OVModelForFeatureExtraction

    model = OVModelForFeatureExtraction.from_pretrained(source, export=True, compile=False)
    model.save_pretrained(out)  # optimum-intel saves with compress_to_fp16=False: fp32 weights
    copy_side_files(source, out, _SIDE_FILES, replace=True)
    return {"weights": "fp32"}


def _build_ov_int8_wc(fp32_dir: Path, source: Path, out: Path) -> dict[str, Any]:
    import nncf
    import openvino as ov

    model = ov.Core().read_model(fp32_dir / "openvino_model.xml")
    compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
    ov.save_model(compressed, out / "openvino_model.xml", compress_to_fp16=False)
    copy_side_files(source, out, _SIDE_FILES, replace=True)
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
    copy_side_files(source, out, _SIDE_FILES, replace=True)
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
