"""Quantized causal LMs on CPU behind LangChain, and honest measurements of them.

Two paths, one measuring kit:

* Seed path (ITREX 1.3.2): :func:`build_woq_pipeline` calls LangChain's ``WeightOnlyQuantPipeline.from_model_id``
  with ``quantization_config=to_itrex(cfg)``, wires AWQ/TEQ calibration data, then :func:`inspect_woq_model` reads
  what every QBits layer really stores (from the packed blob itself) and :func:`assert_woq_matches` checks it.
* Today's path (OpenVINO): :func:`export_openvino_llm` (fp32 IR, cached), :func:`compress_openvino_llm`
  (``nncf.compress_weights`` on the IR: int8, int4 sym/asym, real NF4, AWQ / scale estimation with data),
  :func:`inspect_openvino_ir` / :func:`assert_ov_matches` (weight constants by element type, "nf4 asked, nf4
  found"), :func:`load_openvino_llm` and :func:`openvino_langchain_llm`.
* Common: :func:`torch_fp32_llm` baseline, :func:`measure_generation` (prefill latency, decode ms/token, medians
  and p90), :func:`perplexity` (sliding window over a fixed token budget), :func:`make_prompt`.

Heavy libraries (torch, transformers, ITREX, OpenVINO, NNCF, LangChain) are imported inside the functions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import shutil
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from helpers.bench import TimingStats, machine_load, peak_rss_mb, run_in_fresh_process, time_call
from helpers.cache import MANIFEST_NAME, cached_build, read_manifest
from helpers.settings import cache_dir, enforce_offline, ov_config, set_threads
from helpers.shape_checks import check_group_size

if TYPE_CHECKING:
    from helpers.woq_config import OvCompressionPlan, WoqConfig

#: OpenVINO LLM compilation has crashed (SIGFPE) with ``INFERENCE_NUM_THREADS=1``; LLM loads use at least this.
OV_MIN_THREADS = 2
#: Inputs the tokenizer must produce for both torch and OpenVINO models (no ``token_type_ids``).
MODEL_INPUT_NAMES = ["input_ids", "attention_mask"]
#: Written next to every IR this module builds; holds what was asked and how long it took.
OV_META_NAME = MANIFEST_NAME
#: Bump when an IR build recipe changes, so cached IRs are rebuilt (3: stateful export + GenAI tokenizer IRs).
OV_BUILD_FORMAT = 3
OV_XML_NAME = "openvino_model.xml"
#: Tokens kept per calibration passage (AWQ / TEQ / NNCF data-aware modes): calibration time grows with it.
CALIB_MAX_TOKENS = 128
#: Files copied from the source folder into every IR folder (config + tokenizer; ``save_pretrained`` of an
#: ``OVModelForCausalLM`` writes no tokenizer).
_SIDE_FILES = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    "openvino_tokenizer.xml",
    "openvino_tokenizer.bin",
    "openvino_detokenizer.xml",
    "openvino_detokenizer.bin",
)
#: Low-precision OpenVINO element types that hold compressed weights, and their zero-point midpoints (sym).
OV_4BIT_TYPES = ("u4", "i4", "nf4")
OV_LOW_BIT_TYPES = (*OV_4BIT_TYPES, "u8", "i8")
_OV_SYM_ZERO_POINT = {"u4": 8, "u8": 128}
#: Ops that make up an NNCF/optimum decompression subgraph between a weight constant and its MatMul/Gather.
_DECOMPRESSION_OPS = frozenset({"Constant", "Convert", "Reshape", "Multiply", "Subtract", "Transpose", "Unsqueeze"})

logger = logging.getLogger(__name__)


class QuantizationMismatch(AssertionError):
    """A quantized model does not hold what its config asked for."""


# --------------------------------------------------------------------------------------------------------------
# small shared helpers
# --------------------------------------------------------------------------------------------------------------
def _ov_threads(num_threads: int) -> int:
    if num_threads < OV_MIN_THREADS:
        logger.warning(
            "num_threads=%d raised to %d for OpenVINO LLMs (1 crashed compilation)", num_threads, OV_MIN_THREADS
        )
    return max(OV_MIN_THREADS, num_threads)


def load_tokenizer(path: str | Path) -> Any:
    """``AutoTokenizer`` from a local folder, producing only ``input_ids`` and ``attention_mask``."""
    from transformers import AutoTokenizer

    enforce_offline()
    tokenizer = AutoTokenizer.from_pretrained(str(path), model_input_names=MODEL_INPUT_NAMES)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def make_prompt(tokenizer: Any, question: str, *, context: str | None = None, system: str | None = None) -> str:
    """Chat-template prompt for one user turn (``context`` is put before the question), ready to generate from."""
    content = question if context is None else f"{context.strip()}\n\n{question}"
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": content})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_with_tokens(tokenizer: Any, question: str, context: str, target_tokens: int) -> str:
    """:func:`make_prompt` with ``context`` cut (by tokens) so that the whole prompt is about ``target_tokens``."""
    base = len(tokenizer(make_prompt(tokenizer, question, context=""), add_special_tokens=False).input_ids)
    ctx_ids = tokenizer(context, add_special_tokens=False).input_ids
    if base + len(ctx_ids) < target_tokens:
        raise ValueError(f"context too short: {base + len(ctx_ids)} tokens < target_tokens={target_tokens}")
    keep = max(0, target_tokens - base)
    return make_prompt(tokenizer, question, context=tokenizer.decode(ctx_ids[:keep]))


def unwrap_llm(llm: Any) -> tuple[Any, Any]:
    """``(model, tokenizer)`` inside a LangChain ``HuggingFacePipeline`` / ``WeightOnlyQuantPipeline``."""
    pipe = getattr(llm, "pipeline", None)
    if pipe is None or not hasattr(pipe, "model"):
        raise TypeError(f"{type(llm).__name__} does not wrap a transformers pipeline")
    return pipe.model, pipe.tokenizer


def _hf_pipeline(model: Any, tokenizer: Any, max_new_tokens: int, return_full_text: bool) -> Any:
    """Greedy transformers text-generation pipeline (quietly: it logs an error for non-transformers classes)."""
    import transformers

    level = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        with _quiet_logger("transformers.pipelines.base"):
            return transformers.pipeline(
                "text-generation",
                model=model,
                tokenizer=tokenizer,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                return_full_text=return_full_text,
                pad_token_id=tokenizer.pad_token_id,
            )
    finally:
        transformers.logging.set_verbosity(level)


@contextlib.contextmanager
def _quiet_logger(name: str, level: int = logging.WARNING) -> Iterator[None]:
    log = logging.getLogger(name)
    old = log.level
    log.setLevel(max(level, old))
    try:
        yield
    finally:
        log.setLevel(old)


def _langchain_hf(pipe: Any) -> Any:
    """``langchain_community`` ``HuggingFacePipeline`` around ``pipe`` (its deprecation notice silenced)."""
    import warnings

    from langchain_community.llms import HuggingFacePipeline

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*HuggingFacePipeline.*deprecated.*")
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            from langchain_core._api import LangChainDeprecationWarning

            warnings.filterwarnings("ignore", category=LangChainDeprecationWarning)
        except ImportError:  # pragma: no cover - older langchain-core
            pass
        return HuggingFacePipeline(pipeline=pipe)


# --------------------------------------------------------------------------------------------------------------
# 1. Seed path: ITREX weight-only quantization through LangChain
# --------------------------------------------------------------------------------------------------------------
class _CalibLoader:
    """The minimal dataloader neural-compressor accepts: iterable, sized, with a ``batch_size`` attribute."""

    batch_size = 1

    def __init__(self, batches: list[Any]) -> None:
        self.batches = batches

    def __iter__(self) -> Iterator[Any]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def woq_calibration_loader(
    algorithm: str,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_tokens: int = CALIB_MAX_TOKENS,
    batches: int | None = None,
) -> _CalibLoader:
    """Calibration batches in the shape each ITREX algorithm reads.

    AWQ: bare ``(1, L)`` id tensors (ITREX's calib loop calls ``model(input_ids=batch)``);
    TEQ: ``(ids, ids)`` tuples (neural-compressor's trainer reads ``batch[0]`` and uses ids as labels).
    """
    if algorithm not in ("AWQ", "TEQ"):
        raise ValueError(f"algorithm={algorithm!r} takes no calibration data: allowed values are AWQ, TEQ")
    if not texts:
        raise ValueError(f"algorithm={algorithm!r} needs calibration texts: got none")
    chosen = list(texts)[: batches or len(texts)]
    out: list[Any] = []
    for text in chosen:
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids[:, :max_tokens]
        if ids.shape[1] < 2:
            continue
        out.append(ids if algorithm == "AWQ" else (ids, ids))
    if not out:
        raise ValueError("no calibration text produced at least 2 tokens")
    return _CalibLoader(out)


def build_woq_pipeline(
    cfg: WoqConfig,
    model_dir: str | Path,
    *,
    num_threads: int,
    max_new_tokens: int = 64,
    calibration_texts: Sequence[str] | None = None,
    calib_iters: int | None = None,
    calib_max_tokens: int = CALIB_MAX_TOKENS,
    verify: bool = True,
    quiet: bool = True,
) -> tuple[Any, dict[str, Any]]:
    """Quantize ``model_dir`` with ITREX through ``WeightOnlyQuantPipeline.from_model_id`` (the LangChain seed class).

    AWQ/TEQ need ``calibration_texts`` (AWQ uses the first ``calib_iters`` of them, default ``cfg.calib_iters``;
    TEQ cycles through all of them for its fixed 1000 training steps: minutes, even on a 135M model). AWQ's search
    costs time in proportion to the calibration tokens: 4 texts x 128 tokens took 110 s on 2 AVX2 cores, so
    the ITREX-era recipe (100 x 512 tokens) would take over an hour there.
    ``llm_int8_skip_modules=("lm_head",)`` is honoured by dropping it before ITREX (which always keeps lm_head
    fp32 and crashes on any non-empty skip list); other skip lists raise ``ValueError``.

    Returns ``(llm, info)``; ``info`` has the build seconds, notes and :func:`inspect_woq_model`'s report, and with
    ``verify`` :func:`assert_woq_matches` has passed (lm_head compared bit for bit with the checkpoint).
    """
    check_group_size(cfg.group_size, model_dir, "itrex")  # before loading or quantizing anything
    from helpers import woq_config as wc

    enforce_offline()
    set_threads(num_threads)
    model_dir = Path(model_dir)
    notes: list[str] = []
    itrex_cfg = cfg
    if cfg.llm_int8_skip_modules:
        if set(cfg.llm_int8_skip_modules) <= {"lm_head"}:
            itrex_cfg = wc.replace(cfg, llm_int8_skip_modules=None)
            notes.append(
                "llm_int8_skip_modules=['lm_head'] not passed to ITREX (1.3.2 raises TypeError on any skip list); "
                "ITREX keeps lm_head fp32 by itself, checked below"
            )
        # any other skip list: wc.to_itrex raises a ValueError that explains the ITREX bug

    tokenizer = load_tokenizer(model_dir)
    calib = None
    use_cache_off = False
    if cfg.algorithm in ("AWQ", "TEQ"):
        if not calibration_texts:
            raise ValueError(
                f"algorithm={cfg.algorithm!r} needs calibration_texts (e.g. helpers.data.calibration_texts(32)): "
                "without a dataloader ITREX would download NeelNanda/pile-10k from the Hub"
            )
        if cfg.algorithm == "AWQ" and calib_iters is not None and calib_iters != cfg.calib_iters:
            itrex_cfg = wc.replace(itrex_cfg, calib_iters=calib_iters)
        batches = itrex_cfg.calib_iters if cfg.algorithm == "AWQ" else None
        calib = woq_calibration_loader(
            cfg.algorithm, tokenizer, calibration_texts, max_tokens=calib_max_tokens, batches=batches
        )
        notes.append(f"{cfg.algorithm}: {len(calib)} calibration batches of <= {calib_max_tokens} tokens")
        use_cache_off = cfg.algorithm == "AWQ"
    elif calibration_texts:
        notes.append(f"calibration_texts ignored: algorithm={cfg.algorithm!r} is data-free")

    quant_config = wc.to_itrex(itrex_cfg, calib_dataloader=calib)
    model_kwargs = {"use_cache": False} if use_cache_off else None
    if use_cache_off:
        notes.append("AWQ quantized with use_cache=False (INC's AWQ fails on KV-cache outputs); re-enabled after")

    from langchain_community.llms.weight_only_quantization import WeightOnlyQuantPipeline
    from neural_compressor import set_workspace

    set_workspace(str(cache_dir() / "nc_workspace") + "/")  # INC would otherwise write ./nc_workspace in the cwd
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if quiet:
            stack.enter_context(_quiet_logger("neural_compressor"))
            stack.enter_context(_quiet_logger("intel_extension_for_transformers"))
        llm = WeightOnlyQuantPipeline.from_model_id(
            model_id=str(model_dir),
            task="text-generation",
            quantization_config=quant_config,
            pipeline_kwargs={
                "max_new_tokens": max_new_tokens,
                "do_sample": False,
                "pad_token_id": tokenizer.pad_token_id,
            },
            model_kwargs=model_kwargs,
        )
    seconds = time.perf_counter() - start
    model = llm.pipeline.model
    if model.config.torchscript or use_cache_off:
        # ITREX loads AWQ/TEQ models with torchscript=True (tuple outputs) for INC's tracing; undo for inference
        model.config.torchscript = False
        model.config.use_cache = True
        model.generation_config.use_cache = True
        notes.append("config.torchscript/use_cache restored to False/True after quantization")

    report = inspect_woq_model(model)
    if verify:
        assert_woq_matches(model, cfg, reference_dir=model_dir, report=report)
    info = {
        "config_key": cfg.key(),
        "algorithm": cfg.algorithm,
        "build_seconds": round(seconds, 2),
        "notes": notes,
        "verified": verify,
        **report["summary"],
        "inspection": report,
    }
    return llm, info


def _packw_info(weight: Any) -> dict[str, Any]:
    """What the QBits (BesTLA) packed weight blob says about itself: dtype, block size, K, N, bytes."""
    import torch
    from intel_extension_for_transformers.llm.quantization.autograd.functions import qbits_acquire_type as kind

    def get(k: Any) -> Any:
        return torch.ops.bestlaop.acquire_woq_packw_info(weight, k.value)

    def text(k: Any) -> str:
        return bytes(int(v) & 0xFF for v in get(k).tolist()).decode("ascii", "replace")

    return {
        "weight_dtype": text(kind.WEI_TYPE),
        "compute_dtype": text(kind.CMPT_TYPE),
        "scale_dtype": text(kind.SCALE_TYPE),
        "group_size": int(get(kind.BLOCKSIZE)[0]),
        "in_features": int(get(kind.K)[0]),
        "out_features": int(get(kind.N)[0]),
        "packed_bytes": int(get(kind.SIZE)[0]),
        "act_shuffle": bool(int(get(kind.ACT_SHUFFLE)[0])),
    }


def inspect_woq_model(model: Any) -> dict[str, Any]:
    """Per-Linear report of what an ITREX-quantized model really holds.

    QBits layers (``QuantizedLinearQBits``) keep one opaque int8 blob per weight; its header is read back with
    ``bestlaop.acquire_woq_packw_info`` (weight/compute/scale dtype, block size, K, N, bytes), so the dtype shown is
    the one the kernels use, not just the module attribute. Plain ``nn.Linear`` layers are listed with their dtype.
    """
    import torch

    modules: list[dict[str, Any]] = []
    for name, mod in model.named_modules():
        if not isinstance(mod, torch.nn.Linear):
            continue
        weight = mod.weight
        row: dict[str, Any] = {"name": name, "class": type(mod).__name__, "storage_dtype": str(weight.dtype)[6:]}
        if hasattr(weight, "quant_dtype"):  # ParamsQBits
            row["module_weight_dtype"] = getattr(mod, "weight_dtype", None)
            row["scheme"] = getattr(mod, "scheme", None)
            try:
                row.update(_packw_info(weight.data))
                row["source"] = "packed blob"
            except Exception as exc:  # noqa: BLE001 - fall back to the attributes ITREX set
                row.update(
                    weight_dtype=weight.quant_dtype,
                    compute_dtype=getattr(mod, "compute_dtype", None),
                    scale_dtype=weight.scale_dtype,
                    group_size=weight.blocksize,
                    in_features=mod.in_features,
                    out_features=mod.out_features,
                    packed_bytes=weight.numel() * weight.element_size(),
                    source=f"module attributes ({type(exc).__name__}: {exc})",
                )
            row["bits_per_weight"] = round(8 * row["packed_bytes"] / (row["in_features"] * row["out_features"]), 2)
            row["quantized"] = True
        else:
            row.update(
                weight_dtype=str(weight.dtype)[6:],
                in_features=mod.in_features,
                out_features=mod.out_features,
                quantized=False,
            )
        modules.append(row)
    quantized = [m for m in modules if m["quantized"]]
    plain = [m for m in modules if not m["quantized"]]
    awq_scaled = sum(1 for _, m in model.named_modules() if type(m).__name__ == "MulLinear")
    summary = {
        "quantized_linear": len(quantized),
        "float_linear": [m["name"] for m in plain],
        "weight_dtypes": dict(Counter(m["weight_dtype"] for m in quantized)),
        "group_sizes": sorted({m["group_size"] for m in quantized}),
        "compute_dtypes": sorted({m["compute_dtype"] for m in quantized}),
        "packed_mb": round(sum(m["packed_bytes"] for m in quantized) / 2**20, 2),
        "fp32_equivalent_mb": round(sum(4 * m["in_features"] * m["out_features"] for m in quantized) / 2**20, 2),
        "awq_input_scalers": awq_scaled,
    }
    return {"summary": summary, "modules": modules}


def _reference_tensor(model_dir: Path, names: Sequence[str]) -> Any | None:
    """First of ``names`` found in the folder's safetensors files (as a torch tensor), else None."""
    from safetensors import safe_open

    for file in sorted(model_dir.glob("*.safetensors")):
        with safe_open(str(file), framework="pt") as handle:
            keys = set(handle.keys())
            for name in names:
                if name in keys:
                    return handle.get_tensor(name)
    return None


def assert_woq_matches(
    model: Any, cfg: WoqConfig, *, reference_dir: str | Path | None = None, report: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Raise :class:`QuantizationMismatch` unless the model holds what ``cfg`` asked for.

    Every quantized layer must carry ``cfg.weight_dtype``, ``cfg.compute_dtype``, ``cfg.scale_dtype`` and
    ``cfg.group_size`` in its packed blob; every float Linear must be lm_head (or a skip module) and fp32; with
    ``reference_dir`` those float layers must equal the checkpoint bit for bit (lm_head may be tied to the
    embedding). Returns the :func:`inspect_woq_model` report.
    """
    import torch

    report = report or inspect_woq_model(model)
    problems: list[str] = []
    quantized = [m for m in report["modules"] if m["quantized"]]
    if not quantized:
        problems.append("no quantized Linear layer found")
    for m in quantized:
        for field in ("weight_dtype", "compute_dtype", "scale_dtype"):
            if m.get(field) != getattr(cfg, field):
                problems.append(f"{m['name']}: {field} {m.get(field)!r} stored, {getattr(cfg, field)!r} asked")
        expected_group = cfg.group_size if cfg.group_size != -1 else m["in_features"]
        if m.get("group_size") != expected_group:
            problems.append(f"{m['name']}: group size {m.get('group_size')} stored, {expected_group} asked")
    keep = ("lm_head", *(cfg.llm_int8_skip_modules or ()))
    for m in report["modules"]:
        if m["quantized"]:
            continue
        if not any(k in m["name"] for k in keep):
            problems.append(f"{m['name']}: left as {m['class']} ({m['weight_dtype']}), should be quantized")
        elif m["weight_dtype"] != "float32":
            problems.append(f"{m['name']}: kept in {m['weight_dtype']}, expected float32")
    if reference_dir is not None:
        ref_dir = Path(reference_dir)
        modules = dict(model.named_modules())
        for m in report["modules"]:
            if m["quantized"]:
                continue
            names = [f"{m['name']}.weight"]
            if m["name"] == "lm_head" and getattr(model.config, "tie_word_embeddings", False):
                names.append("model.embed_tokens.weight")
            ref = _reference_tensor(ref_dir, names)
            if ref is None:
                problems.append(f"{m['name']}: no reference weight in {ref_dir}")
            elif not torch.equal(modules[m["name"]].weight.detach().to(ref.dtype), ref):
                diff = (modules[m["name"]].weight.detach().float() - ref.float()).abs().max().item()
                problems.append(f"{m['name']}: kept fp32 but its values changed (max |diff| {diff:.3g})")
    if problems:
        raise QuantizationMismatch(f"{cfg.key()}: " + "; ".join(problems))
    return report


# --------------------------------------------------------------------------------------------------------------
# 2. Today's path: OpenVINO IR + NNCF weight compression
# --------------------------------------------------------------------------------------------------------------
def _fingerprint(model_dir: Path) -> dict[str, Any]:
    files = sorted(p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin", ".json", ".xml"))
    return {
        "path": str(model_dir.resolve()),
        "files": {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in files if p.name != OV_META_NAME},
    }


def read_ov_meta(path: Path) -> dict[str, Any] | None:
    """The build manifest of an IR folder (what was asked, the source, the seconds), or None."""
    return read_manifest(path)


def _copy_side_files(src: Path, dst: Path) -> None:
    for name in _SIDE_FILES:
        if (src / name).is_file() and not (dst / name).exists():
            shutil.copy2(src / name, dst / name)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("openvino", "nncf", "optimum-intel", "transformers"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "missing"
    return out


def export_openvino_llm(model_dir: str | Path, out_dir: str | Path | None = None, *, rebuild: bool = False) -> Path:
    """Export a local HF causal LM to a **stateful** fp32 OpenVINO IR (KV cache inside the model: inputs
    input_ids, attention_mask, position_ids, beam_idx), tokenizer copied in.

    Built once with :func:`helpers.cache.cached_build` (locked, atomic) into ``<cache_dir>/ov/<model folder>-fp32``
    (or ``out_dir``) and reused while the source files are unchanged. ``load_in_8bit=False`` keeps optimum-intel
    from applying its default int8 compression; ``stateful=True`` is asked explicitly and checked.
    """
    enforce_offline()
    model_dir = Path(model_dir)
    out = Path(out_dir) if out_dir is not None else cache_dir() / "ov" / f"{model_dir.name}-fp32"
    expected = {
        "kind": "export",
        "precision": "fp32",
        "stateful": True,
        "format": OV_BUILD_FORMAT,
        "source": _fingerprint(model_dir),
        "versions": _versions(),
    }

    def build(tmp: Path) -> dict[str, Any]:
        # A fresh process: once ITREX is imported (notebook 03, the seed path) the PyTorch frontend fails on
        # prim::GetAttr and optimum-intel silently falls back to ONNX, which cannot make a stateful IR.
        seconds = run_in_fresh_process(_export_ir, str(model_dir), str(tmp))
        check_stateful(tmp / OV_XML_NAME)
        return {"seconds": seconds}

    return cached_build(out, expected, build, rebuild=rebuild)


def _export_ir(model_dir: str, out: str) -> float:
    """Export in the calling process (run it in a fresh one): the fp32 stateful IR plus tokenizer and side files."""
    from optimum.intel import OVModelForCausalLM

    enforce_offline()
    start = time.perf_counter()
    with _quiet_logger("optimum"), _quiet_logger("nncf"):
        model = OVModelForCausalLM.from_pretrained(
            model_dir, export=True, stateful=True, load_in_8bit=False, compile=False
        )
    model.save_pretrained(out)
    load_tokenizer(model_dir).save_pretrained(out)
    _copy_side_files(Path(model_dir), Path(out))
    from helpers.tokenizer_irs import convert_tokenizer_irs  # OpenVINO GenAI reads the tokenizer as IRs

    convert_tokenizer_irs(out, out)
    return round(time.perf_counter() - start, 2)


def ir_inputs(xml: str | Path) -> list[str]:
    """Input names of an IR (a stateful LLM IR has 3-4; one fed its KV cache from Python has dozens)."""
    import openvino as ov

    return sorted(i.get_any_name() for i in ov.Core().read_model(xml).inputs)


class NotStatefulError(ValueError):
    """An LLM IR whose KV cache goes through Python every token (not what the cookbook builds or serves)."""


def check_stateful(xml: str | Path) -> list[str]:
    """The IR's input names if it is a stateful LLM IR (3 or 4 inputs: input_ids, attention_mask, [position_ids,]
    beam_idx), else :class:`NotStatefulError` naming what it has. The one stateful check for builds and GenAI."""
    names = ir_inputs(xml)
    if len(names) not in (3, 4) or any(n.startswith("past_key_values") for n in names):
        raise NotStatefulError(
            f"{xml}: {len(names)} inputs (e.g. {names[:3]}): not a stateful IR with 3 or 4 inputs (input_ids, "
            "attention_mask, [position_ids,] beam_idx); the KV cache would go through Python every token (several "
            "times slower decode); export with OVModelForCausalLM(..., export=True, stateful=True)"
        )
    return names


def _plan_from(plan_or_cfg: OvCompressionPlan | WoqConfig) -> OvCompressionPlan:
    from helpers import woq_config as wc

    if isinstance(plan_or_cfg, wc.WoqConfig):
        return wc.to_openvino(plan_or_cfg)
    if isinstance(plan_or_cfg, wc.OvCompressionPlan):
        return plan_or_cfg
    raise TypeError(f"expected a WoqConfig or an OvCompressionPlan, got {type(plan_or_cfg).__name__}")


def ov_plan_key(plan: OvCompressionPlan, calibration: str = "") -> str:
    """Filename-safe id of an NNCF plan (+ calibration fingerprint), e.g. ``nf4-g64-3f2a9c1e``."""
    kwargs = plan.kwargs()
    gs = kwargs.get("group_size")
    parts = [plan.mode, "pc" if gs in (None, -1) else f"g{gs}"]
    if kwargs.get("awq"):
        parts.append("awq")
    if kwargs.get("scale_estimation"):
        parts.append("se")
    if kwargs.get("gptq"):
        parts.append("gptq")
    if kwargs.get("ratio") not in (None, 1.0):
        parts.append(f"r{kwargs['ratio']:g}")
    if kwargs.get("all_layers"):
        parts.append("all")
    digest = hashlib.sha1(json.dumps([kwargs, calibration], sort_keys=True, default=str).encode()).hexdigest()[:8]
    return "-".join([*parts, digest])


def ov_calibration_dataset(ir_dir: str | Path, texts: Sequence[str], *, max_tokens: int = CALIB_MAX_TOKENS) -> Any:
    """``nncf.Dataset`` of model inputs (input_ids, attention_mask, position_ids, beam_idx) for data-aware modes."""
    import nncf
    import openvino as ov

    ir_dir = Path(ir_dir)
    names = {i.get_any_name() for i in ov.Core().read_model(ir_dir / OV_XML_NAME).inputs}
    tokenizer = load_tokenizer(ir_dir)
    items = []
    for text in texts:
        ids = np.asarray(tokenizer(text, add_special_tokens=False).input_ids[:max_tokens], dtype=np.int64)[None]
        if ids.shape[1] < 2:
            continue
        item = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "position_ids" in names:
            item["position_ids"] = np.arange(ids.shape[1], dtype=np.int64)[None]
        if "beam_idx" in names:
            item["beam_idx"] = np.zeros(1, dtype=np.int32)
        items.append({k: v for k, v in item.items() if k in names})
    if not items:
        raise ValueError("no calibration text produced at least 2 tokens")
    return nncf.Dataset(items)


def compress_openvino_llm(
    plan_or_cfg: OvCompressionPlan | WoqConfig,
    ir_dir: str | Path,
    *,
    out_dir: str | Path | None = None,
    calibration_texts: Sequence[str] | None = None,
    calib_max_tokens: int = CALIB_MAX_TOKENS,
    rebuild: bool = False,
) -> Path:
    """Compress the weights of an fp32 IR with ``nncf.compress_weights`` (a :class:`WoqConfig` goes through
    ``to_openvino``). Real NF4 here, unlike optimum-intel 1.17.2's ``quantization_config``.

    Plans with ``needs_dataset`` (AWQ, scale estimation) need ``calibration_texts``. The result is cached under
    ``<cache_dir>/ov/<ir>-<plan key>`` (one locked, atomic build) with the plan, what it could not reproduce and
    the seconds in its manifest. The result stays stateful (checked). Non-weight constants stay f32 (saved with
    ``compress_to_fp16=False``).
    """
    import nncf
    import openvino as ov

    enforce_offline()
    plan = _plan_from(plan_or_cfg)
    ir_dir = Path(ir_dir)
    if not (ir_dir / OV_XML_NAME).is_file():
        raise FileNotFoundError(f"{ir_dir / OV_XML_NAME} not found: export it first with export_openvino_llm()")
    if plan.group_size not in (None, -1):
        check_group_size(plan.group_size, ir_dir, "openvino")
    calibration = ""
    if plan.needs_dataset:
        if not calibration_texts:
            raise ValueError(
                f"plan mode={plan.mode!r} awq={plan.awq} scale_estimation={plan.scale_estimation} needs "
                "calibration_texts (e.g. helpers.data.calibration_texts(32))"
            )
        calibration = hashlib.sha1(("\x00".join(calibration_texts) + f"|{calib_max_tokens}").encode()).hexdigest()
    key = ov_plan_key(plan, calibration)
    base = ir_dir.name[:-5] if ir_dir.name.endswith("-fp32") else ir_dir.name
    out = Path(out_dir) if out_dir is not None else ir_dir.parent / f"{base}-{key}"
    expected = {"kind": "nncf.compress_weights", "key": key, "format": OV_BUILD_FORMAT, "source": _fingerprint(ir_dir)}

    def build(tmp: Path) -> dict[str, Any]:
        dataset = None
        if plan.needs_dataset:
            dataset = ov_calibration_dataset(ir_dir, calibration_texts or (), max_tokens=calib_max_tokens)
        model = ov.Core().read_model(ir_dir / OV_XML_NAME)
        start = time.perf_counter()
        compressed = nncf.compress_weights(model, **plan.nncf_kwargs(dataset))
        seconds = time.perf_counter() - start
        ov.save_model(compressed, tmp / OV_XML_NAME, compress_to_fp16=False)
        _copy_side_files(ir_dir, tmp)
        check_stateful(tmp / OV_XML_NAME)
        return {
            "mode": plan.mode,
            "kwargs": plan.kwargs(),
            "unsupported": list(plan.unsupported),
            "notes": list(plan.notes),
            "runtime_config": dict(plan.runtime_config),
            "source_config": plan.source_key,
            "calibration": {"texts": len(calibration_texts or ()), "max_tokens": calib_max_tokens}
            if dataset
            else None,
            "seconds": round(seconds, 2),
            "versions": _versions(),
        }

    return cached_build(out, expected, build, rebuild=rebuild)


def _weight_subgraph(output: Any) -> list[Any] | None:
    """Nodes of the constant-only (decompression) subgraph feeding ``output``, or None if it has a live input."""
    nodes: list[Any] = []
    seen: set[str] = set()
    stack = [output.get_node()]
    while stack:
        node = stack.pop()
        if node.get_name() in seen:
            continue
        seen.add(node.get_name())
        if node.get_type_name() not in _DECOMPRESSION_OPS:
            return None
        nodes.append(node)
        stack.extend(inp.get_source_output().get_node() for inp in node.inputs())
    return nodes


def _numel(node: Any) -> int:
    return int(np.prod(node.get_output_shape(0))) if len(node.get_output_shape(0)) else 1


def _zero_point(nodes: list[Any], weight: Any) -> tuple[str | None, Any]:
    """``(kind, value)``: None, ``("scalar", v)`` or ``("per-group"/"per-channel", None)`` for the zero point."""
    for node in nodes:
        if node.get_type_name() != "Subtract":
            continue
        sub_nodes = _weight_subgraph(node.input(1).get_source_output()) or []
        consts = [n for n in sub_nodes if n.get_type_name() == "Constant" and n is not weight]
        if not consts:
            return None, None
        zp = consts[0]
        if _numel(zp) == 1:
            raw = np.asarray(zp.get_data()).reshape(-1)
            value = int(raw[0]) & (0x0F if zp.get_element_type().get_type_name() in ("u4", "i4") else 0xFF)
            return "scalar", value
        return ("per-group" if len(zp.get_output_shape(0)) == 3 else "per-channel"), None
    return None, None


def _module_name(friendly: str) -> str:
    name = friendly.split("/")[0]
    return name[len("__module.") :] if name.startswith("__module.") else name


def _logits_matmul(model: Any) -> str | None:
    """Unique name of the MatMul nearest to the ``logits`` output (the lm_head; its friendly name is not stable)."""
    outputs = [o for o in model.outputs if "logits" in o.get_names()] or list(model.outputs[:1])
    stack = [o.get_node() for o in outputs]
    seen: set[str] = set()
    while stack:
        node = stack.pop(0)
        if node.get_name() in seen:
            continue
        seen.add(node.get_name())
        if node.get_type_name() == "MatMul":
            return node.get_name()
        stack.extend(inp.get_source_output().get_node() for inp in node.inputs())
    return None


def low_bit_share(params_by_type: dict[str, int]) -> float | None:
    """Share of linear-layer weight parameters stored in a 4-bit type (u4/i4/nf4); None when nothing was counted."""
    total = sum(params_by_type.values())
    return round(sum(n for t, n in params_by_type.items() if t in OV_4BIT_TYPES) / total, 4) if total else None


def inspect_openvino_ir(path: str | Path) -> dict[str, Any]:
    """What an IR really stores: constants per element type, and per MatMul/Gather its weight's element type,
    shape, group size, zero point (none / scalar midpoint = symmetric / per group = asymmetric) and scale type.

    ``weights_by_type`` counts the traced weights (one per layer); ``constants_by_type`` counts every Constant
    (zero points included). ``asked`` (from the build manifest) and ``rt_info_mode`` (what NNCF recorded) say
    what was asked, the rest what was found.
    """
    import openvino as ov

    path = Path(path)
    xml = path / OV_XML_NAME if path.is_dir() else path
    model = ov.Core().read_model(xml)
    constants: Counter[str] = Counter()
    for op in model.get_ops():
        if op.get_type_name() == "Constant":
            constants[op.get_element_type().get_type_name()] += 1
    head = _logits_matmul(model)
    layers: list[dict[str, Any]] = []
    seen_weights: dict[str, str] = {}
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind not in ("MatMul", "Gather"):
            continue
        candidates = [op.input(0)] if kind == "Gather" else list(op.inputs())
        for inp in candidates:
            nodes = _weight_subgraph(inp.get_source_output())
            if not nodes:
                continue
            consts = [n for n in nodes if n.get_type_name() == "Constant"]
            weight = max(consts, key=_numel)
            wtype = weight.get_element_type().get_type_name()
            shape = list(weight.get_output_shape(0))
            if len(shape) < 2 or wtype in ("i64", "i32", "boolean"):
                continue
            zp_kind, zp_value = _zero_point(nodes, weight)
            scale_types = sorted(
                {
                    c.get_element_type().get_type_name()
                    for c in consts
                    if c is not weight and c.get_element_type().get_type_name() in ("f16", "f32", "bf16")
                }
            )
            name = _module_name(op.get_friendly_name())
            role = "embedding" if kind == "Gather" else "linear"
            if op.get_name() == head:
                role, name = "lm_head", "lm_head"
            layers.append(
                {
                    "name": name,
                    "op": kind,
                    "role": role,
                    "weight_type": wtype,
                    "shape": shape,
                    "group_size": shape[-1] if wtype in OV_LOW_BIT_TYPES and len(shape) == 3 else -1,
                    "zero_point": zp_kind if zp_kind != "scalar" else f"scalar={zp_value}",
                    "scale_types": scale_types,
                    "shared_with": seen_weights.get(weight.get_name()),
                    "bytes": int(weight.get_byte_size()),
                }
            )
            seen_weights.setdefault(weight.get_name(), name)
    rt_mode = None
    with contextlib.suppress(Exception):
        rt_mode = str(model.get_rt_info(["nncf", "weight_compression", "mode"]).astype(str))
    linear = [x for x in layers if x["role"] == "linear"]
    unique = [x for x in layers if x["shared_with"] is None]
    meta = read_ov_meta(xml.parent) or {}
    params_by_type = sum((Counter({x["weight_type"]: math.prod(x["shape"])}) for x in linear), Counter())
    input_names = sorted(i.get_any_name() for i in model.inputs)
    return {
        "path": str(path),
        "inputs": input_names,
        "stateful": len(input_names) <= 4 and not any(n.startswith("past_key_values") for n in input_names),
        "asked": meta.get("mode", meta.get("precision")),
        "build_seconds": meta.get("seconds"),
        "unsupported": meta.get("unsupported", []),
        "rt_info_mode": rt_mode,
        "constants_by_type": dict(sorted(constants.items())),
        "weights_by_type": dict(Counter(x["weight_type"] for x in layers)),
        "linear_weight_types": dict(Counter(x["weight_type"] for x in linear)),
        "linear_params_by_type": dict(params_by_type),
        "low_bit_share": low_bit_share(params_by_type),
        "group_sizes": sorted({x["group_size"] for x in linear}),
        "zero_points": dict(Counter(str(x["zero_point"]) for x in linear)),
        "weight_mb": round(sum(x["bytes"] for x in unique) / 2**20, 2),
        "bin_mb": round((xml.with_suffix(".bin")).stat().st_size / 2**20, 2),
        "layers": layers,
    }


def _expected_ov(expected: Any) -> tuple[str, int | None, float, bool]:
    """``(mode, group_size, ratio, all_layers)`` from a mode string, an OvCompressionPlan or a WoqConfig."""
    if isinstance(expected, str):
        mode = {"int8": "int8_asym", "f32": "fp32", "int4": "int4_sym"}.get(expected, expected)
        return mode, None, 1.0, False
    plan = _plan_from(expected)
    return plan.mode, plan.group_size, plan.ratio if plan.ratio is not None else 1.0, bool(plan.all_layers)


def assert_ov_matches(path: str | Path, expected: Any) -> dict[str, Any]:
    """Raise :class:`QuantizationMismatch` unless the IR's weights are what ``expected`` asked for.

    ``expected``: ``"fp32"``, an NNCF mode (``"nf4"``, ``"int4_sym"``, ``"int4_asym"``, ``"int8_sym"``,
    ``"int8_asym"``), an ``OvCompressionPlan`` or a ``WoqConfig``. Checks the element type of every linear layer's
    weight (ratio 1: all of them), symmetric = scalar midpoint zero point or none, asymmetric = per-group/channel
    zero points, the group size when the plan has one, and the int8 backup for embeddings/lm_head.
    """
    mode, group_size, ratio, all_layers = _expected_ov(expected)
    report = inspect_openvino_ir(path)
    linear = [x for x in report["layers"] if x["role"] == "linear"]
    edges = [x for x in report["layers"] if x["role"] != "linear" and x["shared_with"] is None]
    problems: list[str] = []
    if not report["stateful"]:
        problems.append(f"not stateful: {len(report['inputs'])} inputs (KV cache fed from Python every token)")
    if not linear:
        problems.append("no linear layer with constant weights found")
    primary = {"fp32": {"f32"}, "nf4": {"nf4"}, "int4_sym": {"u4", "i4"}, "int4_asym": {"u4"}}.get(mode, {"u8", "i8"})
    if mode not in ("fp32", "nf4", "int4_sym", "int4_asym", "int8_sym", "int8_asym"):
        raise ValueError(f"expected={mode!r}: allowed values are fp32, nf4, int4_sym, int4_asym, int8_sym, int8_asym")
    backup = primary if mode == "fp32" or mode.startswith("int8") or all_layers else {"u8"}
    hits = [x for x in linear if x["weight_type"] in primary]
    if ratio >= 1.0 and len(hits) != len(linear):
        wrong = Counter(x["weight_type"] for x in linear if x["weight_type"] not in primary)
        problems.append(f"{mode} asked: {len(hits)}/{len(linear)} linear weights match, others {dict(wrong)}")
    elif ratio < 1.0 and not hits:
        problems.append(f"{mode} asked (ratio {ratio}): no linear weight in {sorted(primary)}")
    for x in linear:
        if x["weight_type"] not in primary and x["weight_type"] not in backup | {"u8"}:
            problems.append(f"{x['name']}: {x['weight_type']} is neither {sorted(primary)} nor the int8 backup")
    for x in edges:
        if x["weight_type"] not in primary | backup:
            problems.append(f"{x['name']} ({x['role']}): {x['weight_type']}, expected {sorted(primary | backup)}")
    for x in hits:
        zp = x["zero_point"]
        if mode.endswith("_sym") and zp is not None and zp != f"scalar={_OV_SYM_ZERO_POINT.get(x['weight_type'])}":
            problems.append(f"{x['name']}: symmetric asked but zero point is {zp}")
        if mode.endswith("_asym") and (zp is None or str(zp).startswith("scalar")):
            problems.append(f"{x['name']}: asymmetric asked but zero point is {zp}")
        if mode in ("nf4", "int4_sym", "int4_asym") and group_size not in (None, -1) and x["group_size"] != group_size:
            problems.append(f"{x['name']}: group size {x['group_size']}, {group_size} asked")
    if problems:
        raise QuantizationMismatch(f"{report['path']}: " + "; ".join(problems[:8]))
    return report


def load_openvino_llm(
    path: str | Path, num_threads: int, *, precision_hint: str | None = "f32", extra_config: dict | None = None
) -> tuple[Any, Any]:
    """``(OVModelForCausalLM, tokenizer)`` compiled for CPU with a fixed thread count (>= 2, see OV_MIN_THREADS).

    ``precision_hint="f32"`` keeps OpenVINO from computing in bf16 on AMX/AVX512-BF16 CPUs, so that it compares
    with torch fp32 and ITREX ``compute_dtype="fp32"``; pass None to let the runtime choose.
    """
    from optimum.intel import OVModelForCausalLM

    enforce_offline()
    config = ov_config(_ov_threads(num_threads))
    if precision_hint:
        config["INFERENCE_PRECISION_HINT"] = precision_hint
    config.update(extra_config or {})
    model = OVModelForCausalLM.from_pretrained(str(path), ov_config=config, device="CPU", compile=True)
    return model, load_tokenizer(path)


def openvino_langchain_llm(path: str | Path, num_threads: int, max_new_tokens: int = 64, **load_kwargs: Any) -> Any:
    """LangChain ``HuggingFacePipeline`` around an ``OVModelForCausalLM`` (greedy, answer only)."""
    model, tokenizer = load_openvino_llm(path, num_threads, **load_kwargs)
    return _langchain_hf(_hf_pipeline(model, tokenizer, max_new_tokens, return_full_text=False))


# --------------------------------------------------------------------------------------------------------------
# 3. Common: baseline, measurements
# --------------------------------------------------------------------------------------------------------------
def torch_fp32_llm(model_dir: str | Path, num_threads: int, max_new_tokens: int = 64) -> Any:
    """LangChain ``HuggingFacePipeline`` around the plain fp32 PyTorch model (the baseline; greedy, answer only)."""
    import torch
    from transformers import AutoModelForCausalLM

    enforce_offline()
    set_threads(num_threads)
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32).eval()
    tokenizer = load_tokenizer(model_dir)
    return _langchain_hf(_hf_pipeline(model, tokenizer, max_new_tokens, return_full_text=False))


def _no_grad(model: Any) -> contextlib.AbstractContextManager[Any]:
    try:
        import torch
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return torch.inference_mode() if isinstance(model, torch.nn.Module) else contextlib.nullcontext()


def measure_generation(
    model: Any,
    tokenizer: Any,
    prompt: str,
    *,
    max_new_tokens: int = 32,
    warmup: int = 1,
    iterations: int = 3,
) -> dict[str, Any]:
    """Greedy generation timings for a torch model, an ``OVModelForCausalLM`` or a LangChain pipeline wrapping one.

    Prefill = time to generate 1 token from the prompt; decode ms/token = ``(t(N) - t(1)) / (N - 1)`` with
    ``min_new_tokens=N`` so that EOS cannot cut a run short. Medians and p90 over ``iterations`` after ``warmup``
    (``helpers.bench.time_call``); each iteration runs the 1-token and the N-token generation back to back and
    decode is their paired difference. The machine load before the run is recorded (busy -> ``notes``): timings
    on a busy 2-core machine are pessimistic and noisy.
    """
    if hasattr(getattr(model, "pipeline", None), "model"):
        model, wrapped_tokenizer = unwrap_llm(model)
        tokenizer = tokenizer or wrapped_tokenizer
    if max_new_tokens < 2:
        raise ValueError(f"max_new_tokens={max_new_tokens!r} is invalid: allowed values are integers >= 2")
    load = machine_load(0.5)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def generate(n: int) -> Any:
        with _no_grad(model):
            return model.generate(
                **inputs,
                max_new_tokens=n,
                min_new_tokens=n,
                do_sample=False,
                num_beams=1,
                pad_token_id=pad,
            )

    output = generate(max_new_tokens)
    new_tokens = int(output.shape[1]) - prompt_tokens
    if new_tokens != max_new_tokens:
        raise RuntimeError(f"generated {new_tokens} tokens instead of {max_new_tokens}")
    text = tokenizer.decode(output[0, prompt_tokens:], skip_special_tokens=True)
    one: list[float] = []
    many: list[float] = []

    def pair() -> None:  # 1-token and N-token runs back to back, so that both see the same machine state
        start = time.perf_counter()
        generate(1)
        middle = time.perf_counter()
        generate(max_new_tokens)
        one.append(middle - start)
        many.append(time.perf_counter() - middle)

    time_call(pair, warmup=warmup, iterations=iterations)
    prefill = TimingStats(tuple(one[warmup:]), warmup)
    full = TimingStats(tuple(many[warmup:]), warmup)
    decode = TimingStats(tuple((n - p) / (max_new_tokens - 1) for p, n in zip(one, many, strict=True))[warmup:], warmup)
    decode_median = 1000 * decode.median
    notes = list(load.notes)
    if decode_median <= 0:
        notes.append("decode time <= 0: the 1-token runs were slower than the N-token runs (noise); rerun")
    return {
        "prompt_tokens": prompt_tokens,
        "new_tokens": new_tokens,
        "prefill_ms": round(1000 * prefill.median, 2),
        "prefill_ms_p90": round(1000 * prefill.p90, 2),
        "decode_ms_per_token": round(decode_median, 2),
        "decode_ms_per_token_p90": round(1000 * decode.p90, 2),
        "decode_tokens_per_s": round(1000 / decode_median, 2) if decode_median > 0 else float("nan"),
        "e2e_s": round(full.median, 3),
        "e2e_s_p90": round(full.p90, 3),
        "e2e_tokens_per_s": round(max_new_tokens / full.median, 2),
        # raw per-run samples, for intervals on medians and on speed-up ratios (helpers.intervals.ratio_ci)
        "prefill_ms_samples": [round(1000 * x, 3) for x in prefill.seconds],
        "decode_ms_samples": [round(1000 * x, 3) for x in decode.seconds],
        "warmup": warmup,
        "iterations": iterations,
        "text": text,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "loadavg_1min": round(load.loadavg_1min, 2),
        "cpu_idle_percent": round(load.cpu_idle_percent, 1),
        "notes": notes,
    }


def sequence_logits(model: Any, input_ids: Any) -> Any:
    """Full-sequence logits, fresh context (no KV cache carried in or kept) for torch and OpenVINO models."""
    import torch

    attention_mask = torch.ones_like(input_ids)
    if isinstance(model, torch.nn.Module):
        with torch.inference_mode():
            out = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False, return_dict=True)
        return out.logits
    # OVModelForCausalLM: past_key_values=None resets a stateful model's KV state, so every window starts empty
    return model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=None).logits


def perplexity(
    model: Any,
    tokenizer: Any,
    text: str,
    *,
    max_tokens: int = 2048,
    window: int = 512,
    stride: int = 256,
) -> float:
    """Perplexity of the first ``max_tokens`` tokens of ``text`` with a sliding window.

    Each window holds up to ``window`` tokens and scores only the tokens not scored before (at least
    ``window - stride`` tokens of context for every scored token after the first window); every token but the
    first is scored exactly once, so the same budget gives comparable numbers across torch, ITREX and OpenVINO.
    """
    import torch

    if hasattr(getattr(model, "pipeline", None), "model"):
        model, wrapped_tokenizer = unwrap_llm(model)
        tokenizer = tokenizer or wrapped_tokenizer
    if not 0 < stride <= window:
        raise ValueError(f"stride={stride!r} is invalid: allowed values are 1 <= stride <= window ({window})")
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids[:, :max_tokens]
    total = int(ids.shape[1])
    if total < 2:
        raise ValueError("text has fewer than 2 tokens")
    nll = 0.0
    scored = 0
    prev_end = 0
    for begin in range(0, total, stride):
        end = min(begin + window, total)
        chunk = ids[:, begin:end]
        new = min(end - prev_end, chunk.shape[1] - 1)
        logits = sequence_logits(model, chunk)[0, -new - 1 : -1].double()
        targets = chunk[0, -new:]
        nll -= torch.log_softmax(logits, dim=-1).gather(1, targets[:, None]).sum().item()
        scored += new
        prev_end = end
        if end == total:
            break
    return math.exp(nll / scored)
