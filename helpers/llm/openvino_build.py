"""Notebooks 00, 01, 03, 04, 06: Today's path, building: the stateful OpenVINO IR export and ``nncf.compress_weights``
variants, each a locked, atomic cached build."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from helpers.core.cache import cached_build, copy_side_files, folder_fingerprint, library_versions, read_manifest
from helpers.core.settings import cache_dir, enforce_offline
from helpers.core.timing import run_in_fresh_process
from helpers.llm.common import (
    CALIB_MAX_TOKENS,
    IR_SIDE_FILES,
    OV_BUILD_FORMAT,
    OV_XML_NAME,
    _quiet_logger,
    load_tokenizer,
)
from helpers.llm.tokenizer_irs import convert_tokenizer_irs  # OpenVINO GenAI reads the tokenizer as IRs
from helpers.quant import woq_config as wc
from helpers.quant.shape_checks import check_group_size
from helpers.quant.woq_config import OvCompressionPlan, WoqConfig

#: What an IR build depends on: the files of its source folder (by content) and these libraries.
_IR_SOURCE_SUFFIXES = (".safetensors", ".bin", ".json", ".xml")
_IR_LIBRARIES = ("openvino", "nncf", "optimum-intel", "transformers")


def read_ov_meta(path: Path) -> dict[str, Any] | None:
    """The build manifest of an IR folder (what was asked, the source, the seconds), or None."""
    return read_manifest(path)


def export_openvino_llm(model_dir: str | Path, out_dir: str | Path | None = None, *, rebuild: bool = False) -> Path:
    """Export a local HF causal LM to a **stateful** fp32 OpenVINO IR (KV cache inside the model: inputs
    input_ids, attention_mask, position_ids, beam_idx), tokenizer copied in.

    Built once with :func:`helpers.core.cache.cached_build` (locked, atomic) into ``<cache_dir>/ov/<model folder>-fp32``
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
        "source": folder_fingerprint(model_dir, _IR_SOURCE_SUFFIXES),
        "versions": library_versions(*_IR_LIBRARIES),
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
    copy_side_files(model_dir, out, IR_SIDE_FILES)

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


def calibration_key(texts: Sequence[str], max_tokens: int) -> str:
    """What a data-aware build's cache key says about its calibration: the passages and their token budget."""
    return hashlib.sha1(("\x00".join(texts) + f"|{max_tokens}").encode()).hexdigest()


def ov_calibration_items(
    ir_dir: str | Path, texts: Sequence[str], *, max_tokens: int = CALIB_MAX_TOKENS
) -> list[dict[str, np.ndarray]]:
    """Model inputs (input_ids, attention_mask, position_ids, beam_idx) of each calibration text, as arrays."""
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
    return items


def ov_calibration_dataset(ir_dir: str | Path, texts: Sequence[str], *, max_tokens: int = CALIB_MAX_TOKENS) -> Any:
    """``nncf.Dataset`` of :func:`ov_calibration_items` for data-aware modes."""
    import nncf

    return nncf.Dataset(ov_calibration_items(ir_dir, texts, max_tokens=max_tokens))


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
        calibration = calibration_key(calibration_texts, calib_max_tokens)
    key = ov_plan_key(plan, calibration)
    base = ir_dir.name[:-5] if ir_dir.name.endswith("-fp32") else ir_dir.name
    out = Path(out_dir) if out_dir is not None else ir_dir.parent / f"{base}-{key}"
    source = folder_fingerprint(ir_dir, _IR_SOURCE_SUFFIXES)
    expected = {"kind": "nncf.compress_weights", "key": key, "format": OV_BUILD_FORMAT, "source": source}

    def build(tmp: Path) -> dict[str, Any]:
        dataset = None
        if plan.needs_dataset:
            dataset = ov_calibration_dataset(ir_dir, calibration_texts or (), max_tokens=calib_max_tokens)
        model = ov.Core().read_model(ir_dir / OV_XML_NAME)
        start = time.perf_counter()
        compressed = nncf.compress_weights(model, **plan.nncf_kwargs(dataset))
        seconds = time.perf_counter() - start
        ov.save_model(compressed, tmp / OV_XML_NAME, compress_to_fp16=False)
        copy_side_files(ir_dir, tmp, IR_SIDE_FILES)
        check_stateful(tmp / OV_XML_NAME)
        return {
            "mode": plan.mode,
            "kwargs": plan.kwargs(),
            "unsupported": list(plan.unsupported),
            "notes": list(plan.notes),
            "runtime_config": dict(plan.runtime_config),
            "source_config": plan.source_key,
            "calibration": {"texts": len(calibration_texts or ()), "max_tokens": calib_max_tokens} if dataset else None,
            "seconds": round(seconds, 2),
            "versions": library_versions(*_IR_LIBRARIES),
        }

    return cached_build(out, expected, build, rebuild=rebuild)
