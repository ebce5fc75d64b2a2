"""``filmsearch serve`` in a real headless Chromium, driven by Playwright (issue 16).

Chromium is Debian's (``apt-get install -y chromium``): Playwright never downloads a
browser here. Without Playwright or /usr/bin/chromium these tests skip with the reason,
except in CI (``CI`` set), where they fail: CI skips nothing.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the serve extra (fastapi, uvicorn, jinja2) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (fastapi, uvicorn, jinja2) is not installed")

import uvicorn

from filmsearch import build_index
from filmsearch.search.server import create_app

from .conftest import SEEDS
from .test_serve import CORRECTED, HOSTILE_ID, MISSPELT, RUST_AND_BONE, WHALE, hostile_seed

try:
    from playwright import sync_api
except ImportError:  # reported by the browser fixture
    sync_api = None  # type: ignore[assignment]

CHROMIUM = "/usr/bin/chromium"
if sync_api is not None:
    expect = sync_api.expect
    expect.set_options(timeout=20_000)  # the machine is shared: waits are generous, never timed
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Collects what the page's Content-Security-Policy refused (Playwright's own scripts pass).
WATCH_CSP = """
window.__refused = [];
document.addEventListener("securitypolicyviolation",
    (event) => window.__refused.push(event.violatedDirective + " " + event.blockedURI));
"""


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real uvicorn server, in a thread, on a free loopback port."""
    root = tmp_path_factory.mktemp("browser")
    build_index([SEEDS, hostile_seed(root / "hostile")], root / "index")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    config = uvicorn.Config(create_app(root / "index"), log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if sync_api is None:
        return "playwright is not installed (pip install playwright; it downloads no browser)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is absent: apt-get install -y chromium (Playwright downloads none)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium for the module (a fresh profile: Playwright's temporary one).

    Skips when Playwright or Chromium is missing, except in CI (``CI`` set), where
    that is a failure: CI installs both and skips nothing.
    """
    missing = missing_browser()
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {missing}")
    if missing:
        pytest.skip(missing)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()


class Watched:
    """A page, and the console errors, script errors and dialogs seen on it."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.problems: list[str] = []
        self.page.on(
            "console",
            lambda message: message.type == "error" and self.problems.append(message.text),
        )
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("dialog", lambda dialog: (self.problems.append("dialog"), dialog.dismiss()))
        self.page.add_init_script(WATCH_CSP)

    def check_clean(self) -> None:
        assert self.problems == []
        assert self.page.evaluate("window.__refused") == []
        assert self.page.evaluate("typeof window.pwned") == "undefined"


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context()
    try:
        yield Watched(context)
    finally:
        context.close()


def test_results_update_as_you_type_then_film_page(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(base_url + "/")
    expect(page.locator("#q")).to_be_focused()  # the box is ready for typing
    page.locator("#q").press_sequentially(WHALE, delay=15)
    first = page.locator("#results li.hit").first
    expect(first).to_have_attribute("data-id", RUST_AND_BONE)  # no Enter pressed
    expect(first.locator("h2 a")).to_have_text("Rust and Bone")
    expect(first.locator("p.snippet.synopsis mark").first).to_have_text("whale")
    expect(page.locator("#status")).to_contain_text("films match")
    assert "q=whale+trainer+accident" in page.url  # the address follows the box
    watched.check_clean()

    with page.expect_navigation(url="**/?q=whale+trainer+accident"):
        page.locator("#q").press("Enter")  # submitting loads the server-rendered page
    first = page.locator("#results li.hit").first
    expect(first).to_have_attribute("data-id", RUST_AND_BONE)
    expect(first.locator("mark").first).to_be_visible()
    watched.check_clean()

    first.locator("h2 a").click()
    page.wait_for_url(f"**/films/{RUST_AND_BONE}")
    expect(page.locator("h1")).to_contain_text("Rust and Bone")
    expect(page.locator(".fields")).to_contain_text("Jacques Audiard")
    expect(page.locator(".similar li.hit").first).to_be_visible()
    watched.check_clean()


def test_hostile_film_runs_no_script(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(f"{base_url}/films/{HOSTILE_ID}")
    expect(page.locator("h1")).to_contain_text("<script>window.pwned=1</script>Zanzibar")
    expect(page.locator(".film")).to_contain_text("<script>window.pwned = 3</script>")
    watched.check_clean()
    page.goto(base_url + "/")
    page.locator("#q").press_sequentially("zanzibar smuggler", delay=10)
    hit = page.locator("#results li.hit").first
    expect(hit).to_have_attribute("data-id", HOSTILE_ID)  # drawn by the page's script
    expect(hit.locator("h2 a")).to_contain_text("<img src=x onerror=window.pwned=2>")
    watched.check_clean()


def test_form_works_without_javascript(browser: Any, base_url: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url + "/")
        page.locator("#q").fill(WHALE)
        page.locator("#q").press("Enter")
        page.wait_for_url("**/?q=whale+trainer+accident&sort=relevance&director=&**")  # as sent
        first = page.locator("#results li.hit").first
        expect(first).to_have_attribute("data-id", RUST_AND_BONE)
        expect(first.locator("mark").first).to_have_text("whale")
        page.locator("details.filters summary").click()
        page.locator("input[name=director]").fill("audiard")
        page.locator("button[type=submit]").click()
        page.wait_for_url("**director=audiard**")
        expect(page.locator("#results li.hit").first).to_have_attribute("data-id", RUST_AND_BONE)
    finally:
        context.close()


def test_phone_width_and_keyboard(browser: Any, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        watched = Watched(context)
        page = watched.page
        page.goto(f"{base_url}/?q=whale+trainer+accident")
        expect(page.locator("#results li.hit").first).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scroll
        page.goto(f"{base_url}/films/{RUST_AND_BONE}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.goto(base_url + "/")
        page.keyboard.type("rust and bone")
        page.keyboard.press("Tab")  # to the button
        expect(page.locator("button[type=submit]")).to_be_focused()
        outline = page.evaluate(
            "getComputedStyle(document.activeElement).outlineStyle"
        )  # the focus is visible
        assert outline != "none"
        with page.expect_navigation(url="**/?q=rust+and+bone"):
            page.keyboard.press("Enter")
        expect(page.locator("#results li.hit").first).to_have_attribute("data-id", RUST_AND_BONE)
        watched.check_clean()
    finally:
        context.close()


def test_a_bad_query_while_typing_says_where(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(base_url + "/")
    page.locator("#q").press_sequentially("whale", delay=10)
    expect(page.locator("#results li.hit").first).to_be_visible()
    page.locator("#q").press_sequentially(' synopsis:"trainer', delay=10)
    expect(page.locator("#status .error")).to_have_text(
        "Bad query at position 15: unclosed quote '\"'"
    )
    expect(page.locator("#results li.hit")).to_have_count(0)  # no stale results under it
    page.locator("#q").press("End")
    page.locator("#q").press_sequentially('"', delay=10)
    expect(page.locator("#results li.hit").first).to_be_visible()


def test_typo_correction_while_typing_and_searching_as_typed(
    watched: Watched, base_url: str
) -> None:
    page = watched.page
    page.goto(base_url + "/")
    page.locator("#q").press_sequentially(MISSPELT, delay=15)
    corrected = page.locator("#status .corrected")
    expect(corrected).to_contain_text(f"Showing results for {CORRECTED}")  # drawn as you type
    expect(page.locator(f'#results li.hit[data-id="{RUST_AND_BONE}"]')).to_have_count(1)
    watched.check_clean()
    with page.expect_navigation():
        corrected.get_by_role("link", name=f"Search instead for {MISSPELT}").click()
    assert "exact=true" in page.url
    expect(page.locator("#status")).to_contain_text("No films match.")
    expect(page.locator("#status .corrected")).to_have_count(0)
    watched.check_clean()


def test_facets_sort_and_pages(watched: Watched, base_url: str) -> None:
    page = watched.page
    page.goto(base_url + "/")
    page.locator("#q").press_sequentially("love OR war OR man", delay=10)
    drama = page.locator('.facet[data-facet="genre"] li', has_text="Drama").first
    expect(drama).to_be_visible()
    count = drama.locator(".count").inner_text()
    with page.expect_navigation():
        drama.locator("a").click()  # a facet is a link that adds the filter
    assert "genre=Drama" in page.url
    expect(page.locator("#status .count")).to_contain_text(f"{count} films match")
    chip = page.locator(".refine .active a", has_text="genre: Drama")
    expect(chip).to_be_visible()
    watched.check_clean()

    page.locator("#sort").select_option("year")  # results follow the order without a submit
    expect(page.locator("#status .count")).to_contain_text("order: year, oldest first")
    years = [int(text.strip("()")) for text in page.locator("#results .year").all_inner_texts()]
    assert len(years) == 10 and years == sorted(years)
    with page.expect_navigation():
        page.locator("#pager a[rel=next]").click()
    assert "offset=10" in page.url and "sort=year" in page.url
    expect(page.locator("#results li.hit").first).to_have_attribute("value", "11")
    later = [int(text.strip("()")) for text in page.locator("#results .year").all_inner_texts()]
    assert later and years[-1] <= min(later) and later == sorted(later)
    expect(page.locator("#status .count")).to_contain_text("showing 11\u2013")

    with page.expect_navigation():
        page.locator(".refine .active a", has_text="genre: Drama").click()  # removed
    assert "genre=" not in page.url and "offset=" not in page.url
    watched.check_clean()
