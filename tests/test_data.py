"""Fast, offline tests of the data loaders in ``helpers.data`` against the committed files in ``data/``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `pytest tests/` from anywhere

from helpers import data  # noqa: E402


def test_docs_corpus_loads_with_sources_and_titles():
    docs = data.load_docs()
    assert len(docs) > 120
    sources = [d.source for d in docs]
    assert sources == sorted(sources) and len(set(sources)) == len(sources)
    assert {"library/functions.rst", "tutorial/classes.rst", "glossary.rst", "faq/programming.rst"} <= set(sources)
    assert all(d.title and len(d.text) >= 200 for d in docs)
    assert sum(len(d.text.split()) for d in docs) > 400_000
    text = next(d.text for d in docs if d.source == "library/functions.rst")
    assert "Return the absolute value of a number." in text
    assert ":func:`" not in text and ".. function::" not in text  # RST markup was cleaned


def test_limit_keeps_first_items_and_rejects_bad_values():
    assert [d.source for d in data.load_docs(limit=3)] == [d.source for d in data.load_docs()[:3]]
    assert len(data.load_faq(limit=5)) == 5
    assert data.load_faq(limit=0) == []
    with pytest.raises(ValueError):
        data.load_docs(limit=-1)


def test_faq_pairs_are_well_formed():
    faq = data.load_faq()
    assert len(faq) > 150
    assert [q.id for q in faq] == [f"faq-{i:03d}" for i in range(len(faq))]
    doc_sources = {d.source for d in data.load_docs()}
    for pair in faq:
        assert pair.question.strip() and pair.question.endswith("?"), pair.id
        assert len(pair.answer) >= 40, pair.id
        assert pair.source.startswith("faq/") and pair.source in doc_sources, pair.id


def test_perplexity_text_has_three_plays():
    text = data.load_perplexity_text()
    assert 250_000 < len(text) < 400_000
    plays = data.load_plays()
    assert list(plays) == ["MACBETH", "JULIUS CAESAR", "A MIDSUMMER NIGHT'S DREAM"]
    assert "Fair is foul, and foul is fair" in plays["MACBETH"]
    assert "\n\n\n" not in "".join(plays.values())


def test_calibration_texts_are_deterministic_and_sized():
    first = data.calibration_texts(16, min_chars=300, seed=7)
    assert first == data.calibration_texts(16, min_chars=300, seed=7)
    assert first != data.calibration_texts(16, min_chars=300, seed=8)
    assert len(first) == 16 and len(set(first)) == 16
    assert all(300 <= len(t) <= 2000 and ">>>" not in t for t in first)
    with pytest.raises(ValueError):
        data.calibration_texts(1_000_000)


def test_split_text_for_eval_round_trips():
    text = data.load_perplexity_text()
    chunks = data.split_text_for_eval(text, chunk_chars=1000)
    assert "".join(chunks) == text
    assert all(len(c) <= 1000 for c in chunks)
    assert len(data.split_text_for_eval(text, chunk_chars=1000, max_chunks=4)) == 4


def test_summary_counts_match_loaders():
    summary = data.data_summary()
    assert summary["docs"]["records"] == len(data.load_docs())
    assert summary["faq"]["records"] == len(data.load_faq())
    assert summary["shakespeare"]["records"] == 3
    assert summary["docs"]["bytes"] < 3_000_000


def test_missing_file_names_the_rebuild_command(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    for loader in (data.load_docs, data.load_faq, data.load_perplexity_text):
        with pytest.raises(FileNotFoundError, match="python data/build_data.py"):
            loader()


def test_as_langchain_documents_keeps_metadata():
    pytest.importorskip("langchain_core")
    (doc,) = data.as_langchain_documents(data.load_docs(limit=1))
    first = data.load_docs(limit=1)[0]
    assert doc.page_content == first.text
    assert doc.metadata == {"source": first.source, "title": first.title}


def _shingles(text: str, k: int = 12) -> set[str]:
    words = text.split()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def test_heldout_docs_share_no_text_with_calibration():
    held = data.heldout_docs()
    held_sources = {d.source for d in held}
    assert len(held) >= 40 and set(held_sources) < {d.source for d in data.load_docs()}
    flat_held = " ".join(data.heldout_docs_text().split())
    assert len(flat_held) > 400_000
    largest = data.calibration_texts(data.CALIBRATION_MAX_N)
    for n in (2, 4, 8, 16, 32, 128, data.CALIBRATION_MAX_N):  # every calibration size the repo uses
        calibration = data.calibration_texts(n)
        assert calibration == largest[:n]  # a prefix of the largest draw, so it comes from excluded pages only
        for passage in calibration:
            assert passage not in flat_held and passage[:200] not in flat_held
            assert all(passage not in " ".join(d.text.split()) for d in held)
    # a few sentences are repeated word for word across pages (os.listdir / os.scandir wording): < 0.1 % of runs
    shared = _shingles(flat_held) & set().union(*map(_shingles, largest))
    assert len(shared) < 0.001 * len(_shingles(flat_held))
