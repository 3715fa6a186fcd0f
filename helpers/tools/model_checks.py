"""`make models-check` (no notebook): each converted model against llama.cpp on the same GGUF file: identical token
ids on the same texts (chat markers included), and how often the fp32 conversion predicts llama.cpp's next token.

The cookbook's "fp32" models are its own conversions of the GGUF files (:mod:`helpers.models`). This is the check that
they are the same models as the GGUF runtime's: a tokenizer that splits a text differently, or a tensor mapped to the
wrong place, shows here. llama.cpp computes on the quantized weights (and quantizes activations), so the top-1
agreement is high but not 1. Needs the optional llama.cpp extra (``requirements-peers.txt``).

    python -m helpers.tools.model_checks [--model NAME ...] [--threads 2]   # -> results/<profile>/model_checks.jsonl
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np

from helpers import data, models
from helpers.core import timing
from helpers.core.results import ResultsStore
from helpers.core.settings import enforce_offline, results_path, set_threads

#: The bars: every sample gives the same ids, and the conversion predicts llama.cpp's next token this often.
MIN_SAMPLES = 50
MIN_TOP1_AGREEMENT = 0.9
INSTALL_HINT = 'CMAKE_ARGS="-DGGML_NATIVE=ON" pip install -r requirements-peers.txt -c constraints.txt'


def tokenizer_samples(tokenizer: Any, n_faq: int = 40) -> list[str]:
    """Texts both tokenizers must split alike: the round-trip samples, FAQ questions as chat prompts (with the
    model's own chat markers), and passages of the Python docs (code, tables, unusual whitespace)."""
    questions = [qa.question for qa in data.load_faq(limit=n_faq)]
    chats = [models.chat_prompt(tokenizer, [{"role": "user", "content": q}]) for q in questions]
    passages = [doc.text[:600] for doc in data.heldout_docs()[:20]]
    return [*models.ROUND_TRIP_SAMPLES, *chats, *passages]


def tokenizer_agreement(tokenizer: Any, llama: Any, samples: list[str]) -> dict[str, Any]:
    """How many ``samples`` the Hugging Face tokenizer and llama.cpp's split into the same ids (no BOS added by
    either; special tokens parsed by both), with the first few that differ."""
    differ = []
    for text in samples:
        ours = tokenizer(text, add_special_tokens=False)["input_ids"]
        theirs = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if list(ours) != list(theirs):
            differ.append(text)
    return {"samples": len(samples), "identical_ids": len(samples) - len(differ), "differing": differ[:3]}


def top1_agreement(hf_logits: np.ndarray, llama_logits: np.ndarray) -> float:
    """Share of positions where the two next-token distributions have the same argmax."""
    if hf_logits.shape != llama_logits.shape:
        raise ValueError(f"logits shapes differ: {hf_logits.shape} vs {llama_logits.shape}")
    return float(np.mean(hf_logits.argmax(-1) == llama_logits.argmax(-1)))


def check_model(model: str, num_threads: int = 2, positions: int = 512) -> dict[str, Any]:
    """The model's results row: tokenizer agreement on the samples, and top-1 agreement over ``positions`` held-out
    tokens fed to both (llama.cpp's own ids of the held-out Python docs)."""
    import torch  # heavy: only for this check

    spec = models.get_causal_lm(model)
    enforce_offline()
    set_threads(num_threads)
    gguf = models.causal_lm_gguf_path(spec)
    hf_model, tokenizer = models.load_causal_lm(model=spec)
    llama = models.load_llama_cpp(gguf, num_threads, n_ctx=positions + 8, n_batch=positions + 8, logits_all=True)
    row: dict[str, Any] = {"key": spec.name, "model": spec.name, "gguf_sha256": spec.sha256}
    row.update(tokenizer_agreement(tokenizer, llama, tokenizer_samples(tokenizer)))
    ids = llama.tokenize(data.heldout_docs_text().encode("utf-8"), add_bos=False)[:positions]
    llama.reset()
    llama.eval(ids)
    theirs = np.array(llama.scores[: len(ids)], dtype=np.float32)
    llama.close()  # frees the model now, not in a destructor at interpreter exit (that one fails noisily)
    with torch.inference_mode():
        ours = hf_model(torch.tensor([ids])).logits[0].float().numpy()
    row.update(
        positions=len(ids),
        top1_agreement=round(top1_agreement(ours, theirs), 4),
        llama_cpp_version=importlib.metadata.version("llama-cpp-python"),
        status="ok",
    )
    return row


def meets_bars(row: dict[str, Any]) -> bool:
    """Every sample gave the same ids (at least :data:`MIN_SAMPLES` of them) and top-1 agreement is at least
    :data:`MIN_TOP1_AGREEMENT`."""
    return (
        row["samples"] >= MIN_SAMPLES
        and row["identical_ids"] == row["samples"]
        and row["top1_agreement"] >= MIN_TOP1_AGREEMENT
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", choices=list(models.CAUSAL_LMS), help="default: every model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default: results/<profile>/model_checks.jsonl")
    args = parser.parse_args(argv)
    if importlib.util.find_spec("llama_cpp") is None:
        print(f"error: llama-cpp-python is not installed (optional extra): {INSTALL_HINT}", file=sys.stderr)
        return 2
    names = args.model or [m.name for m in models.CAUSAL_LMS.values() if not m.optional]
    store = ResultsStore(args.out or results_path("model_checks", num_threads=args.threads))
    for name in names:
        row = {**timing.profile_record(args.threads), **check_model(name, args.threads)}
        store.append(row)
        verdict = "meets the bars" if meets_bars(row) else "MISSES the bars"
        print(
            f"{name}: {row['identical_ids']}/{row['samples']} samples with identical ids, top-1 agreement "
            f"{row['top1_agreement']:.3f} over {row['positions']} tokens ({verdict})"
        )
    print(f"results: {store.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
