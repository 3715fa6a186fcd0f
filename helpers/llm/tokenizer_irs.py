"""Notebooks 00, 01, 03, 04, 06: The tokenizer as OpenVINO IRs (``openvino_tokenizer.xml`` /
``openvino_detokenizer.xml``), which OpenVINO GenAI's ``LLMPipeline`` reads from the model folder. Built with the model,
in the same cached IR build (``helpers.llm``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from helpers.core.cache import MANIFEST_NAME, cached_build, folder_fingerprint, library_versions, sha256_file
from helpers.core.settings import cache_dir, enforce_offline

TOKENIZER_XML = "openvino_tokenizer.xml"
DETOKENIZER_XML = "openvino_detokenizer.xml"
#: What a model folder holds besides its tokenizer IRs that GenAI reads: the IR, configs, the Hugging Face tokenizer.
_MODEL_SUFFIXES = (".xml", ".bin", ".json", ".txt", ".model", ".jinja")


def convert_tokenizer_irs(tokenizer_dir: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``openvino_tokenizer.xml`` and ``openvino_detokenizer.xml`` for a local Hugging Face tokenizer.

    Offline, no remote code. The detokenizer skips special tokens, so answers carry no end-of-turn marker.
    Returns ``(tokenizer_xml, detokenizer_xml)`` inside ``out_dir`` (created if missing).
    """
    enforce_offline()
    tokenizer_dir = Path(tokenizer_dir)
    if not tokenizer_dir.is_dir():
        raise FileNotFoundError(f"tokenizer_dir={str(tokenizer_dir)!r} is not a folder: allowed is a local folder")
    import openvino as ov
    from openvino_tokenizers import convert_tokenizer
    from transformers import AutoTokenizer

    hf_tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    ov_tokenizer, ov_detokenizer = convert_tokenizer(hf_tokenizer, with_detokenizer=True, skip_special_tokens=True)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = (out / TOKENIZER_XML, out / DETOKENIZER_XML)
    ov.save_model(ov_tokenizer, str(paths[0]))
    ov.save_model(ov_detokenizer, str(paths[1]))
    return paths


def genai_folder(model_dir: str | Path) -> Path:
    """The IR folder as this environment's GenAI reads it: the model's files linked (no copy), the tokenizer IRs
    converted again by this environment's openvino-tokenizers. Cached per model folder and version.

    Structured output needs it on GenAI 2025+: its grammar engine reads the vocabulary from the detokenizer IR, which
    the 2024.2 converter (the seed environment, where the cookbook's IRs are built) does not expose.
    """
    model_dir = Path(model_dir)
    versions = library_versions("openvino-tokenizers")
    tag = (versions["openvino-tokenizers"] or "none").split("-")[0]
    out = cache_dir() / "ov-genai" / f"{model_dir.name}-tokenizers-{tag}"
    manifest = model_dir / MANIFEST_NAME  # a cached build's manifest says what it is (hashing GBs of weights is slow)
    source = sha256_file(manifest)[:16] if manifest.is_file() else folder_fingerprint(model_dir, _MODEL_SUFFIXES)
    expected = {"kind": "genai-folder", "source": source, "versions": versions}

    def build(tmp: Path) -> None:
        skip = {TOKENIZER_XML, DETOKENIZER_XML, "openvino_tokenizer.bin", "openvino_detokenizer.bin"}
        for file in model_dir.iterdir():
            if file.is_file() and file.name not in skip and file.name != MANIFEST_NAME:
                try:
                    os.link(file, tmp / file.name)
                except OSError:  # another file system: copy
                    shutil.copy2(file, tmp / file.name)
        convert_tokenizer_irs(model_dir, tmp)

    return cached_build(out, expected, build)
