"""A joint inspection in real headless Chromium: a field finding with a photo on the tablet form, then
each side's boundary team confirms, and the record locks."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _login(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-Test-12345")
    page.click("button[type=submit]")


def test_two_sides_confirm_an_inspection_in_the_browser(live_server, demo_county, page, tmp_path):
    from geo_mz.boundaries import services
    from geo_mz.boundaries.models import BoundaryLine, Inspection
    from geo_mz.core import roles
    from geo_mz.core.services import user_create
    from tests.boundaries.conftest import png_bytes

    line = BoundaryLine.objects.get(name="洪湖赤壁线", status="active")
    chibi = user_create(
        "jx-chibi", password="pw-Test-12345", role=roles.BOUNDARY_TEAM, jurisdiction_code="421281"
    )
    user_create("jx-honghu", password="pw-Test-12345", role=roles.BOUNDARY_TEAM, jurisdiction_code="421083")
    insp = services.inspection_create(
        line.pk,
        round_year=2026,
        lead_code="421281",
        start_date=dt.date(2026, 10, 12),
        end_date=dt.date(2026, 10, 14),
        participants_a="洪湖市民政局 甲",
        participants_b="赤壁市民政局 乙",
        user=chibi,
    )
    markers = list(line.markers.order_by("seq", "letter"))
    for m in markers[1:]:
        services.finding_record(insp.pk, marker_id=m.pk, condition="intact", repainted=True, user=chibi)
    photo = tmp_path / "damaged.png"
    photo.write_bytes(png_bytes())

    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    _login(page, live_server.url, "jx-chibi", "/boundaries/")
    page.wait_for_selector("#map[data-ready='true']", timeout=30_000)
    assert int(page.get_attribute("#map", "data-lines")) >= 5
    assert int(page.get_attribute("#map", "data-markers")) > 10
    assert page.locator("#schedule tr[data-state='overdue']").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "boundaries-home.png"))

    page.goto(f"{live_server.url}/boundaries/inspections/{insp.pk}/")
    page.wait_for_selector("#map[data-ready='true']", timeout=30_000)
    card = page.locator(f"#marker-{markers[0].pk}")
    card.locator("input[name=condition][value=damaged]").check()
    card.locator("select[name=action]").select_option("repaired")
    card.locator("input[name=note]").fill("桩顶破损")
    card.locator("button[type=submit]").click()
    page.wait_for_selector(".messages li.error")
    assert "照片" in page.inner_text(".messages")  # the photo is required for a damaged marker
    card = page.locator(f"#marker-{markers[0].pk}")
    card.locator("input[name=condition][value=damaged]").check()
    card.locator("input[name=photos]").set_input_files(str(photo))
    card.locator("button[type=submit]").click()
    page.wait_for_selector(".messages li.success")
    page.screenshot(path=str(ARTIFACTS / "boundaries-inspection.png"), full_page=True)
    page.click("#confirm")
    page.wait_for_selector("#inspection-status[data-status='confirming']")

    page.click("header form button[type=submit]")  # log out
    _login(page, live_server.url, "jx-honghu", f"/boundaries/inspections/{insp.pk}/")
    page.wait_for_selector("#confirm")
    page.click("#confirm")
    page.wait_for_selector("#inspection-status[data-status='locked']")
    assert Inspection.objects.get(pk=insp.pk).status == "locked"
    response = page.request.get(f"{live_server.url}/boundaries/inspections/{insp.pk}/report.pdf")
    assert response.ok and response.body().startswith(b"%PDF")
    assert not errors, errors
    outside = {urlparse(u).hostname for u in requested} - {"127.0.0.1", "localhost", None}
    assert not outside, outside
