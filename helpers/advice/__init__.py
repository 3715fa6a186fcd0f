"""Notebooks 00, 01, 04, 06: what to run here, per model: one answer from the measured results."""
