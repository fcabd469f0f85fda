"""Joint inspections on PostGIS: findings with photos and GNSS offsets, two-party confirmation to the
locked state, corrections, filing, the report PDF, the schedule and the demo's 2023 round."""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError

from geo_mz.boundaries import reports, selectors, services
from geo_mz.boundaries.models import Inspection, Marker
from geo_mz.core import roles
from geo_mz.core.errors import ConflictError
from tests.boundaries.conftest import png_bytes, record_all

pytestmark = pytest.mark.django_db


def _first_marker(inspection) -> Marker:
    return inspection.line.markers.exclude(status="retired").order_by("seq", "letter").first()


def test_marker_measured_3_m_away_reports_a_3_m_offset(open_inspection, side_users):
    m = _first_marker(open_inspection)
    measured = Point(m.point.x + 1.8, m.point.y - 2.4, srid=m.point.srid)  # 3-4-5 triangle: 3.0 m
    f = services.finding_record(
        open_inspection.pk,
        marker_id=m.pk,
        condition="moved",
        measured=measured,
        photos=[services.PhotoUpload("m.png", png_bytes())],
        user=side_users[0],
    )
    assert f.offset_m == pytest.approx(3.0, abs=1e-3)


def test_offset_from_measured_lon_lat(open_inspection, side_users):
    from django.conf import settings

    from geo_mz.core import crs

    m = _first_marker(open_inspection)
    lon, lat = crs.projected_to_lonlat(m.point.x + 3.0, m.point.y, settings.GEO_MZ_SRID)
    f = services.finding_record(
        open_inspection.pk,
        marker_id=m.pk,
        condition="intact",
        measured=services.marker_point_from_input(lon=lon, lat=lat),
        user=side_users[0],
    )
    assert f.offset_m == pytest.approx(3.0, abs=0.01)
    assert f.warnings  # intact but 3 m off: a warning, not an error


@pytest.mark.parametrize("condition", ["damaged", "moved", "lost"])
def test_photo_required_for_damaged_moved_lost(open_inspection, side_users, condition):
    m = _first_marker(open_inspection)
    measured = Point(m.point.x + 2, m.point.y, srid=m.point.srid)
    with pytest.raises(ValidationError) as err:
        services.finding_record(
            open_inspection.pk, marker_id=m.pk, condition=condition, measured=measured, user=side_users[0]
        )
    assert "照片" in str(err.value)
    assert not m.findings.exists()


def test_unreadable_photo_is_refused(open_inspection, side_users):
    m = _first_marker(open_inspection)
    with pytest.raises(ValidationError) as err:
        services.finding_record(
            open_inspection.pk,
            marker_id=m.pk,
            condition="lost",
            photos=[services.PhotoUpload("x.jpg", b"not an image")],
            user=side_users[0],
        )
    assert "x.jpg" in str(err.value)


def test_full_inspection_to_locked_and_pdf(open_inspection, side_users, tmp_path):
    user_a, user_b = side_users
    lost = _first_marker(open_inspection)
    record_all(open_inspection, user_b)
    services.finding_record(
        open_inspection.pk,
        marker_id=lost.pk,
        condition="lost",
        action="reported",
        note="未找到桩体",
        photos=[services.PhotoUpload("lost.png", png_bytes())],
        user=user_a,
    )
    services.segment_finding_record(
        open_inspection.pk,
        section="001–002",
        construction="跨界鱼塘",
        dispute="鱼塘权属",
        handling="协商维持原界线",
        user=user_a,
    )
    services.inspection_update(open_inspection.pk, user=user_b, conclusion="界线清楚，边界稳定。")
    insp = services.inspection_confirm(open_inspection.pk, user=user_a)
    assert insp.status == "confirming" and insp.confirmed_a_by == user_a
    # One side has confirmed: edits are refused until it withdraws.
    with pytest.raises(ConflictError):
        services.inspection_update(insp.pk, user=user_b, conclusion="改")
    insp = services.inspection_confirm(insp.pk, user=user_b)
    assert insp.status == "locked" and insp.locked_at is not None
    lost.refresh_from_db()
    assert lost.last_condition == "lost" and lost.needs_repair
    with pytest.raises(ConflictError) as err:
        services.finding_record(insp.pk, marker_id=lost.pk, condition="intact", user=user_a)
    assert err.value.code == "locked"

    pdf = reports.inspection_report(insp)
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    for expected in ("洪湖赤壁线", "洪湖市", "赤壁市", lost.number, "丢失", insp.record_no, "鱼塘权属"):
        assert expected in text, expected

    filed = services.inspection_file(
        insp.pk, filed_on=dt.date.today(), filed_with="湖北省民政厅", user=user_b
    )
    assert filed.filed_with == "湖北省民政厅" and filed.status == "locked"

    correction = services.inspection_correct(insp.pk, user=user_a)
    assert correction.corrects == insp and correction.status == "draft"
    assert correction.marker_findings.count() == insp.marker_findings.count()
    assert correction.marker_findings.get(marker=lost).photos.count() == 1


def test_confirmation_rules(open_inspection, side_users, make_user):
    user_a, user_b = side_users
    with pytest.raises(ValidationError) as err:  # markers without findings
        services.inspection_confirm(open_inspection.pk, user=user_a)
    assert "尚无检查结果" in str(err.value)
    record_all(open_inspection, user_a)
    outsider = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421223")  # 崇阳县
    with pytest.raises(PermissionDenied) as err:
        services.inspection_confirm(open_inspection.pk, user=outsider)
    assert "一方" in str(err.value)
    viewer = make_user(roles.VIEWER, jurisdiction_code="421281")
    with pytest.raises(PermissionDenied):
        services.inspection_confirm(open_inspection.pk, user=viewer)
    city = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421200")  # 咸宁市 contains 赤壁 only
    insp = services.inspection_confirm(open_inspection.pk, user=city)
    assert insp.confirmed_b_by == city
    with pytest.raises(ConflictError):
        services.inspection_confirm(open_inspection.pk, user=user_b)  # 赤壁 already confirmed
    admin = make_user(roles.ADMIN, jurisdiction_code="", is_superuser=True)
    with pytest.raises(ValidationError):
        services.inspection_confirm(open_inspection.pk, user=admin)  # must name a side
    with pytest.raises(PermissionDenied):
        services.inspection_withdraw(open_inspection.pk, user=user_b)  # not his confirmation
    services.inspection_withdraw(open_inspection.pk, user=city)
    services.inspection_confirm(open_inspection.pk, user=user_a)
    with pytest.raises(ConflictError) as err:
        services.inspection_confirm(open_inspection.pk, user=user_a, side="a")
    assert err.value.code == "confirmed"


def test_one_user_cannot_confirm_both_sides(open_inspection, side_users, make_user):
    record_all(open_inspection, side_users[0])
    admin = make_user(roles.ADMIN, jurisdiction_code="", is_superuser=True)
    services.inspection_confirm(open_inspection.pk, user=admin, side="a")
    with pytest.raises(ConflictError) as err:
        services.inspection_confirm(open_inspection.pk, user=admin, side="b")
    assert err.value.code == "same_user"


def test_stale_version_is_a_conflict(open_inspection, side_users):
    v = Inspection.objects.get(pk=open_inspection.pk).version
    services.inspection_update(open_inspection.pk, user=side_users[0], expected_version=v, conclusion="a")
    with pytest.raises(ConflictError) as err:
        services.inspection_update(open_inspection.pk, user=side_users[1], expected_version=v, conclusion="b")
    assert err.value.code == "version"


def test_adhoc_needs_a_reason(honghu_line, side_users):
    with pytest.raises(ValidationError) as err:
        services.inspection_create(
            honghu_line.pk,
            round_year=2026,
            kind="adhoc",
            lead_code="421281",
            start_date=dt.date(2026, 7, 1),
            user=side_users[1],
        )
    assert "reason" in err.value.message_dict


def test_demo_2023_round_is_locked_and_counted():
    inspections = Inspection.objects.filter(round_year=2023, status="locked")
    assert {i.line.name for i in inspections} == {"嘉鱼赤壁线", "崇阳赤壁线", "咸安赤壁线"}
    figures = selectors.annual_figures(2023, "421281")
    assert figures["lines_inspected"] == 3
    n_markers = sum(i.line.markers.exclude(status="retired").count() for i in inspections)
    assert figures["markers_checked"] == n_markers
    assert figures["markers_repaired"] + figures["markers_reset"] > 0
    for i in inspections:
        for f in i.marker_findings.exclude(condition="intact"):
            assert f.photos.exists(), f.marker.number


def test_schedule_due_and_overdue():
    today = dt.date(2026, 11, 23)
    states = {s.line.name: s for s in selectors.line_schedules(today, "421281") if s.line.level == "county"}
    assert states["嘉鱼赤壁线"].due_year == 2028 and states["嘉鱼赤壁线"].state == "ok"
    # 洪湖赤壁线: never inspected, agreement 2003 → due 2008: overdue.
    assert states["洪湖赤壁线"].state == "overdue"
    later = {s.line.name: s.state for s in selectors.line_schedules(dt.date(2028, 3, 1), "421281")}
    assert later["嘉鱼赤壁线"] == "due"
    attention = selectors.markers_attention("421281")
    assert all(m.last_condition == "lost" for m in attention["lost"])
    assert all(m.needs_repair for m in attention["repair"])
