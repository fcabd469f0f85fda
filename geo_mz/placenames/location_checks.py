"""Where place-name writes lie: a naming case's items (their geometry, their road segments, the feature
a rename or cancellation names) and a feature's geometry are checked against the user's jurisdiction
through the division polygons (divisions.jurisdiction), at creation and at every later transition,
approval included. The case's declared division is checked separately (services._guard).

`user=None` is a system actor (demo loader, management commands): nothing to check.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.gis.geos import GEOSGeometry

from geo_mz.divisions.jurisdiction import require_location, require_location_of_rows
from geo_mz.placenames.models import CaseItem, NamedFeature, NamingCase, RoadSegment


def feature_location_check(user, features: Iterable[NamedFeature]) -> None:
    """Every feature lies within the user's jurisdiction: its own geometry, or else its road segments."""
    if user is None:
        return
    features = list(features)
    require_location(user, [f.geom for f in features])
    without_geom = [f.pk for f in features if f.geom is None and f.pk is not None]
    if without_geom:
        require_location_of_rows(user, RoadSegment.objects.filter(feature_id__in=without_geom))


def geometry_location_check(user, geom: GEOSGeometry | None) -> None:
    """A geometry about to be written lies within the user's jurisdiction."""
    if user is None or geom is None:
        return
    require_location(user, geom)


def case_location_check(user, case: NamingCase) -> None:
    """Every item of the case lies within the user's jurisdiction: the item's geometry, the segments it
    names (alley batches, `segment_codes`) and the existing feature it renames or cancels. Run at
    creation and on every transition, so an officer of another township can neither open, advance nor
    approve it."""
    if user is None:
        return
    items = list(CaseItem.objects.filter(case=case).select_related("feature"))
    require_location(user, [item.geom for item in items])
    require_location_of_rows(user, RoadSegment.objects.filter(case_items__case=case))
    feature_location_check(user, [item.feature for item in items if item.feature is not None])
