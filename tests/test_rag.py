import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.language_models import LLM, FakeListLLM

from helpers import data
from helpers.llm.genai import cut_at_stop
from helpers.rag import pipeline


class BagOfWords(Embeddings):
    """Tiny deterministic lexical embedder: enough to check the plumbing, not a quality claim."""

    def _vec(self, text: str) -> list[float]:
        v = np.zeros(256)
        for word in text.lower().split():
            v[sum(map(ord, word)) % 256] += 1.0
        return (v / max(np.linalg.norm(v), 1e-9)).tolist()

    def embed_documents(self, texts):
        return [self._vec(t) for t in texts]

    def embed_query(self, text):
        return self._vec(text)


def test_split_keeps_sources():
    chunks = pipeline.split_documents(data.load_docs(limit=2), chunk_size=500, chunk_overlap=50)
    assert len(chunks) > 2
    assert all(len(c.page_content) <= 500 for c in chunks)
    assert {c.metadata["source"] for c in chunks} == {d.source for d in data.load_docs(limit=2)}


def test_split_at_questions_opens_a_chunk_at_each_question_heading():
    page = data.Doc(
        source="faq/x.rst",
        title="X FAQ",
        text="X FAQ\n\nIntro words here.\n\nHow do I sort a list?\n\nUse sorted().\n\nWhy?\n\nShort.\n\n"
        "Is there a ternary operator?\n\nYes: a if c else b.",
    )
    cut = [c.page_content for c in pipeline.split_documents([page], chunk_size=60, chunk_overlap=0, at_questions=True)]
    assert cut[1].startswith("How do I sort a list?\n\nUse sorted().")  # "Why?" is too short to be a heading
    assert cut[2] == "Is there a ternary operator?\n\nYes: a if c else b."
    plain = [c.page_content for c in pipeline.split_documents([page], chunk_size=60, chunk_overlap=0)]
    assert plain[0].endswith("How do I sort a list?")  # cut wherever the characters run out: heading and answer apart


def test_faiss_round_trip_without_pickle(tmp_path):
    emb = DeterministicFakeEmbedding(size=16)
    chunks = pipeline.split_documents(data.load_docs(limit=1), chunk_size=400)[:20]
    store, seconds = pipeline.build_faiss(emb, chunks)
    assert seconds >= 0
    folder = pipeline.save_faiss(store, tmp_path / "idx")
    assert sorted(p.name for p in folder.iterdir()) == ["docstore.json", "index.faiss"]
    loaded = pipeline.load_faiss(folder, emb)
    query = chunks[3].page_content
    assert loaded.similarity_search(query, k=1)[0].page_content == store.similarity_search(query, k=1)[0].page_content


def test_faq_eval_plumbing():
    faq = data.load_faq(limit=30)
    report, vectors, latencies = pipeline.faq_retrieval_eval(BagOfWords(), faq)
    assert vectors.shape == (30, 256) and len(latencies) == 30
    assert 0 < report["recall@1"] <= report["recall@5"] <= report["recall@10"] <= 1
    assert 0 < report["mrr"] <= 1


def test_rag_chain_answers_and_cites_sources():
    chunks = pipeline.split_documents(data.load_docs(limit=3), chunk_size=400)
    store, _ = pipeline.build_faiss(BagOfWords(), chunks)
    chain = pipeline.rag_chain(store.as_retriever(search_kwargs={"k": 2}), FakeListLLM(responses=["Use a list."]))
    out = chain.invoke("How do I make a list?")
    assert out["answer"] == "Use a list."
    assert out["sources"] and all(s.endswith(".rst") for s in out["sources"])


class CopiesOnLLM(LLM):
    """Replies with a quoted sentence and then the next passage, cut at the stop sequences it is called with."""

    @property
    def _llm_type(self) -> str:
        return "copies-on"

    def _call(self, prompt, stop=None, run_manager=None, **kwargs):
        return cut_at_stop("Use a list.\n[2] (faq/other.rst) Something else.", stop or [])


def test_rag_chain_stops_at_the_next_passage_marker():
    chunks = pipeline.split_documents(data.load_docs(limit=3), chunk_size=400)
    store, _ = pipeline.build_faiss(BagOfWords(), chunks)
    chain = pipeline.rag_chain(store.as_retriever(search_kwargs={"k": 2}), CopiesOnLLM())
    assert chain.invoke("How do I make a list?")["answer"] == "Use a list."
    context = pipeline.format_context([Document(page_content="x", metadata={"source": "a.rst"})] * 3)
    assert all(f"\n[{i}] (" in pipeline.RAG_STOP for i in (2, 3)) and context.count(pipeline.RAG_STOP[1]) == 1


def test_rag_prompt_shows_the_worked_example_before_the_question():
    messages = pipeline.rag_prompt().format_messages(context="[1] (faq/x.rst) Use a tuple.", question="Why tuples?")
    assert [m.type for m in messages] == ["human", "ai", "human"]
    assert (
        pipeline.RAG_EXAMPLE["question"] in messages[0].content
        and pipeline.RAG_EXAMPLE["context"] in messages[0].content
    )
    assert messages[1].content == pipeline.RAG_EXAMPLE["answer"]
    assert "Use a tuple." in messages[2].content and messages[2].content.endswith("Question: Why tuples?\nAnswer:")
    # the example's reply copies its passage's sentences, as the instruction asks
    assert pipeline.RAG_EXAMPLE["answer"] in pipeline.RAG_EXAMPLE["context"]
