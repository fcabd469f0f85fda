"""/api/addresses/, /api/address-cases/ and /api/certificates/ over HTTP."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from geo_mz.core import roles
from tests.addresses.conftest import offset_point

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    client = APIClient()
    client.force_authenticate(make_user(roles.PLACENAME_OFFICER))
    return client


def _lonlat(point):
    from geo_mz.addresses import services

    return services._storage_to_lonlat(point)


def test_workbench_preview_then_commit(officer, ew_road, entrance):
    a = entrance(ew_road, 30, 12)
    entrance(ew_road, 40, -12)
    preview = officer.get(f"/api/addresses/roads/{ew_road.code}/numbering/").json()
    assert preview["pending"] == 2 and preview["odd_side"] in (1, -1)
    props = {f["properties"]["id"]: f["properties"] for f in preview["features"]["features"]}
    assert props[a.pk]["odd"] is True and props[a.pk]["status"] == "new"
    assert APIClient().post(
        f"/api/addresses/roads/{ew_road.code}/commit/", {}, format="json"
    ).status_code in (401, 403)
    response = officer.post(
        f"/api/addresses/roads/{ew_road.code}/commit/", {"adjustments": {str(a.pk): "4"}}, format="json"
    )
    assert response.status_code == 400 and "numbering" in response.json()["errors"]
    response = officer.post(f"/api/addresses/roads/{ew_road.code}/commit/", {}, format="json")
    assert response.status_code == 201, response.content
    numbers = {f["properties"]["code"]: f["properties"]["number"] for f in response.json()["committed"]}
    assert len(numbers) == 2 and numbers[a.code] % 2 == 1  # north side odd
    assert sorted(n % 2 for n in numbers.values()) == [0, 1]
    assert officer.post(f"/api/addresses/roads/{ew_road.code}/commit/", {}, format="json").status_code == 400


def test_case_to_certificate_and_public_verification(officer, ew_road):
    lon, lat = _lonlat(offset_point(ew_road, 70, 12))
    created = officer.post(
        "/api/address-cases/",
        {"owner": "周敏", "phone": "13900000000", "lon": lon, "lat": lat, "road": ew_road.code},
        format="json",
    )
    assert created.status_code == 201, created.content
    case = created.json()
    for action in ("accept", "submit", "issue"):
        r = officer.post(
            f"/api/address-cases/{case['id']}/transition/",
            {"action": action, "version": case["version"]},
            format="json",
        )
        assert r.status_code == 200, r.content
        case = r.json()
    stale = officer.post(
        f"/api/address-cases/{case['id']}/transition/", {"action": "issue", "version": 1}, format="json"
    )
    assert stale.status_code == 409
    serial = case["certificates"][0]["serial"]
    cert = officer.get(f"/api/certificates/{serial}/").json()
    pdf = officer.get(cert["pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    token = cert["verify_url"].rstrip("/").rsplit("/", 1)[1]
    public = APIClient().get(f"/api/certificates/verify/{token}/").json()
    assert public["valid"] and public["address"] == cert["address"]
    assert "周敏" not in str(public) and "139" not in str(public)
    page = APIClient().get(f"/v/{token}/")
    assert page.status_code == 200 and "有效" in page.content.decode() and "周敏" not in page.content.decode()
    assert APIClient().get("/v/nonexistent-token/").status_code == 404
    reissued = officer.post(
        f"/api/certificates/{serial}/reissue/", {"reason": "遗失", "version": cert["version"]}, format="json"
    )
    assert reissued.status_code == 201
    again = officer.post(f"/api/certificates/{serial}/reissue/", {"reason": "遗失"}, format="json")
    assert again.status_code == 409 and serial in again.json()["detail"]


def test_search_and_reverse(officer, ew_road, entrance):
    from geo_mz.addresses import services

    a = entrance(ew_road, 30, 12)
    services.road_numbering_commit(ew_road.pk)
    a.refresh_from_db()
    body = officer.get("/api/addresses/search/", {"q": f"鹭栖路{a.number}号"}).json()
    assert body["results"][0]["properties"]["code"] == a.code and body["results"][0]["score"] > 0.8
    lon, lat = _lonlat(a.point)
    body = officer.get("/api/addresses/reverse/", {"lon": lon, "lat": lat}).json()
    assert body["results"][0]["properties"]["code"] == a.code and body["road"]["name"] == "鹭栖路"
    bad = officer.get("/api/addresses/reverse/", {"lon": lat, "lat": lon})
    assert bad.status_code == 400


def test_import_endpoint_and_openapi(officer, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(
        "a.csv", "类型,道路/小区,门牌号,经度,纬度\n道路,无此路,1,113.9,29.7\n".encode("gbk")
    )
    response = officer.post("/api/addresses/import/", {"file": upload, "dry_run": "true"}, format="multipart")
    assert response.status_code == 400 and response.json()["rows"][0]["errors"][0]["field"] == "道路/小区"
    schema = APIClient().get("/api/schema/").content.decode()
    assert "/api/addresses/roads/{code}/commit/" in schema and "/api/address-cases/" in schema


@pytest.mark.parametrize(
    ("field", "limit"), [("phone", 30), ("group", 30), ("previous_source", 20), ("reason", 2000)]
)
def test_case_text_over_its_column_is_a_400_on_the_field(officer, ew_road, field, limit):
    """Free-text fields longer than their columns were a database error (500)."""
    lon, lat = _lonlat(offset_point(ew_road, 90, 12))
    r = officer.post(
        "/api/address-cases/",
        {"owner": "周敏", "lon": lon, "lat": lat, "road": ew_road.code, field: "1" * (limit + 1)},
        format="json",
    )
    assert r.status_code == 400 and field in r.json()["errors"]
