"""`make test` (no notebook): Open the built site in headless Chromium and check that every page and image loads.

    python -m helpers.publish.site.check [--site build/site] [--shots DIR]

Checked: the home page and, for every notebook of the catalogue, its README page and its notebook page: HTTP 200 and
a load event; every ``<img>`` decoded (``naturalWidth > 0``) and a notebook page showing at least as many images as
the notebook has image outputs; rendered cells; no failed request, no request leaving the machine, no JavaScript
error; the search box present and answering a query; every same-site link resolving. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.core.settings import NOTEBOOKS_DIR
from helpers.publish.site.browser import DevTools, chromium_page, find_chromium, serve
from helpers.publish.site.build import SITE_DIR, notebook_names

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml")

PAGE_JS = r"""
(async () => {
  const imgs = Array.from(document.images);
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done);
    img.loading = 'eager'; img.scrollIntoView(); setTimeout(done, 15000);
  })));
  return {
    search: !!document.querySelector('input.md-search__input'),
    cells: document.querySelectorAll('.jp-Cell').length,
    images: imgs.map(i => ({src: i.currentSrc.slice(0, 80), loaded: i.complete && i.naturalWidth > 0})),
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href)
      .filter(h => h.startsWith(location.origin)).map(h => h.split('#')[0]),
  };
})()
"""

SEARCH_JS = r"""
(async (query) => {
  const input = document.querySelector('input.md-search__input');
  if (!input) return {results: 0, why: 'no search box'};
  input.focus(); input.value = query;
  input.dispatchEvent(new Event('focus')); input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'n'}));
  const start = performance.now();
  while (performance.now() - start < 15000) {
    const n = document.querySelectorAll('.md-search-result__item').length;
    if (n) return {results: n};
    await new Promise(r => setTimeout(r, 100));
  }
  return {results: 0, why: 'no results in 15 s'};
})
"""


@dataclass(frozen=True)
class Page:
    """One page the site must have: a label, its path under the site root, the images it must show."""

    label: str
    path: str
    min_images: int = 0
    notebook: bool = False


@dataclass
class Report:
    """What the check found: one line per check, the failures with their reasons."""

    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0

    def record(self, label: str, problems: list[str], detail: str = "") -> None:
        self.lines.append(f"{'ok  ' if not problems else 'FAIL'} {label} {detail}".rstrip())
        self.lines += [f"       - {p}" for p in problems]
        self.failures += [f"{label}: {p}" for p in problems]
        self.passed, self.failed = self.passed + (not problems), self.failed + bool(problems)


def image_outputs(notebook: Path) -> int:
    """How many image outputs a notebook carries (its page must show at least that many)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum(any(t in out.get("data", {}) for t in IMAGE_TYPES) for c in cells for out in c.get("outputs", []))


def expected_pages(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Page]:
    """The home page, then each catalogue notebook's README and notebook pages."""
    pages = [Page("home", "index.html")]
    for name in notebook_names():
        pages.append(Page(f"{name}/README", f"notebooks/{name}/index.html"))
        notebook = notebooks_dir / name / f"{name}.ipynb"
        pages.append(Page(f"{name}.ipynb", f"notebooks/{name}/{name}.html", image_outputs(notebook), notebook=True))
    return pages


def _event_problems(events: list[dict[str, Any]], base: str, url: str) -> list[str]:
    problems = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Network.responseReceived":
            response = params["response"]
            if response["status"] >= 400 or (response["url"] == url and response["status"] != 200):
                problems.append(f"HTTP {response['status']} for {response['url']}")
        elif method == "Network.requestWillBeSent":
            target = params["request"]["url"]
            if not target.startswith((base, "data:", "blob:")):
                problems.append(f"request leaves the machine: {target[:100]}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"request failed: {params.get('errorText')} ({params.get('type')})")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            problems.append(f"JavaScript error: {details.get('exception', {}).get('description', details.get('text'))}")
    return problems


def check_page(tools: DevTools, base: str, page: Page, shots: Path | None) -> tuple[list[str], dict[str, Any]]:
    """Load one page and list its problems (empty: it passed)."""
    url = base + page.path
    tools.events.clear()
    navigation = tools.call("Page.navigate", {"url": url})
    if navigation.get("errorText"):
        return [f"cannot open {url}: {navigation['errorText']}"], {}
    problems = [] if tools.wait_for("Page.loadEventFired", 60) else ["no load event in 60 s"]
    tools.drain()
    info = tools.evaluate(PAGE_JS)
    tools.drain(0.2)
    problems += _event_problems(tools.events, base, url)
    problems += [f"image not loaded: {i['src']}" for i in info["images"] if not i["loaded"]]
    if len(info["images"]) < page.min_images:
        problems.append(f"{len(info['images'])} images shown, the notebook has {page.min_images} image outputs")
    if not info["search"]:
        problems.append("no search box")
    if page.notebook and info["cells"] == 0:
        problems.append("no notebook cells rendered")
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
        picture = tools.call("Page.captureScreenshot", {"format": "png"})["data"]
        (shots / f"{page.label.replace('/', '__')}.png").write_bytes(base64.b64decode(picture))
    return problems, info


def _broken_links(links: set[str]) -> list[str]:
    broken = []
    for link in sorted(links):
        try:
            with urllib.request.urlopen(urllib.request.Request(link, method="HEAD"), timeout=10) as answer:
                if answer.status != 200:
                    broken.append(f"{link}: HTTP {answer.status}")
        except urllib.error.HTTPError as error:
            broken.append(f"{link}: HTTP {error.code}")
    return broken


def check_site(
    site: Path = SITE_DIR, chromium: str | None = None, shots: Path | None = None, query: str = "OpenVINO"
) -> Report:
    """Every check above, in one Chromium session; a missing Chromium or index is an error, not a pass."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError(
            "chromium not found: install Debian's chromium (apt-get install chromium) or set $CHROMIUM"
        )
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"{site}/index.html not found: build the site first (make site)")
    report, links = Report(), set()
    with serve(site) as base, chromium_page(chromium) as tools:
        for page in expected_pages():
            problems, info = check_page(tools, base, page, shots)
            links.update(info.get("links", []))
            shown = f"{sum(i['loaded'] for i in info.get('images', []))}/{len(info.get('images', []))}"
            report.record(page.label, problems, f"(images {shown}, cells {info.get('cells', 0)})")
        tools.call("Page.navigate", {"url": base})
        tools.wait_for("Page.loadEventFired", 60)
        found = tools.evaluate(f"({SEARCH_JS})({json.dumps(query)})", timeout=30)
        report.record(
            f"search {query!r}",
            [] if found["results"] else [found.get("why", "no results")],
            f"({found['results']} results)",
        )
        report.record("same-site links", _broken_links(links), f"({len(links)} checked)")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", type=Path, default=SITE_DIR)
    parser.add_argument("--shots", type=Path, default=None, help="save a screenshot of every page here")
    args = parser.parse_args(argv)
    report = check_site(args.site, shots=args.shots)
    print("\n".join(report.lines))
    print(f"{report.passed} passed, {report.failed} failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
