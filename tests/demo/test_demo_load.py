"""The demo county as loaded by the session fixture through the real importers."""

from __future__ import annotations

import pytest

from geo_mz.demo.services import demo_load
from geo_mz.divisions.models import Division
from geo_mz.divisions.selectors import division_population_reconciliation

pytestmark = pytest.mark.django_db


def test_counts_match_the_acceptance_criteria():
    assert Division.objects.filter(level="county").count() == 8
    assert Division.objects.filter(level="township", parent__code="421281").count() == 19
    assert Division.objects.within_code("421281").filter(level="village").count() == 190
    assert Division.objects.filter(level="township", geom__isnull=True).count() == 0
    assert Division.objects.filter(level="village", point__isnull=True).count() == 0


def test_populations_reconcile_with_the_census():
    county = division_population_reconciliation("421281")
    assert county["population"] == county["children_population"] == 470355
    assert county["population_60_plus"] == county["children_population_60_plus"]
    for township in Division.objects.filter(level="township", parent__code="421281"):
        check = division_population_reconciliation(township.code)
        assert check["population"] == check["children_population"]


def test_townships_partition_the_county():
    county = Division.objects.get(code="421281")
    townships = Division.objects.filter(level="township", parent=county)
    union = townships[0].geom
    for t in townships[1:]:
        union = union.union(t.geom)
    assert abs(union.area - county.geom.area) / county.geom.area < 1e-4
    assert county.geom.sym_difference(union).area < 5_000  # m², rounding at 6 decimals only


def test_synthetic_layers_are_labelled():
    assert not Division.objects.get(code="421281").synthetic
    assert all(
        Division.objects.filter(
            level__in=["township", "village"], parent__code__startswith="421281"
        ).values_list("synthetic", flat=True)
    )


def test_second_load_changes_nothing():
    steps = demo_load(force=True)
    for step in steps:
        counts = step.report.counts()
        assert counts["create"] == counts["update"] == counts["error"] == 0, step.name
