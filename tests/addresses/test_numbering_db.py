"""Road numbering through the services on PostGIS: the acceptance road, infill, stability, the
database constraint, bad input."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from geo_mz.addresses import services
from geo_mz.addresses.models import Address
from geo_mz.core.errors import ConflictError
from tests.addresses.conftest import DAY0, offset_point


def _labels(addresses):
    return {a.pk: (a.number, a.suffix) for a in addresses}


def test_default_convention_odd_north_numbers_grow_east_to_west(ew_road, entrance):
    north = [entrance(ew_road, c, 12) for c in (30, 60, 90)]
    south = [entrance(ew_road, c, -12) for c in (35, 65, 95)]
    done = services.road_numbering_commit(ew_road.pk, today=DAY0)
    assert len(done) == 6
    by_pk = {a.pk: a for a in Address.objects.filter(feature=ew_road)}
    north_numbers = [by_pk[a.pk].number for a in north]
    south_numbers = [by_pk[a.pk].number for a in south]
    assert all(n % 2 == 1 for n in north_numbers), north_numbers
    assert all(n % 2 == 0 for n in south_numbers), south_numbers
    # chainage is measured from the east end: numbers increase westwards
    assert north_numbers == sorted(north_numbers) and len(set(north_numbers)) == 3
    assert south_numbers == sorted(south_numbers)
    a = by_pk[north[0].pk]
    assert a.status == "active" and a.valid_from == DAY0
    assert a.label == f"鹭栖路{a.number}号" and a.full_text.startswith("赤壁市")


def test_spacing_reserves_numbers_over_a_wide_gap(ew_road, entrance):
    near = entrance(ew_road, 10, 12)
    far = entrance(ew_road, 410, 12)
    services.road_numbering_commit(ew_road.pk, today=DAY0)
    near.refresh_from_db()
    far.refresh_from_db()
    assert near.number == 1
    # 400 m at the default 20 m spacing reserves the odd numbers in between
    assert far.number >= 2 * (410 // 20) + 1 - 2 and far.number > 30


def test_infill_between_15_and_17_gets_15zhiyi_and_existing_numbers_stay(ew_road, entrance):
    a = entrance(ew_road, 150, 12)
    b = entrance(ew_road, 165, 12)
    services.road_numbering_commit(ew_road.pk, adjustments={a.pk: "15", b.pk: "17"}, today=DAY0)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.number, a.suffix, b.number, b.suffix) == (15, "", 17, "")
    before = _labels(Address.objects.filter(feature=ew_road, status="active"))
    new = entrance(ew_road, 158, 12)
    services.road_numbering_commit(ew_road.pk, today=DAY0)
    new.refresh_from_db()
    assert new.label == "鹭栖路15号之一"
    after = _labels(Address.objects.filter(feature=ew_road, status="active").exclude(pk=new.pk))
    assert after == before
    second = entrance(ew_road, 161, 12)
    services.road_numbering_commit(ew_road.pk, today=DAY0)
    second.refresh_from_db()
    assert second.label == "鹭栖路15号之二"


def test_the_database_refuses_two_active_addresses_with_the_same_number(ew_road, entrance):
    a = entrance(ew_road, 50, 12)
    services.road_numbering_commit(ew_road.pk, today=DAY0)
    a.refresh_from_db()
    clone = Address(
        code="TEST-DUP",
        kind="road",
        status="active",
        point=a.point,
        feature=ew_road,
        division=a.division,
        number=a.number,
        suffix=a.suffix,
    )
    with pytest.raises(IntegrityError, match="address_unique_active_road_number"), transaction.atomic():
        clone.save()


def test_officer_number_on_the_wrong_side_is_refused_and_nothing_is_written(ew_road, entrance):
    a = entrance(ew_road, 50, 12)
    b = entrance(ew_road, 80, -12)
    with pytest.raises(ValidationError) as err:
        services.road_numbering_commit(ew_road.pk, adjustments={a.pk: "4"}, today=DAY0)
    assert "4" in str(err.value)
    assert not Address.objects.filter(pk__in=[a.pk, b.pk], status="active").exists()


def test_impossible_suffix_and_mixed_numerals_are_clear_errors(ew_road, entrance):
    a = entrance(ew_road, 50, 12)
    with pytest.raises(ValidationError, match="adjustments"):
        services.road_numbering_commit(ew_road.pk, adjustments={a.pk: "15之零"}, today=DAY0)
    with pytest.raises(ValidationError, match="adjustments"):
        services.road_numbering_commit(ew_road.pk, adjustments={a.pk: "abc"}, today=DAY0)


def test_entrance_far_from_every_road_is_refused(ew_road):
    point = offset_point(ew_road, 400, 900)
    with pytest.raises(ValidationError, match="米内没有已命名道路"):
        services.entrance_add(kind="road", point=point)


def test_stale_adjustment_is_a_conflict(ew_road, entrance):
    a = entrance(ew_road, 50, 12)
    services.road_numbering_commit(ew_road.pk, today=DAY0)
    entrance(ew_road, 90, 12)
    with pytest.raises(ConflictError, match="不在待编号状态"):
        services.road_numbering_commit(ew_road.pk, adjustments={a.pk: "7"}, today=DAY0)


def test_renumber_impact_lists_changed_addresses_and_certificates(ew_road, entrance):
    a = entrance(ew_road, 10, 12)
    b = entrance(ew_road, 300, 12)
    services.road_numbering_commit(ew_road.pk, adjustments={a.pk: "1", b.pk: "3"}, today=DAY0)
    b.refresh_from_db()
    services.certificate_issue(b, owner="测试人", today=DAY0)
    impact = services.renumber_impact(ew_road)
    changed = {c["address_id"]: c for c in impact}
    # with 20 m spacing the entrance at 300 m would be renumbered from 3 upward
    assert b.pk in changed and changed[b.pk]["old"].startswith("3") and changed[b.pk]["certificate"]
    assert a.pk not in changed


def test_road_with_a_large_gap_is_reported_in_the_preview(make_road, db):
    from django.conf import settings
    from django.contrib.gis.geos import LineString, MultiLineString

    from geo_mz.core import crs

    road = make_road("鹭断路", ((113.945, 29.71), (113.948, 29.71)))
    p = [
        crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
        for lon, lat in ((113.945, 29.71), (113.948, 29.71), (113.952, 29.71), (113.955, 29.71))
    ]
    road.geom = MultiLineString(LineString(p[0], p[1]), LineString(p[2], p[3]), srid=settings.GEO_MZ_SRID)
    road.save()
    preview = services.road_numbering_preview(road)
    assert preview.result is None and "米" in preview.error
