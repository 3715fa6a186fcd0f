"""`make run` and `make site` (no notebook): Build the static site from the committed (or just executed) notebooks;
nothing is executed here.

    python -m helpers.publish.site.build            # -> build/site/index.html   (what ``make site`` runs)

The pages: the README as the home page, each notebook's README and executed notebook, the other pages of ``docs/``,
and a page of measured notebook wall times (``results/<profile>/notebook_times.jsonl``). mkdocs needs its pages in
one folder, so they are copied into ``build/site-src`` first; the mkdocs configuration is generated from the
notebook catalogue (one list of notebooks), with search, no web fonts and no CDN scripts (the site works offline).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from helpers.core.results import ResultsStore
from helpers.core.settings import NOTEBOOKS_DIR, REPO_ROOT, results_files
from helpers.tools.notebooks import CATALOGUE, TIMES_KIND, get

BUILD_DIR = REPO_ROOT / "build"
SITE_DIR = BUILD_DIR / "site"
STAGE_DIR = BUILD_DIR / "site-src"
DOCS_DIR = REPO_ROOT / "docs"


def notebook_names() -> list[str]:
    """The catalogue's notebooks, in order (the site's navigation)."""
    return [spec.name for spec in CATALOGUE]


def _times_page() -> str:
    """Markdown table of every recorded notebook run (full mode), per machine profile."""

    lines = [
        "# Notebook wall times",
        "",
        "Recorded by `make run` (full mode, workshop defaults), per machine profile.",
        "",
    ]
    files = results_files(TIMES_KIND)
    if not files:
        return "\n".join([*lines, "No run recorded yet: `make run` writes them."]) + "\n"
    for profile, path in files.items():
        rows = list(ResultsStore(path).latest().values())
        lines += [f"## {profile}", "", "| notebook | minutes | recorded | slowest cells |", "|---|---:|---|---|"]
        for row in sorted(rows, key=lambda r: r["notebook"]):
            cells = "; ".join(f"cell {c['cell']}: {c['seconds']:.0f} s" for c in row.get("slowest_cells", [])[:3])
            lines.append(f"| {row['notebook']} | {row['seconds'] / 60:.1f} | {row.get('recorded_at', '')} | {cells} |")
        lines.append("")
    return "\n".join(lines) + "\n"


#: Notebook pages get the width code and tables need: the theme's content column (~500 px between the two side bars
#: at 1280 px) cut code cells at ~60 characters; the page's table of contents goes (the left navigation keeps it).
NOTEBOOK_CSS = """\
.md-grid { max-width: 1600px; }
.md-main:has(.jupyter-wrapper) .md-sidebar--secondary { display: none; }
.md-main:has(.jupyter-wrapper) .md-content { max-width: none; }
"""


def stage(dest: Path = STAGE_DIR) -> Path:
    """Copy the site's pages into ``dest`` (emptied first): index, docs pages, each notebook folder's README and
    executed notebook, and the wall-times page."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "README.md", dest / "index.md")
    for page in sorted(DOCS_DIR.glob("*.md")):
        shutil.copy(page, dest / page.name)
    for name in notebook_names():
        folder = dest / "notebooks" / name
        folder.mkdir(parents=True)
        for source in (NOTEBOOKS_DIR / name / "README.md", NOTEBOOKS_DIR / name / f"{name}.ipynb"):
            shutil.copy(source, folder / source.name)
    (dest / "run_times.md").write_text(_times_page(), encoding="utf-8")
    (dest / "stylesheets").mkdir()
    (dest / "stylesheets" / "cookbook.css").write_text(NOTEBOOK_CSS, encoding="utf-8")
    return dest


def mkdocs_config(stage_dir: Path, site_dir: Path) -> dict[str, Any]:
    """The mkdocs configuration (material theme, search, mkdocs-jupyter without execution)."""
    nav: list[Any] = [{"Home": "index.md"}]
    for name in notebook_names():
        label = f"{name[:2]} · {get(name).title}"
        nav.append({label: [{"About": f"notebooks/{name}/README.md"}, {"Notebook": f"notebooks/{name}/{name}.ipynb"}]})
    extra = [{page.stem.replace("_", " ").capitalize(): page.name} for page in sorted(DOCS_DIR.glob("*.md"))]
    nav.append({"More": [*extra, {"Notebook wall times": "run_times.md"}]})
    return {
        "site_name": "Quantized LLMs on Intel CPUs with LangChain: a cookbook",
        "docs_dir": str(stage_dir),
        "site_dir": str(site_dir),
        "strict": True,
        "use_directory_urls": False,  # page.html links: the site also opens from disk (file://), no server needed
        "theme": {
            "name": "material",
            "font": False,  # no Google Fonts: the site must work offline
            "features": ["navigation.sections", "navigation.top", "search.highlight", "content.code.copy"],
        },
        "extra_css": ["stylesheets/cookbook.css"],
        "plugins": [
            "search",
            {
                "mkdocs-jupyter": {
                    "execute": False,  # make run executed them already
                    "include": ["*.ipynb"],
                    "include_source": True,  # a download link to the .ipynb
                    "include_requirejs": False,
                    "custom_mathjax_url": "",  # no CDN script
                    "toc_depth": 3,
                    "ignore_h1_titles": True,
                }
            },
        ],
        "markdown_extensions": [
            "admonition",
            "tables",
            {"toc": {"permalink": True}},
            "pymdownx.highlight",
            "pymdownx.superfences",
        ],
        "nav": nav,
    }


def build_site(site_dir: Path = SITE_DIR, stage_dir: Path = STAGE_DIR) -> Path:
    """Stage the pages and run ``mkdocs build --strict``; returns the built ``index.html``."""
    import yaml

    stage(stage_dir)
    config = stage_dir.parent / "mkdocs.yml"
    config.write_text(yaml.safe_dump(mkdocs_config(stage_dir, site_dir), sort_keys=False), encoding="utf-8")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner about its successor
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-f", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"mkdocs build failed (exit {proc.returncode}):\n{proc.stderr.strip()[-3000:]}")
    return site_dir / "index.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=SITE_DIR, help="site folder (default: build/site)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    index = build_site(args.out)
    print(f"site: {index} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
