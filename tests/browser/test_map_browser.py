"""Real headless Chromium (Debian `chromium`) driven by Playwright against a live server."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_map_page_draws_divisions_and_stays_local(live_server, demo_county, page):
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
    township.dispatch_event("click")  # roads drawn above would catch a positional click
    page.wait_for_selector("#details h2")
    assert page.locator("#details").inner_text().count("421281") >= 1

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_page.png"), full_page=True)

    # and nothing was requested from anywhere but the test server
    hosts = {urlparse(url).hostname for url in requested if not url.startswith("data:")}
    assert hosts <= {"localhost", "127.0.0.1"}, hosts
    assert not errors, errors
    # and, anonymous with GEO_MZ_ADDRESSES_PUBLIC off (the default), no house-number tile was asked for
    assert not [url for url in requested if "/tiles/addresses/" in url]
