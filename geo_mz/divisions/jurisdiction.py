"""Jurisdiction from geometry: every write that carries a location (a geometry, road segments, a road,
an address) is checked against where that location lies, not only against the division the user
declares. The divisions are found in SQL (divisions.selectors.divisions_touched*), the rule is the
one of core.permissions.require_jurisdiction: every touched division must lie within the user's
jurisdiction, or with `any_side=True` one is enough (boundary lines and markers belong to both sides).

Messages name divisions by their names (users see labels, never codes).

`user=None` is a system actor (the demo loader, a management command run by the operator): no check.
Request paths always pass the signed-in user.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from geo_mz.core.jurisdiction import code_within
from geo_mz.core.permissions import require_jurisdiction, require_role, user_jurisdiction_code
from geo_mz.divisions.models import Division
from geo_mz.divisions.selectors import TouchedDivision, divisions_touched, divisions_touched_by_rows


def _scope_name(scope: str) -> str:
    name = Division.objects.filter(code=scope).values_list("name", flat=True).first()
    return name or scope


def require_touched_within(user, touched: Sequence[TouchedDivision], *, any_side: bool = False) -> None:
    """Refuse (PermissionDenied) unless the divisions a location touches lie in the user's jurisdiction.

    A location outside every division is refused too, except for superusers: nobody's jurisdiction
    covers it, so only a superuser may record it."""
    if user is None:
        return
    if not user.is_authenticated:
        raise PermissionDenied(_("请先登录"))
    if user.is_superuser:
        return
    scope = user_jurisdiction_code(user)
    if not scope:
        raise PermissionDenied(_("用户未设置管辖区划"))
    if not touched:
        raise PermissionDenied(_("该位置不在任何已登记的行政区划范围内，不能在此登记"))
    inside = [code_within(d.code, scope) for d in touched]
    if any(inside) if any_side else all(inside):
        return
    outside = "、".join(d.name for d, ok in zip(touched, inside, strict=True) if not ok)
    raise PermissionDenied(
        _("位置涉及%(outside)s，不在您的管辖范围（%(scope)s）内")
        % {"outside": outside, "scope": _scope_name(scope)}
    )


def require_location(
    user, geoms: GEOSGeometry | Iterable[GEOSGeometry | None], *, any_side: bool = False
) -> list[TouchedDivision]:
    """Check where `geoms` lie (see require_touched_within); returns the touched divisions. Geometries
    that are None are ignored; with nothing located there is nothing to check."""
    if user is None:
        return []
    if isinstance(geoms, GEOSGeometry):
        geoms = [geoms]
    geoms = [g for g in geoms if g is not None]
    if not geoms:
        return []
    touched = divisions_touched(geoms)
    require_touched_within(user, touched, any_side=any_side)
    return touched


def require_location_of_rows(
    user, queryset: QuerySet, field: str = "geom", *, any_side: bool = False
) -> list[TouchedDivision]:
    """Check where the geometry column `field` of the rows of `queryset` lies (in SQL, without fetching
    the geometries). An empty queryset has nothing to check."""
    if user is None:
        return []
    queryset = queryset.filter(**{f"{field}__isnull": False})
    if not queryset.exists():
        return []
    touched = divisions_touched_by_rows(queryset, field)
    require_touched_within(user, touched, any_side=any_side)
    return touched


def require_edit_at(
    user,
    app: str,
    geoms: GEOSGeometry | Iterable[GEOSGeometry | None],
    declared_codes: Iterable[str] = (),
    *,
    any_side: bool = False,
) -> None:
    """Role, then where the location lies (message names the divisions), then the declared divisions:
    the check an editing service that carries a location starts with. `user=None`: system actor."""
    if user is None:
        return
    require_role(user, app)
    require_location(user, geoms, any_side=any_side)
    require_jurisdiction(user, declared_codes, any_side=any_side)
