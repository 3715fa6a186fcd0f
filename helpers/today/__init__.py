"""Notebooks 01, 03, 06: Today's stack beside the frozen seed environment: run a cell's recipe in ``.venv-today``.

``%load_ext helpers.today`` registers the ``%%today`` cell magic (:func:`runner.today_magic`); :func:`run_python`
and :func:`run_cli` are the same without IPython.
"""

from __future__ import annotations

from helpers.today.runner import (
    TodayRecipeError,
    load_ipython_extension,
    run_cli,
    run_python,
    today_bin,
)

__all__ = ["TodayRecipeError", "load_ipython_extension", "run_cli", "run_python", "today_bin"]
