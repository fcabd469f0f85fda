"""Import reports shared by every importer (pure, no Django).

Every import runs as a dry run first and reports per row; a real run commits all rows or none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FieldError:
    """One problem: which field, what is wrong, and the offending value."""

    field: str
    message: str
    value: str | None = None


@dataclass
class RowResult:
    """Outcome for one input row. `row` is 1-based as a user counts: the CSV line number (the header
    is line 1) or the feature number in a vector file."""

    row: int
    code: str = ""
    name: str = ""
    action: str = "unchanged"  # create | update | unchanged | error
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def error(self, field_name: str, message: str, value: Any = None) -> None:
        self.errors.append(FieldError(field_name, message, None if value is None else str(value)))
        self.action = "error"


@dataclass
class ImportReport:
    kind: str
    source: str
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)
    file_errors: list[FieldError] = field(default_factory=list)
    committed: bool = False
    # Importers that list only some rows (the bulk importer: error rows only, capped) set the true
    # totals here; counts(), ok and summary() then use them instead of counting `rows`.
    row_count: int | None = None
    counted: dict[str, int] | None = None

    @property
    def ok(self) -> bool:
        return (
            not self.file_errors
            and not any(r.errors for r in self.rows)
            and not (self.counted or {}).get("error")
        )

    @property
    def error_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    def counts(self) -> dict[str, int]:
        counter = Counter(self.counted) if self.counted is not None else Counter(r.action for r in self.rows)
        return {k: counter.get(k, 0) for k in ("create", "update", "unchanged", "error")}

    @property
    def total_rows(self) -> int:
        """Rows in the file (not only the listed ones)."""
        return self.row_count if self.row_count is not None else len(self.rows)

    def file_error(self, field_name: str, message: str, value: Any = None) -> None:
        self.file_errors.append(FieldError(field_name, message, None if value is None else str(value)))

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source": self.source,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "committed": self.committed,
            "counts": self.counts(),
            "row_count": self.total_rows,
            "file_errors": [asdict(e) for e in self.file_errors],
            "rows": [asdict(r) for r in self.rows],
        }

    def summary(self) -> str:
        c = self.counts()
        state = (
            "已提交 committed"
            if self.committed
            else ("试运行 dry run" if self.dry_run else "未提交 not committed")
        )
        return (
            f"{self.kind} {self.source}: {self.total_rows} 行/rows — 新增 create {c['create']}, "
            f"更新 update {c['update']}, 不变 unchanged {c['unchanged']}, 错误 error {c['error']} — {state}"
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """The report back from `as_dict()` (e.g. a background job's stored result)."""
        rows = [
            RowResult(
                row=r["row"],
                code=r.get("code", ""),
                name=r.get("name", ""),
                action=r.get("action", "unchanged"),
                errors=[FieldError(**e) for e in r.get("errors", [])],
                warnings=list(r.get("warnings", [])),
            )
            for r in data.get("rows", [])
        ]
        return cls(
            kind=data["kind"],
            source=data["source"],
            dry_run=data["dry_run"],
            rows=rows,
            file_errors=[FieldError(**e) for e in data.get("file_errors", [])],
            committed=data.get("committed", False),
            row_count=data.get("row_count"),
            counted=dict(data["counts"]) if "counts" in data else None,
        )

    def as_text(self, *, all_rows: bool = False) -> str:
        lines = [self.summary()]
        for e in self.file_errors:
            lines.append(
                f"  文件 file: [{e.field}] {e.message}" + (f" (值 value: {e.value})" if e.value else "")
            )
        for r in self.rows:
            if r.errors or all_rows or r.warnings:
                head = f"  第 {r.row} 行 row {r.row} {r.code} {r.name}: {r.action}"
                lines.append(head)
                for e in r.errors:
                    lines.append(
                        f"    ✗ [{e.field}] {e.message}" + (f" (值 value: {e.value})" if e.value else "")
                    )
                for w in r.warnings:
                    lines.append(f"    ! {w}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Geometry type of an imported feature (issue 14: each importer enforces the type its layer needs)
# ---------------------------------------------------------------------------------------------------

#: The report's field name for a feature's geometry, as an officer reads it.
GEOMETRY_FIELD = "几何"
#: Layer kinds → the OGC geometry type names a layer of that kind stores.
GEOMETRY_KIND_TYPES: dict[str, tuple[str, ...]] = {
    "point": ("Point",),
    "line": ("LineString", "MultiLineString"),
    "polygon": ("Polygon", "MultiPolygon"),
}
_KIND_LABELS = {
    "point": ("点要素", "a point"),
    "line": ("线要素", "a line"),
    "polygon": ("面要素", "a polygon"),
}


def geometry_type_message(kinds: tuple[str, ...], got: str) -> str:
    """The row error for a geometry of type `got` (an OGC name such as "LineString"; "" for a
    missing one, "EMPTY" for an empty one) where one of `kinds` ("point", "line", "polygon") is
    needed."""
    zh = "或".join(_KIND_LABELS[k][0] for k in kinds)
    en = " or ".join(_KIND_LABELS[k][1] for k in kinds)
    if not got:
        return f"缺少几何，应为{zh} / missing geometry: must be {en}"
    if got == "EMPTY":
        return f"几何为空，应为{zh} / empty geometry: must be {en}"
    return f"应为{zh}，收到 {got} / must be {en}, got {got}"


def geometry_of_kind(row: RowResult, geom: Any, *kinds: str, field_name: str = GEOMETRY_FIELD) -> Any:
    """`geom` (a shapely geometry, or None) when its type suits one of `kinds`, else None with the
    row's error naming the field, the wanted kind and the type received.

    Empty and missing geometries are refused. A MultiPoint of exactly one point is accepted where a
    point is wanted and returned as that point (GIS tools often write single points as multipoints,
    e.g. a shapefile converted from a GeoPackage "MultiPoint" layer); with more points it is refused,
    as we would otherwise have to choose one silently. Lines and polygons are returned as given:
    the caller decides whether its column stores the Multi form.
    """
    if geom is None or getattr(geom, "is_empty", True):
        row.error(field_name, geometry_type_message(kinds, "" if geom is None else "EMPTY"))
        return None
    got = geom.geom_type
    if "point" in kinds and got == "MultiPoint" and len(geom.geoms) == 1:
        return geom.geoms[0]
    if any(got in GEOMETRY_KIND_TYPES[k] for k in kinds):
        return geom
    row.error(field_name, geometry_type_message(kinds, got))
    return None


def points_of_kind(geoms: Any) -> tuple[Any, Any, Any, Any]:
    """`geometry_of_kind(…, "point")` over a numpy array of shapely geometries (the bulk importer's
    batches): (geometries with one-point MultiPoints replaced by their point, mask of usable points,
    mask of refused geometries, their messages as an object array, "" elsewhere).

    Missing geometries (None) and empty points are in neither mask: a layer may then give the row's
    position in 经度/纬度 columns instead. Any other empty geometry is refused."""
    import numpy as np
    import shapely

    geoms = np.array(geoms, dtype=object)
    type_id = shapely.get_type_id(geoms)
    one = (type_id == 4) & (shapely.get_num_geometries(geoms) == 1)
    geoms[one] = shapely.get_geometry(geoms[one], 0)
    type_id = np.where(one, 0, type_id)
    point = (type_id == 0) & ~shapely.is_empty(geoms)
    other = type_id > 0
    messages = np.full(len(geoms), "", dtype=object)
    for i in np.flatnonzero(other).tolist():
        got = "EMPTY" if geoms[i].is_empty else geoms[i].geom_type
        messages[i] = geometry_type_message(("point",), got)
    return geoms, point, other, messages
