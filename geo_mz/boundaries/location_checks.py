"""Where boundary writes lie. A boundary line belongs to both adjoining divisions, so a user of either
side may work on it (services._guard, any side). A marker's position (placed, reset, or measured in an
inspection) must also lie on that line's ground: within one of the line's two divisions, allowing
TOUCH_TOLERANCE_M around the point, since a marker stands on the line itself and tri-junction markers
(同号三立) stand where three divisions meet. A position in a third division, far from the line, is
refused with the divisions named.

`user=None` is a system actor (demo loader, management commands): nothing to check.
"""

from __future__ import annotations

from django.contrib.gis.geos import GEOSGeometry
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from geo_mz.boundaries.models import BoundaryLine
from geo_mz.core.jurisdiction import code_within
from geo_mz.divisions.selectors import TOUCH_TOLERANCE_M, divisions_touched


def marker_location_check(user, line: BoundaryLine, point: GEOSGeometry | None) -> None:
    """The marker position lies in one of the line's two divisions (see module docstring). Whether the
    user may work on the line at all (either side in their jurisdiction) is services._guard's check."""
    if user is None or point is None:
        return
    touched = divisions_touched(point, point_tolerance_m=TOUCH_TOLERANCE_M)
    sides = [code for code in line.side_codes if code]
    on_line = [d for d in touched if any(code_within(d.code, side) for side in sides)]
    if not on_line:
        where = "、".join(d.name for d in touched) or _("任何已登记区划之外")
        raise PermissionDenied(
            _("界桩位置在%(where)s，不在界线“%(line)s”两侧的区划内") % {"where": where, "line": line.name}
        )
