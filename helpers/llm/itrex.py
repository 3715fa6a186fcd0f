"""Notebooks 00, 01, 03, 04, 06: The seed path: ITREX 1.3.2 weight-only quantization through LangChain's
``WeightOnlyQuantPipeline``, and the inspection of what every QBits layer really stores."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from helpers.core.settings import cache_dir, enforce_offline, set_threads
from helpers.llm.common import CALIB_MAX_TOKENS, QuantizationMismatch, _quiet_logger, load_tokenizer
from helpers.quant import woq_config as wc
from helpers.quant.shape_checks import check_group_size
from helpers.quant.woq_config import WoqConfig


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


def _calibration(
    cfg: WoqConfig,
    itrex_cfg: WoqConfig,
    tokenizer: Any,
    calibration_texts: Sequence[str] | None,
    calib_iters: int | None,
    calib_max_tokens: int,
    notes: list[str],
) -> tuple[WoqConfig, Any]:
    """The config ITREX gets and its calibration loader (None for data-free RTN); AWQ/TEQ without texts refused."""

    if cfg.algorithm not in ("AWQ", "TEQ"):
        if calibration_texts:
            notes.append(f"calibration_texts ignored: algorithm={cfg.algorithm!r} is data-free")
        return itrex_cfg, None
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
    return itrex_cfg, calib


def _restore_for_generation(model: Any, use_cache_off: bool, notes: list[str]) -> None:
    """ITREX loads AWQ/TEQ models with torchscript=True (tuple outputs) for INC's tracing: undo it for inference."""
    if model.config.torchscript or use_cache_off:
        model.config.torchscript = False
        model.config.use_cache = True
        model.generation_config.use_cache = True
        notes.append("config.torchscript/use_cache restored to False/True after quantization")


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
    itrex_cfg, calib = _calibration(cfg, itrex_cfg, tokenizer, calibration_texts, calib_iters, calib_max_tokens, notes)
    use_cache_off = cfg.algorithm == "AWQ"
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
    _restore_for_generation(model, use_cache_off, notes)

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
