"""Read-side queries: inspection schedule, dashboard figures, map layers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch, Q

from geo_mz.boundaries.models import (
    Action,
    BoundaryLine,
    Condition,
    Inspection,
    InspectionKind,
    InspectionStatus,
    Marker,
    MarkerFinding,
)
from geo_mz.core.jurisdiction import jurisdiction_prefix
from geo_mz.core.models import LifecycleStatus


def current_lines(within_code: str | None = None):
    qs = BoundaryLine.objects.exclude(status=LifecycleStatus.RETIRED).select_related(
        "division_a", "division_b"
    )
    if within_code:
        prefix = jurisdiction_prefix(within_code)
        qs = qs.filter(Q(division_a__code__startswith=prefix) | Q(division_b__code__startswith=prefix))
    return qs


def current_markers(line: BoundaryLine | None = None):
    qs = Marker.objects.exclude(status=LifecycleStatus.RETIRED).select_related("line", "responsible")
    return qs.filter(line=line) if line is not None else qs


@dataclass
class LineSchedule:
    line: BoundaryLine
    last_regular_year: int | None
    last_inspection: Inspection | None
    due_year: int
    state: str  # overdue | due | ok | in_progress
    open_inspection: Inspection | None

    @property
    def state_label(self) -> str:
        return {"overdue": "已逾期", "due": "今年到期", "ok": "未到期", "in_progress": "联检进行中"}[
            self.state
        ]


def line_schedules(today: dt.date, within_code: str | None = None) -> list[LineSchedule]:
    """Next regular inspection = last locked regular round + the line's interval (5 years). A line
    never inspected is due from its agreement year (or now, when that is unknown)."""
    lines = list(
        current_lines(within_code).prefetch_related(
            Prefetch("inspections", queryset=Inspection.objects.order_by("-round_year", "-start_date"))
        )
    )
    # Inspections of a line's predecessors count: a re-derived line keeps its schedule.
    predecessors: dict[int, list[Inspection]] = {}
    for line in lines:
        chain, cur = [], line.previous
        while cur is not None:
            chain.extend(cur.inspections.all())
            cur = cur.previous
        predecessors[line.pk] = chain
    out = []
    for line in lines:
        inspections = list(line.inspections.all()) + predecessors[line.pk]
        locked_regular = [
            i for i in inspections if i.kind == InspectionKind.REGULAR and i.status == InspectionStatus.LOCKED
        ]
        last_year = max((i.round_year for i in locked_regular), default=None)
        if last_year is not None:
            due = last_year + line.inspection_interval_years
        elif line.agreement_date:
            due = line.agreement_date.year + line.inspection_interval_years
        else:
            due = today.year
        open_insp = next((i for i in inspections if i.status != InspectionStatus.LOCKED), None)
        if open_insp is not None:
            state = "in_progress"
        elif due < today.year:
            state = "overdue"
        elif due == today.year:
            state = "due"
        else:
            state = "ok"
        last = max(inspections, key=lambda i: i.end_date or i.start_date, default=None)
        out.append(LineSchedule(line, last_year, last, due, state, open_insp))
    out.sort(
        key=lambda s: ({"overdue": 0, "due": 1, "in_progress": 2, "ok": 3}[s.state], s.due_year, s.line.code)
    )
    return out


def annual_figures(year: int, within_code: str | None = None) -> dict[str, int]:
    """The figures a bureau reports: lines inspected, markers checked / repainted / repaired / reset /
    lost, in inspections locked with a round in `year`."""
    lines = current_lines(within_code).values_list("pk", flat=True)
    inspections = Inspection.objects.filter(status=InspectionStatus.LOCKED, round_year=year).filter(
        Q(line__in=lines) | Q(line__successors__in=lines)
    )
    findings = MarkerFinding.objects.filter(inspection__in=inspections)
    agg = findings.aggregate(
        checked=Count("marker", distinct=True),
        repainted=Count("pk", filter=Q(repainted=True) | Q(action=Action.REPAINTED)),
        repaired=Count("pk", filter=Q(action=Action.REPAIRED)),
        reset=Count("pk", filter=Q(action=Action.RESET)),
        damaged=Count("pk", filter=Q(condition=Condition.DAMAGED)),
        moved=Count("pk", filter=Q(condition=Condition.MOVED)),
        lost=Count("pk", filter=Q(condition=Condition.LOST)),
    )
    return {
        "lines_inspected": inspections.values("line").distinct().count(),
        "inspections": inspections.distinct().count(),
        "markers_checked": agg["checked"],
        "markers_repainted": agg["repainted"],
        "markers_repaired": agg["repaired"],
        "markers_reset": agg["reset"],
        "markers_damaged": agg["damaged"],
        "markers_moved": agg["moved"],
        "markers_lost": agg["lost"],
    }


def markers_attention(within_code: str | None = None):
    """Markers not found at their last inspection, and markers needing repair."""
    lines = current_lines(within_code)
    qs = current_markers().filter(line__in=lines)
    return {
        "lost": list(qs.filter(last_condition=Condition.LOST).order_by("number")),
        "repair": list(
            qs.filter(needs_repair=True).exclude(last_condition=Condition.LOST).order_by("number")
        ),
    }


def line_inspection_state(schedules: list[LineSchedule]) -> dict[int, str]:
    return {s.line.pk: s.state for s in schedules}


def inspection_queue(within_code: str | None = None):
    lines = current_lines(within_code)
    return (
        Inspection.objects.filter(line__in=lines)
        .exclude(status=InspectionStatus.LOCKED)
        .select_related("line", "lead")
        .order_by("start_date")
    )


def last_year_with_inspections() -> int | None:
    return Inspection.objects.filter(status=InspectionStatus.LOCKED).aggregate(y=Max("round_year"))["y"]
