"""Read-side queries for house numbers: address search (geocoding), reverse geocoding, the map layer,
the case queue, village completion figures and certificate verification."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.postgres.search import TrigramSimilarity
from django.db import connection
from django.db.models import Count, Max, Q

from geo_mz.addresses import workflow
from geo_mz.addresses.models import (
    Address,
    AddressCase,
    AddressKind,
    Certificate,
    CertificateStatus,
    VillageCampaign,
)
from geo_mz.addresses.parse import ParsedAddress, parse_address
from geo_mz.core import crs
from geo_mz.core.models import LifecycleStatus
from geo_mz.divisions.models import Division, Level
from geo_mz.placenames.models import PlaceName


@functools.lru_cache(maxsize=1)
def _known_places(county_code: str) -> tuple[str, ...]:
    names = Division.objects.filter(
        Q(code=county_code) | Q(code__startswith=county_code, level__in=[Level.TOWNSHIP, Level.VILLAGE])
    ).values_list("name", flat=True)
    return tuple(sorted(set(names), key=len, reverse=True))


def known_places() -> tuple[str, ...]:
    return _known_places(settings.GEO_MZ_COUNTY_CODE)


@dataclass
class AddressMatch:
    address: Address
    score: float
    reasons: list[str] = field(default_factory=list)


FUZZY_NAME_MIN_SIMILARITY = 0.2  # trigram similarity (0..1) for a road or compound name to be a candidate


def _feature_candidates(name: str, *, compound: bool) -> dict[int, float]:
    """feature id → name score (1 for the exact current name, the trigram similarity otherwise)."""
    names = PlaceName.objects.filter(status=LifecycleStatus.ACTIVE)
    names = (
        names.filter(feature__kind__code="compound")
        if compound
        else names.filter(feature__kind__is_road=True)
    )
    exact = dict.fromkeys(names.filter(name=name).values_list("feature_id", flat=True), 1.0)
    if exact:
        return exact
    # Not the `%` operator (pg_trgm.similarity_threshold 0.3): one wrong character in a four-character
    # Chinese name scores 0.25 (沿和大道 vs 沿河大道), so typos found nothing. Road and compound names
    # are a few thousand rows per county: the scan is cheap.
    fuzzy = (
        names.annotate(sim=TrigramSimilarity("name", name))
        .filter(sim__gte=FUZZY_NAME_MIN_SIMILARITY)
        .order_by("-sim")
        .values_list("feature_id", "sim")[:5]
    )
    former = PlaceName.objects.filter(status=LifecycleStatus.RETIRED, name=name).values_list(
        "feature_id", flat=True
    )
    scores = {fid: 0.9 * float(sim) for fid, sim in fuzzy}
    for fid in former:  # an old road name still finds the road
        scores[fid] = max(scores.get(fid, 0.0), 0.8)
    return scores


def address_search(text: str, *, limit: int = 10) -> tuple[ParsedAddress, list[AddressMatch]]:
    """Parse a Chinese address string and rank the active addresses that match it.

    Score: the road/compound/village name (exact 0.5, fuzzy or former name less), the number (0.3),
    suffix, building/unit/room (0.1), and the township (+0.1 when it agrees, −0.1 when it does not).
    """
    parsed = parse_address(text, known_places=known_places())
    base = Address.objects.active().select_related("division", "feature")
    candidates: dict[int, float] = {}
    qs = None
    if parsed.compound or (parsed.kind == "compound" and parsed.road):
        candidates = _feature_candidates(parsed.compound or parsed.road, compound=True)
        qs = base.filter(feature_id__in=candidates, kind=AddressKind.COMPOUND)
        if parsed.building is not None:
            qs = qs.filter(building_no=parsed.building)
        if parsed.unit is not None:
            qs = qs.filter(Q(unit_no=parsed.unit) | Q(unit_no__isnull=True))
        if parsed.room:
            qs = qs.filter(Q(room=parsed.room) | Q(room=""))
    elif parsed.road:
        candidates = _feature_candidates(parsed.road, compound=False)
        qs = base.filter(feature_id__in=candidates, kind=AddressKind.ROAD)
        if parsed.number is not None:
            qs = qs.filter(number=parsed.number)
    elif parsed.village:
        villages = Division.objects.filter(level=Level.VILLAGE, name=parsed.village)
        qs = base.filter(division__in=villages, kind=AddressKind.RURAL)
        if parsed.group:
            qs = qs.filter(group=parsed.group)
        if parsed.number is not None:
            qs = qs.filter(number=parsed.number)
    if qs is None:
        return parsed, []
    matches = []
    for address in qs.order_by("number", "suffix", "building_no", "unit_no", "room")[:200]:
        score, reasons = 0.0, []
        if address.kind == AddressKind.RURAL:
            score += 0.5
            reasons.append("村名一致")
            if parsed.group and address.group == parsed.group:
                score += 0.1
        else:
            name_score = candidates.get(address.feature_id, 0.0)
            score += 0.5 * name_score
            reasons.append("名称一致" if name_score == 1.0 else f"名称相似 {name_score:.2f}")
        if parsed.number is not None and address.number == parsed.number:
            score += 0.3
            reasons.append("门牌号一致")
        if address.kind == AddressKind.COMPOUND:
            hits = [
                parsed.building is not None and address.building_no == parsed.building,
                parsed.unit is not None and address.unit_no == parsed.unit,
                bool(parsed.room) and address.room == parsed.room,
            ]
            wanted = [parsed.building is not None, parsed.unit is not None, bool(parsed.room)]
            got = [address.building_no is not None, address.unit_no is not None, bool(address.room)]
            score += 0.3 * sum(hits) / max(1, sum(wanted))
            if got != wanted:
                score -= 0.05  # a building plate when a room was asked for ranks below the room
        if address.suffix == parsed.suffix:
            score += 0.1
        else:
            score -= 0.05
        township = address.division.parent if address.kind == AddressKind.RURAL else address.division
        if parsed.township:
            if township and township.name == parsed.township:
                score += 0.1
                reasons.append("乡镇（街道）一致")
            else:
                score -= 0.1
                reasons.append(f"乡镇（街道）不一致：{township.name if township else ''}")
        matches.append(AddressMatch(address, round(max(score, 0.0), 3), reasons))
    matches.sort(key=lambda m: (-m.score, m.address.number or 0, m.address.suffix, m.address.code))
    return parsed, matches[:limit]


def _storage_xy(lon: float, lat: float) -> tuple[float, float]:
    crs.check_lonlat(lon, lat)
    x, y = crs.lonlat_to_projected(lon, lat, settings.GEO_MZ_SRID)
    return float(x), float(y)


def address_reverse(lon: float, lat: float, *, limit: int = 1) -> list[tuple[Address, float]]:
    """The active addresses nearest to a lon/lat point (GiST KNN), with distances in metres."""
    x, y = _storage_xy(lon, lat)
    srid = settings.GEO_MZ_SRID
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, ST_Distance(point, ST_SetSRID(ST_MakePoint(%s, %s), %s)) FROM addresses_address "
            "WHERE status = 'active' AND room = '' "
            "ORDER BY point <-> ST_SetSRID(ST_MakePoint(%s, %s), %s) LIMIT %s",
            [x, y, srid, x, y, srid, limit],
        )
        rows = cursor.fetchall()
    found = Address.objects.select_related("division", "feature").in_bulk([r[0] for r in rows])
    return [(found[pk], float(d)) for pk, d in rows]


def road_reverse(lon: float, lat: float) -> tuple[int, str, float] | None:
    """The named road nearest to a lon/lat point: (feature id, name, distance in metres)."""
    x, y = _storage_xy(lon, lat)
    srid = settings.GEO_MZ_SRID
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.id, ST_Distance(f.geom, ST_SetSRID(ST_MakePoint(%s, %s), %s)) "
            "FROM placenames_namedfeature f JOIN placenames_featurekind k ON k.id = f.kind_id "
            "WHERE k.is_road AND f.status = 'active' AND f.geom IS NOT NULL "
            "ORDER BY f.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), %s) LIMIT 1",
            [x, y, srid, x, y, srid],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    name = (
        PlaceName.objects.filter(feature_id=row[0], status=LifecycleStatus.ACTIVE)
        .values_list("name", flat=True)
        .first()
    )
    return row[0], name or "", float(row[1])


def addresses_geojson_rows(
    bbox: tuple[float, float, float, float] | None = None, *, limit: int = 5000
) -> list[dict]:
    """Entrance points (no rooms) in a lon/lat bbox for the map: lon, lat, label, status, kind, side."""
    srid = settings.GEO_MZ_SRID
    where = ["a.room = ''", "a.status <> 'retired'"]
    params: list = []
    if bbox:
        where.append("a.point && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4490), %s)")
        params += [*bbox, srid]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.id, a.code, a.label, a.status, a.kind, a.side, a.number, "
            "ST_X(ST_Transform(a.point, 4490)), ST_Y(ST_Transform(a.point, 4490)) "
            f"FROM addresses_address a WHERE {' AND '.join(where)} ORDER BY a.id LIMIT %s",
            [*params, limit],
        )
        rows = cursor.fetchall()
    keys = ("id", "code", "label", "status", "kind", "side", "number", "lon", "lat")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def case_queue(*, state: str | None = None, today: dt.date | None = None, within_code: str | None = None):
    """Open house-number cases, most urgent first, with working days left (negative = overdue)."""
    from geo_mz.addresses.services import workflow_config

    today = today or dt.date.today()
    qs = AddressCase.objects.select_related("address", "division").order_by("due_on", "id")
    qs = qs.filter(state=state) if state else qs.filter(state__in=workflow.OPEN_STATES)
    if within_code:
        from geo_mz.core.jurisdiction import jurisdiction_prefix

        qs = qs.filter(division__code__startswith=jurisdiction_prefix(within_code))
    holidays = workflow_config().holidays
    rows = list(qs[:500])
    for case in rows:
        case.days_left = workflow.working_days_left(case.due_on, today, holidays)
        case.next_actions = workflow.allowed_actions(case.state)
    return rows


@dataclass
class VillageProgress:
    code: str
    name: str
    township: str
    households: int
    numbered: int
    pending: int
    started_on: dt.date | None
    completed_on: dt.date | None

    @property
    def complete(self) -> bool:
        return self.households > 0 and self.pending == 0


def village_progress() -> tuple[list[VillageProgress], dict[str, int]]:
    """Per village: households captured, numbered, pending; and the bureau's report totals."""
    counts = (
        Address.objects.filter(kind=AddressKind.RURAL)
        .exclude(status=LifecycleStatus.RETIRED)
        .values("division_id")
        .annotate(
            total=Count("id"),
            numbered=Count("id", filter=Q(status=LifecycleStatus.ACTIVE)),
            last=Max("valid_from"),
        )
    )
    by_village = {c["division_id"]: c for c in counts}
    campaigns = {c.village_id: c for c in VillageCampaign.objects.all()}
    villages = Division.objects.filter(pk__in=set(by_village) | set(campaigns)).select_related("parent")
    rows = []
    for v in villages.order_by("code"):
        c = by_village.get(v.pk, {"total": 0, "numbered": 0})
        campaign = campaigns.get(v.pk)
        rows.append(
            VillageProgress(
                code=v.code,
                name=v.name,
                township=v.parent.name if v.parent else "",
                households=c["total"],
                numbered=c["numbered"],
                pending=c["total"] - c["numbered"],
                started_on=campaign.started_on if campaign else None,
                completed_on=campaign.completed_on if campaign and c["total"] == c["numbered"] else None,
            )
        )
    totals = {
        "villages": len(rows),
        "villages_completed": sum(r.complete for r in rows),
        "households": sum(r.households for r in rows),
        "households_numbered": sum(r.numbered for r in rows),
        "households_pending": sum(r.pending for r in rows),
    }
    return rows, totals


@dataclass(frozen=True)
class Verification:
    """What the public verification page may show: no owner, no contact data."""

    found: bool
    valid: bool = False
    status: str = ""
    serial: str = ""
    address: str = ""
    issued_on: dt.date | None = None
    ended_on: dt.date | None = None
    issuing_office: str = ""


def certificate_verify(token: str) -> Verification:
    cert = Certificate.objects.select_related("address").filter(token=token).first()
    if cert is None:
        return Verification(found=False)
    address_ok = cert.address.status == LifecycleStatus.ACTIVE
    return Verification(
        found=True,
        valid=cert.status == CertificateStatus.VALID and address_ok,
        status=cert.get_status_display() if address_ok else "门牌已注销",
        serial=cert.serial,
        address=cert.address.full_text,
        issued_on=cert.issued_on,
        ended_on=cert.ended_on,
        issuing_office=cert.issuing_office,
    )


def address_history(address: Address) -> list[Address]:
    """The lineage of an address, oldest first (previous → … → this → successors)."""
    chain = [address]
    node = address
    while node.previous_id:
        node = Address.objects.select_related("previous").get(pk=node.previous_id)
        chain.insert(0, node)
    node = address
    while True:
        nxt = Address.objects.filter(previous=node).first()
        if nxt is None:
            break
        chain.append(nxt)
        node = nxt
    return chain
