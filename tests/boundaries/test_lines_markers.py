"""Boundary lines derived from the demo's real county polygons, markers and their quality rules, on
PostGIS."""

from __future__ import annotations

import pytest
import shapely.affinity
from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError

from geo_mz.boundaries import services
from geo_mz.boundaries.models import BoundaryLine, Marker
from geo_mz.core import roles
from geo_mz.core.errors import ConflictError

pytestmark = pytest.mark.django_db

EXPECTED = {"嘉鱼赤壁线", "崇阳赤壁线", "咸安赤壁线", "洪湖赤壁线", "赤壁临湘线"}


def test_demo_has_exactly_the_five_county_lines_of_chibi():
    lines = BoundaryLine.objects.filter(level="county", status="active")
    assert {ln.name for ln in lines} == EXPECTED
    for ln in lines:
        assert "421281" in ln.side_codes
        assert ln.division_a.code < ln.division_b.code
        assert ln.length_m > 5_000
        assert abs(ln.geom.length - ln.length_m) < 1.0


def test_county_line_length_matches_an_independent_postgis_shared_edge():
    """ST_Intersection of A's boundary with B buffered by the tolerance, computed in the database."""
    from django.db import connection

    line = BoundaryLine.objects.get(name="嘉鱼赤壁线", status="active")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Buffer(b.geom, 5))) "
            "FROM divisions_division a, divisions_division b WHERE a.code = %s AND b.code = %s",
            ["421221", "421281"],
        )
        independent = cursor.fetchone()[0]
    assert abs(line.length_m - independent) / independent < 0.01


def test_township_lines_are_derived_inside_the_county():
    lines = BoundaryLine.objects.filter(level="township", status="active")
    assert lines.count() >= 19  # 19 townships, each touching at least two others
    assert all(ln.synthetic for ln in lines)
    assert all(c.startswith("421281") for ln in lines for c in ln.side_codes)


def test_rederiving_unchanged_polygons_changes_nothing():
    run = services.lines_derive("county")
    assert run.counts()["unchanged"] == 5 and run.counts()["added"] == 0 and run.counts()["changed"] == 0
    before = BoundaryLine.objects.count()
    services.lines_store(run)
    assert BoundaryLine.objects.count() == before


def test_polygon_edit_rederives_a_successor_and_moves_the_markers():
    """Shift 洪湖市's polygon 40 m: 洪湖赤壁线 changes, is retired and replaced; its markers follow."""
    from geo_mz.divisions.models import Division

    honghu = Division.objects.get(code="421083")
    moved = services.to_geos(shapely.affinity.translate(services.to_shapely(honghu.geom), 40, 0))
    Division.objects.filter(pk=honghu.pk).update(geom=moved)
    old = BoundaryLine.objects.get(name="洪湖赤壁线", status="active")
    n_markers = old.markers.count()
    run = services.lines_derive("county")
    statuses = {p.name: p.status for p in run.proposals}
    assert statuses["洪湖赤壁线"] == "changed"
    assert statuses["嘉鱼赤壁线"] == "unchanged"
    services.lines_store(run)
    new = BoundaryLine.objects.get(name="洪湖赤壁线", status="active")
    old.refresh_from_db()
    assert old.status == "retired" and new.previous == old and new.code == old.code
    assert new.markers.count() == n_markers and old.markers.count() == 0


def test_bad_tolerance_is_refused_with_the_reason():
    with pytest.raises(ValidationError) as err:
        services.lines_derive("county", tolerance_m=0)
    assert "容差" in str(err.value)
    with pytest.raises(ValidationError):
        services.lines_derive("county", tolerance_m=100_000)


def test_line_edit_keeps_geometry_and_checks_jurisdiction(make_user, honghu_line):
    team = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421083")
    line = services.line_update(honghu_line.pk, user=team, agreement_no="鄂界协〔2003〕05号")
    assert line.agreement_no == "鄂界协〔2003〕05号"
    outsider = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421223")  # 崇阳县: not a side
    with pytest.raises(PermissionDenied):
        services.line_update(honghu_line.pk, user=outsider, name="x")
    planner = make_user(roles.PLANNER, jurisdiction_code="421281")
    with pytest.raises(PermissionDenied):
        services.line_update(honghu_line.pk, user=planner, name="x")
    with pytest.raises(ValidationError):
        services.line_update(honghu_line.pk, user=team, geom=None)
    with pytest.raises(ConflictError):
        services.line_update(honghu_line.pk, user=team, expected_version="2000-01-01T00:00:00", name="y")


def test_demo_markers_are_numbered_along_the_line_with_tri_junction_markers(honghu_line):
    markers = list(Marker.objects.filter(line=honghu_line).order_by("seq", "letter"))
    assert len(markers) >= 3
    assert sorted({m.seq for m in markers}) == list(range(1, max(m.seq for m in markers) + 1))
    assert all(m.number.startswith(honghu_line.code + "-") for m in markers)
    # Single markers sit on the line; the D and E of a triple stand 2 m to either side of C.
    assert all(m.point.distance(honghu_line.geom) < (2.5 if m.kind == "triple" else 1.0) for m in markers)
    assert any(m.kind == "triple" for m in markers)
    assert services.marker_quality(honghu_line) == []


def test_marker_created_far_from_the_line_is_flagged(make_user, honghu_line):
    team = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421281")
    first = honghu_line.markers.order_by("seq", "letter").first()
    last_seq = honghu_line.markers.order_by("-seq").first().seq
    m = services.marker_create(
        honghu_line.pk, point=Point(first.point.x + 200, first.point.y, srid=first.point.srid), user=team
    )
    assert m.number.endswith("Q") and m.seq == last_seq + 1
    rules = {q.rule for q in services.marker_quality(honghu_line)}
    assert "BM01" in rules  # too far from the line
    assert "BM03" in rules  # a new marker numbered last but lying at the start


def test_marker_coordinates_in_the_wrong_zone_or_swapped_are_refused():
    with pytest.raises(ValidationError) as err:
        services.marker_point_from_input(lon=29.9, lat=113.7)  # swapped
    assert "point" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.marker_point_from_input(x=3_310_000, y=38_450_000)  # easting with a zone prefix
    with pytest.raises(ValidationError):
        services.marker_point_from_input(x=450_000, y=3_310_000)  # X/Y swapped
    p = services.marker_point_from_input(x=3_310_000, y=450_000)
    assert abs(p.x - 450_000) < 1e-6 and abs(p.y - 3_310_000) < 1e-6


def test_marker_reset_retires_and_links(make_user, honghu_line):
    team = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421281")
    m = honghu_line.markers.order_by("seq", "letter").first()
    new = services.marker_replace(
        m.pk, point=Point(m.point.x + 2, m.point.y, srid=m.point.srid), user=team, expected_version=m.version
    )
    m.refresh_from_db()
    assert m.status == "retired" and new.previous == m and new.number == m.number
    with pytest.raises(ConflictError):
        services.marker_update(m.pk, user=team, material="x")


def test_split_into_sections_keeps_markers_and_schedule(make_user):
    import datetime as dt

    from geo_mz.boundaries import selectors

    team = make_user(roles.BOUNDARY_TEAM, jurisdiction_code="421281")
    line = BoundaryLine.objects.get(name="嘉鱼赤壁线", status="active")
    markers = list(line.markers.order_by("seq", "letter"))
    middle = markers[len(markers) // 2]
    sections = services.line_split(line.pk, at_markers=[middle.number], user=team)
    assert [s.section for s in sections] == [1, 2]
    assert sum(s.length_m for s in sections) == pytest.approx(line.length_m, rel=1e-6)
    assert sum(s.markers.count() for s in sections) == len(markers)
    line.refresh_from_db()
    assert line.status == "retired" and all(s.previous == line for s in sections)
    states = {
        (s.line.name, s.line.section): s for s in selectors.line_schedules(dt.date(2026, 11, 23), "421281")
    }
    assert states[("嘉鱼赤壁线", 1)].last_regular_year == 2023  # the 2023 round carries over
    with pytest.raises(ConflictError):
        services.line_split(sections[0].pk, at_markers=[middle.number], user=team)
    other = BoundaryLine.objects.get(name="洪湖赤壁线", status="active")
    with pytest.raises(ValidationError):
        services.line_split(other.pk, at_markers=["NO-SUCH"], user=team)
