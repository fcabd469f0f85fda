"""Boundary pages over the Django test client: dashboard, derivation preview, line page, inspection
form with its per-row import report."""

from __future__ import annotations

import pytest
from django.test import Client

from geo_mz.boundaries.models import BoundaryLine, Inspection
from geo_mz.core import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def team_client(make_user):
    c = Client()
    c.force_login(make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421281"))
    return c


def test_dashboard_shows_schedule_and_2023_figures(team_client):
    html = team_client.get("/boundaries/?year=2023").content.decode()
    assert "洪湖赤壁线" in html and "已逾期" in html
    assert 'data-key="lines_inspected">3<' in html


def test_derive_preview_lists_lines_and_rejects_zero_tolerance(team_client):
    html = team_client.get("/boundaries/derive/?level=county").content.decode()
    for name in ("嘉鱼赤壁线", "崇阳赤壁线", "咸安赤壁线", "洪湖赤壁线", "赤壁临湘线"):
        assert name in html
    html = team_client.get("/boundaries/derive/?level=county&tolerance_m=0").content.decode()
    assert 'id="derive-error"' in html and "容差" in html


def test_line_page_and_new_inspection(team_client):
    line = BoundaryLine.objects.get(name="洪湖赤壁线", status="active")
    html = team_client.get(f"/boundaries/lines/{line.pk}/").content.decode()
    assert line.markers.first().number in html
    r = team_client.post(
        f"/boundaries/lines/{line.pk}/",
        {
            "form": "inspection",
            "round_year": 2026,
            "kind": "adhoc",
            "reason": "",
            "lead": "421281",
            "start_date": "2026-07-01",
        },
    )
    assert r.status_code == 200 and "原因" in r.content.decode()  # ad-hoc without a reason
    r = team_client.post(
        f"/boundaries/lines/{line.pk}/",
        {
            "form": "inspection",
            "round_year": 2026,
            "kind": "adhoc",
            "reason": "洪灾后检查",
            "lead": "421281",
            "start_date": "2026-07-01",
        },
    )
    insp = Inspection.objects.get(line=line, round_year=2026)
    assert r.status_code == 302 and r["Location"].endswith(f"/boundaries/inspections/{insp.pk}/")
    html = team_client.get(r["Location"]).content.decode()
    assert "界桩检查" in html and 'capture="environment"' in html


def test_inspection_gnss_import_report_on_the_page(team_client, tmp_path):
    line = BoundaryLine.objects.get(name="洪湖赤壁线", status="active")
    team_client.post(
        f"/boundaries/lines/{line.pk}/",
        {
            "form": "inspection",
            "round_year": 2026,
            "kind": "regular",
            "lead": "421281",
            "start_date": "2026-07-01",
        },
    )
    insp = Inspection.objects.get(line=line, round_year=2026)
    path = tmp_path / "g.csv"
    path.write_text("界桩编号,经度,纬度\nNO-SUCH,113.9,29.7\n", encoding="utf-8")
    with path.open("rb") as fh:
        html = team_client.post(
            f"/boundaries/inspections/{insp.pk}/", {"form": "import-gnss", "file": fh}
        ).content.decode()
    assert 'id="import-report"' in html and "NO-SUCH" in html
