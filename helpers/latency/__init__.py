"""Notebooks 00, 01, 04, 06: the latency chapter: RAG-shaped cases per runtime, their analysis and plots."""
