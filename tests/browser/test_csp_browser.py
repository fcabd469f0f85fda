"""Content-Security-Policy in real headless Chromium: every main page of every role, the folium
analysis map, the admin (with its map widget) and the API docs log no CSP violation, and their maps
still draw. The policy has no 'unsafe-inline' for scripts or styles (geo_mz/core/csp_policy.py)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-Test-12345"
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


class Watch:
    """Console errors about the CSP, and uncaught page errors, per visited URL."""

    def __init__(self, page) -> None:
        self.page = page
        self.violations: list[str] = []
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"{page.url}: {exc}"))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            if REDOC_LOGO in message.text:
                return  # Redoc's bundle hard-codes its "powered by" logo from a CDN: blocking it is the point
            self.violations.append(f"{self.page.url}: {message.text}")

    def visit(self, base: str, path: str, ready: str | None = None) -> None:
        response = self.page.goto(f"{base}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
        csp = response.headers.get("content-security-policy", "")
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, (path, csp)
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0], (path, csp)
        if ready:  # the page's own script built its map (Leaflet panes have no size of their own)
            try:
                self.page.wait_for_selector(ready, state="attached", timeout=30_000)
            except Exception as exc:  # say which page, and what the browser reported
                raise AssertionError(f"{path}: {ready} not drawn; {self.violations} {self.errors}") from exc
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(300)  # let fetches started on load report any violation


def _login(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("load")


LEAFLET = ".leaflet-container .leaflet-map-pane"


def test_no_page_of_any_role_violates_the_csp(live_server, demo_county, page):
    from geo_mz.addresses.models import Address
    from geo_mz.boundaries.models import BoundaryLine
    from geo_mz.core import roles
    from geo_mz.core.services import user_create
    from geo_mz.facilities.models import Facility
    from geo_mz.placenames.models import NamedFeature

    base = live_server.url
    for username, role in [
        ("csp-viewer", roles.VIEWER),
        ("csp-officer", roles.PLACENAME_OFFICER),
        ("csp-boundary", roles.BOUNDARY_TEAM),
        ("csp-planner", roles.PLANNER),
        ("csp-admin", roles.ADMIN),
    ]:
        user_create(username, password=PASSWORD, role=role, jurisdiction_code="421281")
    user_create(
        "csp-super", password=PASSWORD, role=roles.ADMIN, jurisdiction_code="421281", is_superuser=True
    )
    road = NamedFeature.objects.filter(kind__is_road=True).order_by("code").first()
    line = BoundaryLine.objects.filter(status="active").order_by("pk").first()
    address = Address.objects.order_by("code").first()
    facility = Facility.objects.order_by("pk").first()
    watch = Watch(page)

    # anonymous: the map, the login page, the API docs
    watch.visit(base, "/", "#map[data-ready='true']")
    assert int(page.get_attribute("#map", "data-features-drawn")) > 0
    watch.visit(base, "/accounts/login/")
    watch.visit(base, "/api/docs/", ".swagger-ui .information-container")
    watch.visit(base, "/api/redoc/", "redoc .api-content, .api-content")

    # the language switch submits from a static script, not an inline handler
    watch.visit(base, "/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.get_attribute("html", "lang") == "en"
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"

    pages_by_role = {
        "csp-viewer": [
            ("/", "#map[data-ready='true']"),
            ("/placenames/", None),
            ("/addresses/", None),
            ("/boundaries/", LEAFLET),
            ("/facilities/", LEAFLET),
            ("/coverage/", None),
            ("/coverage/dashboard/", None),
            ("/exports/", None),
        ],
        "csp-officer": [
            ("/placenames/cases/new/", LEAFLET),
            (f"/placenames/features/{road.code}/", LEAFLET),
            ("/addresses/cases/new/", LEAFLET),
            (f"/addresses/roads/{road.code}/", LEAFLET),
            (f"/addresses/{address.code}/", LEAFLET),
            ("/addresses/import/", None),
        ],
        "csp-boundary": [("/boundaries/", LEAFLET), (f"/boundaries/lines/{line.pk}/", LEAFLET)],
        "csp-admin": [("/", "#map[data-ready='true']"), ("/divisions/import/", None), ("/exports/", None)],
    }
    for username, paths in pages_by_role.items():
        _login(page, base, username)
        for path, ready in paths:
            watch.visit(base, path, ready)

    # the planner's coverage run and its folium analysis map (inline blocks with the response nonce)
    _login(page, base, "csp-planner")
    watch.visit(base, "/coverage/")
    page.click("#run")
    page.wait_for_selector("#map[data-ready='true']", timeout=60_000)
    watch.visit(base, page.url.split(base, 1)[1] + "map/", ".leaflet-container")
    assert (
        page.locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path.leaflet-interactive").count()
        > 0
    )
    swatch = page.locator(".geo-mz-legend i").first  # coloured through the CSSOM, not a style attribute
    assert swatch.evaluate("el => el.style.background") != ""

    # the superuser's admin, with the OpenLayers map widget
    _login(page, base, "csp-super")
    watch.visit(base, "/admin/")
    watch.visit(base, "/admin/placenames/roadsegment/")
    watch.visit(base, f"/admin/facilities/facility/{facility.pk}/change/", ".dj_map .ol-viewport")
    assert page.locator(".dj_map canvas, .dj_map .ol-layer").count() > 0
    watch.visit(base, "/admin/facilities/facility/add/", ".dj_map .ol-viewport")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "csp-admin-map-widget.png"))
    assert not watch.violations, "\n".join(watch.violations)
    assert not watch.errors, "\n".join(watch.errors)


def test_locked_out_page_renders_under_the_csp(live_server, demo_county, page):
    from geo_mz.core import roles
    from geo_mz.core.services import user_create

    user_create("csp-locked", password=PASSWORD, role=roles.VIEWER, jurisdiction_code="421281")
    watch = Watch(page)
    for _ in range(5):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", "csp-locked")
        page.fill("input[name=password]", "wrong-password")
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
    assert "登录失败次数过多" in page.inner_text("#lockout-message")
    assert not watch.violations, watch.violations
