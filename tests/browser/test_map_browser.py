"""Real headless Chromium (Debian `chromium`) driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("GEO_MZ_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GEO_MZ_ARTIFACTS", "artifacts"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls here are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Debian chromium not found at {CHROMIUM} (scripts/setup.sh installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


def test_map_page_draws_divisions_and_stays_local(live_server, page):
    # Given the demo county is loaded (session fixture), when the map page opens in Chromium
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#map[data-ready='true']", timeout=30_000)

    # then every layer's features are drawn: 8 counties + 19 townships + 190 villages
    drawn = int(page.get_attribute("#map", "data-features-drawn"))
    assert drawn == 8 + 19 + 190
    assert page.locator("path.leaflet-interactive").count() >= 8 + 19 + 190
    labels = page.locator(".division-label").all_inner_texts()
    assert any("赤马港" in label and "421281002" in label for label in labels)

    # and clicking a township shows its details and population
    page.locator(".division-label", has_text="421281002").first.click(force=True)
    township = page.locator("path.leaflet-interactive").nth(8)
    township.click(force=True)
    page.wait_for_selector("#details h2")
    assert page.locator("#details").inner_text().count("421281") >= 1

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_page.png"), full_page=True)

    # and nothing was requested from anywhere but the test server
    hosts = {urlparse(url).hostname for url in requested if not url.startswith("data:")}
    assert hosts <= {"localhost", "127.0.0.1"}, hosts
    assert not errors, errors
