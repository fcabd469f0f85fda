"""Place-name services: rule checks against the database, named features and name records, naming
cases through their state machine, unnamed-alley batches, signs and imports.

Every editing service takes `user` (None = a trusted operator on the server, e.g. a management
command or the demo loader) and starts with `require_edit(user, "placenames", codes)`.

Geometry is in settings.GEO_MZ_SRID (metres). Names are never edited in place: a rename retires the
current record and creates a successor (`previous`), with the decision document on both.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, LineString, MultiLineString
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from geo_mz.core.db import advisory_xact_lock, prefer_indexes
from geo_mz.core.errors import ConflictError
from geo_mz.core.jurisdiction import jurisdiction_prefix
from geo_mz.core.models import DecisionDocument, LifecycleStatus
from geo_mz.core.permissions import require_edit
from geo_mz.core.sequences import next_serial
from geo_mz.core.upload_files import read_upload, stored_document
from geo_mz.divisions.models import Division, Level
from geo_mz.placenames import location_checks, romanize, rules, search, workflow
from geo_mz.placenames.models import (
    AttachmentKind,
    CaseAttachment,
    CaseEvent,
    CaseItem,
    CaseKind,
    CaseState,
    FeatureKind,
    HeritageEntry,
    NamedFeature,
    NamingCase,
    NoticeComment,
    PlaceName,
    RoadSegment,
)

APP = "placenames"
# Rule findings that make an input unusable (not a matter for review): refused at entry.
INPUT_RULE_PREFIXES = ("structure.", "script.")
DEFAULT_FEATURE_KINDS: tuple[dict[str, Any], ...] = (
    {
        "code": "road",
        "name": "道路",
        "category": "道路",
        "geometry_type": "line",
        "is_road": True,
        "generics": "大道,大街,路",
        "sort_order": 10,
    },
    {
        "code": "street",
        "name": "街",
        "category": "街巷",
        "geometry_type": "line",
        "is_road": True,
        "generics": "街,大街",
        "sort_order": 20,
    },
    {
        "code": "alley",
        "name": "巷",
        "category": "街巷",
        "geometry_type": "line",
        "is_road": True,
        "generics": "巷,里,弄,坊,胡同,条",
        "sort_order": 30,
    },
    {
        "code": "bridge",
        "name": "桥梁",
        "category": "桥梁",
        "geometry_type": "line",
        "generics": "桥,大桥",
        "sort_order": 40,
    },
    {
        "code": "square",
        "name": "广场",
        "category": "广场",
        "geometry_type": "polygon",
        "generics": "广场",
        "sort_order": 50,
    },
    {
        "code": "compound",
        "name": "居民区（小区）",
        "category": "居民点",
        "geometry_type": "polygon",
        "generics": "小区,花园,苑,园,府,城",
        "sort_order": 60,
    },
    {
        "code": "natural_village",
        "name": "自然村",
        "category": "居民点",
        "geometry_type": "point",
        "one_word": True,
        "generics": "村,湾,垸,冲,坪,岭",
        "sort_order": 70,
    },
    {
        "code": "park",
        "name": "公园",
        "category": "公园",
        "geometry_type": "polygon",
        "generics": "公园",
        "sort_order": 80,
    },
    {
        "code": "water",
        "name": "河流湖泊",
        "category": "水系",
        "geometry_type": "line",
        "generics": "河,湖,港,渠,水库",
        "sort_order": 90,
    },
)


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _load_pack(name: str) -> rules.RulePack:
    return rules.RulePack.load(name)


def rule_pack() -> rules.RulePack:
    return _load_pack(settings.GEO_MZ_PLACENAME_RULEPACK)


def workflow_config() -> workflow.WorkflowConfig:
    return workflow.WorkflowConfig.from_mapping(settings.GEO_MZ_NAMING_WORKFLOW)


def feature_kinds_ensure() -> int:
    """Create the default feature kinds if missing (data, editable in the admin). Returns how many."""
    created = 0
    for spec in DEFAULT_FEATURE_KINDS:
        _, was_created = FeatureKind.objects.get_or_create(code=spec["code"], defaults=spec)
        created += was_created
    return created


def _guard(user, codes: Iterable[str]) -> None:
    if user is not None:
        require_edit(user, APP, codes)


# ---------------------------------------------------------------------------------------------------
# Name records: split, romanise, search fields
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NameParts:
    name: str
    specific: str
    generic: str
    romanization: str
    reading: str


def name_parts(
    name: str, *, kind: FeatureKind | None = None, specific: str = "", generic: str = "", reading: str = ""
) -> NameParts:
    """Split and romanise a proposed name. Raises ValidationError on unusable input."""
    text = (name or "").strip()
    if not text:
        raise ValidationError({"name": "名称不能为空 / the name is empty"})
    pack = rule_pack()
    if not specific and not generic:
        specific, generic = rules.split_name(text, pack)
    if specific + generic != text:
        raise ValidationError(
            {"specific": f"专名“{specific}”+通名“{generic}”与名称“{text}”不一致 / parts do not add up"}
        )
    kind_code = kind.code if kind else "road"
    if kind is not None and kind.one_word:
        kind_code = "village"
    try:
        roman = romanize.romanize(
            text, specific=specific, generic=generic, kind=kind_code, override=reading.strip() or None
        )
    except ValueError as exc:
        raise ValidationError({"reading" if reading else "name": str(exc)}) from exc
    return NameParts(text, specific, generic, roman, reading.strip())


def search_fields(name: str, specific: str, reading: str = "") -> dict[str, Any]:
    """The denormalised search columns of a PlaceName (see placenames/search.py)."""
    override = reading or None
    try:
        variants = sorted(rules.toneless_variants(name, reading=override, limit=64))
        initials = rules.initials(name, reading=override)
    except ValueError:
        variants, initials = sorted(rules.toneless_variants(name, limit=64)), rules.initials(name)
    # Keys and tokens longer than their columns can never be matched (queries leave them out too):
    # drop them, so a long but valid name (up to core.limits.MAX_NAME_CHARS) saves instead of failing.
    return {
        "pinyin": (variants[0] if variants else "")[:_PINYIN_MAX],
        "initials": initials[:_INITIALS_MAX],
        "keys": [k for k in rules.search_keys(name, specific, reading=override) if len(k) <= _KEY_MAX],
        "tokens": [t for t in search.name_tokens(name, specific, initials) if len(t) <= _TOKEN_MAX],
    }


_PINYIN_MAX = PlaceName._meta.get_field("pinyin").max_length
_INITIALS_MAX = PlaceName._meta.get_field("initials").max_length
_KEY_MAX = PlaceName._meta.get_field("keys").base_field.max_length
_TOKEN_MAX = PlaceName._meta.get_field("tokens").base_field.max_length


def _apply_search_fields(record: PlaceName) -> None:
    for key, value in search_fields(record.name, record.specific, record.reading).items():
        setattr(record, key, value)


def names_lock(division_code: str) -> None:
    """Serialise every writer of names in one county (approvals, registrations, imports) for the rest
    of the transaction. The county-wide rules (不得重名, homophones, near-duplicates) are checked in
    Python over many rows, so no row lock or constraint can hold them: two approvals in two townships
    that each check first and then write would both pass (write skew). With this lock taken before the
    check, the second approval checks against the first one's committed name. Names are written a few
    times a day, so one lock per county costs nothing."""
    advisory_xact_lock("placenames.names", (division_code or "")[:6])


@transaction.atomic
def placename_save(record: PlaceName, user=None) -> PlaceName:
    """Save a name record with its search columns and audit user."""
    names_lock(record.feature.division.code if record.feature.division_id else "")
    _apply_search_fields(record)
    if user is not None:
        record._history_user = user
    record.save()
    return record


# ---------------------------------------------------------------------------------------------------
# Rule checks against the database
# ---------------------------------------------------------------------------------------------------


def _existing_from_rows(rows: Iterable[PlaceName]) -> list[rules.ExistingName]:
    from geo_mz.core import crs

    out = []
    for pn in rows:
        point = pn.feature.point
        lon = lat = None
        if point is not None:
            lon, lat = crs.projected_to_lonlat(point.x, point.y, settings.GEO_MZ_SRID)
        protected = [h for h in pn.feature.heritage.all()]
        out.append(
            rules.ExistingName(
                id=pn.pk,
                name=pn.name,
                specific=pn.specific,
                generic=pn.generic,
                division_code=pn.feature.division.code,
                kind=pn.feature.kind.code,
                status=pn.status,
                x=point.x if point else None,
                y=point.y if point else None,
                lon=lon,
                lat=lat,
                protected=bool(protected),
                protection_measures_on_file=any(h.measures_on_file for h in protected),
                reading=pn.reading or None,
            )
        )
    return out


def proposal_build(
    *,
    name: str,
    division_code: str,
    kind: str = "road",
    specific: str | None = None,
    generic: str | None = None,
    point: GEOSGeometry | None = None,
    road_class: str = "",
    width_m: float | None = None,
    length_m: float | None = None,
    reading: str = "",
    replaces: PlaceName | None = None,
    exclude_ids: Iterable[int] = (),
) -> rules.Proposal:
    return rules.Proposal(
        name=name,
        division_code=division_code,
        kind=kind,
        specific=specific or None,
        generic=generic if generic is not None and specific else None,
        x=point.x if point is not None else None,
        y=point.y if point is not None else None,
        road_class=road_class or None,
        width_m=width_m,
        length_m=length_m,
        reading=reading or None,
        replaces=replaces.pk if replaces else None,
        exclude_ids=frozenset(exclude_ids),
    )


def placename_candidates(proposal: rules.Proposal) -> list[rules.ExistingName]:
    """Existing names that could conflict, found through the GIN-indexed rule keys (scope-filtered in
    SQL by county prefix, wider scopes by the engine)."""
    pack = rule_pack()
    # A key longer than the column cannot be stored, so it cannot match: leaving such keys out
    # changes no result, and keeps the query small for long names (a 50-character name of
    # polyphones has ~22,000 pinyin deletion keys, almost all too long; issue 14).
    width = PlaceName._meta.get_field("keys").base_field.max_length
    keys = [k for k in rules.candidate_keys(proposal, pack) if len(k) <= width]
    qs = (
        PlaceName.objects.filter(keys__overlap=keys)
        .order_by()
        .select_related("feature__division", "feature__kind")
    )
    qs = qs.prefetch_related("feature__heritage")
    if proposal.replaces is not None:
        qs = qs | PlaceName.objects.filter(pk=proposal.replaces).select_related(
            "feature__division", "feature__kind"
        ).prefetch_related("feature__heritage")
    with prefer_indexes():
        rows = list(qs)
    return _existing_from_rows(rows)


def placename_check(proposal: rules.Proposal) -> list[rules.Finding]:
    return rules.check(proposal, placename_candidates(proposal), rule_pack())


def _input_errors(findings: Sequence[rules.Finding]) -> list[str]:
    return [
        f.message for f in findings if f.severity == "error" and f.rule_id.startswith(INPUT_RULE_PREFIXES)
    ]


# ---------------------------------------------------------------------------------------------------
# Features
# ---------------------------------------------------------------------------------------------------


def _division(code: str) -> Division:
    try:
        return Division.objects.get(code=code)
    except Division.DoesNotExist as exc:
        raise ValidationError({"division_code": f"区划代码 {code} 不存在 / unknown division code"}) from exc


def _common_division(codes: Sequence[str]) -> Division:
    """The smallest division containing all `codes` (their longest common code prefix)."""
    if len(set(codes)) == 1:
        return _division(codes[0])
    for length in (9, 6, 4, 2):
        prefixes = {c[:length] for c in codes}
        if len(prefixes) == 1:
            prefix = prefixes.pop()
            code = prefix if length in (6, 9) else prefix.ljust(6, "0")
            found = Division.objects.filter(code=code).first()
            if found:
                return found
    return _division(codes[0])


def divisions_for_geometry(geom: GEOSGeometry, level: str = Level.TOWNSHIP) -> list[Division]:
    return list(Division.objects.filter(level=level, geom__intersects=geom).order_by("code"))


def _representative_point(geom: GEOSGeometry):
    if geom.geom_type in ("LineString", "MultiLineString"):
        merged = geom if geom.geom_type == "LineString" else geom.merged
        line = merged if merged.geom_type == "LineString" else max(merged, key=lambda g: g.length)
        return line.interpolate_normalized(0.5)
    return geom.point_on_surface


def _as_storage_geometry(geom: GEOSGeometry, kind: FeatureKind) -> GEOSGeometry:
    if geom.srid != settings.GEO_MZ_SRID:
        geom = geom.transform(settings.GEO_MZ_SRID, clone=True)
    if kind.geometry_type == "line" and geom.geom_type == "LineString":
        geom = MultiLineString(geom, srid=geom.srid)
    if not geom.valid:
        raise ValidationError({"geometry": f"几何无效 / invalid geometry: {geom.valid_reason}"})
    expected = {
        "point": ("Point",),
        "line": ("LineString", "MultiLineString"),
        "polygon": ("Polygon", "MultiPolygon"),
    }
    # A point is accepted for any kind: a location marker until the line or polygon is surveyed.
    if geom.geom_type not in expected[kind.geometry_type] and geom.geom_type != "Point":
        raise ValidationError(
            {
                "geometry": f"{kind.name}应为{kind.get_geometry_type_display()}要素，收到 {geom.geom_type} / wrong geometry type"
            }
        )
    return geom


def _last_number(model, field: str, prefix: str) -> int:
    """The highest number used under `prefix` before its counter existed (imported or older rows)."""
    last = model.objects.filter(**{f"{field}__startswith": prefix}).aggregate(m=Max(field))["m"]
    tail = last[len(prefix) :] if last else ""
    return int(tail) if tail.isdigit() else 0


def _next_feature_code(prefix: str = "F") -> str:
    number = next_serial(f"feature:{prefix}", start_after=lambda: _last_number(NamedFeature, "code", prefix))
    return f"{prefix}{number:06d}"


def feature_create(
    *,
    kind: FeatureKind,
    geom: GEOSGeometry | None,
    division_code: str | None = None,
    status: str = LifecycleStatus.PROPOSED,
    code: str | None = None,
    road_class: str = "",
    width_m: float | None = None,
    start_desc: str = "",
    end_desc: str = "",
    location_desc: str = "",
    synthetic: bool = False,
    user=None,
) -> NamedFeature:
    """Create a feature; its divisions come from the geometry (townships it crosses)."""
    crossing: list[Division] = []
    if geom is not None:
        geom = _as_storage_geometry(geom, kind)
        crossing = divisions_for_geometry(geom)
    if division_code:
        division = _division(division_code)
    elif crossing:
        division = _common_division([d.code for d in crossing])
    else:
        raise ValidationError({"division_code": "请指定所属区划 / the division is required"})
    _guard(user, [division.code])
    location_checks.geometry_location_check(user, geom)
    feature = NamedFeature(
        code=code or _next_feature_code(),
        kind=kind,
        status=status,
        geom=geom,
        point=_representative_point(geom) if geom is not None else None,
        division=division,
        road_class=road_class,
        width_m=width_m,
        start_desc=start_desc,
        end_desc=end_desc,
        location_desc=location_desc,
        synthetic=synthetic,
    )
    if geom is not None and kind.geometry_type == "line":
        feature.length_m = round(geom.length, 2)
    if user is not None:
        feature._history_user = user
    feature.save()
    if crossing:
        feature.divisions.set(crossing)
    elif division.level in (Level.TOWNSHIP, Level.VILLAGE):
        feature.divisions.set([division])
    return feature


def feature_name_history(feature: NamedFeature) -> list[PlaceName]:
    """All name records of a feature, oldest first (the lineage)."""
    return list(
        feature.names.select_related("decision", "retirement_decision", "case").order_by("valid_from", "id")
    )


def decision_get_or_create(
    number: str, decided_on: dt.date, approving_body: str, title: str = ""
) -> DecisionDocument:
    number, approving_body = (number or "").strip(), (approving_body or "").strip()
    errors = {}
    if not number:
        errors["decision_number"] = "缺少批准文号 / the decision number is required"
    if not approving_body:
        errors["approving_body"] = "缺少批准机关 / the approving body is required"
    if not decided_on:
        errors["decided_on"] = "缺少批准日期 / the decision date is required"
    if errors:
        raise ValidationError(errors)
    doc, created = DecisionDocument.objects.get_or_create(
        number=number, approving_body=approving_body, defaults={"decided_on": decided_on, "title": title}
    )
    if not created and doc.decided_on != decided_on:
        raise ValidationError(
            {
                "decided_on": f"批准文号 {number} 已登记，日期为 {doc.decided_on} / this decision is on file with another date"
            }
        )
    return doc


def name_register(
    feature: NamedFeature,
    *,
    name: str,
    specific: str = "",
    generic: str = "",
    reading: str = "",
    decision: DecisionDocument | None,
    valid_from: dt.date | None,
    valid_to: dt.date | None = None,
    meaning: str = "",
    history_text: str = "",
    previous: PlaceName | None = None,
    user=None,
) -> PlaceName:
    """Record a name that was approved outside the system (imports, demo history). Active unless
    `valid_to` is given, in which case it is recorded as retired."""
    parts = name_parts(name, kind=feature.kind, specific=specific, generic=generic, reading=reading)
    record = PlaceName(
        feature=feature,
        name=parts.name,
        specific=parts.specific,
        generic=parts.generic,
        romanization=parts.romanization,
        reading=parts.reading,
        status=LifecycleStatus.RETIRED if valid_to else LifecycleStatus.ACTIVE,
        valid_from=valid_from,
        valid_to=valid_to,
        previous=previous,
        decision=decision,
        meaning=meaning,
        history_text=history_text,
    )
    return placename_save(record, user)


# ---------------------------------------------------------------------------------------------------
# Naming cases
# ---------------------------------------------------------------------------------------------------


@dataclass
class ItemInput:
    """One proposed name in a case. For rename/cancel, `feature_code` names the existing feature."""

    name: str = ""
    kind: str = "road"
    specific: str = ""
    generic: str = ""
    reading: str = ""
    feature_code: str = ""
    geom: GEOSGeometry | None = None
    segment_codes: Sequence[str] = ()
    road_class: str = ""
    width_m: float | None = None
    start_desc: str = ""
    end_desc: str = ""
    meaning: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ItemInput:
        fields = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in fields})


def _next_case_number(today: dt.date) -> str:
    prefix = f"DM{today.year}-"
    number = next_serial(
        f"namingcase:{today.year}", start_after=lambda: _last_number(NamingCase, "number", prefix)
    )
    return f"{prefix}{number:04d}"


def _kind(code: str) -> FeatureKind:
    try:
        return FeatureKind.objects.get(code=code)
    except FeatureKind.DoesNotExist as exc:
        known = "、".join(FeatureKind.objects.values_list("code", flat=True))
        raise ValidationError({"kind": f"未知地名类别 {code}；可选：{known} / unknown kind"}) from exc


def _item_check(
    case: NamingCase, item: CaseItem, other_items: Sequence[CaseItem] = ()
) -> list[rules.Finding]:
    """Rule findings for one item, including conflicts with the other items of the same case."""
    replaces = item.feature.current_name if (item.feature and case.kind == CaseKind.RENAME) else None
    geom = item.geom or (item.feature.geom if item.feature else None)
    point = _representative_point(geom) if geom is not None else None
    exclude = [replaces.pk] if replaces else []
    proposal = proposal_build(
        name=item.name,
        division_code=case.division.code,
        kind=item.kind.code,
        specific=item.specific,
        generic=item.generic,
        point=point,
        road_class=item.road_class,
        width_m=item.width_m,
        length_m=geom.length if geom is not None and geom.dims == 1 else None,
        reading=item.reading,
        replaces=replaces,
        exclude_ids=exclude,
    )
    existing = placename_candidates(proposal)
    pack = rule_pack()
    for other in other_items:
        if other.pk != item.pk and other.name:
            ospec, ogen = (
                (other.specific, other.generic) if other.specific else rules.split_name(other.name, pack)
            )
            existing.append(
                rules.ExistingName(
                    id=f"item-{other.position}",
                    name=other.name,
                    specific=ospec,
                    generic=ogen,
                    division_code=case.division.code,
                    kind=other.kind.code,
                    status="proposed",
                )
            )
    return rules.check(proposal, existing, pack)


def _item_save(case: NamingCase, item: CaseItem, user=None) -> CaseItem:
    if case.kind != CaseKind.CANCEL:
        parts = name_parts(
            item.name, kind=item.kind, specific=item.specific, generic=item.generic, reading=item.reading
        )
        item.name, item.specific, item.generic = parts.name, parts.specific, parts.generic
        item.romanization, item.reading = parts.romanization, parts.reading
        findings = _item_check(case, item)
        bad = _input_errors(findings)
        if bad:
            raise ValidationError({"name": bad})
        item.findings = [f.as_dict() for f in findings]
    if user is not None:
        item._history_user = user
    item.save()
    return item


def _build_item(case: NamingCase, position: int, data: ItemInput) -> CaseItem:
    kind = _kind(data.kind)
    item = CaseItem(
        case=case,
        position=position,
        kind=kind,
        name=(data.name or "").strip(),
        specific=data.specific.strip(),
        generic=data.generic.strip(),
        reading=data.reading.strip(),
        road_class=data.road_class,
        width_m=data.width_m,
        start_desc=data.start_desc,
        end_desc=data.end_desc,
        meaning=data.meaning,
    )
    if data.feature_code:
        item.feature = NamedFeature.objects.filter(code=data.feature_code).select_related("division").first()
        if item.feature is None:
            raise ValidationError({"feature_code": f"地名实体 {data.feature_code} 不存在 / unknown feature"})
        prefix = jurisdiction_prefix(case.division.code)
        codes = [item.feature.division.code, *item.feature.divisions.values_list("code", flat=True)]
        if not any(code.startswith(prefix) for code in codes):
            raise ValidationError(
                {
                    "feature_code": f"{item.feature} 不在案件区划 {case.division} 内 / the feature is outside the case's division"
                }
            )
    if case.kind in (CaseKind.RENAME, CaseKind.CANCEL):
        if item.feature is None:
            raise ValidationError(
                {
                    "feature_code": "更名或销名须指定现有地名实体 / rename and cancellation need an existing feature"
                }
            )
        if item.feature.current_name is None:
            raise ValidationError(
                {"feature_code": f"{item.feature.code} 没有现行名称 / the feature has no name in force"}
            )
        if case.kind == CaseKind.CANCEL:
            item.name = item.feature.current_name.name
    if data.geom is not None:
        item.geom = _as_storage_geometry(data.geom, kind)
    if case.kind == CaseKind.NEW and item.geom is None and item.feature is None:
        raise ValidationError({"geometry": "新命名须提供位置（几何）/ a new name needs a location"})
    if case.kind == CaseKind.ALLEY_BATCH and not data.segment_codes:
        raise ValidationError({"segment_codes": "无名巷命名须指定路段 / the alley's segments are required"})
    return item


@transaction.atomic
def naming_case_create(
    *,
    kind: str,
    division_code: str,
    title: str,
    applicant: str,
    reason: str = "",
    items: Sequence[ItemInput | Mapping[str, Any]],
    user=None,
    today: dt.date | None = None,
) -> NamingCase:
    """Open a case in state 申报 with its items. All-or-nothing: any bad item refuses the whole case,
    naming the item (序号) and the field."""
    today = today or dt.date.today()
    if kind not in CaseKind.values:
        raise ValidationError({"kind": f"未知案件类型 {kind} / unknown case kind"})
    if not (title or "").strip():
        raise ValidationError({"title": "标题不能为空 / the title is required"})
    if not (applicant or "").strip():
        raise ValidationError({"applicant": "申报单位不能为空 / the applicant is required"})
    if not items:
        raise ValidationError({"items": "案件至少包含一个地名 / a case needs at least one name"})
    division = _division(division_code)
    _guard(user, [division.code])
    config = workflow_config()
    case = NamingCase(
        number=_next_case_number(today),
        kind=kind,
        title=title.strip(),
        division=division,
        applicant=applicant.strip(),
        reason=reason,
        created_by=user,
        assigned_to=user,
        state=CaseState.APPLICATION,
        state_entered_on=today,
        due_on=workflow.due_date(workflow.APPLICATION, today, config),
        notice_days=config.notice_days,
    )
    if user is not None:
        case._history_user = user
    case.save()
    built: list[CaseItem] = []
    for position, raw in enumerate(items, start=1):
        data = raw if isinstance(raw, ItemInput) else ItemInput.from_mapping(raw)
        try:
            item = _build_item(case, position, data)
            _item_save(case, item, user)
            if data.segment_codes:
                segments = list(RoadSegment.objects.filter(code__in=list(data.segment_codes)))
                missing = sorted(set(data.segment_codes) - {s.code for s in segments})
                if missing:
                    raise ValidationError(
                        {"segment_codes": f"路段不存在 / unknown segments: {', '.join(missing)}"}
                    )
                named = [s.code for s in segments if s.feature_id]
                if named:
                    raise ValidationError(
                        {"segment_codes": f"路段已有名称 / already named: {', '.join(named)}"}
                    )
                item.segments.set(segments)
                if item.geom is None:
                    item.geom = _union_lines([s.geom for s in segments])
                    item.save(update_fields=["geom"])
        except ValidationError as exc:
            raise ValidationError({f"items[{position}].{k}": v for k, v in exc.message_dict.items()}) from exc
        built.append(item)
    location_checks.case_location_check(user, case)
    _recheck_items(case, built)
    CaseEvent.objects.create(
        case=case, action="create", to_state=case.state, actor=user, comment=reason[:500]
    )
    return case


def _union_lines(lines: Sequence[GEOSGeometry]) -> MultiLineString:
    parts: list[LineString] = []
    for line in lines:
        parts.extend(line if line.geom_type == "MultiLineString" else [line])
    return MultiLineString(parts, srid=settings.GEO_MZ_SRID)


def _recheck_items(case: NamingCase, items: Sequence[CaseItem]) -> None:
    """Re-run the rules for every item against the database and the case's other items."""
    if case.kind == CaseKind.CANCEL:
        return
    for item in items:
        item.findings = [f.as_dict() for f in _item_check(case, item, items)]
        item.save(update_fields=["findings"])


def naming_case_item_update(
    case: NamingCase, position: int, data: Mapping[str, Any], *, user=None
) -> CaseItem:
    """Change a proposed name while the case is in 申报 or 审核 (a new proposal, not an edit of a
    name in force)."""
    with transaction.atomic():
        case = NamingCase.objects.select_for_update().get(pk=case.pk)
        _guard(user, [case.division.code])
        location_checks.case_location_check(user, case)
        if case.state not in (CaseState.APPLICATION, CaseState.REVIEW):
            raise ConflictError(
                f"案件已进入“{case.get_state_display()}”，不能再修改拟用名称 / names are frozen after review",
                code="frozen",
            )
        item = case.items.get(position=position)
        for key in (
            "name",
            "specific",
            "generic",
            "reading",
            "road_class",
            "start_desc",
            "end_desc",
            "meaning",
        ):
            if key in data:
                setattr(item, key, (data[key] or "").strip() if isinstance(data[key], str) else data[key])
        if "width_m" in data:
            item.width_m = data["width_m"]
        if "name" in data and "specific" not in data:
            item.specific = item.generic = ""
        try:
            _item_save(case, item, user)
        except ValidationError as exc:
            raise ValidationError({f"items[{position}].{k}": v for k, v in exc.message_dict.items()}) from exc
        _recheck_items(case, list(case.items.select_related("kind", "feature")))
        case.version += 1
        case.save(update_fields=["version", "updated_at"])
        item.refresh_from_db()
        return item


def _case_errors(case: NamingCase) -> list[str]:
    messages = []
    for item in case.items.all():
        for f in item.findings:
            if f.get("severity") == "error":
                messages.append(f"第{item.position}项“{item.name}”：{f.get('message')}")
    return messages


def naming_case_transition(
    case_id: int,
    action: str,
    *,
    user=None,
    expected_version: int | None = None,
    comment: str = "",
    today: dt.date | None = None,
    payload: Mapping[str, Any] | None = None,
) -> NamingCase:
    """Move a case one step. The row is locked (SELECT … FOR UPDATE): of two officers acting at
    once, the second sees the new state and gets a clear refusal. `expected_version` (the version the
    user's form showed) turns a stale form into a ConflictError instead of a silent overwrite.

    payload keys: start_notice → notice_start, notice_days; approve → decision_number, decided_on,
    approving_body, decision_title; file → filed_on, filed_with; announce → announced_on,
    announcement_number; reject/withdraw → comment (required).
    """
    payload = dict(payload or {})
    today = today or dt.date.today()
    config = workflow_config()
    with transaction.atomic():
        try:
            case = NamingCase.objects.select_for_update().select_related("division").get(pk=case_id)
        except NamingCase.DoesNotExist as exc:
            raise ValidationError({"case": f"案件 {case_id} 不存在 / unknown case"}) from exc
        _guard(user, [case.division.code])
        # where the items lie, not only the declared division: on every step, approval included
        location_checks.case_location_check(user, case)
        if expected_version is not None and int(expected_version) != case.version:
            raise ConflictError(
                f"案件 {case.number} 已被他人更新（当前状态：{case.get_state_display()}），请刷新后重试 / "
                "the case changed since you loaded it",
                code="stale",
            )
        try:
            target = workflow.next_state(case.state, action)
        except workflow.WorkflowError as exc:
            raise ConflictError(exc.message, code=exc.code) from exc
        source = case.state
        handler = _TRANSITION_EFFECTS.get(action)
        if handler is not None:
            handler(case, user=user, today=today, payload=payload, comment=comment, config=config)
        case.state = target
        case.state_entered_on = today
        case.due_on = workflow.due_date(target, today, config, approved_on=case.approved_on)
        case.version += 1
        if user is not None:
            case._history_user = user
        case.save()
        CaseEvent.objects.create(
            case=case, action=action, from_state=source, to_state=target, actor=user, comment=comment
        )
        return case


def _effect_accept(case: NamingCase, **_: Any) -> None:
    _recheck_items(case, list(case.items.select_related("kind", "feature")))


def _effect_start_notice(case: NamingCase, *, today: dt.date, payload: dict, config, **_: Any) -> None:
    _recheck_items(case, list(case.items.select_related("kind", "feature")))
    errors = _case_errors(case)
    if errors:
        raise ValidationError(
            {"findings": ["存在未解决的规则错误，不能公示 / rule errors must be resolved first", *errors]}
        )
    days = int(payload.get("notice_days") or config.notice_days)
    start = _date(payload.get("notice_start"), "notice_start") or today
    try:
        case.notice_start, case.notice_end = workflow.notice_window(start, days)
    except workflow.WorkflowError as exc:
        raise ValidationError({"notice_days": exc.message}) from exc
    case.notice_days = days


def _effect_submit(case: NamingCase, *, today: dt.date, payload: dict, **_: Any) -> None:
    if case.notice_end and today <= case.notice_end and not payload.get("force"):
        raise ValidationError(
            {
                "notice_end": f"公示期至 {case.notice_end} 结束，期满后方可报批 / the notice period has not ended"
            }
        )
    unanswered = case.comments.filter(response="").count()
    if unanswered:
        raise ValidationError(
            {"comments": f"有 {unanswered} 条公示意见尚未处理 / answer every notice comment first"}
        )


def _date(value: Any, field_name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValidationError({field_name: f"日期格式应为 YYYY-MM-DD：{value} / bad date"}) from exc


def _effect_approve(case: NamingCase, *, user, today: dt.date, payload: dict, **_: Any) -> None:
    decided_on = _date(payload.get("decided_on"), "decided_on")
    if decided_on and decided_on > today:
        raise ValidationError({"decided_on": "批准日期不能晚于今天 / the decision date is in the future"})
    missing = [k for k in ("decision_number", "approving_body") if not payload.get(k)]
    if missing or decided_on is None:
        raise ValidationError(
            {
                k: "报批结果须登记批准文号、批准日期和批准机关 / decision number, date and body are required"
                for k in [*missing, *([] if decided_on else ["decided_on"])]
            }
        )
    # Another case may have taken a name meanwhile: check again before anything is written, holding
    # the county's names lock so that no other approval can write between this check and our write.
    names_lock(case.division.code)
    items = list(case.items.select_related("kind", "feature").prefetch_related("segments"))
    _recheck_items(case, items)
    errors = _case_errors(case)
    if errors:
        raise ValidationError({"findings": ["批准前复核发现规则错误 / the rules fail now", *errors]})
    decision = decision_get_or_create(
        payload["decision_number"],
        decided_on,
        payload["approving_body"],
        payload.get("decision_title", case.title),
    )
    case.decision, case.approved_on = decision, decided_on
    config = workflow_config()
    case.filing_due_on = decided_on + dt.timedelta(days=config.filing_days)
    case.announcement_due_on = decided_on + dt.timedelta(days=config.announcement_days)
    for item in items:
        _approve_item(case, item, decision, user)


def _approve_item(case: NamingCase, item: CaseItem, decision: DecisionDocument, user) -> None:
    if case.kind == CaseKind.CANCEL:
        return
    previous = None
    feature = item.feature
    if case.kind == CaseKind.RENAME:
        previous = feature.current_name
    elif feature is None:
        feature = feature_create(
            kind=item.kind,
            geom=item.geom,
            status=LifecycleStatus.APPROVED,
            road_class=item.road_class,
            width_m=item.width_m,
            start_desc=item.start_desc,
            end_desc=item.end_desc,
            user=user,  # the approving officer: the new feature is checked against their jurisdiction
        )
        if case.kind == CaseKind.ALLEY_BATCH:
            item.segments.update(feature=feature)
        item.feature = feature
    record = PlaceName(
        feature=feature,
        name=item.name,
        specific=item.specific,
        generic=item.generic,
        romanization=item.romanization,
        reading=item.reading,
        status=LifecycleStatus.APPROVED,
        valid_from=decision.decided_on,
        previous=previous,
        decision=decision,
        meaning=item.meaning,
        case=case,
    )
    placename_save(record, user)
    item.result_name = record
    item.save(update_fields=["feature", "result_name"])


def _effect_file(case: NamingCase, *, today: dt.date, payload: dict, **_: Any) -> None:
    filed_on = _date(payload.get("filed_on"), "filed_on") or today
    if case.approved_on and filed_on < case.approved_on:
        raise ValidationError({"filed_on": "备案日期早于批准日期 / filing date before approval"})
    filed_with = (payload.get("filed_with") or "").strip()
    if not filed_with:
        raise ValidationError({"filed_with": "请填写备案机关 / the authority filed with is required"})
    case.filed_on, case.filed_with = filed_on, filed_with


def _effect_announce(case: NamingCase, *, user, today: dt.date, payload: dict, **_: Any) -> None:
    announced_on = _date(payload.get("announced_on"), "announced_on") or today
    if case.approved_on and announced_on < case.approved_on:
        raise ValidationError({"announced_on": "公告日期早于批准日期 / announcement before approval"})
    number = (payload.get("announcement_number") or "").strip()
    if not number:
        raise ValidationError({"announcement_number": "请填写公告编号 / the announcement number is required"})
    case.announced_on, case.announcement_number = announced_on, number
    for item in case.items.select_related("feature", "result_name"):
        feature = item.feature
        current = feature.current_name
        if case.kind == CaseKind.CANCEL:
            if current is not None:
                _retire(current, case.approved_on or announced_on, case.decision, user)
            feature.status = LifecycleStatus.RETIRED
        else:
            if current is not None and current.pk != item.result_name_id:
                _retire(current, item.result_name.valid_from, case.decision, user)
            item.result_name.status = LifecycleStatus.ACTIVE
            placename_save(item.result_name, user)
            feature.status = LifecycleStatus.ACTIVE
        if user is not None:
            feature._history_user = user
        feature.save(update_fields=["status", "updated_at"])
    # Signs keep their printed text: the sign report lists the ones a rename made outdated.


def _retire(record: PlaceName, on: dt.date, decision: DecisionDocument | None, user) -> None:
    record.status = LifecycleStatus.RETIRED
    record.valid_to = on
    record.retirement_decision = decision
    if user is not None:
        record._history_user = user
    record.save(update_fields=["status", "valid_to", "retirement_decision", "updated_at"])


def _effect_close(case: NamingCase, *, comment: str, **_: Any) -> None:
    if not comment.strip():
        raise ValidationError({"comment": "请说明理由 / a reason is required"})


_TRANSITION_EFFECTS = {
    "accept": _effect_accept,
    "start_notice": _effect_start_notice,
    "submit": _effect_submit,
    "approve": _effect_approve,
    "file": _effect_file,
    "announce": _effect_announce,
    "reject": _effect_close,
    "withdraw": _effect_close,
}


def naming_case_comment_add(
    case: NamingCase,
    *,
    content: str,
    received_on: dt.date,
    commenter: str = "",
    response: str = "",
    user=None,
) -> NoticeComment:
    _guard(user, [case.division.code])
    location_checks.case_location_check(user, case)
    if case.state != CaseState.NOTICE:
        raise ConflictError(
            "只有公示期间可以登记公示意见 / comments are recorded during the notice", code="not_in_notice"
        )
    if not (content or "").strip():
        raise ValidationError({"content": "意见内容不能为空 / the comment is empty"})
    return NoticeComment.objects.create(
        case=case, content=content.strip(), received_on=received_on, commenter=commenter, response=response
    )


def naming_case_comment_answer(comment: NoticeComment, *, response: str, user=None) -> NoticeComment:
    _guard(user, [comment.case.division.code])
    location_checks.case_location_check(user, comment.case)
    if not (response or "").strip():
        raise ValidationError({"response": "处理意见不能为空 / the response is empty"})
    comment.response = response.strip()
    comment.save(update_fields=["response", "updated_at"])
    return comment


def naming_case_attachment_add(case: NamingCase, *, kind: str, title: str, file, user=None) -> CaseAttachment:
    _guard(user, [case.division.code])
    location_checks.case_location_check(user, case)
    if kind not in AttachmentKind.values:
        raise ValidationError({"kind": f"未知材料类型 {kind} / unknown attachment kind"})
    if case.state in workflow.FINAL_STATES:
        raise ConflictError("案件已办结，不能再添加材料 / the case is closed", code="closed")
    # permission first, then size, then content (PDF, image or Office; never HTML/SVG), stored
    # under a generated name: the user's file name survives only as the default title
    stored = stored_document(read_upload(file, field="file"), field="file", name=file.name)
    return CaseAttachment.objects.create(
        case=case, kind=kind, title=(title or file.name or "")[:200], file=stored, uploaded_by=user
    )


# ---------------------------------------------------------------------------------------------------
# Unnamed alleys
# ---------------------------------------------------------------------------------------------------


def alley_batch_case_open(
    *,
    division_code: str,
    min_length_m: float = 50.0,
    applicant: str = "",
    user=None,
    today: dt.date | None = None,
) -> NamingCase:
    """Open a batch-naming case for every unnamed alley segment (longer than `min_length_m`) in the
    division, in suggested work order (township, then north→south, west→east), with placeholder
    names left for the officer to fill in."""
    from geo_mz.placenames import selectors

    segments = selectors.unnamed_segments(division_code, min_length_m=min_length_m, road_class="巷道")
    if not segments:
        raise ValidationError({"division_code": "该区划内没有符合条件的无名巷 / no unnamed alleys found"})
    division = _division(division_code)
    _guard(user, [division.code])
    today = today or dt.date.today()
    with transaction.atomic():
        config = workflow_config()
        case = NamingCase.objects.create(
            number=_next_case_number(today),
            kind=CaseKind.ALLEY_BATCH,
            title=f"{division.name}无名巷批量命名（{len(segments)}条）",
            division=division,
            applicant=applicant or f"{division.name}地名办",
            reason=f"普查发现长度≥{min_length_m:g}米的无名巷 {len(segments)} 条",
            created_by=user,
            assigned_to=user,
            state_entered_on=today,
            due_on=workflow.due_date(workflow.APPLICATION, today, config),
            notice_days=config.notice_days,
        )
        alley = _kind("alley")
        for position, segment in enumerate(segments, start=1):
            item = CaseItem.objects.create(
                case=case,
                position=position,
                kind=alley,
                geom=MultiLineString(segment.geom, srid=segment.geom.srid),
                road_class=segment.road_class,
                width_m=segment.width_m,
            )
            item.segments.set([segment])
        location_checks.case_location_check(user, case)
        CaseEvent.objects.create(
            case=case, action="create", to_state=case.state, actor=user, comment=case.reason
        )
    return case


# ---------------------------------------------------------------------------------------------------
# Heritage
# ---------------------------------------------------------------------------------------------------


def heritage_register(
    feature: NamedFeature,
    *,
    level: str,
    listed_on: dt.date | None = None,
    meaning: str = "",
    history_text: str = "",
    protection_measures: str = "",
    measures_on_file: bool = False,
    user=None,
) -> HeritageEntry:
    _guard(user, [feature.division.code])
    location_checks.feature_location_check(user, [feature])
    entry = HeritageEntry(
        feature=feature,
        level=level,
        listed_on=listed_on,
        meaning=meaning,
        history_text=history_text,
        protection_measures=protection_measures,
        measures_on_file=measures_on_file,
    )
    entry.full_clean()
    entry.save()
    return entry


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc)
    if "placename_one_active_per_feature" in text:
        return "该地名实体已有现行名称 / the feature already has a name in force"
    return text.splitlines()[0]
