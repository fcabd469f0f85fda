"""Where house-number writes lie: the entrance points of addresses (and the road or compound they are
numbered on) are checked against the user's jurisdiction through the division polygons
(divisions.jurisdiction), when an entrance is captured, when a case is opened, on every case step
(issuing included), when a road, compound or village is numbered and when an address or its
certificate is retired, reissued or cancelled. The declared township is checked separately
(services._guard).

`user=None` is a system actor (demo loader, management commands): nothing to check.
"""

from __future__ import annotations

from collections.abc import Iterable

from geo_mz.addresses.models import Address, AddressCase
from geo_mz.divisions.jurisdiction import require_location, require_location_of_rows
from geo_mz.placenames.models import NamedFeature, RoadSegment


def addresses_location_check(user, addresses: Iterable[Address]) -> None:
    """Every address's entrance point lies within the user's jurisdiction (one SQL query)."""
    if user is None:
        return
    ids = [a.pk for a in addresses if a is not None and a.pk is not None]
    if ids:
        require_location_of_rows(user, Address.objects.filter(pk__in=ids), "point")


def case_location_check(user, case: AddressCase) -> None:
    """The case's address (and the address it replaces) lie within the user's jurisdiction: run when
    the case is opened and on every step, so another township's officer can neither advance nor
    issue it."""
    addresses_location_check(user, [case.address, case.replaces])


def feature_location_check(user, feature: NamedFeature) -> None:
    """A road or compound numbered by the user: its geometry, else its segments, else its label point,
    touches the user's jurisdiction. One side is enough (a road crossing into the next township is
    numbered township by township: the addresses themselves are checked one by one)."""
    if user is None:
        return
    if feature.geom is not None or feature.point is not None:
        require_location(user, feature.geom or feature.point, any_side=True)
    else:
        require_location_of_rows(user, RoadSegment.objects.filter(feature=feature), any_side=True)
