"""Notebooks 00, 01, 04, 05, 06: the sweep chapter: grids, what one point measures, accuracy against fp32, reading
results, verdicts, published comparisons, the llama.cpp peer."""
