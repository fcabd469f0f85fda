"""Boundary services: derive and store lines, keep markers, run joint inspections to the locked state.

Every editing service takes the acting `user` (None only for trusted scripts such as the demo loader)
and checks role + jurisdiction through core.permissions: a line belongs to both adjoining divisions,
so a boundary-team user of either side may edit it (`any_side=True`), but each side confirms an
inspection only for itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import shapely
from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry, MultiLineString, Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from shapely.geometry.base import BaseGeometry

from geo_mz.boundaries import derive, location_checks
from geo_mz.boundaries import markers as rules
from geo_mz.boundaries.models import (
    Action,
    BoundaryLine,
    Condition,
    FindingPhoto,
    Inspection,
    InspectionKind,
    InspectionStatus,
    LineLevel,
    Marker,
    MarkerFinding,
    MarkerKind,
    MarkerPhoto,
    SegmentFinding,
)
from geo_mz.core.errors import ConflictError
from geo_mz.core.jurisdiction import code_within
from geo_mz.core.models import LifecycleStatus
from geo_mz.core.permissions import is_admin, require_edit, require_role, user_jurisdiction_code
from geo_mz.core.upload_files import stored_document, stored_image
from geo_mz.divisions.models import Division

APP = "boundaries"
DEFAULT_TOLERANCE_M = 5.0
REPAIRED_ACTIONS = {Action.REPAIRED, Action.RESET}


def _guard(user, codes: Iterable[str]) -> None:
    if user is not None:
        require_edit(user, APP, codes, any_side=True)


def _save(obj, user=None, **kwargs) -> None:
    if user is not None:
        obj._history_user = user
    obj.save(**kwargs)


def to_shapely(geom: GEOSGeometry) -> BaseGeometry:
    return shapely.from_wkb(bytes(geom.wkb))


def to_geos(geom: BaseGeometry, srid: int | None = None) -> GEOSGeometry:
    return GEOSGeometry(memoryview(shapely.to_wkb(geom)), srid=srid or settings.GEO_MZ_SRID)


def _multiline(geom: BaseGeometry) -> MultiLineString:
    g = to_geos(geom)
    if g.geom_type == "LineString":
        g = MultiLineString(g, srid=g.srid)
    return g


def integrity_message(exc: IntegrityError) -> str:
    text = str(exc)
    for name, message in (
        ("boundary_line_code_unique_current", "界线编号已存在 / the line code is already in use"),
        ("marker_number_unique_current", "界桩编号已存在 / the marker number is already in use"),
        ("finding_one_per_marker", "该界桩在本次联检中已有检查结果 / this marker already has a finding"),
        ("inspection_adhoc_has_reason", "专项检查必须填写原因 / an ad-hoc inspection needs a reason"),
        ("inspection_dates_ordered", "结束日期不能早于开始日期 / the end date precedes the start date"),
    ):
        if name in text:
            return message
    return text.splitlines()[0]


# ---------------------------------------------------------------------------------------------------
# Lines: derivation from division polygons
# ---------------------------------------------------------------------------------------------------


@dataclass
class LineProposal:
    """A derived line as it would be stored, with the difference from the stored line."""

    code: str
    name: str
    division_a: Division
    division_b: Division
    geometry: BaseGeometry
    length_m: float
    pieces: int
    status: str  # added | changed | unchanged | removed
    stored: BoundaryLine | None
    hausdorff_m: float | None


@dataclass
class DerivationRun:
    level: str
    tolerance_m: float
    proposals: list[LineProposal]
    issues: list[derive.DerivationIssue]

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "changed": 0, "unchanged": 0, "removed": 0}
        for p in self.proposals:
            out[p.status] += 1
        return out


def _short(division: Division) -> str:
    """嘉鱼 from 嘉鱼县: the stored short name may still carry the suffix (天地图 gives 嘉鱼县)."""
    return derive.short_name(division.short_name or division.name)


def _candidate_divisions(level: str, around_code: str) -> list[Division]:
    """The divisions whose shared edges make `level` lines for the jurisdiction `around_code`.

    County lines: every county-level polygon loaded (the neighbours are needed for the shared edges;
    only pairs touching the jurisdiction are kept). Township lines: the townships inside it."""
    qs = Division.objects.active().filter(level=level, geom__isnull=False)
    if level == LineLevel.TOWNSHIP:
        qs = qs.within_code(around_code)
    return list(qs)


def lines_derive(
    level: str = LineLevel.COUNTY,
    *,
    around_code: str | None = None,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
) -> DerivationRun:
    """Derive the lines of `level` for the jurisdiction and compare them with the stored ones.

    Nothing is written: see `lines_store`. Raises ValidationError for a bad tolerance or when fewer
    than two polygons are available."""
    if level not in LineLevel.values:
        raise ValidationError({"level": f"未知界线级别 {level} / unknown level"})
    around = around_code or settings.GEO_MZ_COUNTY_CODE
    divisions = {d.code: d for d in _candidate_divisions(level, around)}
    if len(divisions) < 2:
        raise ValidationError(
            {"level": f"{LineLevel(level).label}：有边界面的区划不足两个，无法推导 / fewer than two polygons"}
        )
    try:
        result = derive.derive_lines(
            {code: to_shapely(d.geom) for code, d in divisions.items()}, tolerance_m=tolerance_m
        )
    except derive.DerivationError as exc:
        raise ValidationError({"tolerance_m": str(exc)}) from exc

    def relevant(a: str, b: str) -> bool:
        return code_within(a, around) or code_within(b, around) or level == LineLevel.TOWNSHIP

    derived = [ln for ln in result.lines if relevant(ln.code_a, ln.code_b)]
    stored = {
        (ln.division_a.code, ln.division_b.code): ln
        for ln in BoundaryLine.objects.filter(level=level, section=0)
        .exclude(status=LifecycleStatus.RETIRED)
        .select_related("division_a", "division_b")
        if relevant(ln.division_a.code, ln.division_b.code)
    }
    diffs = {
        (d.code_a, d.code_b): d
        for d in derive.diff_lines(
            {k: to_shapely(v.geom) for k, v in stored.items()},
            derive.Derivation(lines=derived, issues=[]),
            tolerance_m=tolerance_m,
        )
    }
    proposals = []
    for ln in derived:
        a, b = divisions[ln.code_a], divisions[ln.code_b]
        diff = diffs.get((ln.code_a, ln.code_b))
        old = stored.get((ln.code_a, ln.code_b))
        proposals.append(
            LineProposal(
                code=old.code if old else derive.line_code(a.code, b.code),
                name=old.name if old else derive.line_name(_short(a), a.code, _short(b), b.code),
                division_a=a,
                division_b=b,
                geometry=ln.geometry,
                length_m=ln.length_m,
                pieces=ln.pieces,
                status=diff.status if diff else "added",
                stored=old,
                hausdorff_m=diff.hausdorff_m if diff else None,
            )
        )
    for key, old in stored.items():
        if key not in {(ln.code_a, ln.code_b) for ln in derived}:
            proposals.append(
                LineProposal(
                    code=old.code,
                    name=old.name,
                    division_a=old.division_a,
                    division_b=old.division_b,
                    geometry=to_shapely(old.geom),
                    length_m=old.length_m,
                    pieces=len(old.geom),
                    status="removed",
                    stored=old,
                    hausdorff_m=None,
                )
            )
    issues = [i for i in result.issues if any(c in divisions for c in i.codes)]
    return DerivationRun(level, tolerance_m, proposals, issues)


@transaction.atomic
def lines_store(run: DerivationRun, *, user=None, synthetic: bool = False) -> dict[str, int]:
    """Write a derivation: create added lines; for changed ones retire the stored line and create its
    successor (markers move to the successor); removed lines are retired. Unchanged ones stay."""
    counts = {"created": 0, "replaced": 0, "retired": 0, "unchanged": 0}
    for p in run.proposals:
        _guard(user, [p.division_a.code, p.division_b.code])
        if p.status == "unchanged":
            counts["unchanged"] += 1
            continue
        if p.stored is not None:
            old = BoundaryLine.objects.select_for_update().get(pk=p.stored.pk)
            old.status = LifecycleStatus.RETIRED
            _save(old, user)
            if p.status == "removed":
                counts["retired"] += 1
                continue
        new = BoundaryLine(
            code=p.code,
            name=p.name,
            level=run.level,
            division_a=p.division_a,
            division_b=p.division_b,
            geom=_multiline(p.geometry),
            length_m=p.length_m,
            derived_tolerance_m=run.tolerance_m,
            previous=p.stored,
            synthetic=synthetic,
        )
        if p.stored is not None:
            for field in ("agreement_no", "agreement_date", "approving_authority", "decision_id"):
                setattr(new, field, getattr(p.stored, field))
            new.inspection_interval_years = p.stored.inspection_interval_years
        try:
            with transaction.atomic():
                _save(new, user)
        except IntegrityError as exc:
            raise ConflictError(integrity_message(exc), "duplicate") from exc
        if p.stored is not None:
            Marker.objects.filter(line=p.stored).update(line=new)
            counts["replaced"] += 1
        else:
            counts["created"] += 1
    return counts


LINE_EDITABLE = (
    "name",
    "agreement_no",
    "agreement_date",
    "approving_authority",
    "inspection_interval_years",
)


@transaction.atomic
def line_update(line_id: int, *, user=None, expected_version: str | None = None, **fields) -> BoundaryLine:
    """Edit a line's descriptive fields (name, agreement, authority, interval). Geometry changes go
    through derivation (a successor line), never in place."""
    unknown = set(fields) - set(LINE_EDITABLE)
    if unknown:
        raise ValidationError(
            {f: "该字段不能直接修改 / this field cannot be edited in place" for f in unknown}
        )
    line = (
        BoundaryLine.objects.select_for_update(of=("self",))
        .select_related("division_a", "division_b")
        .get(pk=line_id)
    )
    _guard(user, line.side_codes)
    if expected_version is not None and line.updated_at.isoformat() != expected_version:
        raise ConflictError(f"界线 {line.name} 已被他人修改，请刷新 / changed meanwhile", "version")
    if line.status == LifecycleStatus.RETIRED:
        raise ConflictError(f"界线 {line.name} 已撤销 / the line is retired", "state")
    for key, value in fields.items():
        setattr(line, key, value)
    if not (line.name or "").strip():
        raise ValidationError({"name": "界线名称不能为空 / the name is required"})
    line.full_clean(exclude=["geom"])
    _save(line, user)
    return line


@transaction.atomic
def line_split(line_id: int, *, at_markers: Sequence[str], user=None) -> list[BoundaryLine]:
    """Split a line into sections (分段管理) at the given markers: the whole line is retired and
    sections 1…n with the same code take its place (lineage via `previous`); each marker moves to the
    section it lies on, and the inspection history carries over through the lineage."""
    from shapely.ops import substring

    line = (
        BoundaryLine.objects.select_for_update(of=("self",))
        .select_related("division_a", "division_b")
        .get(pk=line_id)
    )
    _guard(user, line.side_codes)
    if line.status == LifecycleStatus.RETIRED or line.section:
        raise ConflictError(f"界线 {line} 已撤销或已是分段 / retired or already a section", "state")
    merged = shapely.line_merge(to_shapely(line.geom))
    if merged.geom_type != "LineString":
        raise ValidationError(
            {"geom": "界线由多段不连续的线组成，无法按界桩分段 / the line is not one continuous part"}
        )
    markers = {m.number: m for m in Marker.objects.filter(line=line).exclude(status=LifecycleStatus.RETIRED)}
    unknown = [n for n in at_markers if n not in markers]
    if unknown:
        raise ValidationError({"at_markers": f"界线上没有界桩 {'、'.join(unknown)} / no such marker"})
    cuts = sorted({merged.project(shapely.Point(markers[n].point.x, markers[n].point.y)) for n in at_markers})
    cuts = [c for c in cuts if 1.0 < c < merged.length - 1.0]
    if not cuts:
        raise ValidationError({"at_markers": "分段点不能位于界线端点 / the split points are at the ends"})
    bounds = [0.0, *cuts, merged.length]
    line.status = LifecycleStatus.RETIRED
    _save(line, user)
    sections = []
    for i, (start, end) in enumerate(zip(bounds, bounds[1:], strict=False), start=1):
        part = substring(merged, start, end)
        section = BoundaryLine(
            code=line.code,
            name=line.name,
            level=line.level,
            division_a=line.division_a,
            division_b=line.division_b,
            section=i,
            agreement_no=line.agreement_no,
            agreement_date=line.agreement_date,
            approving_authority=line.approving_authority,
            geom=_multiline(part),
            length_m=part.length,
            derived_tolerance_m=line.derived_tolerance_m,
            previous=line,
            decision=line.decision,
            inspection_interval_years=line.inspection_interval_years,
            synthetic=line.synthetic,
        )
        _save(section, user)
        sections.append((start, end, section))
    for m in markers.values():
        c = merged.project(shapely.Point(m.point.x, m.point.y))
        target = next(sec for start, end, sec in sections if c <= end + 1e-6)
        Marker.objects.filter(pk=m.pk).update(line=target)
    return [sec for _, _, sec in sections]


def tri_junctions(line: BoundaryLine) -> list[BaseGeometry]:
    """End points of the line shared with another current line of the same level: where three
    divisions meet."""
    geom = to_shapely(line.geom)
    ends = []
    for part in geom.geoms:
        ends.extend([shapely.Point(part.coords[0]), shapely.Point(part.coords[-1])])
    others = (
        BoundaryLine.objects.filter(level=line.level)
        .exclude(pk=line.pk)
        .exclude(status=LifecycleStatus.RETIRED)
    )
    tol = (line.derived_tolerance_m or DEFAULT_TOLERANCE_M) * 2
    out = []
    for other in others.filter(geom__dwithin=(line.geom, tol)):
        o = to_shapely(other.geom)
        out.extend(p for p in ends if p.distance(o) <= tol and not any(p.distance(q) < tol for q in out))
    return out


# ---------------------------------------------------------------------------------------------------
# Markers
# ---------------------------------------------------------------------------------------------------


def _marker_side_codes(line: BoundaryLine) -> list[str]:
    return [line.division_a.code, line.division_b.code]


def _bearings_clean(bearings: Sequence[dict] | None) -> list[dict]:
    out = []
    for i, b in enumerate(bearings or [], start=1):
        name = str(b.get("name", "")).strip()
        try:
            az = float(b.get("azimuth_deg"))
            dist = float(b.get("distance_m"))
        except (TypeError, ValueError) as exc:
            raise ValidationError(
                {"bearings": f"第 {i} 个方位物的方位角或距离不是数字 / not a number"}
            ) from exc
        if not name:
            raise ValidationError({"bearings": f"第 {i} 个方位物缺少名称 / name missing"})
        if not 0 <= az < 360:
            raise ValidationError(
                {"bearings": f"第 {i} 个方位物方位角 {az} 应在 0–360° / azimuth out of range"}
            )
        if dist <= 0:
            raise ValidationError({"bearings": f"第 {i} 个方位物距离应大于 0 / distance must be > 0"})
        out.append({"name": name, "azimuth_deg": az, "distance_m": dist})
    if len(out) > 3:
        raise ValidationError({"bearings": "方位物至多 3 个 / at most three bearing objects"})
    return out


def marker_point_from_input(
    *, lon: float | None = None, lat: float | None = None, x: float | None = None, y: float | None = None
) -> Point:
    """A marker position from lon/lat (CGCS2000) or Gauss-Krüger X (northing) / Y (easting) in the
    storage zone. Swapped or wrong-zone input raises ValidationError with the reason."""
    srid = settings.GEO_MZ_SRID
    try:
        if lon is not None and lat is not None:
            p = rules.parse_gnss_point(float(lon), float(lat), srid=srid)
        elif x is not None and y is not None:
            p = rules.parse_gk_xy(float(x), float(y), srid=srid)
        else:
            raise ValidationError({"point": "请填写经纬度或 X/Y 坐标 / give lon/lat or X/Y"})
    except (rules.MarkerCoordinateError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError({"point": str(exc)}) from exc
    return Point(p.x, p.y, srid=srid)


@transaction.atomic
def marker_create(
    line_id: int,
    *,
    point: Point,
    kind: str = MarkerKind.SINGLE,
    seq: int | None = None,
    letter: str | None = None,
    material: str = "",
    responsible_code: str | None = None,
    elevation_m: float | None = None,
    location_text: str = "",
    bearings: Sequence[dict] | None = None,
    buried_on: dt.date | None = None,
    synthetic: bool = False,
    user=None,
) -> Marker:
    """Add a marker. The number is line code + sequence + type letter; without `seq` the next free
    sequence is used (existing numbers never change, so an inserted marker may be out of order:
    quality rule BM03 reports it)."""
    line = (
        BoundaryLine.objects.select_for_update(of=("self",))
        .select_related("division_a", "division_b")
        .get(pk=line_id)
    )
    _guard(user, line.side_codes)
    location_checks.marker_location_check(user, line, point)
    if line.status == LifecycleStatus.RETIRED:
        raise ConflictError(f"界线 {line.name} 已撤销 / the line is retired", "state")
    if kind not in MarkerKind.values:
        raise ValidationError({"kind": f"未知界桩类型 {kind} / unknown marker type"})
    current = Marker.objects.filter(line=line).exclude(status=LifecycleStatus.RETIRED)
    if seq is None:
        seq = max((m.seq for m in current), default=0) + 1
    if seq < 1:
        raise ValidationError({"seq": "序号应从 1 开始 / the sequence starts at 1"})
    if letter is None:
        sides = _marker_side_codes(line)
        letter = rules.marker_letters(kind, sides)[0] if kind != MarkerKind.TRIPLE else "C"
    responsible = None
    if responsible_code:
        if responsible_code not in line.side_codes:
            raise ValidationError({"responsible": "负责维护方必须是界线一侧 / must be one side of the line"})
        responsible = Division.objects.get(code=responsible_code)
    marker = Marker(
        line=line,
        number=rules.marker_number(line.code, seq, letter),
        seq=seq,
        letter=letter,
        kind=kind,
        material=material,
        responsible=responsible,
        point=point,
        elevation_m=elevation_m,
        location_text=location_text,
        bearings=_bearings_clean(bearings),
        buried_on=buried_on,
        synthetic=synthetic,
    )
    try:
        with transaction.atomic():
            _save(marker, user)
    except IntegrityError as exc:
        raise ConflictError(integrity_message(exc), "duplicate") from exc
    return marker


MARKER_EDITABLE = ("material", "elevation_m", "location_text", "bearings", "responsible_code", "buried_on")


@transaction.atomic
def marker_update(marker_id: int, *, user=None, expected_version: int | None = None, **fields) -> Marker:
    """Edit descriptive fields. Moving a marker or changing its number retires it and creates a
    successor (`marker_replace`)."""
    unknown = set(fields) - set(MARKER_EDITABLE)
    if unknown:
        raise ValidationError(
            {f: "该字段不能直接修改，请用“重新埋设” / use reset to move or renumber" for f in unknown}
        )
    marker = _lock_marker(marker_id, expected_version)
    _guard(user, marker.line.side_codes)
    if "bearings" in fields:
        fields["bearings"] = _bearings_clean(fields["bearings"])
    if "responsible_code" in fields:
        code = fields.pop("responsible_code")
        if code and code not in marker.line.side_codes:
            raise ValidationError({"responsible": "负责维护方必须是界线一侧 / must be one side of the line"})
        marker.responsible = Division.objects.get(code=code) if code else None
    for key, value in fields.items():
        setattr(marker, key, value)
    marker.version += 1
    _save(marker, user)
    return marker


def _lock_marker(marker_id: int, expected_version: int | None) -> Marker:
    marker = (
        Marker.objects.select_for_update(of=("self",))
        .select_related("line__division_a", "line__division_b")
        .get(pk=marker_id)
    )
    if marker.status == LifecycleStatus.RETIRED:
        raise ConflictError(f"界桩 {marker.number} 已撤销 / the marker is retired", "state")
    if expected_version is not None and marker.version != expected_version:
        raise ConflictError(f"界桩 {marker.number} 已被他人修改，请刷新 / changed meanwhile", "version")
    return marker


@transaction.atomic
def marker_photos_add(
    marker_id: int, *, photos: Sequence[PhotoUpload] = (), sketch: PhotoUpload | None = None, user=None
) -> Marker:
    """Photos and the 点之记 sketch of a marker's registration record."""
    marker = _lock_marker(marker_id, None)
    _guard(user, marker.line.side_codes)
    if not photos and sketch is None:
        raise ValidationError({"photos": "请选择照片或略图 / choose a photo or a sketch"})
    # checked and re-encoded before anything is written (core.uploads: content, not names)
    stored = [(_photo_file(p), p) for p in photos]
    sketch_file = _photo_file(sketch, field="sketch") if sketch is not None else None
    for file, p in stored:
        MarkerPhoto.objects.create(marker=marker, file=file, caption=p.name[:200])
    if sketch_file is not None:
        marker.sketch.save(sketch_file.name, sketch_file, save=False)
    marker.version += 1
    _save(marker, user)
    return marker


@transaction.atomic
def marker_replace(marker_id: int, *, point: Point, user=None, expected_version: int | None = None) -> Marker:
    """重新埋设 (reset) at a new position, agreed by both sides: the old marker is retired and a
    successor with the same number and the new position is created (lineage via `previous`)."""
    old = _lock_marker(marker_id, expected_version)
    _guard(user, old.line.side_codes)
    location_checks.marker_location_check(user, old.line, point)
    old.status = LifecycleStatus.RETIRED
    old.version += 1
    _save(old, user)
    new = Marker.objects.get(pk=old.pk)
    new.pk = None
    new.id = None
    new.point = point
    new.status = LifecycleStatus.ACTIVE
    new.previous = old
    new.version = 1
    new.needs_repair = False
    _save(new, user)
    return new


def markers_place(
    line_id: int, *, spacing_m: float = 3000.0, material: str = "花岗岩", synthetic: bool = False, user=None
) -> list[Marker]:
    """Lay out markers along a line without any (demo data, or a first survey plan): one at each
    tri-junction (同号三立) and otherwise about every `spacing_m`, numbered along the line."""
    line = BoundaryLine.objects.select_related("division_a", "division_b").get(pk=line_id)
    if Marker.objects.filter(line=line).exists():
        raise ConflictError(f"界线 {line.name} 已有界桩 / the line already has markers", "state")
    placed = rules.place_markers(
        to_shapely(line.geom), spacing_m=spacing_m, tri_junctions=tri_junctions(line)
    )
    out = []
    with transaction.atomic():
        for i, pm in enumerate(placed):
            out.append(
                marker_create(
                    line.pk,
                    point=Point(pm.point.x, pm.point.y, srid=settings.GEO_MZ_SRID),
                    kind=pm.kind,
                    seq=pm.seq,
                    letter=pm.letter,
                    material=material,
                    responsible_code=line.side_codes[i % 2],
                    synthetic=synthetic,
                    user=user,
                )
            )
    return out


def marker_quality(
    line: BoundaryLine, quality: rules.QualityRules | None = None
) -> list[rules.QualityFinding]:
    """The quality rules (BM01…) over a line's current markers."""
    current = list(Marker.objects.filter(line=line).exclude(status=LifecycleStatus.RETIRED))
    inputs = [
        rules.MarkerInput(
            key=m.number,
            number=m.number,
            kind=m.kind,
            point=shapely.Point(m.point.x, m.point.y),
            bearings=tuple(
                rules.BearingObject(b["name"], b["azimuth_deg"], b["distance_m"], None) for b in m.bearings
            ),
        )
        for m in current
    ]
    return rules.check_markers(
        to_shapely(line.geom),
        inputs,
        tri_junctions=tri_junctions(line),
        rules=quality or rules.QualityRules.from_dict(settings.GEO_MZ_MARKER_RULES),
    )


# ---------------------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------------------


def _next_record_no(year: int) -> str:
    prefix = f"联检-{year}-"
    last = (
        Inspection.objects.select_for_update()
        .filter(record_no__startswith=prefix)
        .order_by("-record_no")
        .values_list("record_no", flat=True)
        .first()
    )
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{n:03d}"


@transaction.atomic
def inspection_create(
    line_id: int,
    *,
    round_year: int,
    kind: str = InspectionKind.REGULAR,
    reason: str = "",
    lead_code: str,
    start_date: dt.date,
    end_date: dt.date | None = None,
    participants_a: str = "",
    participants_b: str = "",
    corrects: Inspection | None = None,
    synthetic: bool = False,
    user=None,
) -> Inspection:
    line = BoundaryLine.objects.select_related("division_a", "division_b").get(pk=line_id)
    _guard(user, line.side_codes)
    errors = {}
    if line.status == LifecycleStatus.RETIRED:
        errors["line"] = "界线已撤销 / the line is retired"
    if kind not in InspectionKind.values:
        errors["kind"] = f"未知检查类型 {kind} / unknown kind"
    if kind == InspectionKind.ADHOC and not reason.strip():
        errors["reason"] = (
            "专项检查必须填写原因（如洪灾、河道改道、道路施工）/ an ad-hoc inspection needs a reason"
        )
    if lead_code not in line.side_codes:
        errors["lead"] = "牵头方必须是界线一侧 / the leading side must be one side of the line"
    if not 1950 <= round_year <= start_date.year + 1:
        errors["round_year"] = f"联检年度 {round_year} 不合理 / implausible year"
    if end_date and end_date < start_date:
        errors["end_date"] = "结束日期不能早于开始日期 / the end date precedes the start date"
    if errors:
        raise ValidationError(errors)
    insp = Inspection(
        record_no=_next_record_no(round_year),
        line=line,
        round_year=round_year,
        kind=kind,
        reason=reason.strip(),
        lead=Division.objects.get(code=lead_code),
        start_date=start_date,
        end_date=end_date,
        participants_a=participants_a,
        participants_b=participants_b,
        corrects=corrects,
        synthetic=synthetic,
    )
    _save(insp, user)
    return insp


def _lock_inspection(inspection_id: int, expected_version: int | None, *, editing: bool = True) -> Inspection:
    insp = (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("line__division_a", "line__division_b")
        .get(pk=inspection_id)
    )
    if expected_version is not None and insp.version != expected_version:
        raise ConflictError(
            f"联检记录 {insp.record_no} 已被他人修改（版本 {insp.version}），请刷新 / changed meanwhile",
            "version",
        )
    if editing and insp.status == InspectionStatus.LOCKED:
        raise ConflictError(
            f"联检记录 {insp.record_no} 已由双方确认并锁定，不能修改；如需更正请新建更正记录 / "
            "the record is locked; create a correction",
            "locked",
        )
    if editing and insp.status == InspectionStatus.CONFIRMING:
        raise ConflictError(
            f"联检记录 {insp.record_no} 已有一方确认，修改前请先撤回确认 / "
            "one side has confirmed; withdraw the confirmation before editing",
            "confirming",
        )
    return insp


def _bump(insp: Inspection, user) -> None:
    insp.version += 1  # the row is locked
    _save(insp, user)


INSPECTION_EDITABLE = (
    "reason",
    "participants_a",
    "participants_b",
    "start_date",
    "end_date",
    "conclusion",
    "peace_agreement_note",
)


@transaction.atomic
def inspection_update(
    inspection_id: int, *, user=None, expected_version: int | None = None, **fields
) -> Inspection:
    unknown = set(fields) - set(INSPECTION_EDITABLE)
    if unknown:
        raise ValidationError({f: "该字段不能修改 / not editable" for f in unknown})
    insp = _lock_inspection(inspection_id, expected_version)
    _guard(user, insp.line.side_codes)
    for key, value in fields.items():
        setattr(insp, key, value)
    if insp.end_date and insp.end_date < insp.start_date:
        raise ValidationError({"end_date": "结束日期不能早于开始日期 / the end date precedes the start date"})
    if insp.kind == InspectionKind.ADHOC and not insp.reason.strip():
        raise ValidationError({"reason": "专项检查必须填写原因 / an ad-hoc inspection needs a reason"})
    _bump(insp, user)
    return insp


@dataclass(frozen=True)
class PhotoUpload:
    name: str
    content: bytes


def _photo_file(photo: PhotoUpload, *, field: str = "photos") -> ContentFile:
    """The photo re-encoded by Pillow under a generated name (core.upload_files): a GIF with a
    script appended, or HTML named .jpg, never reaches storage as such."""
    return stored_image(photo.content, field=field, name=photo.name)


@transaction.atomic
def finding_record(
    inspection_id: int,
    *,
    marker_id: int,
    condition: str,
    repainted: bool = False,
    measured: Point | None = None,
    action: str = Action.NONE,
    bearings_intact: bool = True,
    note: str = "",
    photos: Sequence[PhotoUpload] = (),
    expected_version: int | None = None,
    user=None,
) -> MarkerFinding:
    """Record (or replace) one marker's finding. Photos are required for damaged, moved or lost; the
    offset from the recorded position is computed from the GNSS-measured position."""
    insp = _lock_inspection(inspection_id, expected_version)
    _guard(user, insp.line.side_codes)
    location_checks.marker_location_check(user, insp.line, measured)
    marker = Marker.objects.get(pk=marker_id)
    if marker.line_id != insp.line_id:
        raise ValidationError(
            {"marker": f"界桩 {marker.number} 不在界线 {insp.line.name} 上 / not on this line"}
        )
    if action not in Action.values:
        raise ValidationError({"action": f"未知处理措施 {action} / unknown action"})
    stored = [(_photo_file(p), p) for p in photos]
    existing = MarkerFinding.objects.filter(inspection=insp, marker=marker).first()
    have_photos = len(photos) + (existing.photos.count() if existing else 0)
    recorded = shapely.Point(marker.point.x, marker.point.y)
    problems = rules.validate_finding(
        condition,
        have_photos,
        shapely.Point(measured.x, measured.y) if measured is not None else None,
        recorded,
        moved_tolerance_m=settings.GEO_MZ_MARKER_MOVED_TOLERANCE_M,
    )
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValidationError({p.field: p.message for p in errors})
    finding = existing or MarkerFinding(inspection=insp, marker=marker)
    finding.condition = condition
    finding.repainted = repainted
    finding.measured_point = measured
    finding.offset_m = (
        round(rules.offset(recorded, shapely.Point(measured.x, measured.y)).distance_m, 3)
        if measured is not None
        else None
    )
    finding.action = action
    finding.bearings_intact = bearings_intact
    finding.note = note
    _save(finding, user)
    for file, p in stored:
        FindingPhoto.objects.create(finding=finding, file=file, caption=p.name[:200])
    _bump(insp, user)
    finding.warnings = [p.message for p in problems if p.severity != "error"]  # type: ignore[attr-defined]
    return finding


@transaction.atomic
def segment_finding_record(
    inspection_id: int,
    *,
    section: str,
    terrain_change: str = "",
    recognisable: bool = True,
    construction: str = "",
    dispute: str = "",
    handling: str = "",
    expected_version: int | None = None,
    user=None,
) -> SegmentFinding:
    insp = _lock_inspection(inspection_id, expected_version)
    _guard(user, insp.line.side_codes)
    if not section.strip():
        raise ValidationError({"section": "请填写界线段 / the section is required"})
    if dispute.strip() and not handling.strip():
        raise ValidationError({"handling": "发现争议时须填写处理情况 / say how the dispute was handled"})
    seg = SegmentFinding(
        inspection=insp,
        section=section.strip(),
        terrain_change=terrain_change,
        recognisable=recognisable,
        construction=construction,
        dispute=dispute,
        handling=handling,
    )
    _save(seg, user)
    _bump(insp, user)
    return seg


def confirming_side(insp: Inspection, user, side: str | None = None) -> str:
    """ "a" or "b": the side this user confirms for. The user's jurisdiction must contain that side's
    division; a user whose jurisdiction contains both (a city or an admin) must name the side."""
    require_role(user, APP)
    code_a, code_b = insp.line.side_codes
    scope = user_jurisdiction_code(user)
    in_a = bool(scope) and code_within(code_a, scope)
    in_b = bool(scope) and code_within(code_b, scope)
    if user.is_superuser or (is_admin(user) and not scope):
        in_a = in_b = True
    if side not in (None, "a", "b"):
        raise ValidationError({"side": "side 应为 a 或 b / side must be a or b"})
    if not in_a and not in_b:
        raise PermissionDenied(
            f"确认人须为界线一方（{insp.line.division_a.name} 或 {insp.line.division_b.name}）的界线工作人员 / "
            "the confirming user must belong to one side of the line"
        )
    if side is None:
        if in_a and in_b:
            raise ValidationError(
                {"side": "您的管辖范围包含双方，请指明代表哪一方确认 / say which side you confirm for"}
            )
        return "a" if in_a else "b"
    if (side == "a" and not in_a) or (side == "b" and not in_b):
        name = insp.line.division_a.name if side == "a" else insp.line.division_b.name
        raise PermissionDenied(f"您不属于 {name}，不能代表该方确认 / you do not belong to that side")
    return side


@transaction.atomic
def inspection_confirm(
    inspection_id: int, *, user, side: str | None = None, expected_version: int | None = None, now=None
) -> Inspection:
    """One side confirms. The second confirmation locks the record and updates the markers' latest
    condition. Concurrent confirmations serialise on the row lock."""
    insp = _lock_inspection(inspection_id, expected_version, editing=False)
    if insp.status == InspectionStatus.LOCKED:
        raise ConflictError(f"联检记录 {insp.record_no} 已锁定 / already locked", "locked")
    which = confirming_side(insp, user, side)
    other_by = insp.confirmed_b_by_id if which == "a" else insp.confirmed_a_by_id
    if getattr(insp, f"confirmed_{which}_by_id"):
        raise ConflictError(
            f"{'甲' if which == 'a' else '乙'}方已确认 / this side has already confirmed", "confirmed"
        )
    if other_by == user.pk:
        raise ConflictError("同一用户不能代表双方确认 / one user cannot confirm for both sides", "same_user")
    problems = inspection_completeness(insp)
    if problems:
        raise ValidationError({"inspection": problems})
    now = now or timezone.now()
    setattr(insp, f"confirmed_{which}_by", user)
    setattr(insp, f"confirmed_{which}_at", now)
    if insp.confirmed_a_by_id and insp.confirmed_b_by_id:
        insp.status = InspectionStatus.LOCKED
        insp.locked_at = now
        _bump(insp, user)
        _apply_to_markers(insp)
    else:
        insp.status = InspectionStatus.CONFIRMING
        _bump(insp, user)
    return insp


@transaction.atomic
def inspection_withdraw(inspection_id: int, *, user, expected_version: int | None = None) -> Inspection:
    """Withdraw one's own side's confirmation before the other side has confirmed."""
    insp = _lock_inspection(inspection_id, expected_version, editing=False)
    if insp.status != InspectionStatus.CONFIRMING:
        raise ConflictError("只有一方已确认、尚未锁定的记录可以撤回确认 / nothing to withdraw", "state")
    for which in ("a", "b"):
        if getattr(insp, f"confirmed_{which}_by_id") == user.pk:
            setattr(insp, f"confirmed_{which}_by", None)
            setattr(insp, f"confirmed_{which}_at", None)
            insp.status = InspectionStatus.DRAFT
            _bump(insp, user)
            return insp
    raise PermissionDenied("只能撤回本人的确认 / you can only withdraw your own confirmation")


def inspection_completeness(insp: Inspection) -> list[str]:
    """What still prevents confirmation: every current marker of the line needs a finding, and the
    dates and participants must be filled in."""
    problems = []
    missing = (
        Marker.objects.filter(line=insp.line)
        .exclude(status=LifecycleStatus.RETIRED)
        .exclude(findings__inspection=insp)
        .values_list("number", flat=True)
    )
    if insp.kind == InspectionKind.REGULAR and missing:
        shown = "、".join(list(missing[:5]))
        more = f" 等 {missing.count()} 个" if missing.count() > 5 else ""
        problems.append(f"界桩 {shown}{more} 尚无检查结果 / markers without a finding")
    if (
        insp.kind == InspectionKind.ADHOC
        and not insp.marker_findings.exists()
        and not insp.segment_findings.exists()
    ):
        problems.append("专项检查至少需要一条检查结果 / an ad-hoc inspection needs at least one finding")
    if not insp.participants_a.strip() or not insp.participants_b.strip():
        problems.append("请填写双方参加人员 / list the participants of both sides")
    if not insp.end_date:
        problems.append("请填写结束日期 / the end date is required")
    return problems


def _apply_to_markers(insp: Inspection) -> None:
    """A locked inspection becomes the markers' latest known condition (unless a later one exists)."""
    for f in insp.marker_findings.select_related("marker"):
        m = f.marker
        date = insp.end_date or insp.start_date
        if m.last_inspected_on and m.last_inspected_on > date:
            continue
        m.last_condition = f.condition
        m.last_inspected_on = date
        m.needs_repair = f.condition != Condition.INTACT and f.action not in REPAIRED_ACTIONS
        m.save(update_fields=["last_condition", "last_inspected_on", "needs_repair", "updated_at"])


@transaction.atomic
def inspection_correct(inspection_id: int, *, user=None) -> Inspection:
    """A correction of a locked record: a new draft linked to it, pre-filled with its findings."""
    old = (
        Inspection.objects.select_for_update(of=("self",))
        .select_related("line", "lead")
        .get(pk=inspection_id)
    )
    if old.status != InspectionStatus.LOCKED:
        raise ConflictError("只有已锁定的记录需要更正记录；未锁定的请直接修改 / edit it directly", "state")
    new = inspection_create(
        old.line_id,
        round_year=old.round_year,
        kind=old.kind,
        reason=old.reason,
        lead_code=old.lead.code,
        start_date=old.start_date,
        end_date=old.end_date,
        participants_a=old.participants_a,
        participants_b=old.participants_b,
        corrects=old,
        user=user,
    )
    for f in old.marker_findings.all():
        photos = list(f.photos.all())
        f.pk = None
        f.id = None
        f.inspection = new
        f.save()
        for ph in photos:
            FindingPhoto.objects.create(finding=f, file=ph.file.name, caption=ph.caption)
    for s in old.segment_findings.all():
        s.pk = None
        s.id = None
        s.inspection = new
        s.save()
    new.conclusion = old.conclusion
    _save(new, user)
    return new


@transaction.atomic
def inspection_file(
    inspection_id: int,
    *,
    filed_on: dt.date,
    filed_with: str,
    agreement: PhotoUpload | None = None,
    agreement_note: str = "",
    user=None,
) -> Inspection:
    """Record the filing with the approving authority (and the 平安边界 agreement) on a locked record:
    the filing happens after both sides sign, so it is the one thing added after locking."""
    insp = _lock_inspection(inspection_id, None, editing=False)
    _guard(user, insp.line.side_codes)
    if insp.status != InspectionStatus.LOCKED:
        raise ConflictError("双方确认并锁定后才能备案 / file only after both sides confirmed", "state")
    if not filed_with.strip():
        raise ValidationError({"filed_with": "请填写备案机关 / the authority is required"})
    if insp.locked_at and filed_on < insp.locked_at.date():
        raise ValidationError({"filed_on": "备案日期不能早于双方确认日期 / filed before confirmation"})
    insp.filed_on = filed_on
    insp.filed_with = filed_with.strip()
    if agreement is not None:
        # a document by content (PDF, image, Office); the inspection had no type check at all
        agreement_file = stored_document(agreement.content, field="agreement", name=agreement.name)
        insp.peace_agreement.save(agreement_file.name, agreement_file, save=False)
    if agreement_note:
        insp.peace_agreement_note = agreement_note
    _bump(insp, user)
    return insp
