"""Facilities and coverage on PostGIS with the demo county: indicators, runs, site suggestions,
scenarios, the what-if, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError

from geo_mz.coverage import services
from geo_mz.coverage.models import CoverageRun, Scenario, ScenarioChange
from geo_mz.divisions.models import Division
from geo_mz.facilities.models import Facility, FacilityType

pytestmark = pytest.mark.django_db


def _indicator(data, key):
    return next(i for i in data["indicators"] if i.key == key)


def test_dashboard_reproduces_the_2023_report():
    data = services.indicators()
    assert _indicator(data, "institutions").value == 12
    assert _indicator(data, "beds").value == 2623
    assert _indicator(data, "nursing_share").value == pytest.approx(0.5803, abs=1e-4)
    older = Division.objects.get(code="421281").population_60_plus
    assert older > 50_000
    assert _indicator(data, "beds_per_1000").value == pytest.approx(2623 / older * 1000, abs=0.05)
    without = data["townships_without_cemetery"]
    assert without and _indicator(data, "townships_with_cemetery").meets is False
    assert _indicator(data, "urban_elderly_coverage").value == pytest.approx(1.0)
    rural_cc = _indicator(data, "community_centre_rural").value
    assert 0.8 <= rural_cc < 1.0


def test_demand_reconciles_with_village_populations():
    demand = services.demand_points()
    villages = Division.objects.filter(level="village", code__startswith="421281", point__isnull=False)
    assert demand.weight("all").sum() == pytest.approx(sum(v.population or 0 for v in villages), rel=1e-9)
    assert demand.weight("older").sum() == pytest.approx(
        sum(v.population_60_plus or 0 for v in villages), rel=1e-9
    )
    assert demand.source_counts["address_points"] > 1000  # the demo's house numbers are used
    assert {r["code"] for r in demand.reconciliation} <= set(
        Division.objects.filter(level="township").values_list("code", flat=True)
    )


def test_coverage_run_is_stored_with_provenance(make_user):
    from geo_mz.core import roles

    planner = make_user(roles.PLANNER)
    run = services.coverage_run(["day_care", "elderly_complex"], mode="straight", group="older", user=planner)
    assert run.engine_version and run.input_versions["facilities"]["count"] > 300
    s = run.summary
    assert 0 < s["covered_weight"] < s["total_weight"] and s["facilities"] == 52
    assert {d["code"] for d in run.divisions} <= set(
        Division.objects.filter(level="township").values_list("code", flat=True)
    )
    assert run.uncovered["type"] in ("Polygon", "MultiPolygon")
    viewer = make_user(roles.VIEWER)
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.coverage_run(["day_care"], user=viewer)


def test_network_coverage_never_exceeds_straight_line():
    straight = services.coverage_compute(["day_care"], mode="straight", group="older")
    net = services.coverage_compute(["day_care"], mode="network", group="older")
    assert not (net["covered"] & ~straight["covered"]).any()
    assert net["summary"]["covered_weight"] <= straight["summary"]["covered_weight"]
    assert "unreachable" in net["summary"]


def test_five_suggested_sites_add_exactly_what_they_cover():
    run = services.suggest_sites("day_care", 5, candidates="villages", group="older")
    assert [s["rank"] for s in run.suggestions] == [1, 2, 3, 4, 5]
    gains = [s["added_weight"] for s in run.suggestions]
    assert all(g > 0 for g in gains)
    scenario = Scenario.objects.create(name="新增5处日间照料中心")
    ftype = FacilityType.objects.get(code="day_care")
    from geo_mz.core import crs

    for s in run.suggestions:
        x, y = crs.lonlat_to_projected(s["lon"], s["lat"], settings.GEO_MZ_SRID)
        ScenarioChange.objects.create(
            scenario=scenario, action="add", type=ftype, point=Point(x, y, srid=settings.GEO_MZ_SRID)
        )
    compare = services.scenario_compare(scenario, ["day_care"], group="older")
    assert compare["gain_weight"] == pytest.approx(run.summary["added_weight"], abs=1.0)
    assert compare["gain_weight"] == pytest.approx(sum(gains), abs=1.0)


def test_what_if_matches_a_recomputed_scenario(settings):
    from geo_mz.coverage import whatif

    settings.GEO_MZ_WHATIF_BACKGROUND = False  # build in the call (202 + background: test_whatif_db)
    whatif.reset()
    v = Division.objects.filter(level="village", code__startswith="421281", point__isnull=False).order_by(
        "code"
    )[40]
    from geo_mz.core import crs

    lon, lat = crs.projected_to_lonlat(v.point.x, v.point.y, settings.GEO_MZ_SRID)
    answer = whatif.what_if("day_care", lon, lat, group="older")
    scenario = Scenario.objects.create(name="试一处")
    ScenarioChange.objects.create(
        scenario=scenario, action="add", type=FacilityType.objects.get(code="day_care"), point=v.point
    )
    compare = services.scenario_compare(scenario, ["day_care"], group="older")
    assert answer["added_weight"] == pytest.approx(compare["gain_weight"], abs=1.0)


def test_minimal_sites_cover_everything_coverable():
    run = services.suggest_sites("rural_mutual_aid", 0, candidates="villages", group="all", minimal=True)
    assert run.kind == "lscp" and run.summary["n_sites"] == len(run.suggestions) > 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": 10_000_000}, "radius_m"),
        ({"mode": "flying"}, "mode"),
        ({"group": "pets"}, "group"),
    ],
)
def test_bad_parameters_are_refused(kwargs, field):
    with pytest.raises(ValidationError) as err:
        services.coverage_compute(["day_care"], **kwargs)
    assert field in err.value.message_dict


def test_bad_suggestion_input():
    with pytest.raises(ValidationError) as err:
        services.suggest_sites("day_care", 10_000, candidates="villages")
    assert "k" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.suggest_sites("day_care", 1, candidates="points", points=[])
    assert "candidates" in err.value.message_dict
    with pytest.raises(ValidationError) as err:
        services.suggest_sites("day_care", 1, candidates="points", points=[(29.7, 113.9)])  # swapped
    assert "candidates" in err.value.message_dict
    with pytest.raises(ValidationError):
        services.coverage_compute(["no_such_type"])


def test_scenario_with_a_deleted_facility_is_flagged():
    f = Facility.objects.filter(type__code="day_care").order_by("code").first()
    scenario = Scenario.objects.create(name="关停一处")
    ScenarioChange.objects.create(scenario=scenario, action="close", facility=f, facility_code=f.code)
    base = services.coverage_compute(["day_care"], group="older")
    closed = services.coverage_compute(["day_care"], group="older", scenario=scenario)
    assert closed["summary"]["facilities"] == base["summary"]["facilities"] - 1
    f.delete()
    with pytest.raises(ValidationError) as err:
        services.coverage_compute(["day_care"], group="older", scenario=scenario)
    assert f.code in str(err.value)


def test_runs_are_listed_newest_first(make_user):
    services.coverage_run(["community_centre"], group="households")
    assert CoverageRun.objects.first().parameters["types"] == ["community_centre"]
    assert np.isfinite(CoverageRun.objects.first().runtime_ms)


def test_cemetery_suggestions_respect_exclusion_zones():
    from geo_mz.coverage.models import ExclusionZone

    assert ExclusionZone.objects.filter(synthetic=True).count() == 3
    run = services.suggest_sites("cemetery_rural", 3, candidates="grid", spacing_m=2000, group="all")
    assert run.summary["excluded_count"] > 0
    assert any("主要道路" in e["reason"] or "居民点" in e["reason"] for e in run.summary["excluded"])
    from django.contrib.gis.geos import Point

    from geo_mz.core import crs

    for s in run.suggestions:
        x, y = crs.lonlat_to_projected(s["lon"], s["lat"], settings.GEO_MZ_SRID)
        p = Point(x, y, srid=settings.GEO_MZ_SRID)
        for z in ExclusionZone.objects.filter(active=True):
            assert z.geom.distance(p) >= z.buffer_m - 1e-6, (s, z.name)
    # Day-care centres are not subject to the cemetery constraints.
    assert services.exclusion_layers("day_care") == []


def test_two_step_fca_conserves_capacity_per_township():
    """Σ over townships of (capacity per 1,000 × demand / 1,000) = the capacity of the facilities
    that have demand in their catchment."""
    result = services.coverage_compute(["elderly_institution"], group="older")
    rows = result["divisions"]
    assert all(r["capacity_per_1000"] is not None for r in rows if r["total_weight"] > 0)
    reached_capacity = sum(r["capacity_per_1000"] * r["total_weight"] / 1000 for r in rows)
    assert reached_capacity == pytest.approx(2623, rel=0.01)


def test_network_run_has_uncovered_area_from_reachable_roads():
    run = services.coverage_run(["day_care"], mode="network", group="older")
    straight = services.coverage_run(["day_care"], mode="straight", group="older")
    import shapely.geometry

    net_area = shapely.geometry.shape(run.uncovered).area
    straight_area = shapely.geometry.shape(straight.uncovered).area
    assert net_area >= straight_area * 0.99  # network catchments are never larger than the disks
