"""Notebook 01: what changes with model size: answer quality of the RAG chain per model and weight format
(`python -m helpers.size.answers` measures it)."""
