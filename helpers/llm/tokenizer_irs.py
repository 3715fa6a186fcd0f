"""Notebooks 00, 01, 03, 04, 06: The tokenizer as OpenVINO IRs (``openvino_tokenizer.xml`` /
``openvino_detokenizer.xml``), which OpenVINO GenAI's ``LLMPipeline`` reads from the model folder. Built with the model,
in the same cached IR build (``helpers.llm``)."""

from __future__ import annotations

from pathlib import Path

from helpers.core.settings import enforce_offline

TOKENIZER_XML = "openvino_tokenizer.xml"
DETOKENIZER_XML = "openvino_detokenizer.xml"


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
