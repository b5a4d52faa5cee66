"""Open a report in a real headless Chromium: what rendered, what the console said, and a screenshot.

Used by the browser tests and by `make screenshots` (`python -m aipipe_ops.reports.browser REPORT.html PNG`).
Debian's chromium and chromium-driver are driven through Selenium; no browser is ever downloaded.
"""

from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aipipe_ops.errors import AipipeError
from aipipe_ops.output import plural

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--hide-scrollbars",
)
# A 14" laptop at 100% zoom.
LAPTOP_WIDTH, LAPTOP_HEIGHT = 1366, 900


@dataclass
class PageCheck:
    title: str
    console: list[dict]                       # every browser log entry (level, message, source)
    chart_count: int                          # <svg class="chart"> elements
    marks_per_chart: list[int]                # elements with class "mark" in each chart
    charts_with_size: int                     # charts laid out with a non-zero box
    tables: int
    external_requests: list[str]              # resources fetched from anywhere but the file itself
    overflowing: list[str] = field(default_factory=list)   # elements wider than the window (horizontal scroll)
    screenshot: bytes = b""

    @property
    def errors(self) -> list[dict]:
        return [entry for entry in self.console if entry.get("level") in ("SEVERE", "ERROR")]


def find_binary(name: str, *candidates: str) -> str:
    for candidate in (os.environ.get(f"AIPIPE_{name.upper()}"), *candidates, shutil.which(name)):
        if candidate and Path(candidate).exists():
            return candidate
    raise AipipeError(f"{name} not found: install Debian's chromium and chromium-driver (bash .ci/system-deps)")


def _driver(width: int, height: int, profile: str):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:   # selenium is a test dependency, not a runtime one
        raise AipipeError("selenium is not installed: pip install -e '.[test]'") from exc
    options = webdriver.ChromeOptions()
    options.binary_location = find_binary("chromium", "/usr/bin/chromium")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(find_binary("chromedriver", "/usr/bin/chromedriver"))
    return webdriver.Chrome(options=options, service=service)


_INSPECT = """
const charts = Array.from(document.querySelectorAll('svg.chart'));
const width = document.documentElement.clientWidth;
// An element wider than the window is fine inside a box that scrolls sideways (a wide table on a phone).
const scrollsInside = e => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) {
  if (getComputedStyle(p).overflowX !== 'visible') return true; } return false; };
return {
  title: document.title,
  chart_count: charts.length,
  marks_per_chart: charts.map(c => c.querySelectorAll('.mark').length),
  charts_with_size: charts.filter(c => { const r = c.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length,
  tables: document.querySelectorAll('table').length,
  external_requests: performance.getEntriesByType('resource').map(e => e.name).filter(n => !n.startsWith('data:')),
  overflowing: Array.from(document.querySelectorAll('main *')).filter(e => e.getBoundingClientRect().right > width + 1
                    && !scrollsInside(e))
                    .slice(0, 10).map(e => e.tagName + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : ''))
                    .concat(document.documentElement.scrollWidth > width + 1 ? ['document'] : []),
};
"""


def check_page(path: Path, *, width: int = LAPTOP_WIDTH, height: int = LAPTOP_HEIGHT, screenshot: bool = True,
               full_page: bool = True, clip_height: int | None = None) -> PageCheck:
    """Load `path` (file://) in headless Chromium and report what a person would get.

    The screenshot is the whole page (full_page), or its top `clip_height` pixels (a README picture)."""
    with tempfile.TemporaryDirectory(prefix="aipipe-chromium-") as profile:
        driver = _driver(width, height, profile)
        try:
            driver.get(Path(path).resolve().as_uri())
            facts = driver.execute_script(_INSPECT)
            png = b""
            if screenshot:
                params = {"format": "png", "captureBeyondViewport": full_page}
                if full_page:
                    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
                    shown = min(size["height"], clip_height) if clip_height else size["height"]
                    params["clip"] = {"x": 0, "y": 0, "width": width, "height": shown, "scale": 1}
                png = base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", params)["data"])
            console = driver.get_log("browser")
        finally:
            driver.quit()
    return PageCheck(console=console, screenshot=png, **facts)


def print_to_pdf(path: Path) -> bytes:
    """The page as Chromium prints it (print CSS applied)."""
    with tempfile.TemporaryDirectory(prefix="aipipe-chromium-") as profile:
        driver = _driver(LAPTOP_WIDTH, LAPTOP_HEIGHT, profile)
        try:
            driver.get(Path(path).resolve().as_uri())
            data = driver.execute_cdp_cmd("Page.printToPDF", {"landscape": True, "printBackground": True})["data"]
        finally:
            driver.quit()
    return base64.b64decode(data)


def main(argv: list[str]) -> int:
    """python -m aipipe_ops.reports.browser REPORT.html OUT.png [WIDTH [HEIGHT]]: screenshot a report (the whole
    page, or its top HEIGHT pixels) in headless Chromium; exit 1 if the page logged an error or fetched anything."""
    if len(argv) not in (2, 3, 4):
        print(main.__doc__, file=sys.stderr)
        return 2
    width = int(argv[2]) if len(argv) >= 3 else LAPTOP_WIDTH
    clip = int(argv[3]) if len(argv) == 4 else None
    result = check_page(Path(argv[0]), width=width, clip_height=clip)
    Path(argv[1]).write_bytes(result.screenshot)
    for entry in result.errors:
        print(f"console error: {entry['message']}", file=sys.stderr)
    print(f"{argv[1]}: {plural(result.chart_count, 'chart')}, {plural(sum(result.marks_per_chart), 'mark')}, "
          f"{plural(result.tables, 'table')}")
    return 1 if result.errors or result.external_requests else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
