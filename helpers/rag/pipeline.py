"""Notebook 01: Retrieval pieces shared by the RAG notebook and its benchmark: chunking, FAISS without pickle,
retrieval evaluation on the FAQ set, and an LCEL RAG chain that cites its sources."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, FewShotChatMessagePromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnableParallel, RunnablePassthrough

from helpers import data
from helpers.core import metrics

#: A paragraph that is one line ending in "?": the question heading of a FAQ entry (a regex separator that keeps the
#: heading at the start of the chunk it opens).
QUESTION_HEADING = r"\n\n(?=[^\n]{8,200}\?\n\n)"


def split_documents(
    docs: Sequence[data.Doc], chunk_size: int = 1000, chunk_overlap: int = 100, at_questions: bool = False
) -> list[Any]:
    """Split pages into LangChain ``Document`` chunks (RecursiveCharacterTextSplitter), keeping ``source``.

    ``at_questions`` splits first at question headings (:data:`QUESTION_HEADING`), then as usual: a FAQ answer starts
    a chunk of its own, headed by its question, instead of wherever the 1000th character falls."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    separators = [QUESTION_HEADING] * at_questions + ["\n\n", "\n", " ", ""]  # after it, the splitter's defaults
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, separators=separators, is_separator_regex=at_questions
    )
    return splitter.split_documents(data.as_langchain_documents(list(docs)))


def build_faiss(embeddings: Any, chunks: Sequence[Any]) -> tuple[Any, float]:
    """Index chunks in a langchain_community FAISS store; returns (store, seconds including embedding)."""
    from langchain_community.vectorstores import FAISS

    start = time.perf_counter()
    store = FAISS.from_documents(list(chunks), embeddings)
    return store, time.perf_counter() - start


def save_faiss(store: Any, folder: str | Path) -> Path:
    """Save a FAISS store as ``index.faiss`` (faiss's own format) plus ``docstore.json``: no pickle anywhere."""
    import faiss

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    faiss.write_index(store.index, str(folder / "index.faiss"))
    records = []
    for position, doc_id in store.index_to_docstore_id.items():
        doc = store.docstore.search(doc_id)
        records.append({"position": position, "id": doc_id, "text": doc.page_content, "metadata": doc.metadata})
    (folder / "docstore.json").write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
    return folder


def load_faiss(folder: str | Path, embeddings: Any) -> Any:
    """Load a store written by :func:`save_faiss` (JSON + faiss index: safe on untrusted files, unlike pickle)."""
    import faiss
    from langchain_community.docstore.in_memory import InMemoryDocstore
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document

    folder = Path(folder)
    index = faiss.read_index(str(folder / "index.faiss"))
    records = json.loads((folder / "docstore.json").read_text(encoding="utf-8"))
    docstore = InMemoryDocstore({r["id"]: Document(page_content=r["text"], metadata=r["metadata"]) for r in records})
    index_to_id = {int(r["position"]): r["id"] for r in records}
    if index.ntotal != len(index_to_id):
        raise ValueError(f"{folder}: index holds {index.ntotal} vectors but docstore.json {len(index_to_id)} records")
    return FAISS(embeddings, index, docstore, index_to_id)


def faq_retrieval_eval(
    embeddings: Any, faq: Sequence[data.QAPair], k: int = 10
) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Embed every FAQ answer as a passage and every question as a query; rank answers by cosine.

    Relevance is binary: each question's own answer. Returns (metrics, answer vectors, query latencies in s).
    """
    answers = [q.answer for q in faq]
    doc_vecs = np.asarray(embeddings.embed_documents(answers), dtype=np.float32)
    latencies, query_vecs = [], []
    for qa in faq:
        start = time.perf_counter()
        query_vecs.append(embeddings.embed_query(qa.question))
        latencies.append(time.perf_counter() - start)
    q = _normalize(np.asarray(query_vecs, dtype=np.float32))
    scores = q @ _normalize(doc_vecs).T
    ids = [qa.id for qa in faq]
    rankings = {qa.id: [ids[j] for j in np.argsort(-scores[i], kind="stable")[:k]] for i, qa in enumerate(faq)}
    report = metrics.retrieval_report(rankings, {qa.id: {qa.id} for qa in faq})
    return report, doc_vecs, np.asarray(latencies)


def _normalize(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def format_context(docs: Sequence[Any]) -> str:
    """Numbered context block for the prompt: ``[1] (library/functions.rst) text``."""
    return "\n\n".join(f"[{i}] ({d.metadata.get('source', '?')}) {d.page_content}" for i, d in enumerate(docs, 1))


#: Extractive on purpose: the model replies with the passages' own sentences, so an answer is grounded and checkable
#: against its cited sources. On held-out FAQ questions it scored higher token F1 than a "Be brief." prompt, and
#: asking for *all* the sentences, in order, higher than asking for "the sentences" (the model then often stopped
#: after the first) or for "the whole passage".
RAG_PROMPT = (
    "Answer the question using only the context: reply with all the sentences of the context that answer it, "
    "in order.\n\nContext:\n{context}\n\nQuestion: {question}\nAnswer:"
)
#: One worked example the model sees before the question (:func:`rag_prompt`): a made-up passage, not from the
#: corpus, answered by copying every sentence of it. On the held-out FAQ questions it lifted token F1 more than a
#: system turn, the instruction after the question, a larger budget or fewer passages: the 0.5B otherwise tends to
#: stop after one sentence.
RAG_EXAMPLE = {
    "context": (
        "[1] (example/files.rst) How do I read a file line by line?\n\nOpen the file with open() and loop over the "
        "file object: each iteration yields one line, newline included. The file is read lazily, so even a very "
        "large file does not have to fit in memory. Use a with statement so that the file is closed when the loop "
        "ends, even if an exception is raised.\n\n[2] (example/files.rst) How do I write a file?\n\nOpen it in mode "
        '"w" and call write().'
    ),
    "question": "How do I read a file line by line?",
    "answer": (
        "Open the file with open() and loop over the file object: each iteration yields one line, newline included. "
        "The file is read lazily, so even a very large file does not have to fit in memory. Use a with statement so "
        "that the file is closed when the loop ends, even if an exception is raised."
    ),
}


#: Where the chain stops reading the model: the marker that opens a passage of the context (:func:`format_context`),
#: ``"\n[2] ("`` and so on. An answer that runs on past the passage it quotes starts copying the next one; on the
#: held-out FAQ questions cutting it there raised token F1 (``helpers.size.answers.stop_gain`` measures it).
RAG_STOP = [f"\n[{i}] (" for i in range(1, 10)]


def rag_prompt() -> ChatPromptTemplate:
    """The chat prompt of the RAG chain: :data:`RAG_EXAMPLE` as a human turn and the reply it wants, then
    :data:`RAG_PROMPT` with ``{context}`` and ``{question}`` (notebook 01 writes the same recipe out)."""
    turn = ChatPromptTemplate.from_messages([("human", RAG_PROMPT), ("ai", "{answer}")])
    example = FewShotChatMessagePromptTemplate(examples=[RAG_EXAMPLE], example_prompt=turn)
    return ChatPromptTemplate.from_messages([example, ("human", RAG_PROMPT)])


def rag_chain(retriever: Any, chat_model: Any, prompt: ChatPromptTemplate | None = None) -> Runnable:
    """LCEL chain: {question} -> retrieve -> prompt (:func:`rag_prompt` unless given) -> chat model (stopping at
    :data:`RAG_STOP`) -> {"answer", "sources"}. The sources are the retrieved chunks' ``source`` files, so every
    answer cites its context."""
    retrieve = RunnableLambda(lambda question: retriever.invoke(question))
    gather = RunnableParallel(docs=retrieve, question=RunnablePassthrough())
    answer = (
        RunnableLambda(lambda x: {"context": format_context(x["docs"]), "question": x["question"]})
        | (prompt or rag_prompt())
        | chat_model.bind(stop=RAG_STOP)
        | StrOutputParser()
    )
    cite = RunnableLambda(lambda x: sorted({d.metadata.get("source", "?") for d in x["docs"]}))
    return gather | RunnableParallel(answer=answer, sources=cite)
