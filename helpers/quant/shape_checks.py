"""Notebooks 00, 01, 03, 04, 06: Shape-aware validation before heavy work: a group size must divide every quantized
layer's input channels.

SmolLM2-135M's linear layers take 576 (q/k/v/o, gate, up) and 1536 (down) input channels. ``group_size=128`` divides
neither 576 nor every layer evenly: NNCF 2.11 refuses it deep inside ``compress_weights``, and ITREX 1.3.2 packs a
shorter leftover group that yields non-finite logits (NaN perplexity, empty answers: measured in the committed
sweep). :func:`check_group_size` refuses such a size up front, naming the field, the value, the layers it does not
fit and the sizes allowed for this model; :func:`group_size_problem` gives the same text for sweep rows.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

#: Group sizes a backend may be asked for (neural-compressor 2.4.1's list; NNCF accepts these too). -1 = per channel.
CANDIDATE_GROUP_SIZES: tuple[int, ...] = (-1, 1, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
#: Backend names as the sweep spells them, and what each does with a size that does not divide a layer.
BACKEND_BEHAVIOUR: dict[str, str] = {
    "itrex": "ITREX/QBits would pack a shorter leftover group (non-finite logits on this model)",
    "openvino": "NNCF 2.11 raises inside compress_weights",
}
#: Weights that are never quantized to groups (kept fp32 by ITREX, int8 per channel by NNCF's 4-bit modes).
_NOT_GROUPED = ("embed_tokens", "lm_head", "norm")


@lru_cache(maxsize=8)
def _in_features_cached(folder: str, stamp: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    path = Path(folder)
    files = sorted(path.glob("*.safetensors"))
    if files:
        from safetensors import safe_open

        found: dict[str, int] = {}
        for file in files:
            with safe_open(str(file), framework="np") as fh:
                for key in fh.keys():
                    shape = fh.get_slice(key).get_shape()
                    if key.endswith(".weight") and len(shape) == 2 and not any(s in key for s in _NOT_GROUPED):
                        found[key.removesuffix(".weight")] = int(shape[1])
        return tuple(sorted(found.items()))
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    hidden, inter = int(config["hidden_size"]), int(config["intermediate_size"])
    return (("*.self_attn.*_proj", hidden), ("*.mlp.down_proj", inter), ("*.mlp.gate_proj/up_proj", hidden))


def linear_in_features(model_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Input channels of every linear layer that weight-only quantization groups, by layer name.

    Read from the safetensors headers of a Hugging Face folder (no weights loaded), or, for an OpenVINO IR folder,
    from the ``config.json`` copied beside it (Llama-family layout: hidden and intermediate sizes).
    """
    path = Path(model_dir)
    if not path.is_dir():
        raise FileNotFoundError(f"model_dir={str(path)!r} is not a folder: expected a model or IR folder")
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(path.glob("*.safetensors")))
    return dict(_in_features_cached(str(path.resolve()), stamp))


def allowed_group_sizes(in_features: Mapping[str, int]) -> list[int]:
    """Candidate group sizes that divide every layer's input channels (always includes -1, per channel)."""
    common = math.gcd(*in_features.values()) if in_features else 0
    return [g for g in CANDIDATE_GROUP_SIZES if g == -1 or (common and common % g == 0)]


def group_size_problem(group_size: int, in_features: Mapping[str, int], backend: str) -> str | None:
    """Why ``group_size`` cannot be used on a model with these layers (None if it fits every layer)."""
    if group_size == -1:
        return None
    misfits = {name: n for name, n in in_features.items() if n % group_size}
    if not misfits:
        return None
    by_width: dict[int, list[str]] = {}
    for name, n in misfits.items():
        by_width.setdefault(n, []).append(name)
    layers = "; ".join(
        f"{len(names)} layer(s) with {n} input channels (e.g. {sorted(names)[0]})"
        for n, names in sorted(by_width.items())
    )
    behaviour = BACKEND_BEHAVIOUR.get(backend, "the backend cannot group them evenly")
    allowed = ", ".join(str(g) for g in allowed_group_sizes(in_features))
    return (
        f"group_size={group_size} does not divide the input channels of {layers}; {behaviour}. "
        f"Allowed values for this model: {allowed}"
    )


def check_group_size(group_size: int, model_dir: str | os.PathLike[str], backend: str) -> None:
    """Raise ``ValueError`` (field, value, layers, allowed values) if ``group_size`` does not fit the model."""
    problem = group_size_problem(group_size, linear_in_features(model_dir), backend)
    if problem:
        raise ValueError(problem)
