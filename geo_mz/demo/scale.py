"""Load the reproducible scale data set (gis_data/scale.py) into PostGIS with COPY.

Every row is marked `synthetic=True` and carries a code starting with ``SC`` so `scale_drop`
removes exactly what `scale_load` wrote. Audit-history rows are not written for these rows (they
are test data, and a million history rows would double the load time); everything else — search
columns of names, tile indexes and the tile change log — is maintained as for real data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from gis_data import scale

PREFIX = "SC"
DEFAULTS = {"addresses": 1_000_000, "names": 100_000, "facilities": 10_000, "edges": 100_000}
ROAD_KINDS = {"路": "road", "大道": "road", "街": "street", "巷": "alley"}


@dataclass
class ScaleSummary:
    counts: dict[str, int]
    seconds: float
    digest: str = ""
    skipped: bool = False


def _copy(model: type[models.Model], columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY rows into the model's table. Columns are attnames; every other concrete NOT NULL column
    gets its Django default (timestamps: now), so COPY never hits a missing value."""
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = set(columns)
    extra_cols: list[str] = []
    extra_vals: list[Any] = []
    for f in fields:
        if f.attname in given:
            continue
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            extra_cols.append(f.column)
            extra_vals.append(now)
        elif not f.null:
            extra_cols.append(f.column)
            extra_vals.append(f.get_default())
    names = [model._meta.get_field(c).column if not c.endswith("_id") else c for c in columns]
    quoted = ", ".join(connection.ops.quote_name(c) for c in names + extra_cols)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({quoted}) FROM STDIN"
    n = 0
    tail = tuple(extra_vals)
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row + tail)
            n += 1
    return n


def _ewkt_points(xy: np.ndarray, srid: int) -> list[str]:
    return [f"SRID={srid};POINT({x:.3f} {y:.3f})" for x, y in xy.tolist()]


def _ids(model: type[models.Model], prefix: str) -> dict[str, int]:
    return dict(model.objects.filter(code__startswith=prefix).values_list("code", "id"))


def scale_counts() -> dict[str, int]:
    from geo_mz.addresses.models import Address
    from geo_mz.facilities.models import Facility
    from geo_mz.placenames.models import PlaceName, RoadSegment

    return {
        "addresses": Address.objects.filter(code__startswith=PREFIX).count(),
        "names": PlaceName.objects.filter(feature__code__startswith=PREFIX).count(),
        "facilities": Facility.objects.filter(code__startswith=PREFIX).count(),
        "edges": RoadSegment.objects.filter(code__startswith=PREFIX).count(),
    }


def scale_drop() -> dict[str, int]:
    """Delete the scale data set (only rows with SC codes and synthetic=True), in one transaction."""
    from geo_mz.addresses.models import Address
    from geo_mz.facilities.models import Facility
    from geo_mz.placenames.models import NamedFeature, PlaceName, RoadSegment

    out: dict[str, int] = {}
    with transaction.atomic():
        for label, qs in (
            ("addresses", Address.objects.filter(code__startswith=PREFIX, synthetic=True)),
            ("facilities", Facility.objects.filter(code__startswith=PREFIX, synthetic=True)),
            ("edges", RoadSegment.objects.filter(code__startswith=PREFIX, synthetic=True)),
            ("names", PlaceName.objects.filter(feature__code__startswith=PREFIX, feature__synthetic=True)),
            ("features", NamedFeature.objects.filter(code__startswith=PREFIX, synthetic=True)),
        ):
            out[label] = qs._raw_delete(qs.db)  # no per-row signals or history: synthetic data only
    return out


def _inputs():
    from geo_mz.divisions.models import Division, Level
    from geo_mz.facilities.models import FacilityType

    county = Division.objects.get(code=settings.GEO_MZ_COUNTY_CODE)
    towns = list(
        Division.objects.filter(level=Level.TOWNSHIP, parent=county, geom__isnull=False)
        .exclude(status="retired")
        .order_by("code")
    )
    if county.geom is None or not towns:
        raise ValueError("先加载演示县（manage.py demo_load）/ load the demo county first")
    townships = [scale.Township(t.code, shapely.from_wkb(bytes(t.geom.wkb))) for t in towns]
    types = list(FacilityType.objects.order_by("code"))
    return shapely.from_wkb(bytes(county.geom.wkb)), towns, townships, types


def scale_load(
    *,
    addresses: int = DEFAULTS["addresses"],
    names: int = DEFAULTS["names"],
    facilities: int = DEFAULTS["facilities"],
    edges: int = DEFAULTS["edges"],
    seed: int = 20261124,
    force: bool = False,
    progress=print,
) -> ScaleSummary:
    """Generate and write the data set; skip when exactly these counts are already loaded."""
    from geo_mz.addresses.models import Address, AddressKind
    from geo_mz.facilities.models import Facility
    from geo_mz.placenames import rules
    from geo_mz.placenames import services as name_services
    from geo_mz.placenames.models import FeatureKind, NamedFeature, PlaceName, RoadSegment

    wanted = {"addresses": addresses, "names": names, "facilities": facilities, "edges": edges}
    t0 = time.perf_counter()
    if not force and scale_counts() == wanted:
        return ScaleSummary(wanted, 0.0, skipped=True)
    county, towns, townships, types = _inputs()
    name_services.feature_kinds_ensure()
    data = scale.scale_generate(
        county,
        townships,
        [t.code for t in types],
        n_addresses=addresses,
        n_names=names,
        n_facilities=facilities,
        n_edges=edges,
        seed=seed,
    )
    progress(f"generated in {time.perf_counter() - t0:.1f} s (digest {data.digest()[:12]})")
    srid = settings.GEO_MZ_SRID
    kinds = {k.code: k.pk for k in FeatureKind.objects.all()}
    town_ids = [t.pk for t in towns]
    town_names = [t.name for t in towns]
    county_name = towns[0].parent.name
    n_roads = len(data.road_names)
    pack = name_services.rule_pack()

    # road polylines: start of the first edge, then the end of every edge of the road
    first = np.flatnonzero(np.r_[True, data.edge_road[1:] != data.edge_road[:-1]])
    bounds = np.r_[first, data.edge_road.size]

    def road_wkt(i: int) -> str:
        e = data.edge_xy[bounds[i] : bounds[i + 1]]
        coords = [(e[0, 0], e[0, 1]), *zip(e[:, 2], e[:, 3], strict=True)]
        return f"SRID={srid};LINESTRING({', '.join(f'{x:.3f} {y:.3f}' for x, y in coords)})"

    def road_kind(name: str) -> int:
        generic = "大道" if name.endswith("大道") else name[-1]
        return kinds[ROAD_KINDS[generic]]

    with transaction.atomic():
        scale_drop()
        mid = (data.road_xy[:, :2] + data.road_xy[:, 2:]) / 2
        road_points = _ewkt_points(mid, srid)
        _copy(
            NamedFeature,
            ["code", "kind_id", "status", "geom", "point", "division_id", "synthetic"],
            (
                (
                    f"{PREFIX}R{i:06d}",
                    road_kind(data.road_names[i]),
                    "active",
                    road_wkt(i),
                    road_points[i],
                    town_ids[data.road_township[i]],
                    True,
                )
                for i in range(n_roads)
            ),
        )
        village_points = _ewkt_points(data.village_xy, srid)
        _copy(
            NamedFeature,
            ["code", "kind_id", "status", "geom", "point", "division_id", "synthetic"],
            (
                (
                    f"{PREFIX}V{i:06d}",
                    kinds["natural_village"],
                    "active",
                    village_points[i],
                    village_points[i],
                    town_ids[data.village_township[i]],
                    True,
                )
                for i in range(len(data.village_names))
            ),
        )
        feature_ids = _ids(NamedFeature, PREFIX)
        progress(f"features: {len(feature_ids):,} ({time.perf_counter() - t0:.1f} s)")

        def name_rows() -> Iterator[tuple]:
            labelled = [(f"{PREFIX}R{i:06d}", n) for i, n in enumerate(data.road_names)] + [
                (f"{PREFIX}V{i:06d}", n) for i, n in enumerate(data.village_names)
            ]
            for code, name in labelled:
                specific, generic = rules.split_name(name, pack)
                search = name_services.search_fields(name, specific)
                yield (
                    feature_ids[code],
                    name,
                    specific,
                    generic,
                    "active",
                    search["pinyin"],
                    search["initials"],
                    search["keys"],
                    search["tokens"],
                )

        _copy(
            PlaceName,
            ["feature_id", "name", "specific", "generic", "status", "pinyin", "initials", "keys", "tokens"],
            name_rows(),
        )
        progress(f"names: {names:,} ({time.perf_counter() - t0:.1f} s)")
        road_ids = np.array([feature_ids[f"{PREFIX}R{i:06d}"] for i in range(n_roads)], dtype=np.int64)
        e = data.edge_xy
        lengths = np.hypot(e[:, 2] - e[:, 0], e[:, 3] - e[:, 1])
        _copy(
            RoadSegment,
            ["code", "geom", "feature_id", "road_class", "length_m", "division_id", "synthetic"],
            (
                (
                    f"{PREFIX}E{i:06d}",
                    f"SRID={srid};LINESTRING({x0:.3f} {y0:.3f}, {x1:.3f} {y1:.3f})",
                    int(road_ids[data.edge_road[i]]),
                    "支路",
                    round(float(lengths[i]), 2),
                    town_ids[data.road_township[data.edge_road[i]]],
                    True,
                )
                for i, (x0, y0, x1, y1) in enumerate(e.tolist())
            ),
        )
        progress(f"road edges: {edges:,} ({time.perf_counter() - t0:.1f} s)")
        a_points = _ewkt_points(data.address_xy, srid)
        today = dt.date(2026, 1, 1)
        road_town = data.road_township

        def address_rows() -> Iterator[tuple]:
            numbers = data.address_number.tolist()
            roads = data.address_road.tolist()
            sides = data.address_side.tolist()
            chain = np.round(data.address_chainage, 2).tolist()
            for i in range(addresses):
                r = roads[i]
                t = road_town[r]
                label = f"{data.road_names[r]}{numbers[i]}号"
                yield (
                    f"{PREFIX}{data.townships[t]}{i:07d}",
                    AddressKind.ROAD.value,
                    "active",
                    a_points[i],
                    int(road_ids[r]),
                    town_ids[t],
                    numbers[i],
                    label,
                    f"{county_name}{town_names[t]}{label}",
                    chain[i],
                    sides[i],
                    "住宅",
                    today,
                    True,
                )

        _copy(
            Address,
            [
                "code",
                "kind",
                "status",
                "point",
                "feature_id",
                "division_id",
                "number",
                "label",
                "full_text",
                "chainage_m",
                "side",
                "use",
                "valid_from",
                "synthetic",
            ],
            address_rows(),
        )
        progress(f"addresses: {addresses:,} ({time.perf_counter() - t0:.1f} s)")
        f_points = _ewkt_points(data.facility_xy, srid)
        _copy(
            Facility,
            ["code", "name", "type_id", "point", "division_id", "status", "synthetic"],
            (
                (
                    f"{PREFIX}F{i:05d}",
                    f"{town_names[data.facility_township[i]]}{types[data.facility_type[i]].name}（规模测试{i + 1}）",
                    types[data.facility_type[i]].pk,
                    f_points[i],
                    town_ids[data.facility_township[i]],
                    "operating",
                    True,
                )
                for i in range(facilities)
            ),
        )
    with connection.cursor() as cursor:
        for model in (NamedFeature, PlaceName, RoadSegment, Address, Facility):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    seconds = time.perf_counter() - t0
    progress(f"facilities: {facilities:,}; done in {seconds:.1f} s")
    return ScaleSummary(scale_counts(), seconds, data.digest())
