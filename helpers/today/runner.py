"""Notebooks 01, 03, 06: Run a cell's recipe in the today environment (``.venv-today``) and show what it printed.

The notebooks' kernel is the frozen seed environment (ITREX / IPEX / optimum-intel 1.17 / NNCF 2.11), which cannot
import today's optimum-intel 2.2 or NNCF 3.4. So a "today" cell holds the code exactly as a reader writes it in a
current environment, and the ``%%today`` cell magic (or :func:`run_python`) runs that code with ``.venv-today``'s
interpreter in a fresh process:

* the cell's named variables (``%%today model_dir out_dir``) are handed over as JSON values (paths become strings);
* what the recipe ``print``s is shown; library logs, warnings and progress bars go to a log that is shown only
  (its tail) when the recipe fails, so the committed pages stay clean;
* the run is offline (the same variables as :mod:`helpers.core.settings`) and its exit status is checked.

:func:`run_cli` does the same for a command-line tool of that environment (``optimum-cli export openvino ...``) and
prints the command first, as a reader would type it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from helpers.core import settings
from helpers.core.genai_timing import genai_python

#: What the child runs before the recipe: prints go to the result file, everything else to the log.
_PRELUDE = """\
import builtins as _builtins, functools as _functools, logging as _logging, os as _os, warnings as _warnings
_warnings.filterwarnings("ignore")
_logging.disable(_logging.WARNING)
_result = open(_os.environ["COOKBOOK_TODAY_RESULT"], "w", buffering=1)
_builtins.print = _functools.partial(_builtins.print, file=_result, flush=True)
"""
LOG_TAIL_LINES = 40
QUIET_ENV = {"TQDM_DISABLE": "1", "TRANSFORMERS_VERBOSITY": "error", "PYTHONWARNINGS": "ignore"}


class TodayRecipeError(RuntimeError):
    """A recipe failed in the today environment; the message holds the tail of its log."""


def today_bin() -> Path:
    """The today environment's ``bin`` folder (``.venv-today/bin`` or ``$COOKBOOK_TODAY_VENV/bin``)."""
    return genai_python("2026").parent


def _shown(word: str) -> str:
    """A command word as printed on the page: paths inside the checkout relative to it (no machine paths)."""
    root = str(settings.REPO_ROOT) + os.sep
    return word.replace(root, "") if word.startswith(root) else word


def _assignments(variables: Mapping[str, Any]) -> str:
    lines = []
    for name, value in variables.items():
        if not name.isidentifier():
            raise ValueError(f"variable name {name!r} is not a Python identifier")
        plain = str(value) if isinstance(value, Path) else value
        try:
            encoded = json.dumps(plain)
        except TypeError as err:
            raise TypeError(
                f"variable {name}={value!r} cannot be handed to the today environment: allowed types are str, "
                "Path, int, float, bool, None and lists / dicts of them"
            ) from err
        lines.append(f"{name} = __import__('json').loads({encoded!r})")
    return "\n".join(lines) + "\n"


def _run(command: list[str], result_file: Path | None, timeout: float | None) -> str:
    env = {**os.environ, **settings.OFFLINE_ENV, **QUIET_ENV}
    if result_file is not None:
        env["COOKBOOK_TODAY_RESULT"] = str(result_file)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if done.returncode != 0:
        log = (done.stdout + done.stderr).splitlines()[-LOG_TAIL_LINES:]
        raise TodayRecipeError(f"exit status {done.returncode} in the today environment:\n" + "\n".join(log))
    return done.stdout


def run_python(code: str, variables: Mapping[str, Any] | None = None, timeout: float | None = 1800) -> str:
    """Run ``code`` with the today environment's Python, ``variables`` defined first; return (and print) its prints."""
    script = _PRELUDE + _assignments(variables or {}) + code
    with tempfile.TemporaryDirectory(prefix="cookbook-today-") as tmp:
        path = Path(tmp) / "recipe.py"
        result = Path(tmp) / "printed.txt"
        path.write_text(script)
        _run([str(genai_python("2026")), str(path)], result, timeout)
        printed = result.read_text() if result.exists() else ""
    print(printed, end="")
    return printed


def run_cli(command: Sequence[str | Path], timeout: float | None = 1800) -> None:
    """Run one of the today environment's command-line tools; print the command, not its logs."""
    words = [str(word) for word in command]
    tool = today_bin() / words[0]
    if not tool.is_file():
        raise FileNotFoundError(f"{words[0]} is not a tool of the today environment ({today_bin()})")
    print("$", shlex.join(_shown(word) for word in words))
    _run([str(tool), *words[1:]], None, timeout)


def today_magic(line: str, cell: str) -> None:
    """``%%today [--if flag] name ...``: run the cell in the today environment with the notebook's named variables;
    with ``--if flag`` only when the notebook's ``flag`` is true (a papermill parameter)."""
    from IPython import get_ipython

    shell = get_ipython()
    words = line.split()
    flag = None
    if words[:1] == ["--if"]:
        if len(words) < 2:
            raise ValueError("%%today --if needs the name of a notebook variable, e.g. %%today --if run_today")
        flag, words = words[1], words[2:]

    def require(names: list[str]) -> None:
        missing = [name for name in names if name not in shell.user_ns]
        if missing:
            raise NameError(f"%%today: {', '.join(missing)} not defined in the notebook (define it in a cell above)")

    if flag:  # the flag first: a skipped cell's names may never be defined
        require([flag])
        if not shell.user_ns[flag]:
            print(f"skipped: {flag} is {shell.user_ns[flag]!r}")
            return
    require(words)
    run_python(cell, {name: shell.user_ns[name] for name in words})


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext helpers.today`` registers ``%%today``."""
    shell.register_magic_function(today_magic, magic_kind="cell", magic_name="today")
