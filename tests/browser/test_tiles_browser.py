"""The main map draws house numbers from vector tiles, in real headless Chromium (Debian chromium)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAINTED_PIXELS = """() => {
  let painted = 0;
  for (const canvas of document.querySelectorAll(".leaflet-addressTiles-pane canvas")) {
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i]) painted += 1;
  }
  return painted;
}"""


def _town_centre():
    """A demo house number in the county seat (lon, lat, code) and the codes of its neighbours."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT code, ST_X(ST_Transform(point, 4326)), ST_Y(ST_Transform(point, 4326)) "
            "FROM addresses_address WHERE room = '' AND status = 'active' AND kind = 'road' "
            "ORDER BY code LIMIT 1"
        )
        code, lon, lat = cursor.fetchone()
        cursor.execute("SELECT code FROM addresses_address WHERE room = '' AND status <> 'retired'")
        codes = {row[0] for row in cursor.fetchall()}
    return lon, lat, code, codes


def _wait_for_tiles(page, zoom: int):
    page.wait_for_function(
        f"""() => {{
          const m = document.getElementById("map");
          return m.leafletMap && Math.round(m.leafletMap.getZoom()) === {zoom}
            && Number(m.dataset.addressFeatures || 0) > 0
            && !m.leafletMap._panAnim?._inProgress;
        }}""",
        timeout=30_000,
    )
    page.wait_for_timeout(300)  # one more animation frame for the canvases


def test_map_draws_house_numbers_from_vector_tiles_while_panning_and_zooming(
    live_server, demo_county, page, settings
):
    settings.GEO_MZ_ADDRESSES_PUBLIC = True  # the anonymous map shows house numbers only when public
    lon, lat, code, codes = _town_centre()
    requested: list[str] = []
    tile_status: dict[str, int] = {}
    encodings: set[str] = set()
    errors: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_response(response):
        if "/tiles/addresses/" in response.url:
            tile_status[urlparse(response.url).path] = response.status
            encodings.add(response.headers.get("content-encoding", ""))

    page.on("response", on_response)

    # Given the main map, which opens on the county with address clusters (below z14)
    page.goto(f"{live_server.url}/")
    page.wait_for_selector("#map[data-ready='true']", timeout=30_000)
    start_zoom = round(page.evaluate("document.getElementById('map').leafletMap.getZoom()"))
    _wait_for_tiles(page, start_zoom)
    assert page.evaluate(PAINTED_PIXELS) > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "map_tiles_clusters.png"))
    assert "门牌（矢量切片）" in page.inner_text(".leaflet-control-layers")

    # When the user pans with the mouse and zooms with the wheel
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 150, cy + 80, steps=8)
    page.mouse.up()
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(800)
    assert page.evaluate("document.getElementById('map').leafletMap.getZoom()") > start_zoom

    # and then goes to z14 over the county seat
    page.evaluate(
        "([lat, lon]) => document.getElementById('map').leafletMap.setView([lat, lon], 14, {animate: false})",
        [lat, lon],
    )
    _wait_for_tiles(page, 14)

    # then the z14 tiles were served (200, gzipped) and their house numbers are painted
    z14 = {path: status for path, status in tile_status.items() if path.startswith("/tiles/addresses/14/")}
    assert z14 and 200 in z14.values() and set(z14.values()) <= {200, 204, 304}, z14
    assert "gzip" in encodings
    lower = [p for p in tile_status if not p.startswith("/tiles/addresses/14/")]
    assert lower, "clusters were loaded at the lower zooms first"
    assert all(status in (200, 204, 304) for status in tile_status.values()), tile_status
    assert int(page.get_attribute("#map", "data-address-features")) > 0
    assert page.evaluate(PAINTED_PIXELS) > 50
    page.screenshot(path=str(ARTIFACTS / "map_tiles_z14.png"))

    # and clicking the house number shows its details (not the township underneath)
    point = page.evaluate(
        "([lat, lon]) => { const p = document.getElementById('map').leafletMap.latLngToContainerPoint([lat, lon]);"
        " return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector("#details h2[data-address]", timeout=10_000)
    shown = page.get_attribute("#details h2[data-address]", "data-address")
    assert shown in codes

    # and nothing was requested from anywhere but the test server
    hosts = {urlparse(url).hostname for url in requested if not url.startswith(("data:", "blob:"))}
    assert hosts <= {"localhost", "127.0.0.1"}, hosts
    assert not errors, errors
