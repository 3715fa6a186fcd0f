"""Notebook 00 (through :mod:`helpers.tools.notebooks`, which runs every notebook): saved outputs without third-party
noise. Libraries print progress bars (tqdm, rich), box-drawn tables, terminal escape codes and start-up chatter to
the kernel's streams; a committed page keeps what the cells print themselves. Only the patterns listed here go, each
one a known library's; anything else stays and the clean-output tests count it.
"""

from __future__ import annotations

import re
from typing import Any

from helpers.core.settings import REPO_ROOT

#: Terminal control sequences (cursor hide / show, colours) that progress bars write.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: Whole lines printed by third-party libraries, never by a cell: what prints each is in the comment.
NOISE_LINES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"^No CUDA runtime is found, using CUDA_HOME=",  # torch.utils.cpp_extension, imported by IPEX / ITREX
        r"^Compiling the model to CPU \.\.\.$",  # optimum-intel, every OVModel compile
        r"^Framework not specified\. Using pt to export the model\.$",  # optimum exporters
        r"^Using framework PyTorch: ",  # optimum exporters, every export
        r"^Overriding \d+ configuration item\(s\)$",  # optimum exporters: the config items the task overrides
        r"^\t- use_cache -> (True|False)$",  # ... and the item itself
        r"^Configuration saved in \S+config\.json$",  # transformers' save_pretrained (into a temporary folder)
        r"^Passing the argument `library_name` to `get_supported_tasks_for_model_type` is required",  # optimum
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[INFO\] ",  # ITREX / neural-compressor's timestamped INFO log
        r"^INFO:nncf:",  # NNCF's INFO log (the cells report the bit widths they find themselves)
        r"^WARNING:openvino_tokenizers\.tokenizer_pipeline:Replacing ",  # tokenizer conversion, regex rewrite notice
        r"^WARNING:root:`transformers` version >= 4\.31 is requirements by intel-extension-for-transformers",  # ITREX
        r"^The (cos|sin)_cached attribute will be removed in 4\.39",  # transformers 4.38 Llama RoPE deprecation
        r"^\s*[│┃┍┑┕┙┝┥┯┷┿├┤┼└┘┌┐╭╮╰╯]",  # rows and rules of NNCF's / rich's box-drawn tables
        r"━",  # rich progress bars (NNCF compression, optimum export)
        r"^Token indices sequence length is longer than the specified maximum sequence length",  # transformers, on
        # purpose: the evaluation tokenizes whole texts and cuts them into windows itself
        r"rich/live\.py:\d+: UserWarning: install \"ipywidgets\" for Jupyter support",  # rich, NNCF's bars
        r"^\s*warnings\.warn\('install \"ipywidgets\" for Jupyter support'\)",
    )
)
#: rich wraps its console at the terminal width, so its ipywidgets warning can arrive split in two lines: joined
#: back before the lines are judged.
RICH_WRAPPED = re.compile(r'(install "ipywidgets" for Jupyter)[ \t]*\n[ \t]*(support)')
#: HTML tags, stripped before an HTML display's text is judged.
TAGS = re.compile(r"<[^>]+>")
#: Mime types that only widgets and live progress displays use.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def clean_text(text: str) -> str:
    """``text`` without escape codes and without the lines :data:`NOISE_LINES` names (blank runs they leave
    collapse to one blank line). Text with none of them is returned as printed, trailing blank lines included, so a
    cell whose output nbval compares reads the same after cleaning as when it runs."""
    text = _relative(text)
    text = RICH_WRAPPED.sub(r"\1 \2", text)
    lines = ANSI.sub("", text).replace("\r", "\n").split("\n")
    if "\x1b" not in text and "\r" not in text and not any(_is_noise(line) for line in lines):
        return text
    kept: list[str] = []
    for line in lines:
        if _is_noise(line):
            continue
        if not line.strip() and (not kept or not kept[-1].strip()):
            continue
        kept.append(line)
    return "\n".join(kept).strip("\n") + ("\n" if kept else "")


def _relative(text: str) -> str:
    """Paths a library prints, made relative to the repository like the ones the cells print."""
    return text.replace(f"{REPO_ROOT}/", "")


def _is_noise(line: str) -> bool:
    """One line a listed library printed."""
    return any(p.search(line) for p in NOISE_LINES)


def clean_outputs(outputs: list[Any]) -> list[Any]:
    """A code cell's outputs with the noise removed: streams cleaned (and dropped when nothing is left), widget and
    progress-only displays dropped; results, plots, tables and errors untouched."""
    out = []
    for output in outputs:
        kind = output.get("output_type")
        if kind == "stream":
            text = clean_text("".join(output.get("text", "")))
            if text.strip():
                output["text"] = text
                out.append(output)
            continue
        if kind == "display_data" and _noise_only(output.get("data", {})):
            continue
        for mime in ("text/plain", "text/html"):  # a kept display names repo files relative to the repository too
            if mime in output.get("data", {}):
                text = _relative("".join(output["data"][mime]))
                output["data"][mime] = text if isinstance(output["data"][mime], str) else text.splitlines(keepends=True)
        out.append(output)
    return out


def _noise_only(data: dict[str, Any]) -> bool:
    """A display holding a widget, or text (plain or HTML, e.g. rich's live progress) that is all noise."""
    if WIDGET_MIME in data:
        return True
    if not data or not set(data) <= {"text/plain", "text/html"}:
        return False  # images, tables with other mime types: kept
    texts = ["".join(data.get("text/plain", "")), TAGS.sub("", "".join(data.get("text/html", "")))]
    return not any(clean_text(t).strip() for t in texts)
