"""The generated leaderboard pages, in a real headless browser (Chromium through selenium).

For every committed page in leaderboards/generated/: the default view fits a 1366-px window
without horizontal scrolling, the chart's legend lies inside the viewport, switching the view
control changes the table, sorting a column reorders the rows, and every number shown (means,
changes over the baseline, averages) equals the page's CSV. A screenshot of each view is kept
under the test's temporary folder (pytest's ``--basetemp`` makes it a CI artefact). Skipped, with
the reason, where no Chromium or chromedriver is installed (`make install-browser`).
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# BENCH_PAGES: another folder of pages to check (e.g. a `bench paper --out` of your own)
GENERATED = Path(os.environ.get("BENCH_PAGES", REPO / "leaderboards" / "generated"))
PAGES = sorted(p for p in GENERATED.glob("*.html") if p.name != "index.html")
WIDTH, HEIGHT = 1366, 900


def _browser_missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make install)"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "no Chromium on PATH (make install-browser: apt-get install chromium)"
    if not shutil.which("chromedriver"):
        return "no chromedriver on PATH (make install-browser: apt-get install chromium-driver)"
    return None


pytestmark = pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))


@pytest.fixture(scope="module")
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    browser.set_window_size(WIDTH, HEIGHT)
    yield browser
    browser.quit()


def open_page(driver, page: Path) -> None:
    driver.get(page.as_uri())
    inner = driver.execute_script("return window.innerWidth")
    if inner != WIDTH:  # the window's frame: make the viewport itself 1366 px wide
        driver.set_window_size(WIDTH + WIDTH - inner, HEIGHT)
        driver.get(page.as_uri())


def visible(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('section.view')].find(s => !s.hidden)"
    )


def csv_rows(page: Path) -> dict[tuple, dict[str, str]]:
    with page.with_suffix(".csv").open(encoding="utf-8") as f:
        return {
            (r["backbone"], r["task"], r["setting"], r["selection"], r["metric"], r["method"],
             r["lang"]): r
            for r in csv.DictReader(f)
        }  # fmt: skip


def view_key(label: str) -> tuple[str, ...]:
    """'me5_small · xnli · zero-shot [en-dev] · acc' -> (backbone, task, setting, selection, metric)."""
    backbone, task, setting, metric = label.split(" · ")
    selection = "target-dev"
    for name, tag in (("source-dev", "[en-dev]"), ("target-dev", "[oracle]"), ("last", "[last]")):
        if setting.endswith(tag):
            setting, selection = setting.removesuffix(tag).strip(), name
    return backbone, task, setting, selection, metric


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_default_view_fits_and_shows_its_legend(driver, page, tmp_path):
    open_page(driver, page)
    scroll, inner = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll <= inner, f"{page.name}: {scroll}px wide in a {inner}px window (sideways scroll)"
    section = visible(driver)
    legend = section.find_elements("css selector", ".legend")
    assert legend, f"{page.name}: the default view's chart has no legend"
    driver.execute_script("arguments[0].scrollIntoView()", legend[0])
    left, right = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.right]", legend[0]
    )
    assert left >= 0 and right <= inner, f"{page.name}: legend spans {left}-{right}px"
    assert legend[0].is_displayed()
    driver.save_screenshot(str(tmp_path / f"{page.stem}-default.png"))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_view_control_switches_the_table(driver, page, tmp_path):
    from selenium.webdriver.support.ui import Select

    open_page(driver, page)
    choice = Select(driver.find_element("id", "view"))
    assert len(choice.options) > 1, f"{page.name}: one view only"
    seen = set()
    for i, option in enumerate(choice.options):
        choice.select_by_index(i)
        section = visible(driver)
        assert section.get_attribute("id") == option.get_attribute("value")
        seen.add(section.find_element("css selector", "table").text)
        driver.save_screenshot(str(tmp_path / f"{page.stem}-{i:02d}.png"))
    assert len(seen) > 1, f"{page.name}: every view shows the same table"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_sorting_a_column_reorders_the_rows(driver, page):
    from selenium.webdriver.support.ui import Select

    open_page(driver, page)
    choice = Select(driver.find_element("id", "view"))
    for i in range(len(choice.options)):  # the first view with two rows that differ
        choice.select_by_index(i)
        table = visible(driver).find_element("css selector", "table")
        names = [th.text for th in table.find_elements("css selector", "tbody th")]
        if len(names) > 1:
            break
    else:
        pytest.skip(f"{page.name}: no view has two methods to sort")
    header = table.find_elements("css selector", "thead th")[1]
    header.click()
    first = [th.text for th in table.find_elements("css selector", "tbody th")]
    values = [
        float(td.get_attribute("data-v") or "-inf")
        for td in table.find_elements("css selector", "tbody tr > td:nth-of-type(1)")
    ]
    assert values == sorted(values, reverse=True), "first click sorts descending"
    header.click()
    second = [th.text for th in table.find_elements("css selector", "tbody th")]
    assert second != first and sorted(second) == sorted(first) == sorted(names)


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_every_number_shown_equals_the_csv(driver, page):
    open_page(driver, page)
    rows = csv_rows(page)
    cells = driver.execute_script(
        """return [...document.querySelectorAll('section.view')].flatMap(s =>
             [...s.querySelectorAll('td.cell')].map(td => ({
               view: s.dataset.label, method: td.dataset.method, lang: td.dataset.lang,
               mean: td.querySelector('.m').textContent,
               langs: td.dataset.langs || '',
               delta: (td.querySelector('.d') || {textContent: ''}).textContent})))"""
    )
    assert cells
    checked = 0
    averages: dict[tuple, list[str]] = {}
    for cell in cells:
        key = view_key(cell["view"])
        if cell["lang"] == "avg":
            averages.setdefault(key, []).append(cell)
            continue
        row = rows[(*key, cell["method"], cell["lang"])]
        assert cell["mean"] == f"{float(row['mean']):.2f}", (cell, row["mean"])
        if row.get("delta"):
            assert cell["delta"].rstrip("*") == f"{float(row['delta']):+.2f}", (cell, row)
            assert cell["delta"].endswith("*") == (float(row["p_holm"] or 1) < 0.05)
        else:
            assert cell["delta"] == ""
        checked += 1
    for key, avgs in averages.items():  # the mean of the language means every row has
        means = {}
        for cell in avgs:
            langs = cell["langs"].split(",")
            shown = [float(rows[(*key, cell["method"], lang)]["mean"]) for lang in langs]
            means[cell["method"]] = sum(shown) / len(shown)
            assert len(langs) > 1 and cell["mean"] == f"{means[cell['method']]:.2f}", (key, cell)
        for cell in avgs:
            if cell["method"] != "baseline" and "baseline" in means:
                change = means[cell["method"]] - means["baseline"]
                assert cell["delta"] == f"{change:+.2f}", (key, cell)
    assert checked == len([r for r in rows.values()])
