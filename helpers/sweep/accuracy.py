"""Notebooks 00, 01, 04, 06: Accuracy against the fp32 model, with intervals you can trust.

* :func:`eval_windows`: fixed token windows spread over held-out Shakespeare and Python docs pages (the docs pages
  are disjoint from the calibration passages, :func:`helpers.data.heldout_docs`).
* :func:`reference_for`: the fp32 model's next-token distributions on those windows, computed once and cached.
* :func:`compare_to_reference`: per position, KL(P_fp32 || Q), top-1 agreement and the next token's NLL, for any
  ``logits_fn`` (torch, ITREX and OpenVINO models alike through :func:`helpers.llm.sequence_logits`).
* :func:`accuracy_row`: the one call for the sweep, a flat dict of estimates and 95 % bootstrap intervals.
* :func:`bootstrap_ci` (windows are resampled, never tokens), :func:`median_ci`, :func:`ratio_ci` (timings) and
  :func:`bar_verdict` ("met", "missed" or "tie within noise").
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from helpers import data, llm
from helpers.core.cache import cached_build, folder_fingerprint
from helpers.core.intervals import Interval, bootstrap_ci
from helpers.core.metrics import topk_kl_divergence
from helpers.core.settings import cache_dir, set_threads

#: ``logits_fn(input_ids) -> logits``: ``input_ids`` is a torch ``long`` tensor [1, T]; logits [T, V] or [1, T, V].
LogitsFn = Callable[[Any], Any]
DEFAULT_SOURCES = ("shakespeare", "python_docs")
SOURCE_TEXTS: dict[str, Callable[[], str]] = {
    "shakespeare": data.load_perplexity_text,
    "python_docs": data.heldout_docs_text,
}
REFERENCE_FORMAT = 1
CACHE_SUBDIR = "accuracy_reference"
REFERENCE_STEM = "reference"
_ARRAYS = ("topk_logp", "topk_ids", "top1", "target_logp")


@dataclass(frozen=True, eq=False)
class EvalWindow:
    """``window`` token ids of one source, from token ``start`` of its text; ``fingerprint``: sha1 of the ids."""

    source: str
    index: int
    start: int
    ids: np.ndarray = field(repr=False)
    fingerprint: str


@dataclass(frozen=True, eq=False)
class Reference:
    """The fp32 model's distributions on ``windows``: for W windows of T tokens, T - 1 scored positions each.

    ``topk_logp`` float16 [W, T-1, k] and ``topk_ids`` int32 [W, T-1, k]: the k most likely next tokens and their
    log-probs; ``top1`` int32 [W, T-1]: the argmax; ``target_logp`` float64 [W, T-1]: the actual next token's
    log-prob (float64 so that the same model's perplexity change is exactly 0). Cost: 8,176 positions x 64 x
    (2 + 4) bytes ~ 3.1 MB (+ 12 bytes a position), against 8,176 x 49,152 x 2 bytes ~ 804 MB for the full
    float16 distributions.
    """

    windows: list[EvalWindow]
    topk_logp: np.ndarray
    topk_ids: np.ndarray
    top1: np.ndarray
    target_logp: np.ndarray
    manifest: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False


@dataclass(frozen=True, eq=False)
class WindowScores:
    """Per-window, per-position scores [W, T-1]: KLD, top-1 agreement, NLL of the candidate and of fp32."""

    sources: np.ndarray
    kld: np.ndarray
    top1: np.ndarray
    nll: np.ndarray
    ref_nll: np.ndarray


def _sha1(payload: bytes) -> str:
    return hashlib.sha1(payload).hexdigest()[:16]


def eval_windows(
    tokenizer: Any, tokens_per_source: int = 4096, window: int = 512, sources: Sequence[str] = DEFAULT_SOURCES
) -> list[EvalWindow]:
    """``tokens_per_source // window`` non-overlapping windows per source, spread evenly over its whole text.

    Shakespeare is the three plays of :func:`helpers.data.load_perplexity_text`; ``python_docs`` is
    :func:`helpers.data.heldout_docs_text` (no calibration passage comes from those pages). The text is tokenized
    once without special tokens and windows are slices of that one token stream.
    """
    if window < 2 or tokens_per_source < window:
        raise ValueError(f"need 2 <= window <= tokens_per_source, got {window=}, {tokens_per_source=}")
    unknown = [s for s in sources if s not in SOURCE_TEXTS]
    if unknown or not sources:
        raise ValueError(f"sources={tuple(sources)!r} is invalid: allowed values are {', '.join(SOURCE_TEXTS)}")
    n = tokens_per_source // window
    windows = []
    for source in sources:
        ids = tokenizer(SOURCE_TEXTS[source](), add_special_tokens=False, verbose=False).input_ids
        ids = np.asarray(ids, dtype=np.int32)
        if len(ids) < n * window:
            raise ValueError(f"{source} has {len(ids)} tokens, fewer than {n} windows of {window}")
        for i in range(n):
            start = i * (len(ids) - window) // max(n - 1, 1)  # gaps >= window because len(ids) >= n * window
            chunk = ids[start : start + window].copy()
            windows.append(EvalWindow(source, i, int(start), chunk, _sha1(chunk.astype("<i4").tobytes())))
    return windows


def windows_fingerprint(windows: Sequence[EvalWindow]) -> str:
    """One sha1 for a list of windows (sources, positions and token ids)."""
    lines = "".join(f"{w.source}/{w.index}/{w.start}/{len(w.ids)}/{w.fingerprint}\n" for w in windows)
    return _sha1(lines.encode())


def model_fingerprint(model_dir: str | Path) -> dict[str, str]:
    """sha256 (16 hex) of the weight and config files of a model folder: content, not path or mtime."""
    found = folder_fingerprint(model_dir, (".safetensors", ".bin"), ("config.json",))
    if not any(name.endswith((".safetensors", ".bin")) for name in found):
        raise FileNotFoundError(f"{model_dir} holds no .safetensors or .bin weights")
    return found


def as_logits_fn(model_or_fn: Any) -> LogitsFn:
    """A ``logits_fn`` as is, or one for a torch / ITREX / OpenVINO model (or a LangChain pipeline around one) that
    calls :func:`helpers.llm.sequence_logits` (fresh context every call)."""
    import torch

    model = model_or_fn
    if hasattr(getattr(model, "pipeline", None), "model"):
        model, _ = llm.unwrap_llm(model)
    if isinstance(model, torch.nn.Module) or hasattr(model, "config"):  # OVModelForCausalLM is no nn.Module
        return lambda input_ids: llm.sequence_logits(model, input_ids)
    if callable(model):
        return model
    raise TypeError(f"expected a model or a logits_fn(input_ids) -> logits, got {type(model).__name__}")


def window_logp(logits_fn: LogitsFn, ids: np.ndarray) -> Any:
    """float64 log-softmax [T-1, V]: row t is the distribution of token t+1 given tokens 0..t."""
    import torch

    logits = torch.as_tensor(logits_fn(torch.from_numpy(ids.astype(np.int64))[None]))
    logits = logits[0] if logits.dim() == 3 else logits
    if logits.dim() != 2 or logits.shape[0] != len(ids):
        raise ValueError(f"logits_fn returned shape {tuple(logits.shape)} for {len(ids)} tokens: expected [T, V]")
    return torch.log_softmax(logits[:-1].double(), dim=-1)


def build_reference(model_or_fn: Any, windows: Sequence[EvalWindow], k: int = 64) -> Reference:
    """Run the fp32 model once over ``windows`` and keep the top-k log-probs per position (see :class:`Reference`)."""
    import torch

    fn = as_logits_fn(model_or_fn)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _ARRAYS}
    for w in windows:
        logp = window_logp(fn, w.ids)
        values, ids = torch.topk(logp, k, dim=-1)
        parts["topk_logp"].append(values.numpy().astype(np.float16))
        parts["topk_ids"].append(ids.numpy().astype(np.int32))
        parts["top1"].append(logp.argmax(dim=-1).numpy().astype(np.int32))
        targets = torch.from_numpy(w.ids[1:].astype(np.int64))[:, None]
        parts["target_logp"].append(logp.gather(1, targets)[:, 0].numpy())
    return Reference(list(windows), **{name: np.stack(arrays) for name, arrays in parts.items()})


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_reference(reference: Reference, stem: Path) -> None:
    """``<stem>.npz`` (numpy arrays only, no pickle) then ``<stem>.json`` (the manifest), each written atomically."""
    w = reference.windows
    arrays = {name: getattr(reference, name) for name in _ARRAYS}
    arrays |= {
        "window_ids": np.stack([x.ids for x in w]),
        "window_start": np.array([x.start for x in w], dtype=np.int64),
        "window_index": np.array([x.index for x in w], dtype=np.int64),
        "window_source": np.array([x.source for x in w]),
        "key": np.array(reference.manifest.get("key", "")),
    }
    stem.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(stem.with_suffix(".npz"), lambda fh: np.savez(fh, **arrays))
    manifest = json.dumps(reference.manifest, indent=2, sort_keys=True).encode()
    _atomic_write(stem.with_suffix(".json"), lambda fh: fh.write(manifest))


def load_reference(stem: Path, key: str | None = None) -> Reference | None:
    """The reference saved at ``stem``, or None if absent, unreadable or not for ``key``."""
    try:
        manifest = json.loads(stem.with_suffix(".json").read_text(encoding="utf-8"))
        with np.load(stem.with_suffix(".npz"), allow_pickle=False) as npz:
            stored = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, KeyError):
        return None
    if key is not None and not (manifest.get("key") == key == str(stored.get("key"))):
        return None
    sources, starts, indexes = stored["window_source"], stored["window_start"], stored["window_index"]
    windows = [
        EvalWindow(str(s), int(i), int(st), ids, _sha1(ids.astype("<i4").tobytes()))
        for s, i, st, ids in zip(sources, indexes, starts, stored["window_ids"], strict=True)
    ]
    if manifest.get("windows") != windows_fingerprint(windows):
        return None
    return Reference(windows, **{name: stored[name] for name in _ARRAYS}, manifest=manifest, from_cache=True)


def reference_for(
    model_dir: str | Path,
    tokenizer: Any = None,
    *,
    tokens_per_source: int = 4096,
    window: int = 512,
    sources: Sequence[str] = DEFAULT_SOURCES,
    k: int = 64,
    num_threads: int | None = None,
    cache: str | Path | None = None,
    rebuild: bool = False,
) -> Reference:
    """The fp32 reference of the model in ``model_dir``, loaded from ``cache`` or built once and saved there.

    The cache entry (folder ``<cache>/<model folder>-<key>/`` with ``reference.npz`` + ``.json``, default under
    ``cache_dir()/accuracy_reference``; built with :func:`helpers.core.cache.cached_build`)
    is keyed by the weights' content, the windows' token ids and ``k``: other windows get their own entry.
    Building loads the model with ``AutoModelForCausalLM`` in float32; for SmolLM2-135M and 16 x 512 tokens it
    costs ~4 CPU-seconds a window (~35 s on 2 idle cores, 157 s measured on a loaded machine) and ~1.9 GB peak RSS.
    """

    model_dir = Path(model_dir)
    tokenizer = tokenizer if tokenizer is not None else llm.load_tokenizer(model_dir)
    windows = eval_windows(tokenizer, tokens_per_source, window, sources)
    manifest: dict[str, Any] = {
        "format": REFERENCE_FORMAT,
        "model": model_fingerprint(model_dir),
        "windows": windows_fingerprint(windows),
        "k": k,
    }
    manifest["key"] = key = _sha1(json.dumps(manifest, sort_keys=True).encode())
    base = Path(cache) if cache is not None else cache_dir() / CACHE_SUBDIR
    target = base / f"{model_dir.name}-{key}"

    built: list[bool] = []

    def build(tmp: Path) -> dict[str, Any]:
        import torch
        from transformers import AutoModelForCausalLM

        built.append(True)
        if num_threads is not None:
            set_threads(num_threads)
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), torch_dtype=torch.float32).eval()
        started = time.perf_counter()
        reference = build_reference(model, windows, k)
        seconds, positions = round(time.perf_counter() - started, 2), int(reference.top1.size)
        extra = {"build_seconds": seconds, "positions": positions, "threads": torch.get_num_threads()}
        save_reference(replace(reference, manifest=manifest | extra), tmp / REFERENCE_STEM)
        return extra

    # one locked, atomic build (helpers.core.cache): two sweep workers never compute or write it twice
    cached_build(target, {"key": key, "format": REFERENCE_FORMAT}, build, rebuild=rebuild)
    found = load_reference(target / REFERENCE_STEM, key)
    if found is None:
        raise RuntimeError(f"{target}: the accuracy reference was built but cannot be read back")
    return replace(found, from_cache=not built)


def compare_to_reference(model_or_fn: Any, reference: Reference) -> WindowScores:
    """Score a candidate (a model, or ``logits_fn``) on the reference's windows, position by position.

    KLD is KL(P_fp32 || Q) over the fp32 top-k tokens plus one bucket for the rest of the vocabulary
    (:func:`helpers.core.metrics.topk_kl_divergence`, a lower bound of the full KL). Q's log-probs are rounded to
    float16 like the stored P's, so the same model scores exactly 0; this float16 grid limits a position's KLD to
    ~1e-5 resolution (SmolLM2 with bf16-rounded weights: mean KLD 5.6e-5, moved by < 0.5 % by the rounding).
    Top-1 agreement compares Q's argmax over the full vocabulary with fp32's; NLL is Q's, in float64.
    """
    import torch

    fn = as_logits_fn(model_or_fn)
    kld, top1, nll = [], [], []
    for i, w in enumerate(reference.windows):
        logp = window_logp(fn, w.ids)
        q_top = logp.gather(1, torch.from_numpy(reference.topk_ids[i].astype(np.int64))).numpy()
        kld.append(topk_kl_divergence(reference.topk_logp[i], q_top.astype(np.float16)))
        top1.append(logp.argmax(dim=-1).numpy() == reference.top1[i])
        targets = torch.from_numpy(w.ids[1:].astype(np.int64))[:, None]
        nll.append(-logp.gather(1, targets)[:, 0].numpy())
    return WindowScores(
        sources=np.array([w.source for w in reference.windows]),
        kld=np.stack(kld),
        top1=np.stack(top1),
        nll=np.stack(nll),
        ref_nll=-reference.target_logp.astype(np.float64),
    )


METRICS = ("kld_mean", "kld_p99", "top1_agreement", "perplexity", "ppl_change")


def _ppl(nll: np.ndarray) -> float:
    return float(np.exp(np.mean(nll)))


def _intervals(scores: WindowScores, rows: np.ndarray, n_boot: int, seed: int) -> dict[str, Interval]:
    kld, top1, nll, ref = scores.kld[rows], scores.top1[rows], scores.nll[rows], scores.ref_nll[rows]
    return {
        "kld_mean": bootstrap_ci(kld, np.mean, n_boot, seed),
        "kld_p99": bootstrap_ci(kld, lambda v: np.quantile(v, 0.99), n_boot, seed),
        "top1_agreement": bootstrap_ci(top1, np.mean, n_boot, seed),
        "perplexity": bootstrap_ci(nll, _ppl, n_boot, seed),
        # paired: the same resampled windows for both; equal window lengths make this ppl / ppl_fp32 - 1
        "ppl_change": bootstrap_ci((nll, ref), lambda a, b: float(np.exp(np.mean(a) - np.mean(b)) - 1), n_boot, seed),
    }


def accuracy_row(model_or_fn: Any, reference: Reference, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Flat results-row columns for one candidate against the fp32 ``reference``, overall and per source.

    For each metric in :data:`METRICS` (``kld_mean``, ``kld_p99``, ``top1_agreement``, ``perplexity``,
    ``ppl_change`` = ppl / ppl_fp32 - 1): ``<metric>``, ``<metric>_lo``, ``<metric>_hi`` (95 % bootstrap over
    windows), and the same with the source inserted, e.g. ``perplexity_shakespeare_lo``. Also ``perplexity_fp32``,
    ``eval_tokens`` (scored positions) and ``eval_windows`` overall and per source, and ``accuracy_reference``.
    """
    return scores_row(compare_to_reference(model_or_fn, reference), reference.manifest.get("key", ""), n_boot, seed)


def reference_row(reference: Reference, *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """:func:`accuracy_row` of the fp32 model the reference was built from, without running it again: the same model on
    the same windows scores KLD 0, top-1 agreement 1 and its own NLL (the reference keeps it in float64)."""
    ref_nll = -reference.target_logp.astype(np.float64)
    scores = WindowScores(
        sources=np.array([w.source for w in reference.windows]),
        kld=np.zeros_like(ref_nll),
        top1=np.ones(ref_nll.shape, dtype=bool),
        nll=ref_nll,
        ref_nll=ref_nll,
    )
    return scores_row(scores, reference.manifest.get("key", ""), n_boot, seed)


def scores_row(scores: WindowScores, reference_key: str, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """The columns of :func:`accuracy_row` from per-position scores (any KLD estimator), overall and per source."""
    row: dict[str, Any] = {"accuracy_reference": reference_key}
    groups = {"": np.ones(len(scores.sources), dtype=bool)}
    groups |= {f"_{s}": scores.sources == s for s in dict.fromkeys(scores.sources.tolist())}
    for suffix, rows in groups.items():
        for name, (value, lo, hi, _) in _intervals(scores, rows, n_boot, seed).items():
            row |= {f"{name}{suffix}": value, f"{name}{suffix}_lo": lo, f"{name}{suffix}_hi": hi}
        row[f"perplexity_fp32{suffix}"] = _ppl(scores.ref_nll[rows])
        row[f"eval_tokens{suffix}"] = int(scores.nll[rows].size)
        row[f"eval_windows{suffix}"] = int(rows.sum())
    return row
