"""Facility registry, coverage workbench, run page and indicator dashboard over the test client."""

from __future__ import annotations

import pytest
from django.test import Client

from geo_mz.core import roles
from geo_mz.coverage.models import CoverageRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner_client(make_user):
    c = Client()
    c.force_login(make_user(roles.PLANNER))
    return c


def test_registry_lists_and_imports_with_report(planner_client, tmp_path):
    html = planner_client.get("/facilities/?type=elderly_institution").content.decode()
    assert "赤壁市社会福利中心" in html and html.count("<tr>") >= 13
    path = tmp_path / "f.csv"
    path.write_text("名称,类型,经度,纬度\n新点,社区日间照料中心,abc,29.7\n", encoding="utf-8")
    with path.open("rb") as fh:
        html = planner_client.post(
            "/facilities/", {"file": fh, "coordinate_system": "wgs84"}
        ).content.decode()
    assert 'id="import-report"' in html and "须为数字" in html


def test_workbench_run_and_suggest_then_scenario(planner_client):
    r = planner_client.post(
        "/coverage/", {"form": "run", "types": ["day_care"], "mode": "straight", "group": "older"}
    )
    run = CoverageRun.objects.first()
    assert r.status_code == 302 and r["Location"].endswith(f"/coverage/runs/{run.pk}/")
    html = planner_client.get(r["Location"]).content.decode()
    assert 'id="divisions"' in html and "赤马港街道" in html
    r = planner_client.post(
        "/coverage/", {"form": "suggest", "type": "day_care", "k": 3, "candidates": "villages"}
    )
    html = planner_client.post(r["Location"]).content.decode()
    assert 'id="comparison"' in html
    r = planner_client.post(
        "/coverage/", {"form": "suggest", "type": "day_care", "k": 0, "candidates": "villages"}
    )
    assert r.status_code == 200 and "k" in r.content.decode()
    html = planner_client.get(f"/coverage/runs/{run.pk}/map/").content.decode()
    assert "/static/vendor/folium/leaflet.js" in html


def test_dashboard_shows_report_figures(planner_client):
    html = planner_client.get("/coverage/dashboard/").content.decode()
    assert "2623" in html and "58%" in html and 'id="no-cemetery"' in html and "未达标" in html


def test_register_a_facility_on_the_page_and_township_dashboard(planner_client):
    from geo_mz.facilities.models import Facility

    r = planner_client.post(
        "/facilities/",
        {
            "form": "create",
            "type": "elderly_institution",
            "name": "页面登记养老院",
            "lon": "113.885",
            "lat": "29.718",
            "beds": "50",
            "nursing_beds": "60",
        },
    )
    assert r.status_code == 200 and "护理型床位" in r.content.decode()  # nursing > beds refused
    r = planner_client.post(
        "/facilities/",
        {
            "form": "create",
            "type": "elderly_institution",
            "name": "页面登记养老院",
            "lon": "113.885",
            "lat": "29.718",
            "beds": "50",
            "nursing_beds": "30",
        },
    )
    assert r.status_code == 302 and Facility.objects.filter(name="页面登记养老院").exists()
    html = planner_client.get("/coverage/dashboard/").content.decode()
    assert "2673" in html
    township = Facility.objects.get(name="页面登记养老院").division.parent
    html = planner_client.get(f"/coverage/dashboard/?within={township.code}").content.decode()
    assert f"<h1>{township.name}" in html
