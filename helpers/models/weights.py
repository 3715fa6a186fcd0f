"""Every notebook: Single weight matrices and the linear-layer shapes of the causal LM (for notebook
02's arithmetic)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from helpers.models.causal_lm import causal_lm_dir

if TYPE_CHECKING:  # heavy imports stay inside functions
    import numpy as np


def load_causal_lm_weight(name: str) -> np.ndarray:
    """One weight tensor of the fp32 SmolLM2 folder as a numpy array, read without loading the whole model.

    ``name`` is a state-dict key such as ``model.layers.0.mlp.down_proj.weight``; an unknown name raises a
    ``KeyError`` listing a few valid ones.
    """
    from safetensors import safe_open

    files = sorted(causal_lm_dir().glob("*.safetensors"))
    for file in files:
        with safe_open(str(file), framework="np") as fh:
            if name in fh.keys():
                return fh.get_tensor(name)
    with safe_open(str(files[0]), framework="np") as fh:
        sample = sorted(fh.keys())[:5]
    raise KeyError(f"weight name={name!r} not found: valid names look like {sample}")


def causal_lm_linear_shapes() -> dict[str, tuple[int, int]]:
    """Shapes ``(out_features, in_features)`` of every Linear weight of the transformer blocks (``*_proj``)."""
    from safetensors import safe_open

    shapes: dict[str, tuple[int, int]] = {}
    for file in sorted(causal_lm_dir().glob("*.safetensors")):
        with safe_open(str(file), framework="np") as fh:
            for key in fh.keys():
                if key.endswith("_proj.weight"):
                    out_f, in_f = fh.get_slice(key).get_shape()
                    shapes[key] = (int(out_f), int(in_f))
    return shapes
