"""Notebooks 00, 01, 02, 03, 04, 06: what weight-only quantization is, backend-free: the WeightOnlyQuantConfig mirror
and its translations, the arithmetic, the shape checks."""
