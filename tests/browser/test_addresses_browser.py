"""The numbering workbench and the certificate verification page in real headless Chromium."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_officer_numbers_a_road_on_the_workbench_and_the_qr_page_verifies(live_server, demo_county, page):
    from geo_mz.addresses import services
    from geo_mz.addresses.models import Address
    from geo_mz.core import roles
    from geo_mz.core.services import user_create
    from geo_mz.placenames.models import NamedFeature

    user_create(
        "mp-officer", password="pw-Test-12345", role=roles.PLACENAME_OFFICER, jurisdiction_code="421281"
    )
    road = NamedFeature.objects.get(code="R0016")  # 人民路 of the demo
    last = Address.objects.filter(feature=road, status="active").order_by("-chainage_m").first()
    from django.contrib.gis.geos import Point

    new = services.entrance_add(
        kind="road", point=Point(last.point.x + 3, last.point.y + 3, srid=last.point.srid), feature=road
    )
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/?next=/addresses/roads/R0016/")
    page.fill("input[name=username]", "mp-officer")
    page.fill("input[name=password]", "pw-Test-12345")
    page.click("button[type=submit]")
    page.wait_for_selector("#map[data-ready='true']", timeout=30_000)
    assert int(page.get_attribute("#map", "data-entrances")) > 100
    assert page.get_attribute("#map", "data-proposals") == "1"
    proposed = page.locator("#proposals tr[data-status='new'], #proposals tr[data-status='infill']")
    assert proposed.count() == 1
    label = proposed.first.get_attribute("data-label")
    page.screenshot(path=str(ARTIFACTS / "address-workbench.png"))
    page.click("#commit")
    page.wait_for_selector(".messages li.success", timeout=30_000)
    new.refresh_from_db()
    assert new.status == "active" and label.startswith(str(new.number))

    cert = services.certificate_issue(new, owner="浏览器测试权利人")
    page.goto(services.verify_url(cert).replace("http://127.0.0.1:8000", live_server.url))
    assert page.get_attribute("#verification", "data-valid") == "true"
    assert new.full_text in page.inner_text("#verify-address")
    assert "浏览器测试权利人" not in page.content()
    assert not errors, errors
    outside = {urlparse(u).hostname for u in requested} - {"127.0.0.1", "localhost", None}
    assert not outside, outside
