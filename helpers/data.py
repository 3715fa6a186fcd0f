"""Notebooks 00, 01, 03, 04, 06: Loaders for the cookbook's offline data sets in ``data/`` (see ``data/DATA.md``).

* ``load_docs``: Python 3.11 documentation pages, the RAG corpus.
* ``load_faq``: question -> answer pairs from the Python FAQ, the labelled retrieval set.
* ``load_perplexity_text`` / ``load_plays``: three Shakespeare plays, held-out text for perplexity.
* ``calibration_texts``: deterministic prose passages from the docs for AWQ/TEQ/NNCF calibration.
* ``heldout_docs`` / ``heldout_docs_text``: docs pages no calibration passage comes from, for accuracy evaluation.

Standard library only, no network; files are parsed once per process and cached.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from helpers.core.settings import DATA_DIR

DOCS_FILE = "python_docs.jsonl.gz"
FAQ_FILE = "faq_qa.jsonl"
#: Kinds of FAQ question by their opening words (what an answer can copy from its context depends on what is asked).
QUESTION_KINDS = {
    "how-to": ("how do ", "how can "),
    "why": ("why ",),
    "what": ("what ",),
    "yes-no": ("is ", "are ", "can ", "does ", "do "),
}
SHAKESPEARE_FILE = "shakespeare.txt"
REBUILD_HINT = "python data/build_data.py"
PLAY_SEPARATOR = "\n\n\n"  # the build script separates plays by two blank lines (never used inside a play)

__all__ = [
    "Doc",
    "QAPair",
    "load_docs",
    "load_faq",
    "load_perplexity_text",
    "load_plays",
    "calibration_texts",
    "heldout_docs",
    "heldout_docs_text",
    "split_text_for_eval",
    "as_langchain_documents",
    "data_summary",
]


@dataclass(frozen=True)
class Doc:
    """One documentation page: ``source`` is its path in the docs (``library/functions.rst``)."""

    source: str
    title: str
    text: str


@dataclass(frozen=True)
class QAPair:
    """One FAQ entry; ``source`` is the FAQ page holding the answer (also a ``Doc.source``)."""

    id: str
    source: str
    question: str
    answer: str


def _path(name: str) -> Path:
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; rebuild the data sets with: {REBUILD_HINT} (see data/DATA.md)")
    return path


@lru_cache(maxsize=8)
def _read_jsonl(path: Path) -> tuple[dict[str, Any], ...]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return tuple(json.loads(line) for line in fh if line.strip())


@lru_cache(maxsize=4)
def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _take(items: list, limit: int | None) -> list:
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit={limit!r} is invalid: use None or an integer >= 0")
    return items if limit is None else items[:limit]


def load_docs(limit: int | None = None) -> list[Doc]:
    """The documentation pages in corpus order (sorted by source path); ``limit`` keeps the first N."""
    return _take([Doc(**r) for r in _read_jsonl(_path(DOCS_FILE))], limit)


def load_faq(limit: int | None = None) -> list[QAPair]:
    """The FAQ question/answer pairs in id order (``faq-000``, ...); ``limit`` keeps the first N."""
    return _take([QAPair(**r) for r in _read_jsonl(_path(FAQ_FILE))], limit)


def question_kind(question: str) -> str:
    """The kind of a FAQ question (:data:`QUESTION_KINDS`) by its opening words; "other" when none fits."""
    text = question.lower()
    return next((kind for kind, openings in QUESTION_KINDS.items() if text.startswith(openings)), "other")


def load_perplexity_text() -> str:
    """All three plays as one string (plays separated by two blank lines), for perplexity."""
    return _read_text(_path(SHAKESPEARE_FILE))


def load_plays() -> dict[str, str]:
    """Each play on its own, keyed by its heading line (``"MACBETH"``), in file order."""
    plays = load_perplexity_text().strip().split(PLAY_SEPARATOR)
    return {play.split("\n", 1)[0].strip(): play for play in plays}


_SENTENCE_END = re.compile(r"[.!?:][\"')\]]*$")


def _is_prose(paragraph: str) -> bool:
    """Unindented text ending like a sentence: not code, doctest, table, heading or signature."""
    return (
        not paragraph[:1].isspace()
        and ">>>" not in paragraph
        and paragraph.count("|") < 4
        and bool(_SENTENCE_END.search(paragraph))
    )


def calibration_texts(n: int = 128, min_chars: int = 400, seed: int = 0, max_chars: int = 2000) -> list[str]:
    """``n`` prose passages from the docs corpus, the same for the same arguments.

    Consecutive prose paragraphs of a page (not code, tables, headings or signatures) are joined until a passage
    has at least ``min_chars`` characters; passages are cut at ``max_chars``, then ``n`` are drawn with
    ``random.Random(seed)``. Raises ``ValueError`` when fewer than ``n`` passages qualify.
    """
    if n < 1 or min_chars < 1 or max_chars < min_chars:
        raise ValueError(f"need n >= 1 and 1 <= min_chars <= max_chars, got {n=}, {min_chars=}, {max_chars=}")
    passages: list[str] = []
    for doc in load_docs():
        buffer: list[str] = []
        for paragraph in doc.text.split("\n\n"):
            if not _is_prose(paragraph):
                buffer = []
                continue
            buffer.append(" ".join(paragraph.split()))
            if len(" ".join(buffer)) >= min_chars:
                passages.append(" ".join(buffer)[:max_chars])
                buffer = []
    if n > len(passages):
        raise ValueError(f"only {len(passages)} passages have >= {min_chars} characters, asked for {n}")
    return random.Random(seed).sample(passages, n)


#: The most calibration passages any caller in the repo draws (the embedder benchmark: 300; LLM calibration: 2 to 32).
CALIBRATION_MAX_N = 300


@lru_cache(maxsize=4)
def _heldout_sources(max_calibration: int, seed: int) -> frozenset[str]:
    calibration = calibration_texts(max_calibration, seed=seed)
    kept = set()
    for doc in load_docs():
        flat = " ".join(doc.text.split())  # passages are whitespace-normalised runs of a page's paragraphs
        if not any(passage in flat for passage in calibration):
            kept.add(doc.source)
    return frozenset(kept)


def heldout_docs(max_calibration: int = CALIBRATION_MAX_N, seed: int = 0) -> list[Doc]:
    """Docs pages (corpus order) that contain none of ``calibration_texts(max_calibration, seed=seed)``.

    With the default ``min_chars``/``max_chars`` the pool holds ~3,200 passages, and for every ``n <= 341``
    ``random.sample`` draws a prefix of the same sequence, so ``calibration_texts(n, seed=seed)`` for any
    ``n <= max_calibration`` comes only from the pages excluded here (``tests/test_data.py`` checks the sizes the
    repo uses). About 55 of the 146 pages (~585k characters) remain for the default arguments.
    """
    keep = _heldout_sources(max_calibration, seed)
    return [doc for doc in load_docs() if doc.source in keep]


def heldout_docs_text(max_calibration: int = CALIBRATION_MAX_N, seed: int = 0) -> str:
    """The :func:`heldout_docs` pages as one string, pages separated by two blank lines."""
    return PLAY_SEPARATOR.join(doc.text.strip() for doc in heldout_docs(max_calibration, seed))


def split_text_for_eval(text: str, chunk_chars: int = 2000, max_chunks: int | None = None) -> list[str]:
    """Split ``text`` at line ends into consecutive chunks of at most ``chunk_chars`` characters.

    A single line longer than ``chunk_chars`` becomes its own chunk. ``max_chunks`` keeps the first N.
    """
    if chunk_chars < 1:
        raise ValueError(f"chunk_chars={chunk_chars!r} is invalid: must be >= 1")
    chunks: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        if current and len(current) + len(line) > chunk_chars:
            chunks.append(current)
            current = ""
        current += line
    if current.strip():
        chunks.append(current)
    return _take(chunks, max_chunks)


def as_langchain_documents(docs: list[Doc]) -> list[Any]:
    """Convert ``Doc`` items to ``langchain_core.documents.Document`` with ``source``/``title`` metadata."""
    from langchain_core.documents import Document  # lazy: the loaders do not need LangChain

    return [Document(page_content=d.text, metadata={"source": d.source, "title": d.title}) for d in docs]


def data_summary() -> dict[str, dict[str, int]]:
    """Counts per data set: records, words and characters (plus bytes on disk)."""
    docs, faq, plays = load_docs(), load_faq(), load_plays()
    text = load_perplexity_text()
    return {
        "docs": {
            "records": len(docs),
            "words": sum(len(d.text.split()) for d in docs),
            "chars": sum(len(d.text) for d in docs),
            "bytes": _path(DOCS_FILE).stat().st_size,
        },
        "faq": {
            "records": len(faq),
            "words": sum(len(q.question.split()) + len(q.answer.split()) for q in faq),
            "chars": sum(len(q.question) + len(q.answer) for q in faq),
            "bytes": _path(FAQ_FILE).stat().st_size,
        },
        "shakespeare": {
            "records": len(plays),
            "words": len(text.split()),
            "chars": len(text),
            "bytes": _path(SHAKESPEARE_FILE).stat().st_size,
        },
    }
