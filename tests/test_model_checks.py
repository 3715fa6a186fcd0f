"""helpers.tools.model_checks on fakes (llama.cpp is an optional extra): the tokenizer comparison, top-1 agreement,
the bars, and the committed results of every profile meeting them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.core.settings import COMMITTED_RESULTS
from helpers.tools import model_checks


class FakeTokenizer:
    def __call__(self, text, add_special_tokens=True):
        return {"input_ids": [ord(c) for c in text]}


class FakeLlama:
    def __init__(self, differ_on=()):
        self.differ_on = set(differ_on)

    def tokenize(self, data, add_bos=False, special=True):
        text = data.decode("utf-8")
        ids = [ord(c) for c in text]
        return ids[::-1] if text in self.differ_on else ids


def test_tokenizer_agreement_counts_and_shows_the_samples_that_differ():
    samples = ["abc", "def", "<|im_start|>x"]
    same = model_checks.tokenizer_agreement(FakeTokenizer(), FakeLlama(), samples)
    assert same == {"samples": 3, "identical_ids": 3, "differing": []}
    other = model_checks.tokenizer_agreement(FakeTokenizer(), FakeLlama(differ_on={"def"}), samples)
    assert other["identical_ids"] == 2 and other["differing"] == ["def"]


def test_top1_agreement_compares_argmax_per_position():
    ours = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    theirs = np.array([[0.2, 0.8], [0.1, 0.9], [0.0, 1.0], [0.9, 0.1]])
    assert model_checks.top1_agreement(ours, theirs) == 0.75
    with pytest.raises(ValueError, match="logits shapes differ"):
        model_checks.top1_agreement(ours, theirs[:3])


def test_the_bars():
    row = {"samples": 80, "identical_ids": 80, "top1_agreement": 0.95}
    assert model_checks.meets_bars(row)
    assert not model_checks.meets_bars({**row, "identical_ids": 79})
    assert not model_checks.meets_bars({**row, "top1_agreement": 0.85})
    assert not model_checks.meets_bars({**row, "samples": 10, "identical_ids": 10})


def _committed_rows():
    for path in sorted(COMMITTED_RESULTS.glob("*/model_checks.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                yield pytest.param(json.loads(line), id=f"{path.parent.name}/{json.loads(line)['model']}")


@pytest.mark.parametrize("row", list(_committed_rows()))
def test_committed_model_checks_meet_the_bars(row):
    assert row["status"] == "ok" and model_checks.meets_bars(row), row


def test_the_readme_shows_the_checks_of_a_profile_not_as_a_sweep(tmp_path):
    from helpers.core.results import ResultsStore
    from helpers.core.settings import results_path
    from helpers.publish import readme

    out = results_path("model_checks", profile="intel-xeon-amx-t2", root=tmp_path)
    row = {"key": "m", "model": "m", "samples": 80, "identical_ids": 80, "top1_agreement": 0.97, "positions": 512}
    ResultsStore(out).append({**row, "status": "ok", "profile": "intel-xeon-amx-t2", "llama_cpp_version": "0.3.36"})
    text = "\n\n".join(readme.profile_sections("intel-xeon-amx-t2", tmp_path))
    assert "#### Converted models vs llama.cpp (intel-xeon-amx-t2)" in text and "Weight-only sweep" not in text
    assert "| m " in text and "| met " in text
