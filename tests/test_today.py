"""helpers.today: recipes run in the today environment (.venv-today), with clear errors before any work."""

from __future__ import annotations

import types
from pathlib import Path

import IPython
import pytest

from helpers.core import genai_timing, settings
from helpers.today import runner


def test_a_recipe_gets_its_variables_and_shows_only_what_it_prints(capsys: pytest.CaptureFixture[str]) -> None:
    code = (
        "import warnings\n"
        "warnings.warn('library noise')\n"
        "import nncf, optimum.intel, langchain_huggingface, openvino_genai\n"
        "print(type(folder).__name__, sizes[1], nncf.__version__)\n"
    )
    printed = runner.run_python(code, {"folder": Path("/x/y"), "sizes": [1, 2]}, timeout=300)
    assert printed.startswith("str 2 3.4")  # the today environment's NNCF, not the seed's 2.11
    assert "noise" not in capsys.readouterr().out


def test_a_failing_recipe_raises_with_the_tail_of_its_log() -> None:
    with pytest.raises(runner.TodayRecipeError, match=r"exit status 1(.|\n)*ZeroDivisionError"):
        runner.run_python("1 / 0\n", timeout=300)


def test_bad_variables_are_refused_before_anything_runs() -> None:
    with pytest.raises(ValueError, match="variable name 'not a name' is not a Python identifier"):
        runner.run_python("", {"not a name": 1})
    with pytest.raises(TypeError, match=r"variable model=<object .*allowed types are str, Path"):
        runner.run_python("", {"model": object()})


def test_a_missing_today_environment_names_the_make_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(genai_timing.TODAY_VENV_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="make setup-today"):
        runner.run_python("print(1)\n")


def test_the_cli_line_is_printed_without_machine_paths(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-tool is not a tool of the today environment"):
        runner.run_cli(["no-such-tool"])
    runner.run_cli(["optimum-cli", "--help", settings.REPO_ROOT / "build" / "x"], timeout=300)
    assert capsys.readouterr().out == "$ optimum-cli --help build/x\n"


def _shell(monkeypatch: pytest.MonkeyPatch, **user_ns: object) -> None:
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(user_ns=user_ns))


def test_the_magic_checks_its_names_and_honours_its_flag(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _shell(monkeypatch, run_today=False, x=1)
    runner.today_magic("--if run_today x", "raise SystemExit(3)\n")  # skipped: nothing runs
    assert capsys.readouterr().out == "skipped: run_today is False\n"
    runner.today_magic("--if run_today never_made", "print(1)\n")  # skipped: its names need not exist
    assert capsys.readouterr().out == "skipped: run_today is False\n"
    with pytest.raises(NameError, match="%%today: run_later not defined in the notebook"):
        runner.today_magic("--if run_later x", "print(x)\n")
    with pytest.raises(NameError, match="%%today: y not defined in the notebook"):
        runner.today_magic("x y", "print(x)\n")
    with pytest.raises(ValueError, match="%%today --if needs the name of a notebook variable"):
        runner.today_magic("--if", "print(1)\n")
    _shell(monkeypatch, run_today=True, x=41)
    runner.today_magic("--if run_today x", "print(x + 1)\n")
    assert capsys.readouterr().out == "42\n"
