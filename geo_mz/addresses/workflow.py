"""The house-number case state machine (pure: no Django).

申请 application → 编制 compile (the engine proposes, the officer adjusts) → 审核 review → 发证 issued.
A case can be refused (不予办理) or withdrawn (撤回) while open; review can send it back to compile.
The whole case is due a configurable number of working days after the application
(local practice: 10 working days), weekends and configured holidays excluded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from geo_mz.core.statemachine import StateMachine, WorkflowError, add_working_days

APPLICATION = "application"
COMPILE = "compile"
REVIEW = "review"
ISSUED = "issued"
REFUSED = "refused"
WITHDRAWN = "withdrawn"

OPEN_STATES = (APPLICATION, COMPILE, REVIEW)
FINAL_STATES = (ISSUED, REFUSED, WITHDRAWN)
STATE_LABELS = {
    APPLICATION: "申请",
    COMPILE: "编制",
    REVIEW: "审核",
    ISSUED: "发证",
    REFUSED: "不予办理",
    WITHDRAWN: "撤回",
}
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": ((APPLICATION,), COMPILE),
    "submit": ((COMPILE,), REVIEW),
    "send_back": ((REVIEW,), COMPILE),
    "issue": ((REVIEW,), ISSUED),
    "refuse": ((APPLICATION, COMPILE, REVIEW), REFUSED),
    "withdraw": ((APPLICATION, COMPILE, REVIEW), WITHDRAWN),
}
ACTION_LABELS = {
    "accept": "受理并编制",
    "submit": "提交审核",
    "send_back": "退回编制",
    "issue": "审核通过并发证",
    "refuse": "不予办理",
    "withdraw": "撤回",
}
MACHINE = StateMachine(TRANSITIONS, ACTION_LABELS, STATE_LABELS, noun="门牌案件")
allowed_actions = MACHINE.allowed_actions
next_state = MACHINE.next_state

__all__ = [
    "ACTION_LABELS",
    "FINAL_STATES",
    "OPEN_STATES",
    "STATE_LABELS",
    "AddressWorkflowConfig",
    "WorkflowError",
    "allowed_actions",
    "next_state",
]


@dataclass(frozen=True)
class AddressWorkflowConfig:
    """`working_days`: the whole case, from application to certificate (10 by default).
    `holidays`: public holidays that are not working days (ISO dates)."""

    working_days: int = 10
    holidays: tuple[dt.date, ...] = field(default_factory=tuple)

    @classmethod
    def from_mapping(cls, data: Mapping | None) -> AddressWorkflowConfig:
        data = dict(data or {})
        unknown = set(data) - {"working_days", "holidays"}
        if unknown:
            raise ValueError(f"未知的门牌流程配置项 / unknown settings: {', '.join(sorted(unknown))}")
        days = data.get("working_days", 10)
        if not isinstance(days, int) or not 1 <= days <= 120:
            raise ValueError("门牌办理时限 working_days 必须是 1–120 的整数 / working_days must be 1..120")
        try:
            holidays = tuple(sorted(dt.date.fromisoformat(str(d)) for d in data.get("holidays", ())))
        except ValueError as exc:
            raise ValueError(f"节假日日期格式应为 YYYY-MM-DD / bad holiday date: {exc}") from exc
        return cls(working_days=days, holidays=holidays)

    def due_on(self, applied_on: dt.date) -> dt.date:
        return add_working_days(applied_on, self.working_days, self.holidays)


def working_days_left(due_on: dt.date | None, today: dt.date, holidays: Iterable[dt.date] = ()) -> int | None:
    """Working days from `today` to `due_on` (negative when overdue)."""
    if due_on is None:
        return None
    off = set(holidays)
    sign = 1 if due_on >= today else -1
    a, b = sorted((today, due_on))
    n = sum(
        1
        for k in range(1, (b - a).days + 1)
        if (d := a + dt.timedelta(days=k)).weekday() < 5 and d not in off
    )
    return sign * n
