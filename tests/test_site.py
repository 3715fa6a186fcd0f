"""The browsable site: built from the committed notebooks (nothing executed) and opened in headless Chromium.

Outside CI a machine without Chromium skips the browser test (with the reason); in CI (``CI`` set) it must run:
``make browser`` installs Debian's chromium first.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.publish.site import build, check
from helpers.publish.site.browser import find_chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    build.build_site(root / "site", root / "src")
    return root / "site"


def test_every_catalogue_notebook_and_readme_is_a_page(site: Path) -> None:
    for name in build.notebook_names():
        assert (site / "notebooks" / name / f"{name}.html").is_file()
        assert (site / "notebooks" / name / "index.html").is_file()
    assert (site / "search" / "search_index.json").is_file()
    assert (site / "run_times.html").is_file()


def test_notebook_pages_get_a_wide_column(site: Path) -> None:
    assert (site / "stylesheets" / "cookbook.css").read_text(encoding="utf-8") == build.NOTEBOOK_CSS
    page = (site / "notebooks" / build.notebook_names()[0] / f"{build.notebook_names()[0]}.html").read_text()
    assert "stylesheets/cookbook.css" in page  # every page links it; the rules apply where a notebook is shown


def test_expected_pages_count_image_outputs(tmp_path: Path) -> None:
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(
        '{"cells": [{"cell_type": "code", "outputs": [{"data": {"image/png": "x"}}, {"data": {"text/plain": "y"}}]},'
        ' {"cell_type": "markdown"}]}'
    )
    assert check.image_outputs(notebook) == 1
    pages = check.expected_pages()
    assert pages[0].path == "index.html" and len(pages) == 1 + 2 * len(build.notebook_names())


def test_site_opens_in_headless_chromium(site: Path) -> None:
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium missing in CI: `make browser` should have installed it")
        pytest.skip("chromium not installed (make browser installs Debian's chromium as root)")
    report = check.check_site(site)
    assert not report.failures, "\n".join(report.lines)
    assert report.passed == len(check.expected_pages()) + 2  # + search + links


def test_a_missing_image_fails_the_check(site: Path, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("chromium not installed")
    import shutil

    broken = tmp_path / "site"
    shutil.copytree(site, broken)
    page = broken / "index.html"
    page.write_text(page.read_text().replace("</article>", '<img src="missing.png"></article>', 1))
    report = check.check_site(broken)
    assert any("home" in f and "missing.png" in f for f in report.failures), report.lines
