"""The built notes site in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) opens the course's site, served on 127.0.0.1 only, with a learner's progress
recorded in a temporary state folder. It checks the roadmap, an exercise page, a notes page with
math, the search and the progress page, that nothing is fetched from anywhere but the local
server, and saves screenshots to test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import retreat.env as env
from retreat.course import Course
from retreat.learner.progress import Progress
from retreat.roadmap import Exercise, Reading

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("RETREAT_ARTIFACTS", REPO / "test-artifacts")) / "screenshots"

# CI sets RETREAT_REQUIRE_BROWSER=1 so that a missing browser fails instead of skipping quietly
_REQUIRED = os.environ.get("RETREAT_REQUIRE_BROWSER") == "1"


def _missing(reason: str) -> None:
    if _REQUIRED:
        pytest.fail(f"{reason} (RETREAT_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
    _missing("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
try:
    from selenium import webdriver
except ImportError:
    _missing("needs selenium (pip install selenium)")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

DAY = 86400.0


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    requests: list[tuple[str, int]]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.server.requests.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format: str, *args: object) -> None:  # stdlib signature
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[tuple[str, _Server]]:
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(site)))
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", server
    finally:
        server.shutdown()
        server.server_close()


def record_progress(course: Course) -> tuple[Exercise, list[Reading]]:
    """A learner two days in: the first exercise passed on the second try, readings done."""
    rm = course.roadmap
    exercises = [i for i in rm.items if isinstance(i, Exercise)]
    readings = [i for i in rm.items if isinstance(i, Reading)]
    assert exercises, "the course has an exercise"
    first = exercises[0]
    start = time.time() - 2 * DAY
    p = Progress(course.state_dir)
    for n, reading in enumerate(readings[:3]):
        p.set_status(reading.id, "done", at=start + n * 3600)
    p.record_attempt(first.id, started=start + 4 * 3600, duration=1.4, passed=3, total=5, ok=False,
                     file_hash="a", outcome="2 checks failed")
    p.record_attempt(first.id, started=start + DAY + 600, duration=1.2, passed=5, total=5, ok=True,
                     file_hash="b", outcome="passed")
    if len(exercises) > 1:
        p.record_attempt(exercises[1].id, started=time.time() - 3600, duration=0.9, passed=1, total=4,
                         ok=False, file_hash="c", outcome="3 checks failed")
        p.next_hint(exercises[1].id, len(exercises[1].hints))
    p.close()
    return first, readings[:3]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The course's own site, built once with a learner's progress, and served on 127.0.0.1."""
    from retreat.site.commands import build_site

    tmp = tmp_path_factory.mktemp("browser")
    with pytest.MonkeyPatch.context() as mp:
        for name in env.names():  # the learner's own course, state and journal stay out of it
            mp.delenv(name)
        mp.setenv(env.HOME, str(tmp / "state"))
        course = Course(REPO)
        first, readings = record_progress(course)
        # strictness (dead links, anchors) is the CI docs build's job; here we look at the pages
        site = build_site(course, strict=False, site_dir=tmp / "site")
    with serve(site) as (base, server):
        yield {"course": course, "base": base, "server": server, "exercise": first,
               "readings": readings, "tmp": tmp}


@pytest.fixture(scope="module")
def browser(built: dict) -> Iterator[webdriver.Chrome]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900", "--force-device-scale-factor=1",
                # nothing but the local server resolves: a CDN request would fail, and show below
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--user-data-dir={built['tmp'] / 'chromium-profile'}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: webdriver.Chrome, built: dict, path: str) -> None:
    driver.get(built["base"] + path)
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")


def _wait(driver: webdriver.Chrome, script: str, what: str, timeout: float = 30) -> None:
    try:
        WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))
    except Exception:  # report what was awaited, not a bare TimeoutException
        pytest.fail(f"timed out waiting for {what}")


def _shot(driver: webdriver.Chrome, name: str, *, full: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    if full:
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, max(900, min(int(height) + 40, 7000)))
        time.sleep(0.3)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    assert path.stat().st_size > 10_000, f"{path} is a real screenshot"
    return path


def _assert_local(driver: webdriver.Chrome, built: dict) -> None:
    """Every request the pages made so far went to the local server, and none was a 404."""
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    outside = sorted({u for u in urls if u.startswith(("http:", "https:", "ws:", "wss:"))
                      and not u.startswith(built["base"])})
    assert not outside, f"pages fetched from outside the site: {outside}"
    missing = sorted({p for p, code in built["server"].requests if code == 404})
    assert not missing, f"requests for files the site does not have: {missing}"


def _page_of(course: Course, item_id: str) -> str:
    return f"{course.roadmap.stage_of(item_id).id}/{item_id}/"


def test_roadmap_page(browser: webdriver.Chrome, built: dict) -> None:
    course = built["course"]
    _open(browser, built, "roadmap/")
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("Roadmap")
    browser.set_window_size(1280, 800)
    wide = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the roadmap page scrolls sideways by {wide}px at 1280x800"
    boxes = browser.find_elements(By.CSS_SELECTOR, "a.rt-box")
    assert len(boxes) == len(course.roadmap.exercises), "one box per exercise on the map"
    for box in boxes:
        r = box.rect
        assert r["x"] >= 0 and r["x"] + r["width"] <= 1280, f"{box.text!r} lies within the viewport's width"
        assert box.text.strip(), "every box shows its title"
    browser.execute_script("document.querySelector('.rt-map').scrollIntoView()")
    _shot(browser, "roadmap-1280x800", full=False)
    browser.execute_script("window.scrollTo(0, 0)")
    browser.set_window_size(1280, 900)
    hrefs = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "article a")}
    for item in course.roadmap.items:
        assert built["base"] + _page_of(course, item.id) in hrefs, f"the roadmap links {item.id}"
    tabs = [t.text for t in browser.find_elements(By.CSS_SELECTOR, ".md-tabs__link")]
    for stage in course.roadmap.stages:
        assert stage.title in tabs, f"a navigation tab for stage {stage.title!r}"
    _shot(browser, "roadmap")
    _assert_local(browser, built)


def test_stage_pages_fit_a_laptop(browser: webdriver.Chrome, built: dict) -> None:
    course = built["course"]
    browser.set_window_size(1280, 800)
    try:
        for stage in course.roadmap.stages:
            _open(browser, built, f"{stage.id}/")
            wide = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert wide <= 0, f"stage {stage.id}'s page scrolls sideways by {wide}px at 1280x800"
            boxes = browser.find_elements(By.CSS_SELECTOR, "a.rt-box")
            assert len(boxes) == len(stage.items), f"one box per item of stage {stage.id}"
            assert all(0 <= b.rect["x"] and b.rect["x"] + b.rect["width"] <= 1280 for b in boxes), \
                f"every box of stage {stage.id} lies within the viewport's width"
            states = {c for b in boxes for c in b.get_attribute("class").split() if c.startswith("rt-box-")}
            assert states <= {"rt-box-done", "rt-box-open", "rt-box-locked"}, f"boxes show states: {states}"
        browser.execute_script("document.querySelector('.rt-map').scrollIntoView()")
        _shot(browser, "stage-1280x800", full=False)
    finally:
        browser.set_window_size(1280, 900)


def _transform(driver: webdriver.Chrome) -> tuple[float, float, float]:
    """The roadmap map's scale and translation, read from its inner element's computed transform."""
    matrix = driver.execute_script(
        "return getComputedStyle(document.querySelector('.rt-map .rt-map-inner')).transform")
    if matrix in (None, "none"):
        return 1.0, 0.0, 0.0
    a, _b, _c, _d, e, f = (float(v) for v in matrix[matrix.index("(") + 1:-1].split(","))
    return a, e, f


def test_map_zoom_and_pan(browser: webdriver.Chrome, built: dict) -> None:
    _open(browser, built, "roadmap/")
    browser.set_window_size(1280, 800)
    try:
        _wait(browser, "return document.querySelector('.rt-map .rt-map-inner') !== null",
              "map-zoom.js to give the map its viewport")
        assert _transform(browser) == (1.0, 0.0, 0.0), "the map starts unzoomed"
        labels = [b.get_attribute("aria-label") for b in browser.find_elements(By.CSS_SELECTOR, ".rt-map .rt-map-btn")]
        assert {"Zoom in", "Zoom out", "Reset zoom"} <= set(labels), f"labelled zoom buttons: {labels}"
        # the map's top just below Material's sticky header, which would take the toolbar's clicks
        browser.execute_script("window.scrollBy(0, document.querySelector('.rt-map')"
                               ".getBoundingClientRect().top - 120)")
        browser.find_element(By.CSS_SELECTOR, ".rt-map .rt-map-btn[aria-label='Zoom in']").click()
        scale, x, y = _transform(browser)
        assert scale > 1, f"zoom in enlarges the map (scale {scale})"
        wide = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"the zoomed map stays in its viewport, yet the page scrolls sideways by {wide}px"
        page = browser.current_url
        view = browser.find_element(By.CSS_SELECTOR, ".rt-map .rt-map-view")
        ActionChains(browser).move_to_element(view).click_and_hold().move_by_offset(-60, -40) \
            .move_by_offset(-60, -40).release().perform()
        moved = _transform(browser)
        assert moved[0] == scale and (moved[1], moved[2]) != (x, y), f"dragging pans the map: {(x, y)} -> {moved}"
        assert browser.current_url == page, "a drag that ends on a box does not follow its link"
        _shot(browser, "roadmap-zoomed-1280x800", full=False)
        browser.find_element(By.CSS_SELECTOR, ".rt-map .rt-map-btn[aria-label='Reset zoom']").click()
        assert _transform(browser) == (1.0, 0.0, 0.0), "reset restores the map's scale and position"
        box = browser.find_element(By.CSS_SELECTOR, "a.rt-box")
        href = box.get_attribute("href")
        box.click()
        _wait(browser, f"return location.href === {json.dumps(href)}", "a click on a box to open its page")
    finally:
        browser.set_window_size(1280, 900)
    _assert_local(browser, built)


def test_exercise_page(browser: webdriver.Chrome, built: dict) -> None:
    course, ex = built["course"], built["exercise"]
    _open(browser, built, _page_of(course, ex.id))
    assert browser.find_element(By.TAG_NAME, "h1").text == ex.title
    hints = browser.find_elements(By.CSS_SELECTOR, "details.tip")
    assert len(hints) == len(ex.hints), "one collapsed block per hint"
    assert all(h.get_attribute("open") is None for h in hints), "hints start collapsed"
    text = browser.find_element(By.TAG_NAME, "article").text
    assert ex.exercise in text and f"retreat check {ex.id}" in text
    if ex.notes and (course.root / "docs" / ex.notes).is_file():
        notes = browser.find_elements(By.CSS_SELECTOR, f"a[href$='{ex.notes[:-3]}/']")
        assert notes, "the exercise links to its notes page"
    _shot(browser, "exercise")
    hints[0].find_element(By.TAG_NAME, "summary").click()
    assert hints[0].get_attribute("open") is not None, "a hint opens on click"
    copy = browser.find_elements(By.CSS_SELECTOR, ".md-code__button, .md-clipboard")
    assert copy, "code blocks have copy buttons"
    _assert_local(browser, built)


def test_notes_page_renders_math(browser: webdriver.Chrome, built: dict) -> None:
    course, ex = built["course"], built["exercise"]
    if not (ex.notes and (course.root / "docs" / ex.notes).is_file()):
        pytest.skip(f"{ex.id} has no notes page yet")
    _open(browser, built, ex.notes[:-3] + "/")
    if browser.find_elements(By.CSS_SELECTOR, ".arithmatex"):
        _wait(browser, "return document.querySelectorAll('mjx-container').length > 0",
              "MathJax (vendored) to typeset the equations")
        # drawn, not just inserted: every equation has a size and MathJax's own font has loaded
        _wait(browser, """return [...document.querySelectorAll('mjx-container')].every(
                  m => m.getBoundingClientRect().width > 0)
                && [...document.fonts].some(f => f.family === 'MJXTEX' && f.status === 'loaded')""",
              "the equations to be drawn with MathJax's fonts")
        errors = browser.find_elements(By.CSS_SELECTOR, "mjx-merror")
        assert not errors, f"TeX errors on {ex.notes}: {[e.get_attribute('data-mjx-error') for e in errors]}"
    _shot(browser, "notes")
    _assert_local(browser, built)


def test_search_finds_an_exercise(browser: webdriver.Chrome, built: dict) -> None:
    ex = built["exercise"]
    word = max(ex.title.replace(",", " ").split(), key=len)
    _open(browser, built, "")
    box = browser.find_element(By.CSS_SELECTOR, "input.md-search__input")
    box.click()
    box.send_keys(word)
    _wait(browser, "return document.querySelectorAll('.md-search-result__item').length > 0",
          f"search results for {word!r} (the local search index)")
    titles = " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".md-search-result__item"))
    assert word.lower() in titles.lower()
    _shot(browser, "search", full=False)
    box.send_keys(Keys.ESCAPE)
    _assert_local(browser, built)


def test_progress_page(browser: webdriver.Chrome, built: dict) -> None:
    ex = built["exercise"]
    _open(browser, built, "progress/")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Your progress"
    text = browser.find_element(By.TAG_NAME, "article").text
    assert "Nothing recorded yet" not in text
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "article table tr") if ex.title in r.text)
    assert "passed" in row.text and " 2 " in f" {row.text} ", "the passed exercise, with its two attempts"
    assert browser.find_elements(By.CSS_SELECTOR, "svg.rt-chart-svg polyline.rt-actual"), \
        "the chart draws the learner's points against the plan"
    _shot(browser, "progress")
    _assert_local(browser, built)


def test_dark_mode(browser: webdriver.Chrome, built: dict) -> None:
    course, ex = built["course"], built["exercise"]
    _open(browser, built, _page_of(course, ex.id))
    for _ in range(3):  # the palette toggle cycles: automatic, light, dark
        if browser.execute_script("return document.body.getAttribute('data-md-color-scheme')") == "slate":
            break
        toggles = [t for t in browser.find_elements(By.CSS_SELECTOR, "form[data-md-component=palette] label")
                   if t.is_displayed()]
        toggles[0].click()
        time.sleep(0.2)
    assert browser.execute_script("return document.body.getAttribute('data-md-color-scheme')") == "slate"
    _shot(browser, "exercise-dark", full=False)
    _assert_local(browser, built)
