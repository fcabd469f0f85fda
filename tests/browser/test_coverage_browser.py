"""The coverage workbench in real headless Chromium: run an analysis, click the map for the
what-if answer, open the folium analysis map; nothing leaves 127.0.0.1."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_planner_runs_coverage_and_asks_what_if(live_server, demo_county, page):
    from geo_mz.core import roles
    from geo_mz.core.services import user_create

    user_create("gh-planner", password="pw-Test-12345", role=roles.PLANNER, jurisdiction_code="421281")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/coverage/")
    page.fill("input[name=username]", "gh-planner")
    page.fill("input[name=password]", "pw-Test-12345")
    page.click("button[type=submit]")
    page.click("#run")
    page.wait_for_selector("#map[data-ready='true']", timeout=60_000)
    assert int(page.get_attribute("#map", "data-facilities")) == 47
    share = float(page.get_attribute("#share", "data-share"))
    assert 0 < share < 1
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.6)
    page.wait_for_selector("#what-if-added", timeout=30_000)
    assert float(page.get_attribute("#what-if", "data-added")) >= 0
    page.screenshot(path=str(ARTIFACTS / "coverage-run.png"))

    page.goto(page.url + "map/")
    page.wait_for_selector(".leaflet-container", timeout=30_000)
    # Thousands of demand points make folium draw on canvas; facilities, rings and areas otherwise SVG.
    drawn = page.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path.leaflet-interactive")
    assert drawn.count() > 0
    assert "未覆盖" in page.inner_text("body")  # the legend
    page.screenshot(path=str(ARTIFACTS / "coverage-folium.png"))
    assert not errors, errors
    outside = {urlparse(u).hostname for u in requested} - {"127.0.0.1", "localhost", None}
    assert not outside, outside
