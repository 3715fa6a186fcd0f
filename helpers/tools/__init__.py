"""Notebook 00: the notebook runner behind make run and make test, and the pre-flight."""
