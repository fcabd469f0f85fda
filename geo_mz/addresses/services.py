"""House-number services: capture entrances, number roads / compounds / villages with the pure engine
(addresses/numbering.py), move cases through 申请 → 编制 → 审核 → 发证, and issue, reissue and cancel
certificates. Every write runs in a transaction; numbering on one road (compound, village) is
serialised by a row lock on that road, and the partial unique indexes are the backstop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import GEOSGeometry, Point
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q

from geo_mz.addresses import location_checks, numbering, workflow
from geo_mz.addresses.models import (
    Address,
    AddressCase,
    AddressCaseEvent,
    AddressCaseKind,
    AddressKind,
    Building,
    Certificate,
    CertificateStatus,
    NumberingProfile,
    VillageCampaign,
)
from geo_mz.core import crs
from geo_mz.core.errors import ConflictError
from geo_mz.core.limits import MAX_TEXT_CHARS
from geo_mz.core.models import DecisionDocument, LifecycleStatus
from geo_mz.core.permissions import require_edit
from geo_mz.core.sequences import next_serial
from geo_mz.divisions.jurisdiction import require_edit_at
from geo_mz.divisions.models import Division, Level
from geo_mz.placenames.models import NamedFeature, RoadSegment

APP = "addresses"
CN_SUFFIX_PREFIXES = "甲乙丙丁戊己庚辛壬癸"


def _guard(user, codes: Iterable[str]) -> None:
    if user is not None:
        require_edit(user, APP, codes)


def _today(today: dt.date | None) -> dt.date:
    return today or dt.date.today()


# ---------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------


def numbering_rules(feature: NamedFeature | None = None) -> numbering.NumberingRules:
    """The deployment's rules (settings.GEO_MZ_NUMBERING) with the road's overrides, if any."""
    try:
        rules = numbering.NumberingRules.from_dict(settings.GEO_MZ_NUMBERING)
    except ValueError as exc:
        raise ValidationError({"GEO_MZ_NUMBERING": str(exc)}) from exc
    if feature is not None:
        profile = NumberingProfile.objects.filter(feature=feature).first()
        if profile and profile.rules:
            try:
                rules = rules.merged(profile.rules)
            except ValueError as exc:
                raise ValidationError({"rules": f"{feature} 的编号规则有误：{exc}"}) from exc
    return rules


def workflow_config() -> workflow.AddressWorkflowConfig:
    return workflow.AddressWorkflowConfig.from_mapping(settings.GEO_MZ_ADDRESS_WORKFLOW)


def numbering_profile_set(
    feature: NamedFeature, *, rules: dict, origin: Point | None = None, note: str = "", user=None
) -> NumberingProfile:
    """Override the numbering rules for one road (validated before saving)."""
    _guard(user, [feature.division.code])
    location_checks.feature_location_check(user, feature)
    try:
        numbering.NumberingRules.from_dict(settings.GEO_MZ_NUMBERING).merged(rules)
    except ValueError as exc:
        raise ValidationError({"rules": str(exc)}) from exc
    profile, _ = NumberingProfile.objects.update_or_create(
        feature=feature, defaults={"rules": rules, "origin": origin, "note": note}
    )
    return profile


# ---------------------------------------------------------------------------------------------------
# Codes, serials, labels
# ---------------------------------------------------------------------------------------------------


def _township(division: Division) -> Division:
    return division.parent if division.level == Level.VILLAGE and division.parent else division


def _new_codes(division: Division, count: int) -> list[str]:
    township = _township(division)
    first = next_serial(f"address:{township.code}", count)
    return [f"{township.code}{n:07d}" for n in range(first, first + count)]


def number_text(number: int | None, suffix: str) -> str:
    """The written number: 15号, 15号之一, 15-1号, 甲15号, 15A号."""
    if number is None:
        return ""
    if not suffix:
        return f"{number}号"
    if suffix.startswith("之"):
        return f"{number}号{suffix}"
    if suffix[0] in CN_SUFFIX_PREFIXES:
        return f"{suffix}{number}号"
    return f"{number}{suffix}号"


def _feature_name(
    feature: NamedFeature | None, cache: dict | None = None, feature_id: int | None = None
) -> str:
    """The feature's current name; `cache` (feature id → name) avoids a query per address."""
    fid = feature_id if feature_id is not None else (feature.pk if feature is not None else None)
    if fid is None:
        return ""
    if cache is not None and fid in cache:
        return cache[fid]
    feature = feature if feature is not None else NamedFeature.objects.get(pk=fid)
    current = feature.current_name
    name = current.name if current else f"（无名{feature.code}）"
    if cache is not None:
        cache[fid] = name
    return name


def address_label(address: Address, *, names: dict[int, str] | None = None) -> str:
    if address.kind == AddressKind.ROAD:
        return _feature_name(None, names, address.feature_id) + number_text(address.number, address.suffix)
    if address.kind == AddressKind.COMPOUND:
        text = _feature_name(None, names, address.feature_id)
        if address.building_no is not None:
            text += f"{address.building_no}幢"
        if address.unit_no is not None:
            text += f"{address.unit_no}单元"
        if address.room:
            text += f"{address.room}室"
        return text
    return f"{address.division.name}{address.group}{number_text(address.number, address.suffix)}"


def _division_prefix(division: Division) -> str:
    """County + township names above a township-level division, e.g. 赤壁市赤马港街道."""
    chain = []
    node = division
    while node is not None and node.level in (Level.TOWNSHIP, Level.COUNTY):
        chain.append(node.name)
        node = node.parent
    return "".join(reversed(chain))


def address_full_text(address: Address, label: str, prefixes: dict[int, str] | None = None) -> str:
    """County + township (+ village for rural) + label, e.g. 赤壁市赤马港街道人民路15号."""
    township = address.division.parent if address.kind == AddressKind.RURAL else address.division
    if township is None:
        return label
    if prefixes is None:
        return _division_prefix(township) + label
    if township.pk not in prefixes:
        prefixes[township.pk] = _division_prefix(township)
    return prefixes[township.pk] + label


def _refresh_text(address: Address, names: dict | None = None) -> None:
    """Recompute label and full text. `names` is an optional per-batch cache (feature names and
    division prefixes), so bulk numbering does not query the name and the division chain per row."""
    address.label = address_label(address, names=names)
    prefixes = names.setdefault("prefixes", {}) if names is not None else None
    address.full_text = address_full_text(address, address.label, prefixes)


def _save(obj, user=None, **kwargs) -> None:
    if user is not None:
        obj._history_user = user
    obj.save(**kwargs)


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc)
    for name, message in (
        (
            "address_unique_active_road_number",
            "该道路上此门牌号已在使用 / the number is already active on this road",
        ),
        (
            "address_unique_active_compound_room",
            "该小区此楼栋/单元/室已在使用 / already active in this compound",
        ),
        (
            "address_unique_active_rural_number",
            "该村此组门牌号已在使用 / already active in this village group",
        ),
        (
            "certificate_one_valid_per_address",
            "该门牌已有有效门牌证 / the address already has a valid certificate",
        ),
    ):
        if name in text:
            return message
    return text.splitlines()[0]


# ---------------------------------------------------------------------------------------------------
# Entrances (addresses waiting for a number)
# ---------------------------------------------------------------------------------------------------


def _storage_point(point: Point) -> Point:
    if point.srid != settings.GEO_MZ_SRID:
        point = point.transform(settings.GEO_MZ_SRID, clone=True)
    return point


def township_at(point: Point) -> Division:
    division = Division.objects.filter(level=Level.TOWNSHIP, geom__intersects=point).order_by("code").first()
    if division is None:
        raise ValidationError(
            {"point": "该位置不在任何乡镇（街道）范围内 / the point lies outside every township"}
        )
    return division


def nearest_road(point: Point, max_distance_m: float | None = None) -> tuple[NamedFeature, float]:
    """The named road nearest to `point` (through its segments, GiST-indexed) and the distance."""
    max_distance_m = max_distance_m or numbering_rules().max_offset_m
    named = RoadSegment.objects.filter(feature__isnull=False, feature__status=LifecycleStatus.ACTIVE)
    segment = (
        named.filter(geom__dwithin=(point, max_distance_m))
        .annotate(d=Distance("geom", point))
        .order_by("d")
        .select_related("feature")
        .first()
    )
    if segment is None:
        nearest = named.annotate(d=Distance("geom", point)).order_by("d").select_related("feature").first()
        where = f"（最近的是{_feature_name(nearest.feature)}，{nearest.d.m:.1f} 米）" if nearest else ""
        raise ValidationError(
            {
                "point": f"门口 {max_distance_m:.0f} 米内没有已命名道路{where}，请先命名道路或指定小区/村 / "
                "no named road within reach"
            }
        )
    return segment.feature, float(segment.d.m)


@transaction.atomic
def entrance_add(
    *,
    kind: str,
    point: Point,
    feature: NamedFeature | None = None,
    village: Division | None = None,
    group: str = "",
    building: Building | None = None,
    use: str = "",
    synthetic: bool = False,
    user=None,
) -> Address:
    """Capture an entrance (门口) that needs a number: an address in state `proposed`."""
    point = _storage_point(point)
    if kind == AddressKind.ROAD:
        if feature is None:
            feature, _ = nearest_road(point)
        elif not feature.kind.is_road:
            raise ValidationError({"feature": f"{feature} 不是道路街巷 / not a road"})
        division = township_at(point)
    elif kind == AddressKind.COMPOUND:
        if feature is None or feature.kind.code != "compound":
            raise ValidationError({"feature": "小区门牌须指定小区 / a compound address needs its compound"})
        division = township_at(point)
    elif kind == AddressKind.RURAL:
        if village is None or village.level != Level.VILLAGE:
            raise ValidationError({"village": "农村门牌须指定村（社区）/ a rural address needs its village"})
        if not group.strip():
            raise ValidationError({"group": "须填写组或自然村 / the group or natural village is required"})
        division = village
    else:
        raise ValidationError({"kind": f"未知门牌类型 {kind}"})
    # a rural entrance names its village: the point itself must lie in the user's jurisdiction too
    require_edit_at(user, APP, point, [division.code])
    address = Address(
        code=_new_codes(division, 1)[0],
        kind=kind,
        status=LifecycleStatus.PROPOSED,
        point=point,
        feature=feature,
        division=division,
        group=group.strip(),
        building=building,
        use=use,
        synthetic=synthetic,
    )
    _refresh_text(address)
    _save(address, user)
    return address


# ---------------------------------------------------------------------------------------------------
# Road numbering
# ---------------------------------------------------------------------------------------------------


def road_geometry(feature: NamedFeature):
    """The road centre-line as a shapely geometry in the storage CRS (segments if no feature geometry)."""
    geom = feature.geom
    if geom is None:
        lines = [s.geom for s in feature.segments.all()]
        if not lines:
            raise ValidationError({"feature": f"{feature} 没有中心线 / the road has no centre-line"})
        return shapely.union_all([shapely.from_wkb(bytes(g.wkb)) for g in lines])
    return shapely.from_wkb(bytes(geom.wkb))


def _entrance(address: Address) -> numbering.Entrance:
    return numbering.Entrance(
        key=str(address.pk),
        x=address.point.x,
        y=address.point.y,
        number=address.number if address.status == LifecycleStatus.ACTIVE else None,
        suffix=address.suffix if address.status == LifecycleStatus.ACTIVE else "",
    )


def _road_addresses(
    feature: NamedFeature, pending_ids: Iterable[int] | None = None, *, case_entrances: bool = False
) -> list[Address]:
    """Active numbers on the road plus its pending entrances (all, or those in `pending_ids`).

    An entrance in an open house-number case belongs to that case's workflow (its number is compiled
    and reviewed there): road numbering does not see it, so a road commit can never overwrite a
    reviewed number. Only the case's own issuing step passes `case_entrances=True`."""
    qs = Address.objects.filter(feature=feature, kind=AddressKind.ROAD)
    pending = Q(status=LifecycleStatus.PROPOSED)
    if pending_ids is not None:
        pending &= Q(pk__in=list(pending_ids))
    if not case_entrances:
        pending &= ~Q(pk__in=AddressCase.objects.filter(state__in=workflow.OPEN_STATES).values("address_id"))
    return list(qs.filter(Q(status=LifecycleStatus.ACTIVE) | pending).select_related("division"))


@dataclass
class RoadPreview:
    feature: NamedFeature
    rules: numbering.NumberingRules
    result: numbering.NumberingResult | None
    addresses: dict[str, Address]
    error: str = ""
    error_code: str = ""

    def proposals(self) -> list[tuple[Address, numbering.Assignment]]:
        if self.result is None:
            return []
        return [(self.addresses[a.key], a) for a in self.result.assignments]


def _run_engine(
    feature: NamedFeature,
    addresses: Sequence[Address],
    *,
    adjustments: dict[int, tuple[int, str]] | None = None,
    renumber: bool = False,
) -> tuple[numbering.NumberingRules, numbering.NumberingResult]:
    rules = numbering_rules(feature)
    profile = NumberingProfile.objects.filter(feature=feature).first()
    origin = (profile.origin.x, profile.origin.y) if profile and profile.origin else None
    entrances = []
    for address in addresses:
        entrance = _entrance(address)
        if adjustments and address.pk in adjustments:
            number, suffix = adjustments[address.pk]
            entrance = numbering.Entrance(
                key=entrance.key, x=entrance.x, y=entrance.y, number=number, suffix=suffix, locked=True
            )
        entrances.append(entrance)
    try:
        result = numbering.number_road(
            road_geometry(feature), entrances, rules, entrance=origin, renumber=renumber
        )
    except numbering.RoadGeometryError as exc:
        raise ValidationError({"feature": f"{_feature_name(feature)}：{exc}"}) from exc
    return rules, result


def road_numbering_preview(feature: NamedFeature, *, renumber: bool = False) -> RoadPreview:
    """What the engine proposes for the road's pending entrances (or a full renumbering), with the
    quality findings; a road-geometry problem is reported, not raised."""
    addresses = _road_addresses(feature)
    by_key = {str(a.pk): a for a in addresses}
    try:
        rules, result = _run_engine(feature, addresses, renumber=renumber)
    except ValidationError as exc:
        return RoadPreview(
            feature, numbering_rules(feature), None, by_key, error=exc.messages[0], error_code="road"
        )
    return RoadPreview(feature, rules, result, by_key)


def renumber_impact(feature: NamedFeature) -> list[dict[str, Any]]:
    """Which active addresses and valid certificates a full renumbering of the road would change."""
    addresses = [a for a in _road_addresses(feature, pending_ids=()) if a.status == LifecycleStatus.ACTIVE]
    by_key = {str(a.pk): a for a in addresses}
    rules = numbering_rules(feature)
    try:
        changes = numbering.renumber_impact(road_geometry(feature), [_entrance(a) for a in addresses], rules)
    except numbering.RoadGeometryError as exc:
        raise ValidationError({"feature": str(exc)}) from exc
    certified = set(
        Certificate.objects.filter(
            address__in=[by_key[k] for k, _, _ in changes], status=CertificateStatus.VALID
        ).values_list("address_id", "serial")
    )
    serials = dict(certified)
    return [
        {
            "address_id": by_key[key].pk,
            "code": by_key[key].code,
            "old": old,
            "new": new,
            "certificate": serials.get(by_key[key].pk, ""),
        }
        for key, old, new in changes
    ]


def parse_number(text: str) -> tuple[int, str]:
    """ "15" / "15之一" / "15-1" / "甲15" / "15A" (with or without 号) → (15, suffix)."""
    raw = (text or "").strip().replace("号", "")
    if not raw:
        raise ValueError("门牌号为空 / the number is empty")
    if raw[0] in CN_SUFFIX_PREFIXES:
        head, rest = raw[0], raw[1:]
        if not rest.isdigit():
            raise ValueError(f"门牌号“{text}”无法识别 / cannot read the number")
        numbering.parse_suffix(head)
        return int(rest), head
    digits = ""
    for ch in raw:
        if ch.isdigit():
            digits += ch
        else:
            break
    if not digits:
        raise ValueError(f"门牌号“{text}”须以数字开头 / the number must start with digits")
    suffix = raw[len(digits) :]
    if suffix:
        numbering.parse_suffix(suffix)
    number = int(digits)
    if number < 1:
        raise ValueError("门牌号须大于 0 / the number must be positive")
    return number, suffix


ACTIVATED_FIELDS = [
    "status",
    "valid_from",
    "decision",
    "number",
    "suffix",
    "chainage_m",
    "side",
    "label",
    "full_text",
    "updated_at",
]


def _activate_many(addresses: Sequence[Address], *, today: dt.date, decision, user, names: dict) -> None:
    """Activate many addresses in one bulk UPDATE (with their history rows); the unique indexes
    still check every row, so a duplicate raises IntegrityError and nothing is written."""
    from django.utils import timezone
    from simple_history.utils import bulk_update_with_history

    now = timezone.now()
    for address in addresses:
        address.status = LifecycleStatus.ACTIVE
        address.valid_from = today
        address.decision = decision
        address.updated_at = now
        _refresh_text(address, names)
    history_user = user if getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        bulk_update_with_history(
            addresses, Address, ACTIVATED_FIELDS, batch_size=1000, default_user=history_user
        )


def _activate(
    address: Address, *, today: dt.date, decision: DecisionDocument | None, user, names=None
) -> None:
    address.status = LifecycleStatus.ACTIVE
    address.valid_from = today
    address.decision = decision
    _refresh_text(address, names)
    _save(address, user)


@transaction.atomic
def road_numbering_commit(
    feature_id: int,
    *,
    only: Iterable[int] | None = None,
    adjustments: dict[int, str] | None = None,
    today: dt.date | None = None,
    decision: DecisionDocument | None = None,
    user=None,
) -> list[Address]:
    """Number the road's pending entrances (all, or those in `only`) and make them active.

    `adjustments` maps address id → the officer's number text ("15之一"); they are checked like the
    engine's own proposals. The road row is locked, so a concurrent commit on the same road waits and
    then sees these numbers; any duplicate left is refused by the unique index (ConflictError).
    """
    today = _today(today)
    feature = NamedFeature.objects.select_for_update().select_related("division").get(pk=feature_id)
    _guard(user, [feature.division.code])
    parsed: dict[int, tuple[int, str]] = {}
    for address_id, text in (adjustments or {}).items():
        try:
            parsed[int(address_id)] = parse_number(text)
        except ValueError as exc:
            raise ValidationError({f"adjustments[{address_id}]": str(exc)}) from exc
    pending_ids = None if only is None else {int(i) for i in only} | set(parsed)
    addresses = _road_addresses(feature, pending_ids)
    pending = [a for a in addresses if a.status == LifecycleStatus.PROPOSED]
    if not pending:
        raise ValidationError(
            {"only": "该道路没有待编号的门口 / no entrance waiting for a number on this road"}
        )
    location_checks.feature_location_check(user, feature)
    location_checks.addresses_location_check(user, pending)
    stale = (set(parsed) | (pending_ids or set())) - {a.pk for a in pending}
    if stale:
        raise ConflictError(
            f"门口 {sorted(stale)} 已不在待编号状态（可能已被他人编号，或属于办理中的门牌案件），请刷新 / "
            "no longer pending, or in an open house-number case",
            "stale",
        )
    _, result = _run_engine(feature, addresses, adjustments=parsed)
    return _apply_road_result(feature, result, pending, today=today, decision=decision, user=user)


def _apply_road_result(
    feature: NamedFeature,
    result: numbering.NumberingResult,
    pending: Sequence[Address],
    *,
    today: dt.date,
    decision: DecisionDocument | None,
    user,
) -> list[Address]:
    by_key = result.by_key()
    pending_keys = {str(a.pk) for a in pending}
    errors = [
        f.message
        for f in result.findings
        if f.severity == "error" and (set(f.keys) & pending_keys or not f.keys)
    ]
    rejected = [by_key[k] for k in pending_keys if by_key[k].status == "rejected"]
    errors += [f"{r.key}: {r.reason}" for r in rejected if r.reason not in errors]
    if errors:
        raise ValidationError({"numbering": errors})
    names: dict = {}
    for address in pending:
        assignment = by_key[str(address.pk)]
        address.number = assignment.number
        address.suffix = assignment.suffix
        address.chainage_m = round(assignment.chainage_m, 2)
        address.side = assignment.side
    done = list(pending)
    try:
        _activate_many(done, today=today, decision=decision, user=user, names=names)
    except IntegrityError as exc:
        raise ConflictError(
            f"{_feature_name(feature)}：{integrity_message(exc)}，请刷新预览后重试 / refresh and retry",
            "duplicate",
        ) from exc
    return done


# ---------------------------------------------------------------------------------------------------
# Compounds: buildings in S-order, units and rooms
# ---------------------------------------------------------------------------------------------------


@transaction.atomic
def compound_number(
    compound_id: int, *, with_rooms: bool = True, today: dt.date | None = None, user=None, synthetic=False
) -> list[Address]:
    """Number the compound's buildings (S-order from the north-east, existing numbers kept) and create
    the building addresses and, with `with_rooms`, one address per room (幢/单元/室)."""
    today = _today(today)
    compound = NamedFeature.objects.select_for_update().select_related("division", "kind").get(pk=compound_id)
    if compound.kind.code != "compound":
        raise ValidationError({"feature": f"{compound} 不是小区 / not a compound"})
    _guard(user, [compound.division.code])
    location_checks.feature_location_check(user, compound)
    rules = numbering_rules(compound)
    buildings = list(compound.buildings.all().order_by("code"))
    if not buildings:
        raise ValidationError(
            {"feature": f"{_feature_name(compound)} 没有楼栋 / the compound has no buildings"}
        )
    specs = []
    for b in buildings:
        c = b.footprint.centroid if b.footprint else None
        if c is None:
            raise ValidationError({"buildings": f"楼栋 {b.code} 没有轮廓 / building without footprint"})
        specs.append(
            numbering.Building(
                key=str(b.pk),
                x=c.x,
                y=c.y,
                units=b.units,
                floors=b.floors,
                rooms_per_floor=b.rooms_per_floor,
                number=b.number,
            )
        )
    numbers = dict(numbering.number_compound(specs, rules))
    existing = set(
        Address.objects.filter(feature=compound, status=LifecycleStatus.ACTIVE).values_list(
            "building_no", "unit_no", "room"
        )
    )
    township = township_at(compound.point or compound.geom.point_on_surface)
    names = {compound.pk: _feature_name(compound)}
    new: list[Address] = []
    for building, spec in zip(buildings, specs, strict=True):
        number = numbers[spec.key]
        if building.number != number:
            building.number = number
            _save(building, user, update_fields=["number", "updated_at"])
        entrance = building.footprint.point_on_surface
        rows = [(None, "")]
        if with_rooms:
            rows += [(unit, room) for unit, _floor, room in numbering.compound_rooms(spec, rules)]
        for unit, room in rows:
            if (number, unit, room) in existing:
                continue
            new.append(
                Address(
                    kind=AddressKind.COMPOUND,
                    status=LifecycleStatus.ACTIVE,
                    point=entrance,
                    building=building,
                    feature=compound,
                    division=township,
                    building_no=number,
                    unit_no=unit,
                    room=room,
                    valid_from=today,
                    synthetic=synthetic,
                )
            )
    for address, code in zip(new, _new_codes(township, len(new)), strict=True):
        address.code = code
        _refresh_text(address, names)
    try:
        with transaction.atomic():
            Address.objects.bulk_create(new, batch_size=2000)
    except IntegrityError as exc:
        raise ConflictError(integrity_message(exc), "duplicate") from exc
    return new


# ---------------------------------------------------------------------------------------------------
# Rural numbering: a whole village in one batch
# ---------------------------------------------------------------------------------------------------


@transaction.atomic
def village_number(
    village_code: str, *, today: dt.date | None = None, user=None, expected_households: int | None = None
) -> list[Address]:
    """Number every pending household of the village: per 组/自然村, along a short path from the
    household nearest the village seat; existing numbers are kept. Marks the campaign complete when no
    household is left without a number."""
    today = _today(today)
    try:
        village = Division.objects.get(code=village_code, level=Level.VILLAGE)
    except Division.DoesNotExist as exc:
        raise ValidationError({"village": f"村（社区）{village_code} 不存在 / unknown village"}) from exc
    _guard(user, [village.code])
    VillageCampaign.objects.get_or_create(village=village, defaults={"started_on": today})
    campaign = VillageCampaign.objects.select_for_update().get(village=village)
    if expected_households is not None:
        campaign.households_expected = expected_households
    rows = list(
        Address.objects.filter(division=village, kind=AddressKind.RURAL)
        .exclude(status=LifecycleStatus.RETIRED)
        .select_related("division__parent")
    )
    pending = [a for a in rows if a.status == LifecycleStatus.PROPOSED]
    if not pending:
        raise ValidationError(
            {"village": f"{village.name} 没有待编号的农户 / no household waiting for a number"}
        )
    location_checks.addresses_location_check(user, pending)
    seat = (village.point.x, village.point.y) if village.point else None
    households = [
        numbering.Household(
            key=str(a.pk),
            x=a.point.x,
            y=a.point.y,
            group=a.group,
            number=a.number if a.status == LifecycleStatus.ACTIVE else None,
        )
        for a in rows
    ]
    numbers = {key: number for key, _group, number in numbering.number_village(households, seat=seat)}
    for address in pending:
        address.number = numbers[str(address.pk)]
        address.suffix = ""
    try:
        _activate_many(pending, today=today, decision=None, user=user, names={})
    except IntegrityError as exc:
        raise ConflictError(integrity_message(exc), "duplicate") from exc
    campaign.completed_on = today
    _save(campaign, user)
    return pending


# ---------------------------------------------------------------------------------------------------
# Cases: 申请 → 编制 → 审核 → 发证
# ---------------------------------------------------------------------------------------------------


def _next_case_number(today: dt.date) -> str:
    return f"MP{today.year}-{next_serial(f'case:{today.year}'):05d}"


def _event(case: AddressCase, action: str, from_state: str, user, comment: str = "") -> None:
    AddressCaseEvent.objects.create(
        case=case,
        action=action,
        from_state=from_state,
        to_state=case.state,
        actor=user if getattr(user, "is_authenticated", False) else None,
        comment=comment,
    )


@transaction.atomic
def address_case_create(
    *,
    kind: str = AddressCaseKind.NEW,
    owner: str,
    owner_kind: str = "person",
    point: Point | None = None,
    address: Address | None = None,
    feature: NamedFeature | None = None,
    replaces: Address | None = None,
    village: Division | None = None,
    group: str = "",
    phone: str = "",
    previous_address: str = "",
    previous_source: str = "",
    reason: str = "",
    today: dt.date | None = None,
    user=None,
) -> AddressCase:
    """Open a case. New: `point` (the entrance, on the nearest road unless `feature`/`village` is
    given) or an existing `address` that only needs a certificate. Change: `replaces` (the active
    address) plus the new `point`/`feature`."""
    today = _today(today)
    if not owner.strip():
        raise ValidationError({"owner": "请填写权利人/申请人 / the owner is required"})
    if len(previous_address) > MAX_TEXT_CHARS:  # the web form has no serializer in front of it
        raise ValidationError(
            {"previous_address": f"不能超过 {MAX_TEXT_CHARS} 个字符 / at most {MAX_TEXT_CHARS} characters"}
        )
    if kind == AddressCaseKind.CHANGE:
        if replaces is None or replaces.status != LifecycleStatus.ACTIVE:
            raise ValidationError({"replaces": "变更须指定一个现行门牌 / a change needs an active address"})
        if point is None:
            point = replaces.point
        feature = feature or (replaces.feature if replaces.kind == AddressKind.ROAD else None)
    if address is None:
        if point is None:
            raise ValidationError({"point": "请在地图上标出门口位置 / mark the entrance on the map"})
        address_kind = AddressKind.RURAL if village is not None else AddressKind.ROAD
        address = entrance_add(
            kind=address_kind, point=point, feature=feature, village=village, group=group, user=user
        )
    elif address.status == LifecycleStatus.RETIRED:
        raise ValidationError({"address": f"{address} 已注销 / the address is retired"})
    elif address.status == LifecycleStatus.ACTIVE and address.certificates.filter(status="valid").exists():
        raise ValidationError({"address": f"{address} 已有有效门牌证，请用补发/换发 / already certified"})
    _guard(user, [address.division.code])
    location_checks.addresses_location_check(user, [address, replaces])
    config = workflow_config()
    case = AddressCase(
        number=_next_case_number(today),
        kind=kind,
        owner=owner.strip(),
        owner_kind=owner_kind,
        phone=phone,
        previous_address=previous_address,
        previous_source=previous_source,
        division=_township(address.division),
        address=address,
        replaces=replaces,
        reason=reason,
        applied_on=today,
        due_on=config.due_on(today),
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    _save(case, user)
    _event(case, "create", "", user, reason)
    return case


def _compile(case: AddressCase) -> None:
    """The engine proposes a number for the case's entrance; findings are stored on the case."""
    address = case.address
    if address.status == LifecycleStatus.ACTIVE or address.kind != AddressKind.ROAD:
        case.findings = []
        return
    addresses = _road_addresses(address.feature, pending_ids=[address.pk], case_entrances=True)
    adjustments = {address.pk: (address.number, address.suffix)} if address.number else None
    _, result = _run_engine(address.feature, addresses, adjustments=adjustments)
    assignment = result.by_key()[str(address.pk)]
    if assignment.status != "rejected":
        address.number, address.suffix = assignment.number, assignment.suffix
        address.chainage_m, address.side = round(assignment.chainage_m, 2), assignment.side
        _refresh_text(address)
        address.save()
    key = str(address.pk)
    case.findings = [
        {"code": f.code, "severity": f.severity, "message": f.message}
        for f in result.findings
        if key in f.keys or not f.keys
    ]
    if assignment.status == "rejected":
        case.findings.append({"code": "rejected", "severity": "error", "message": assignment.reason})


@transaction.atomic
def address_case_adjust(
    case_id: int, *, number_text_value: str, expected_version: int | None = None, user=None
) -> AddressCase:
    """The officer sets the number by hand while compiling; it is checked like the engine's."""
    case = _lock_case(case_id, expected_version)
    _guard(user, [case.division.code])
    location_checks.case_location_check(user, case)
    if case.state != workflow.COMPILE:
        raise ConflictError("只有编制环节可以调整门牌号 / only while compiling", "state")
    address = case.address
    if address.kind != AddressKind.ROAD or address.status != LifecycleStatus.PROPOSED:
        raise ValidationError({"number": "该案件的门牌无需编号 / this case's address needs no number"})
    try:
        address.number, address.suffix = parse_number(number_text_value)
    except ValueError as exc:
        raise ValidationError({"number": str(exc)}) from exc
    _compile(case)
    case.version += 1  # the row is locked
    _save(case, user)
    case.refresh_from_db()
    return case


def _lock_case(case_id: int, expected_version: int | None) -> AddressCase:
    case = (
        AddressCase.objects.select_for_update(of=("self",))
        .select_related("address__feature", "division")
        .get(pk=case_id)
    )
    if expected_version is not None and case.version != expected_version:
        raise ConflictError(
            f"案件 {case.number} 已被他人更新（版本 {case.version}），请刷新 / the case changed, reload",
            "version",
        )
    return case


@transaction.atomic
def address_case_transition(
    case_id: int,
    action: str,
    *,
    user=None,
    expected_version: int | None = None,
    comment: str = "",
    today: dt.date | None = None,
    decision: DecisionDocument | None = None,
) -> AddressCase:
    today = _today(today)
    case = _lock_case(case_id, expected_version)
    _guard(user, [case.division.code])
    # where the address lies, not only the case's township: on every step, issuing included
    location_checks.case_location_check(user, case)
    try:
        target = workflow.next_state(case.state, action)
    except workflow.WorkflowError as exc:
        raise ConflictError(exc.message, exc.code) from exc
    from_state = case.state
    if action == "accept":
        _compile(case)
    elif action == "submit":
        _compile(case)
        errors = [f["message"] for f in case.findings if f["severity"] == "error"]
        if case.address.kind == AddressKind.ROAD and case.address.number is None:
            errors.append("尚未编定门牌号 / no number yet")
        if errors:
            raise ValidationError({"numbering": errors})
    elif action == "issue":
        _issue_case(case, today=today, decision=decision, user=user)
    elif action in ("refuse", "withdraw") and case.address.status == LifecycleStatus.PROPOSED:
        case.address.status = LifecycleStatus.RETIRED
        case.address.valid_to = today
        _save(case.address, user)
    case.state = target
    case.version += 1  # the row is locked
    _save(case, user)
    case.refresh_from_db()
    _event(case, action, from_state, user, comment)
    return case


def _issue_case(case: AddressCase, *, today: dt.date, decision: DecisionDocument | None, user) -> None:
    reviewed = case.address
    if reviewed.kind == AddressKind.ROAD and reviewed.feature_id:
        # serialise with other numbering on the road first, then work on what is there now
        NamedFeature.objects.select_for_update().filter(pk=reviewed.feature_id).first()
    # re-read under the lock: the number issued must be the one review approved
    address = (
        Address.objects.select_for_update(of=("self",))
        .select_related("feature", "division")
        .get(pk=reviewed.pk)
    )
    if (address.status, address.number, address.suffix) != (
        reviewed.status,
        reviewed.number,
        reviewed.suffix,
    ):
        raise ConflictError(
            f"门牌 {reviewed.label or reviewed.code} 在审核后已被他人更改（现为 {address.label or address.status}），"
            "未发证；请退回编制重新核对 / the reviewed number changed meanwhile",
            "changed",
        )
    case.address = address
    if address.status == LifecycleStatus.PROPOSED:
        if address.kind == AddressKind.ROAD:
            addresses = _road_addresses(address.feature, pending_ids=[address.pk], case_entrances=True)
            _, result = _run_engine(
                address.feature, addresses, adjustments={address.pk: (address.number, address.suffix)}
            )
            _apply_road_result(address.feature, result, [address], today=today, decision=decision, user=user)
        else:
            try:
                with transaction.atomic():
                    _activate(address, today=today, decision=decision, user=user)
            except IntegrityError as exc:
                raise ConflictError(integrity_message(exc), "duplicate") from exc
    old_certificate = None
    if case.kind == AddressCaseKind.CHANGE and case.replaces_id:
        old = Address.objects.select_for_update().get(pk=case.replaces_id)
        old_certificate = old.certificates.filter(status=CertificateStatus.VALID).first()
        address_retire(old, reason=f"变更为 {address.label}（案件 {case.number}）", today=today, user=user)
        address.previous = old
        _save(address, user)
    certificate_issue(
        address,
        owner=case.owner,
        owner_kind=case.owner_kind,
        previous_address=case.previous_address,
        previous_source=case.previous_source,
        case=case,
        today=today,
        user=user,
        issue_kind="换发" if old_certificate else "初发",
    )
    case.issued_on = today


def address_retire(address: Address, *, reason: str, today: dt.date | None = None, user=None) -> Address:
    """注销门牌: the address is retired (never deleted) and its valid certificate cancelled."""
    today = _today(today)
    _guard(user, [address.division.code])
    location_checks.addresses_location_check(user, [address])
    if address.status == LifecycleStatus.RETIRED:
        raise ConflictError(f"{address} 已注销 / already retired", "state")
    for cert in Certificate.objects.select_for_update().filter(
        address=address, status=CertificateStatus.VALID
    ):
        cert.status = CertificateStatus.CANCELLED
        cert.ended_on = today
        cert.end_reason = reason
        cert.version += 1  # the row is locked
        _save(cert, user)
    address.status = LifecycleStatus.RETIRED
    address.valid_to = today
    _save(address, user)
    return address


# ---------------------------------------------------------------------------------------------------
# Certificates
# ---------------------------------------------------------------------------------------------------


def _certificate_serial(today: dt.date) -> str:
    county = settings.GEO_MZ_COUNTY_CODE
    return f"{county}-{today.year}-{next_serial(f'certificate:{county}:{today.year}'):06d}"


def certificate_issue(
    address: Address,
    *,
    owner: str,
    owner_kind: str = "person",
    previous_address: str = "",
    previous_source: str = "",
    case: AddressCase | None = None,
    today: dt.date | None = None,
    issue_kind: str = "初发",
    replaces: Certificate | None = None,
    synthetic: bool = False,
    user=None,
) -> Certificate:
    today = _today(today)
    if address.status != LifecycleStatus.ACTIVE:
        raise ValidationError({"address": f"{address} 不是现行门牌，不能发证 / not an active address"})
    cert = Certificate(
        serial=_certificate_serial(today),
        address=address,
        case=case,
        owner=owner,
        owner_kind=owner_kind,
        previous_address=previous_address,
        previous_source=previous_source,
        issued_on=today,
        issuing_office=settings.GEO_MZ_BUREAU_NAME,
        issue_kind=issue_kind,
        replaces=replaces,
        synthetic=synthetic,
    )
    try:
        with transaction.atomic():
            _save(cert, user)
    except IntegrityError as exc:
        raise ConflictError(integrity_message(exc), "duplicate") from exc
    return cert


def _lock_certificate(certificate_id: int, expected_version: int | None) -> Certificate:
    cert = (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("address__division")
        .get(pk=certificate_id)
    )
    if cert.status != CertificateStatus.VALID:
        raise ConflictError(
            f"门牌证 {cert.serial} 已{cert.get_status_display()}（{cert.ended_on}），不能再办理 / the certificate is no longer valid",
            "state",
        )
    if expected_version is not None and cert.version != expected_version:
        raise ConflictError(f"门牌证 {cert.serial} 已被他人更新，请刷新 / changed meanwhile", "version")
    return cert


@transaction.atomic
def certificate_reissue(
    certificate_id: int,
    *,
    reason: str,
    kind: str = "补发",
    owner: str | None = None,
    expected_version: int | None = None,
    today: dt.date | None = None,
    user=None,
) -> Certificate:
    """补发 (lost) or 换发 (damaged, or owner changed): the old certificate is superseded and a new one
    with a new serial replaces it. Two simultaneous reissues: the second finds it superseded."""
    if kind not in ("补发", "换发"):
        raise ValidationError({"kind": "应为“补发”或“换发” / kind must be 补发 or 换发"})
    if not reason.strip():
        raise ValidationError({"reason": "请填写补发/换发原因 / the reason is required"})
    today = _today(today)
    old = _lock_certificate(certificate_id, expected_version)
    _guard(user, [old.address.division.code])
    location_checks.addresses_location_check(user, [old.address])
    old.status = CertificateStatus.SUPERSEDED
    old.ended_on = today
    old.end_reason = f"{kind}：{reason.strip()}"
    old.version += 1  # the row is locked
    _save(old, user)
    return certificate_issue(
        old.address,
        owner=owner or old.owner,
        owner_kind=old.owner_kind,
        previous_address=old.previous_address,
        previous_source=old.previous_source,
        case=old.case,
        today=today,
        issue_kind=kind,
        replaces=old,
        user=user,
    )


@transaction.atomic
def certificate_cancel(
    certificate_id: int,
    *,
    reason: str,
    expected_version: int | None = None,
    today: dt.date | None = None,
    user=None,
) -> Certificate:
    if not reason.strip():
        raise ValidationError({"reason": "请填写注销原因 / the reason is required"})
    cert = _lock_certificate(certificate_id, expected_version)
    _guard(user, [cert.address.division.code])
    location_checks.addresses_location_check(user, [cert.address])
    cert.status = CertificateStatus.CANCELLED
    cert.ended_on = _today(today)
    cert.end_reason = reason.strip()
    cert.version += 1  # the row is locked
    _save(cert, user)
    cert.refresh_from_db()
    return cert


def verify_url(cert: Certificate) -> str:
    return f"{settings.GEO_MZ_PUBLIC_URL}/v/{cert.token}/"


def _storage_to_lonlat(point: GEOSGeometry) -> tuple[float, float]:
    lon, lat = crs.projected_to_lonlat(point.x, point.y, settings.GEO_MZ_SRID)
    return float(lon), float(lat)


# ---------------------------------------------------------------------------------------------------
# Printed documents
# ---------------------------------------------------------------------------------------------------


def _address_parts(address: Address) -> dict[str, str]:
    rural = address.kind == AddressKind.RURAL
    township = address.division.parent if rural else address.division
    county = township.parent if township else None
    parts = {
        "county": county.name if county else "",
        "township": township.name if township else "",
        "road": "",
        "number_label": "",
        "compound": "",
        "building": "",
        "unit": "",
        "room": "",
        "village": address.division.name if rural else "",
        "group": address.group,
    }
    if address.kind == AddressKind.ROAD:
        parts["road"] = _feature_name(address.feature)
        parts["number_label"] = number_text(address.number, address.suffix)
    elif address.kind == AddressKind.COMPOUND:
        parts["compound"] = _feature_name(address.feature)
        parts["building"] = f"{address.building_no}幢" if address.building_no else ""
        parts["unit"] = f"{address.unit_no}单元" if address.unit_no else ""
        parts["room"] = f"{address.room}室" if address.room else ""
    else:
        parts["number_label"] = number_text(address.number, address.suffix)
    return parts


def certificate_document(cert: Certificate, *, invariant: bool = False) -> bytes:
    """The 门牌证 PDF with a QR code to the public verification page."""
    from geo_mz.addresses import documents

    address = cert.address
    lon, lat = _storage_to_lonlat(address.point)
    return documents.certificate_pdf(
        documents.Certificate(
            serial=cert.serial,
            owner=cert.owner,
            address=address.full_text,
            issued_on=cert.issued_on,
            issuing_office=cert.issuing_office,
            verify_url=verify_url(cert),
            previous_address=cert.previous_address,
            previous_source=cert.previous_source,
            status_note="" if cert.issue_kind == "初发" else cert.issue_kind,
            lon=lon,
            lat=lat,
            **_address_parts(address),
        ),
        invariant=invariant,
    )


def address_proof_document(
    address: Address, *, holder: str, purpose: str, today: dt.date | None = None, invariant: bool = False
) -> bytes:
    """地址证明: the standard address, since when, and its former addresses (the lineage)."""
    from geo_mz.addresses import documents
    from geo_mz.addresses.selectors import address_history

    if address.status != LifecycleStatus.ACTIVE:
        raise ValidationError({"address": f"{address} 不是现行门牌，不能出具地址证明 / not active"})
    if not holder.strip():
        raise ValidationError({"holder": "请填写证明对象 / the holder is required"})
    history = [a for a in address_history(address) if a.pk != address.pk]
    cert = address.certificates.filter(status=CertificateStatus.VALID).first()
    return documents.address_proof_pdf(
        documents.AddressProof(
            serial=f"ZM-{address.code}-{_today(today):%Y%m%d}",
            holder=holder.strip(),
            address=address.full_text,
            standard_since=address.valid_from,
            previous_addresses=tuple((a.full_text, a.valid_from, a.valid_to) for a in history),
            purpose=purpose.strip() or "办理相关业务",
            issued_on=_today(today),
            issuing_office=settings.GEO_MZ_BUREAU_NAME,
            verify_url=verify_url(cert)
            if cert
            else f"{settings.GEO_MZ_PUBLIC_URL}/addresses/{address.code}/",
        ),
        invariant=invariant,
    )
