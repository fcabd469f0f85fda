"""/api/boundary-lines/, /api/boundary-markers/, /api/inspections/ and /api/boundaries/… over HTTP."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from geo_mz.core import crs
from tests.boundaries.conftest import png_bytes

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_lines_and_markers_as_geojson_anonymous_read():
    c = APIClient()
    fc = c.get("/api/boundary-lines/?level=county").json()
    names = {f["properties"]["name"]: f for f in fc["features"]}
    assert set(names) == {"嘉鱼赤壁线", "崇阳赤壁线", "咸安赤壁线", "洪湖赤壁线", "赤壁临湘线"}
    jiayu = names["嘉鱼赤壁线"]
    assert jiayu["properties"]["inspection_state"] == "ok"
    lon, lat = jiayu["geometry"]["coordinates"][0][0]
    assert 113 < lon < 115 and 29 < lat < 31
    detail = c.get(f"/api/boundary-lines/{jiayu['id']}/").json()
    assert detail["properties"]["markers"] and detail["properties"]["inspections"][0]["status"] == "locked"
    markers = c.get(f"/api/boundary-markers/?line={jiayu['id']}").json()["features"]
    p = markers[0]["properties"]
    assert p["x_northing"] > 3_000_000 and 300_000 < p["y_easting"] < 700_000
    assert c.post("/api/boundary-markers/", {}, format="json").status_code in (401, 403)


def test_derive_preview_reports_unchanged(make_user):
    from geo_mz.core import roles

    c = _client(make_user(roles.BOUNDARY_TEAM))
    body = c.post("/api/boundary-lines/derive/", {"level": "county"}, format="json").json()
    assert body["counts"] == {"added": 0, "changed": 0, "unchanged": 5, "removed": 0}
    bad = c.post("/api/boundary-lines/derive/", {"level": "county", "tolerance_m": 0}, format="json")
    assert bad.status_code == 400 and "tolerance_m" in bad.json()["errors"]


def test_inspection_through_the_api(honghu_line, side_users):
    a, b = (_client(u) for u in side_users)
    created = b.post(
        "/api/inspections/",
        {
            "line": honghu_line.pk,
            "round_year": 2026,
            "lead": "421281",
            "start_date": "2026-10-12",
            "end_date": "2026-10-14",
            "participants_a": "洪湖市民政局 甲",
            "participants_b": "赤壁市民政局 乙",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    markers = list(honghu_line.markers.order_by("seq", "letter"))
    first = markers[0]
    lon, lat = crs.projected_to_lonlat(first.point.x, first.point.y + 3, settings.GEO_MZ_SRID)
    r = a.post(
        f"/api/inspections/{pk}/findings/",
        {"marker": first.pk, "condition": "moved", "lon": lon, "lat": lat, "photos": [_png("m.png")]},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert r.json()["offset_m"] == pytest.approx(3.0, abs=0.01)
    r = a.post(
        f"/api/inspections/{pk}/findings/", {"marker": markers[1].pk, "condition": "lost"}, format="multipart"
    )
    assert r.status_code == 400 and "照片" in r.json()["detail"]
    for m in markers[1:]:
        assert (
            a.post(
                f"/api/inspections/{pk}/findings/",
                {"marker": m.pk, "condition": "intact"},
                format="multipart",
            ).status_code
            == 201
        )
    version = a.get(f"/api/inspections/{pk}/").json()["version"]
    assert (
        a.post(f"/api/inspections/{pk}/confirm/", {"version": version - 1}, format="json").status_code == 409
    )
    assert (
        a.post(f"/api/inspections/{pk}/confirm/", {"version": version}, format="json").json()["status"]
        == "confirming"
    )
    done = b.post(f"/api/inspections/{pk}/confirm/", {}, format="json").json()
    assert done["status"] == "locked"
    locked = a.patch(f"/api/inspections/{pk}/", {"conclusion": "改"}, format="json")
    assert locked.status_code == 409 and "锁定" in locked.json()["detail"]
    pdf = a.get(f"/api/inspections/{pk}/report.pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    schedule = APIClient().get("/api/boundaries/schedule/?year=2026").json()
    assert schedule["figures"]["lines_inspected"] == 1
    assert first.number in schedule["markers_repair"]


def _png(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def test_exports_over_http():
    c = APIClient()
    r = c.get("/api/boundaries/export.gpkg")
    assert r.status_code == 200 and r.content[:16] == b"SQLite format 3\x00"
    line = c.get("/api/boundary-lines/?level=county").json()["features"][0]
    r = c.get(f"/api/boundary-lines/{line['id']}/markers.xlsx/")
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_schema_lists_boundary_endpoints():
    schema = APIClient().get("/api/schema/?format=json").json()
    for path in ("/api/boundary-lines/", "/api/inspections/{id}/confirm/", "/api/boundaries/schedule/"):
        assert path in schema["paths"], path


def test_marker_photos_and_sketch(honghu_line, side_users):
    c = _client(side_users[1])
    m = honghu_line.markers.order_by("seq", "letter").first()
    r = c.post(
        f"/api/boundary-markers/{m.pk}/photos/",
        {"photos": [_png("a.png"), _png("b.png")], "sketch": _png("sketch.png")},
        format="multipart",
    )
    assert r.status_code == 201, r.content
    assert len(r.json()["properties"]["photos"]) == 2
    m.refresh_from_db()
    assert m.sketch.name.endswith(".png")
    bad = c.post(f"/api/boundary-markers/{m.pk}/photos/", {"photos": [_bad("x.jpg")]}, format="multipart")
    assert bad.status_code == 400 and "x.jpg" in bad.json()["detail"]
    assert m.photos.count() == 2


def _bad(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, b"not an image", content_type="image/jpeg")


def test_uploaded_photos_are_served_to_signed_in_users_only(honghu_line, side_users):
    from django.test import Client

    m = honghu_line.markers.order_by("seq", "letter").first()
    url = (
        _client(side_users[1])
        .post(f"/api/boundary-markers/{m.pk}/photos/", {"photos": [_png("p.png")]}, format="multipart")
        .json()["properties"]["photos"][0]
    )
    assert Client().get(url).status_code == 302  # to the login page
    c = Client()
    c.force_login(side_users[0])
    r = c.get(url)
    assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"\x89PNG")
