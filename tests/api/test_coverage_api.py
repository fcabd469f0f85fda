"""/api/facilities/, /api/facility-types/ and /api/coverage/… over HTTP."""

from __future__ import annotations

import re

import pytest
from rest_framework.test import APIClient

from geo_mz.core import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner(make_user):
    c = APIClient()
    c.force_authenticate(make_user(roles.PLANNER))
    return c


def test_types_and_facilities_geojson():
    c = APIClient()
    types = {t["code"]: t for t in c.get("/api/facility-types/").json()}
    assert types["day_care"]["radius_m"] == 700 and types["day_care"]["demand_group"] == "older"
    fc = c.get("/api/facilities/?type=elderly_institution").json()
    assert len(fc["features"]) == 12
    assert sum(f["properties"]["beds"] for f in fc["features"]) == 2623
    lon, lat = fc["features"][0]["geometry"]["coordinates"]
    assert 113.5 < lon < 114.3 and 29.4 < lat < 30.0


def test_facility_create_update_and_bad_input(planner):
    r = planner.post(
        "/api/facilities/",
        {"type": "day_care", "name": "测试日间照料中心", "lon": 113.88, "lat": 29.72, "places": 40},
        format="json",
    )
    assert r.status_code == 201, r.content
    fid, version = r.json()["id"], r.json()["properties"]["version"]
    r = planner.patch(
        f"/api/facilities/{fid}/", {"beds": 10, "nursing_beds": 20, "version": version}, format="json"
    )
    assert r.status_code == 400 and "nursing_beds" in r.json()["errors"]
    assert (
        planner.patch(
            f"/api/facilities/{fid}/", {"places": 50, "version": version}, format="json"
        ).status_code
        == 200
    )
    assert (
        planner.patch(
            f"/api/facilities/{fid}/", {"places": 60, "version": version}, format="json"
        ).status_code
        == 409
    )
    r = planner.post(
        "/api/facilities/", {"type": "day_care", "name": "x", "lon": 29.72, "lat": 113.88}, format="json"
    )
    assert r.status_code == 400 and "point" in r.json()["errors"]
    far = planner.post(
        "/api/facilities/", {"type": "day_care", "name": "x", "lon": 116.4, "lat": 39.9}, format="json"
    )
    assert far.status_code == 400  # outside every township of the county
    assert APIClient().post("/api/facilities/", {}, format="json").status_code in (401, 403)


def test_facility_import_csv_gbk_with_gcj02(planner, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    rows = [
        "设施编码,名称,类型,床位数,护理型床位数,经度,纬度",
        "T9001,试点养老院,养老机构,100,60,113.885,29.718",
        "T9002,坏行,养老机构,10,20,113.885,29.718",
        "T9003,无类型,不存在的类型,,,113.885,29.718",
    ]
    upload = SimpleUploadedFile("f.csv", "\n".join(rows).encode("gb18030"))
    r = planner.post(
        "/api/facilities/import/",
        {"file": upload, "dry_run": False, "coordinate_system": "gcj02"},
        format="multipart",
    )
    assert r.status_code == 400
    body = r.json()
    assert not body["committed"]
    errors = {row["row"]: row["errors"][0]["field"] for row in body["rows"] if row["errors"]}
    assert errors == {3: "nursing_beds", 4: "类型"}
    assert APIClient().get("/api/facilities/?type=elderly_institution").json()["features"].__len__() == 12


def test_run_suggest_what_if_indicators_report_and_map(planner, settings):
    settings.GEO_MZ_WHATIF_BACKGROUND = False  # the what-if builds in the call (202 path: test_whatif_db)
    run = planner.post("/api/coverage/runs/", {"types": ["day_care"], "group": "older"}, format="json")
    assert run.status_code == 201, run.content
    run_id = run.json()["id"]
    assert run.json()["summary"]["facilities"] == 47
    detail = APIClient().get(f"/api/coverage/runs/{run_id}/").json()
    assert detail["divisions"] and detail["engine_version"]
    pdf = APIClient().get(f"/api/coverage/runs/{run_id}/report.pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = APIClient().get(f"/api/coverage/runs/{run_id}/report.xlsx/")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    html = APIClient().get(f"/api/coverage/runs/{run_id}/map.html/?standalone=1").content.decode()
    assert "L.map" in html or "leaflet" in html.lower()
    # Nothing is loaded from another host (URLs inside the inlined Leaflet source are comments).
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?://", html)
    from geo_mz.coverage.maps import external_urls

    assert external_urls(html) == []

    s = planner.post("/api/coverage/runs/suggest/", {"type": "day_care", "k": 5}, format="json").json()
    assert [x["rank"] for x in s["suggestions"]] == [1, 2, 3, 4, 5]
    bad = planner.post("/api/coverage/runs/suggest/", {"type": "day_care", "k": 100000}, format="json")
    assert bad.status_code == 400 and "k" in bad.json()["errors"]

    first = s["suggestions"][0]
    w = APIClient().get(f"/api/coverage/what-if/?type=day_care&lon={first['lon']}&lat={first['lat']}").json()
    assert w["added_weight"] == pytest.approx(first["added_weight"], abs=1.0)

    ind = APIClient().get("/api/coverage/indicators/").json()
    beds = next(i for i in ind["indicators"] if i["key"] == "beds")
    assert beds["value"] == 2623 and ind["townships_without_cemetery"]


def test_scenario_compare_over_http(planner):
    from geo_mz.facilities.models import Facility

    code = Facility.objects.filter(type__code="day_care").order_by("code").first().code
    r = planner.post(
        "/api/coverage/scenarios/",
        {
            "name": "调整",
            "changes": [
                {"action": "close", "facility": code},
                {"action": "add", "type": "day_care", "lon": 113.9, "lat": 29.7},
            ],
        },
        format="json",
    )
    assert r.status_code == 201, r.content
    cmp = planner.post(
        f"/api/coverage/scenarios/{r.json()['id']}/compare/", {"types": ["day_care"]}, format="json"
    ).json()
    assert cmp["scenario"]["facilities"] == cmp["baseline"]["facilities"]
    bad = planner.post(
        "/api/coverage/scenarios/",
        {"name": "坏", "changes": [{"action": "close", "facility": "NOPE"}]},
        format="json",
    )
    assert bad.status_code == 400
