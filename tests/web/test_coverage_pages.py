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
