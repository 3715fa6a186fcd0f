"""Notebook 01: the RAG chapter: quantized embedders, the retrieval pipeline and the embedder benchmark."""
