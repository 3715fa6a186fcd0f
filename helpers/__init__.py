"""Shared helpers for the Intel-CPU quantized-LLM LangChain cookbook.

One module per concern: ``settings`` (paths, offline mode, threads), ``device``, ``data``, ``models``,
``metrics``, ``bench``, ``plots``, ``woq_config`` and friends. Notebooks stay thin and call these.
"""

__all__ = ["settings"]
