"""Notebooks 00, 01, 03, 04, 06: Today's path, checking and loading: weight constants of an IR by element type ("nf4
asked, nf4 found"), and ``OVModelForCausalLM`` behind LangChain."""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from helpers.core.settings import enforce_offline, ov_config
from helpers.llm.common import (
    _DECOMPRESSION_OPS,
    _OV_SYM_ZERO_POINT,
    OV_4BIT_TYPES,
    OV_LOW_BIT_TYPES,
    OV_XML_NAME,
    QuantizationMismatch,
    _hf_pipeline,
    _langchain_hf,
    _ov_threads,
    load_tokenizer,
)
from helpers.llm.openvino_build import _plan_from, read_ov_meta


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
            # a layer's weight is a matrix: skip integer constants and vectors such as RoPE's inverse frequencies
            # ([1, d/2, 1], a MatMul input in optimum-intel 2.x exports, never compressed by NNCF)
            if sum(d > 1 for d in shape) < 2 or wtype in ("i64", "i32", "boolean"):
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
