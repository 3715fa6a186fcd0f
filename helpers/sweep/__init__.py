"""Notebooks 04, 05: the sweep chapter: grids, what one point measures, accuracy against fp32, reading results,
verdicts, published comparisons, the llama.cpp peer."""
