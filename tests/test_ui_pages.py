"""Every page each role reaches, in headless Chromium over the demo data: axe-core (a
vendored copy, tests/vendor/axe-core, injected here and never served) finds no serious or
critical violation in English, Chinese or Vietnamese; at a phone's 390 px no client page
scrolls sideways; and what a phone or keyboard user meets: the header's menu, the skip
link, the focus ring, tables as cards, the twelve-month table's latest month first.

The demo is loaded and served once for the module (per test process); each test signs
its user in, in a tab of its own, and follows the links from the home page."""

from __future__ import annotations

import re
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from portal import create_app
from portal.extensions import db
from tests.conftest import (DB_KIND, ROOT, base_config, browser_tab, close_app, database_of_its_own, kept_engines,
                            serving, sign_in_page)

pytestmark = pytest.mark.browser

AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
PASSWORD = "demo pages in a browser"
PHONE = 390
LANGUAGES = ("en", "zh", "vi")
# axe-core reads a page's markup and styles, the same templates over the same data on
# either database: the PostgreSQL run's crawls check that every page answers (and names
# its scrolling boxes) and leave axe to the SQLite run, as they are the suite's longest.
RUN_AXE = DB_KIND != "postgresql"
USERS = {  # the demo's user of each role
    "client_approver": "approver@acme.example",
    "client_viewer": "viewer@acme.example",
    "account_manager": "am@firm.example",
    "finance": "finance@firm.example",
    "admin": "admin@firm.example",
    "regional_reviewer": "reviewer.cn@firm.example",
}
CLIENTS = ("client_approver", "client_viewer")


def crawls(roles, per_role: int | None = None) -> list[tuple[str, str]]:
    """(role, language) of the crawls, the languages taken in turn so each is crawled by
    several roles: ``per_role`` languages for each role on SQLite (all when None); on
    PostgreSQL, whose pages are the same templates over the same data, one (the crawls
    are the suite's slowest tests)."""
    count = 1 if DB_KIND == "postgresql" else per_role or len(LANGUAGES)
    return [(role, LANGUAGES[(i + k) % len(LANGUAGES)]) for i, role in enumerate(roles) for k in range(count)]


# Links that lead to no page: files and exports, charts, a job's status (JSON).
NOT_PAGES = re.compile(r"/(download|pdf|file)(\?|$)|/attachments/|\.svg(\?|$)|^/jobs/|^/static/|[?&]format=")

SERIOUS_VIOLATIONS = """() => axe.run(document, {resultTypes: ["violations"]}).then((results) => results.violations
  .filter((v) => v.impact === "serious" || v.impact === "critical")
  .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ")}`))"""
# A box that scrolls sideways must be reachable by the keyboard and say what it holds.
UNNAMED_SCROLLING_BOXES = """() => [...document.querySelectorAll("main *")]
  .filter((e) => e.scrollWidth > e.clientWidth + 1 && ["auto", "scroll"].includes(getComputedStyle(e).overflowX))
  .filter((e) => e.tabIndex < 0 || !(e.getAttribute("aria-label") || e.getAttribute("aria-labelledby")))
  .map((e) => e.outerHTML.slice(0, 80))"""
OUTSIDE_THE_SCREEN = """() => [...document.querySelectorAll(".hash, h1")]
  .filter((e) => e.getBoundingClientRect().right > innerWidth).map((e) => e.textContent.slice(0, 40))"""
# A phone's table card names each cell by its column (the cell's ::before): a label
# that cannot wrap and is wider than its column runs into the value beside it.
LABELS_OVER_VALUES = """() => [...document.querySelectorAll(".table-wrap > table tbody [data-label]")]
  .filter((cell) => cell.getClientRects().length > 0)
  .filter((cell) => {
    const label = getComputedStyle(cell, "::before");
    if (label.content === "none" || !/nowrap|pre/.test(label.whiteSpace)) return false;
    const probe = document.createElement("span");
    probe.style.cssText = "position: absolute; visibility: hidden; white-space: nowrap";
    probe.style.font = label.font;
    probe.textContent = cell.getAttribute("data-label");
    document.body.append(probe);
    const wide = probe.getBoundingClientRect().width;
    probe.remove();
    return wide > parseFloat(label.width) + 1;
  }).map((cell) => cell.getAttribute("data-label"))"""


@pytest.fixture(scope="module")
def demo_site(database_template, tmp_path_factory):
    """The demo data (``seed-demo``), served over HTTP to the module's tests."""
    with database_of_its_own(database_template, tmp_path_factory.mktemp("demo"), "demo") as url:
        app = create_app(base_config(url))
        with app.app_context():
            kept_engines.add(db.engine)
        result = app.test_cli_runner().invoke(args=["seed-demo", "--password", PASSWORD])
        assert result.exit_code == 0, result.output
        with serving(app) as base_url:
            yield base_url
        close_app(app)


@contextmanager
def signed_in(chromium, base_url: str, email: str, language: str, *, width: int = 1280):
    """A tab (with axe-core in every page, where the crawls run it) where ``email`` is signed in and has chosen
    ``language`` in the header, through the menu where the header is collapsed."""
    with browser_tab(chromium, base_url, width=width, init_script=AXE if RUN_AXE else None) as tab:
        sign_in_page(tab, email, PASSWORD)
        choose_language(tab, language)
        yield tab


def choose_language(tab, language: str) -> None:
    if tab.locator("html").get_attribute("lang").startswith(language):
        return
    toggle = tab.locator(".menu-toggle")
    if toggle.is_visible():
        toggle.click()
    with tab.expect_navigation():
        tab.select_option("#language-switch", language)  # app.js submits the switcher on change
    assert tab.locator("html").get_attribute("lang").startswith(language)


def page_kind(url: str) -> str:
    """A path without its numbers: the pages of one kind (a list and its filtered or
    later pages, an account's invoice and another's) show one template."""
    return re.sub(r"\d+", "N", urlsplit(url).path)


def reachable_pages(tab):
    """Load, one after the other, every page the signed-in user reaches by following
    links from the home page (one address of each kind), yielding each address while
    its page is loaded. Every link must lead to a page that answers 200."""
    host = None
    seen: set[str] = set()
    queue = ["/"]
    while queue:
        url = queue.pop(0)
        if page_kind(url) in seen:
            continue
        seen.add(page_kind(url))
        try:
            response = tab.goto(url)
        except PlaywrightError as error:
            pytest.fail(f"{url}: {error.message.splitlines()[0]}")
        assert response.status == 200, f"{url} answered {response.status}"
        host = host or urlsplit(tab.url).netloc
        yield url
        for href in tab.eval_on_selector_all("a[href]", "links => links.map((a) => a.href)"):
            parts = urlsplit(href)
            address = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc == host and not NOT_PAGES.search(address):
                queue.append(address)


def navigation(tab) -> set[str]:
    """The paths of the header's navigation, as the page in the tab shows them."""
    return {urlsplit(href).path for href in tab.eval_on_selector_all(".site-nav a", "links => links.map((a) => a.href)")}


def check_every_page(tab, *, phone: bool = False) -> tuple[list[str], dict[str, list[str]]]:
    """The pages the user reaches, and what is wrong on each: boxes that scroll without
    a name or a tab stop; on a desktop, axe-core's serious and critical violations; on
    a phone, a page wider than the screen (every <details> open), a hash or title
    that leaves it, or a table card's label that runs into its value."""
    tab.goto("/")
    menu = navigation(tab)
    visited, problems = [], {}
    for url in reachable_pages(tab):
        visited.append(url)
        found = tab.evaluate(UNNAMED_SCROLLING_BOXES)
        if not phone:
            found += tab.evaluate(SERIOUS_VIOLATIONS) if RUN_AXE else []
        else:
            tab.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
            width = tab.evaluate("document.documentElement.scrollWidth")
            if width > PHONE:
                found.append(f"the page is {width} px wide")
            found += [f"leaves the screen: {text}" for text in tab.evaluate(OUTSIDE_THE_SCREEN)]
            found += [f"a label runs into its value: {text}" for text in set(tab.evaluate(LABELS_OVER_VALUES))]
        if found:
            problems[url] = found
    assert menu and menu <= {urlsplit(url).path for url in visited}, "the crawl missed items of the navigation"
    return visited, problems


# Each role in one language, the languages in turn: each language is crawled by two or
# three roles, and the pages most roles share in every language (CI's 30 minutes).
@pytest.mark.parametrize(("role", "language"), crawls(USERS, per_role=1))
def test_axe_finds_no_serious_violation_on_any_page_of_any_role(chromium, demo_site, role, language):
    with signed_in(chromium, demo_site, USERS[role], language) as tab:
        visited, problems = check_every_page(tab)
    assert len(visited) > 15
    assert not problems, f"{role} in {language}: {problems}"


@pytest.mark.parametrize(("role", "language"), crawls(CLIENTS))
def test_no_client_page_scrolls_sideways_on_a_phone(chromium, demo_site, role, language):
    with signed_in(chromium, demo_site, USERS[role], language, width=PHONE) as tab:
        visited, problems = check_every_page(tab, phone=True)
    assert len(visited) > 15
    assert not problems, f"{role} in {language} at {PHONE} px: {problems}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_axe_finds_no_serious_violation_before_signing_in(chromium, demo_site, language):
    with browser_tab(chromium, demo_site, init_script=AXE) as tab:
        tab.goto("/login")
        choose_language(tab, language)
        for url in ("/login", "/password/forgot"):
            tab.goto(url)
            assert tab.evaluate(SERIOUS_VIOLATIONS) == [], url


MENU = {"zh": "菜单", "vi": "Menu"}
SKIP = {"zh": "跳到主要内容", "vi": "Chuyển đến nội dung chính"}


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_on_a_phone_the_header_collapses_into_a_menu(chromium, demo_site, language):
    with signed_in(chromium, demo_site, USERS["client_approver"], language, width=PHONE) as tab:
        toggle, links = tab.locator(".menu-toggle"), tab.locator(".site-nav a")
        expect(toggle).to_have_text(MENU[language])
        expect(toggle).to_have_attribute("aria-expanded", "false")
        expect(links.first).to_be_hidden()
        expect(tab.locator("#language-switch")).to_be_hidden()
        assert tab.locator(".site-header").bounding_box()["height"] < 100

        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(links.first).to_be_visible()
        expect(tab.locator("#language-switch")).to_be_visible()
        assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE
        tab.keyboard.press("Escape")
        expect(links.first).to_be_hidden()
        expect(toggle).to_be_focused()

        toggle.click()
        links.nth(1).click()  # the menu's links lead where they say
        tab.wait_for_url("**/requests")
        expect(links.first).to_be_hidden()

        tab.set_viewport_size({"width": 1280, "height": 900})
        expect(toggle).to_be_hidden()
        expect(links.first).to_be_visible()


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_a_skip_link_leads_the_keyboard_to_the_content_past_a_visible_focus_ring(chromium, demo_site, language):
    with signed_in(chromium, demo_site, USERS["client_viewer"], language) as tab:
        tab.goto("/invoices")
        tab.keyboard.press("Tab")
        skip = tab.locator(".skip-link")
        expect(skip).to_be_focused()
        expect(skip).to_have_text(SKIP[language])
        assert skip.bounding_box()["y"] >= 0  # shown once focused
        tab.keyboard.press("Enter")
        tab.keyboard.press("Tab")
        focused = tab.evaluate_handle("document.activeElement")
        assert focused.evaluate("e => e.closest('main') !== null"), "the next stop is not in the content"
        ring = focused.evaluate("e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }")
        assert ring == ["solid", "3px", "rgb(11, 79, 156)"]  # --portal-focus, 8:1 on white


FOCUSED = """() => { const e = document.activeElement, s = getComputedStyle(e);
  return [e.tagName, [s.outlineStyle, s.outlineWidth, s.outlineColor]]; }"""


def test_every_tab_stop_of_a_page_shows_a_clearly_visible_focus_ring(chromium, demo_site):
    """Pico's own ring is a faint shadow, and none at all on some elements."""
    with signed_in(chromium, demo_site, USERS["client_approver"], "vi") as tab:
        tab.goto("/change-requests")
        tab.locator("main table a[href*='/change-requests/']").first.click()
        tab.wait_for_url("**/change-requests/*")
        rings = {}
        for _ in range(60):
            tab.keyboard.press("Tab")
            element, ring = tab.evaluate(FOCUSED)
            if element == "BODY":
                break
            rings.setdefault(element, set()).add(tuple(ring))
    assert {"A", "SELECT", "BUTTON", "DIV", "SUMMARY", "INPUT", "TEXTAREA"} <= set(rings)  # DIV: a table's box
    assert all(ring == {("solid", "3px", "rgb(11, 79, 156)")} for ring in rings.values()), rings


LATEST = {"zh": "发票", "vi": "Hóa đơn"}


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_on_a_phone_a_table_row_is_a_card_of_cells_named_by_their_column(chromium, demo_site, language):
    with signed_in(chromium, demo_site, USERS["client_approver"], language, width=PHONE) as tab:
        tab.goto("/invoices")
        assert tab.locator(".table-wrap thead").bounding_box()["height"] <= 1  # read by screen readers, not shown
        first = tab.locator(".table-wrap tbody tr").first
        labels = first.locator("td").evaluate_all("cells => cells.map((c) => getComputedStyle(c, '::before').content)")
        assert labels[0] == f'"{LATEST[language]}"'
        assert all(label not in ("none", '""') for label in labels)
        total = first.locator("td").last
        assert total.bounding_box()["x"] + total.bounding_box()["width"] <= PHONE  # the amount in view, not scrolled away


def months(headers: list[str]) -> list[tuple[int, int]]:
    """(year, month) of headers written in any language: the four-digit number is the year."""
    found = []
    for text in headers:
        numbers = [int(n) for n in re.findall(r"\d+", text)]
        year = next(n for n in numbers if n > 999)
        found.append((year, next(n for n in numbers if n != year)))
    return found


@pytest.mark.parametrize("language", ["zh", "vi"])
def test_the_twelve_month_table_shows_the_latest_month_first(chromium, demo_site, language):
    with signed_in(chromium, demo_site, USERS["client_approver"], language, width=PHONE) as tab:
        tab.goto("/scorecards")
        tab.locator("main a[href^='/scorecards/']").first.click()
        tab.locator("table.trend thead th").first.wait_for()  # all_inner_texts does not wait for the page
        headers = tab.locator("table.trend thead th").all_inner_texts()[1:]
        shown = months(headers)
        assert len(shown) == 12 and shown == sorted(shown, reverse=True)
        box = tab.locator("table.trend thead th").nth(1).bounding_box()
        assert box["x"] + box["width"] <= PHONE  # the latest month is in view without scrolling
