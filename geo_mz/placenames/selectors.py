"""Read-side queries for place names: search, work queue, unnamed segments, sign report, histories
and the rows behind the announcement, gazetteer and national CSV (see placenames/documents.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.contrib.gis.db.models.functions import Transform
from django.contrib.postgres.search import TrigramSimilarity
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Length

from geo_mz.core import crs
from geo_mz.core.db import prefer_indexes
from geo_mz.core.jurisdiction import jurisdiction_prefix
from geo_mz.core.models import LifecycleStatus
from geo_mz.placenames import documents, search, workflow
from geo_mz.placenames.models import (
    CaseKind,
    NamedFeature,
    NamingCase,
    PlaceName,
    RoadSegment,
    RoadSign,
)

SEARCH_LIMIT = 20


def _within(qs: QuerySet, code: str | None, field_name: str) -> QuerySet:
    if not code:
        return qs
    return qs.filter(**{f"{field_name}__startswith": jurisdiction_prefix(code)})


def placename_search(
    query: str, *, within_code: str | None = None, include_retired: bool = False, limit: int = SEARCH_LIMIT
) -> list[PlaceName]:
    """Search names by characters, full pinyin or pinyin initials, with homophones and fuzzy pinyin
    (see placenames/search.py). Ranked: exact, prefix, direct hit, homophone/fuzzy; then shorter names."""
    plan = search.plan(query)
    if plan.mode == "empty":
        return []
    base = PlaceName.objects.all()
    if not include_retired:
        base = base.exclude(status=LifecycleStatus.RETIRED)
    base = _within(base, within_code, "feature__division__code")

    direct = Q()
    if plan.tokens:
        direct = Q(tokens__contains=list(plan.tokens))
        if plan.substring:
            direct &= Q(name__contains=plan.substring)
    pinyin = Q()
    for prefix in plan.pinyin_prefixes:
        pinyin |= Q(pinyin__startswith=prefix)
    if plan.pinyin_contains:
        pinyin |= Q(pinyin__contains=plan.pinyin_contains)
    condition = (
        (direct | pinyin if plan.pinyin_prefixes or plan.pinyin_contains else direct)
        if plan.tokens
        else pinyin
    )
    qs = base.filter(condition)
    rank = Case(
        When(name=plan.query, then=Value(0)),
        When(name__startswith=plan.query, then=Value(1)),
        When(direct if plan.tokens else Q(pinyin__startswith=plan.query), then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    with prefer_indexes():
        rows = list(
            qs.annotate(rank=rank, name_length=Length("name"))
            .select_related("feature__division", "feature__kind")
            .order_by("rank", "name_length", "name", "id")[:limit]
        )
    if not rows and plan.fuzzy:
        rows = list(
            base.annotate(similarity=TrigramSimilarity("pinyin", plan.query))
            .filter(similarity__gt=0.3)
            .select_related("feature__division", "feature__kind")
            .order_by("-similarity", "name")[:limit]
        )
    return rows


def names_on_date(day: dt.date, within_code: str | None = None) -> QuerySet:
    """The names in force on `day` (what was this road called in 2019?)."""
    qs = PlaceName.objects.on_date(day).exclude(status=LifecycleStatus.PROPOSED)
    return _within(qs, within_code, "feature__division__code")


def feature_history(feature: NamedFeature) -> list[dict]:
    """The name timeline of a feature with decision documents, oldest first."""
    out = []
    for record in feature.names.select_related("decision", "retirement_decision", "case").order_by(
        "valid_from", "id"
    ):
        out.append(
            {
                "id": record.pk,
                "name": record.name,
                "romanization": record.romanization,
                "status": record.status,
                "status_label": record.get_status_display(),
                "valid_from": record.valid_from,
                "valid_to": record.valid_to,
                "decision": str(record.decision) if record.decision else "",
                "decision_number": record.decision.number if record.decision else "",
                "approving_body": record.decision.approving_body if record.decision else "",
                "retirement_decision": str(record.retirement_decision) if record.retirement_decision else "",
                "previous_id": record.previous_id,
                "case_number": record.case.number if record.case else "",
                "meaning": record.meaning,
            }
        )
    return out


@dataclass
class QueueEntry:
    case: NamingCase
    overdue_days: int
    due_on: dt.date | None
    next_actions: list[str] = field(default_factory=list)


def case_queue(user, *, today: dt.date | None = None, include_closed: bool = False) -> list[QueueEntry]:
    """The officer's work queue: open cases in their jurisdiction, overdue first, then by due date.
    Filing and announcement deadlines count for approved and filed cases."""
    from geo_mz.core.permissions import user_jurisdiction_code

    today = today or dt.date.today()
    qs = NamingCase.objects.select_related("division", "assigned_to")
    if not include_closed:
        qs = qs.filter(state__in=workflow.OPEN_STATES)
    if not user.is_superuser:
        scope = user_jurisdiction_code(user)
        if not scope:
            return []
        qs = qs.filter(division__code__startswith=jurisdiction_prefix(scope))
    entries = [
        QueueEntry(
            case=case,
            due_on=case.due_on,
            overdue_days=workflow.overdue_days(case.due_on, today)
            if case.state in workflow.OPEN_STATES
            else 0,
            next_actions=workflow.allowed_actions(case.state),
        )
        for case in qs
    ]
    entries.sort(key=lambda e: (-e.overdue_days, e.due_on or dt.date.max, e.case.number))
    return entries


def unnamed_segments(
    division_code: str, *, min_length_m: float = 0.0, road_class: str | None = None
) -> list[RoadSegment]:
    """Road segments without a name in the division, longer than `min_length_m`, that no open case
    has claimed; in work order: township, then north → south, west → east (by midpoint)."""
    from geo_mz.placenames.models import CaseItem

    claimed = CaseItem.objects.filter(segments=OuterRef("pk"), case__state__in=workflow.OPEN_STATES)
    qs = RoadSegment.objects.filter(feature__isnull=True, length_m__gte=min_length_m).exclude(Exists(claimed))
    qs = _within(qs, division_code, "division__code")
    if road_class:
        qs = qs.filter(road_class=road_class)
    segments = list(qs.select_related("division"))
    segments.sort(key=lambda s: (s.division.code, -round(s.geom.centroid.y, -2), s.geom.centroid.x))
    return segments


@dataclass(frozen=True)
class SignIssue:
    kind: str  # "missing_end" | "outdated_text" | "orphan"
    message: str
    feature_code: str = ""
    road_name: str = ""
    sign_code: str = ""
    lon: float | None = None
    lat: float | None = None


def sign_report(within_code: str | None = None, *, end_radius_m: float = 30.0) -> list[SignIssue]:
    """Roads that lack a sign within `end_radius_m` of either end, and signs whose text no longer
    matches the road's current name (e.g. after a rename)."""
    srid = settings.GEO_MZ_SRID
    issues: list[SignIssue] = []
    roads = NamedFeature.objects.filter(
        kind__is_road=True, status=LifecycleStatus.ACTIVE, geom__isnull=False
    ).prefetch_related("names")
    roads = _within(roads, within_code, "division__code")
    # One query for the sign positions, then a vectorised distance test per road end (no query per end).
    sign_xy = np.array(
        [(p.x, p.y) for p in RoadSign.objects.values_list("point", flat=True)], dtype=float
    ).reshape(-1, 2)
    for road in roads:
        name = next((n for n in road.names.all() if n.status == LifecycleStatus.ACTIVE), None)
        if name is None or road.geom.geom_type not in ("LineString", "MultiLineString"):
            continue  # only lines have ends to sign (a road stored as a point by an old import has none)
        merged = road.geom.merged if road.geom.geom_type == "MultiLineString" else road.geom
        lines = [merged] if merged.geom_type == "LineString" else list(merged)
        ends = [end for line in lines for end in (line[0], line[-1])]
        for x, y in ends:
            near = sign_xy.size and np.hypot(sign_xy[:, 0] - x, sign_xy[:, 1] - y).min() <= end_radius_m
            if not near:
                lon, lat = crs.projected_to_lonlat(x, y, srid)
                issues.append(
                    SignIssue(
                        "missing_end",
                        f"“{name.name}”端点 {end_radius_m:g} 米内没有路牌 / no sign at this end",
                        road.code,
                        name.name,
                        lon=lon,
                        lat=lat,
                    )
                )
    signs = RoadSign.objects.select_related("feature")
    signs = _within(signs, within_code, "feature__division__code") if within_code else signs
    current = {
        n.feature_id: n.name
        for n in PlaceName.objects.filter(
            status=LifecycleStatus.ACTIVE, feature__signs__isnull=False
        ).distinct()
    }
    for sign in signs:
        lon, lat = crs.projected_to_lonlat(sign.point.x, sign.point.y, srid)
        if sign.feature_id is None:
            issues.append(
                SignIssue(
                    "orphan",
                    f"路牌 {sign.code} 未关联道路 / the sign has no road",
                    sign_code=sign.code,
                    lon=lon,
                    lat=lat,
                )
            )
            continue
        name = current.get(sign.feature_id)
        if name and sign.text != name:
            issues.append(
                SignIssue(
                    "outdated_text",
                    f"路牌 {sign.code} 牌面为“{sign.text}”，现行名称为“{name}” / the sign shows an old name",
                    sign.feature.code,
                    name,
                    sign.code,
                    lon,
                    lat,
                )
            )
    return issues


def _entry(record: PlaceName) -> documents.NameEntry:
    feature = record.feature
    lon = lat = None
    if feature.point is not None:
        lon, lat = crs.projected_to_lonlat(feature.point.x, feature.point.y, settings.GEO_MZ_SRID)
    former = []
    previous = record.previous
    while previous is not None:
        former.append(previous.name)
        previous = previous.previous
    decision = record.decision
    return documents.NameEntry(
        name=record.name,
        specific=record.specific,
        generic=record.generic,
        romanization=record.romanization,
        kind_label=feature.kind.category or feature.kind.name,
        division_code=feature.division.code,
        division_name=feature.division.name,
        location=feature.location_text(),
        meaning=record.meaning,
        history=record.history_text,
        approving_body=decision.approving_body if decision else "",
        decision_number=decision.number if decision else "",
        approved_on=decision.decided_on if decision else record.valid_from,
        lon=lon,
        lat=lat,
        length_m=feature.length_m,
        width_m=feature.width_m,
        former_names="，".join(former),
    )


def gazetteer_entries(within_code: str | None = None, kind: str | None = None) -> list[documents.NameEntry]:
    """Names in force, for the standard gazetteer and the national CSV."""
    qs = PlaceName.objects.filter(status=LifecycleStatus.ACTIVE).select_related(
        "feature__division", "feature__kind", "decision", "previous__previous"
    )
    qs = _within(qs, within_code, "feature__division__code")
    if kind:
        qs = qs.filter(feature__kind__code=kind)
    return [_entry(r) for r in qs.order_by("feature__kind__sort_order", "feature__division__code", "name")]


def case_announcement(case: NamingCase, *, issuer: str = "") -> documents.Announcement:
    """The 公告 of an approved case: standard name, pinyin, division, location, approving body, date."""
    if case.decision is None:
        from geo_mz.core.errors import ConflictError

        raise ConflictError("案件尚未批准，不能生成公告 / the case is not approved yet", code="not_approved")
    records = [item.result_name for item in case.items.select_related("result_name") if item.result_name_id]
    records = list(
        PlaceName.objects.filter(pk__in=[r.pk for r in records]).select_related(
            "feature__division", "feature__kind", "decision", "previous"
        )
    )
    verb = {CaseKind.RENAME: "更名", CaseKind.CANCEL: "销名"}.get(case.kind, "命名")
    county = case.division.name
    if case.kind == CaseKind.CANCEL:
        entries = [
            documents.NameEntry(
                name=item.name,
                specific="",
                generic="",
                romanization=item.feature.current_name.romanization if item.feature.current_name else "",
                kind_label=item.kind.category,
                division_code=item.feature.division.code,
                division_name=item.feature.division.name,
                location=item.feature.location_text(),
                approving_body=case.decision.approving_body,
                decision_number=case.decision.number,
                approved_on=case.decision.decided_on,
            )
            for item in case.items.select_related("feature__division", "kind")
        ]
    else:
        entries = [_entry(r) for r in sorted(records, key=lambda r: r.name)]
    return documents.Announcement(
        number=case.announcement_number or f"（待编号）{case.number}",
        title=f"关于{county}{case.title if case.title.startswith(county) else case.title}的公告"
        if verb not in case.title
        else f"关于{case.title}的公告",
        issuer=issuer or settings.GEO_MZ_BUREAU_NAME,
        issued_on=case.announced_on or dt.date.today(),
        body=(
            f"根据《地名管理条例》及其实施办法，经{case.decision.approving_body}批准"
            f"（{case.decision.number}），对下列地名予以{verb}，现予公告。"
        ),
        entries=entries,
    )


def roads_geojson_rows(within_code: str | None = None, status: str | None = None) -> QuerySet:
    qs = NamedFeature.objects.filter(kind__is_road=True).select_related("kind", "division")
    if status:
        qs = qs.filter(status=status)
    qs = _within(qs, within_code, "division__code")
    return qs.annotate(geom_lonlat=Transform("geom", 4326))
