"""The naming-case state machine (pure: no Django).

申报 application → 审核 review → 公示 notice → 报批 submitted → 批准 approved → 备案 filed → 公告 announced.
A case can be rejected (不予批准) or withdrawn (撤回) at every open step. Filing and announcement are
each due a configurable number of days after approval (the 2024 measures: 15 days); the notice period
is configurable (local practice: 7–9 days).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from geo_mz.core.statemachine import StateMachine, WorkflowError

APPLICATION = "application"
REVIEW = "review"
NOTICE = "notice"
SUBMITTED = "submitted"
APPROVED = "approved"
FILED = "filed"
ANNOUNCED = "announced"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

OPEN_STATES = (APPLICATION, REVIEW, NOTICE, SUBMITTED, APPROVED, FILED)
FINAL_STATES = (ANNOUNCED, REJECTED, WITHDRAWN)
STATE_LABELS = {
    APPLICATION: "申报",
    REVIEW: "审核",
    NOTICE: "公示",
    SUBMITTED: "报批",
    APPROVED: "批准",
    FILED: "备案",
    ANNOUNCED: "公告",
    REJECTED: "不予批准",
    WITHDRAWN: "撤回",
}

# action → (allowed source states, target state)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": ((APPLICATION,), REVIEW),
    "start_notice": ((REVIEW,), NOTICE),
    "submit": ((NOTICE,), SUBMITTED),
    "approve": ((SUBMITTED,), APPROVED),
    "file": ((APPROVED,), FILED),
    "announce": ((FILED,), ANNOUNCED),
    "reject": ((APPLICATION, REVIEW, NOTICE, SUBMITTED), REJECTED),
    "withdraw": ((APPLICATION, REVIEW, NOTICE, SUBMITTED), WITHDRAWN),
}
ACTION_LABELS = {
    "accept": "受理并审核",
    "start_notice": "开始公示",
    "submit": "报请批准",
    "approve": "登记批准",
    "file": "登记备案",
    "announce": "发布公告",
    "reject": "不予批准",
    "withdraw": "撤回",
}


@dataclass(frozen=True, slots=True)
class WorkflowConfig:
    """Local periods in calendar days. `review_days` and `submit_days` are internal targets."""

    review_days: int = 10
    notice_days: int = 7
    submit_days: int = 20
    filing_days: int = 15
    announcement_days: int = 15

    @classmethod
    def from_mapping(cls, data: dict[str, int] | None) -> WorkflowConfig:
        data = dict(data or {})
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"未知的流程配置项 / unknown workflow settings: {', '.join(sorted(unknown))}")
        for key, value in data.items():
            if not isinstance(value, int) or value < 1 or value > 365:
                raise ValueError(f"流程配置 {key} 必须是 1–365 的整数天数 / {key} must be 1..365 days")
        return cls(**data)


MACHINE = StateMachine(TRANSITIONS, ACTION_LABELS, STATE_LABELS)
allowed_actions = MACHINE.allowed_actions
next_state = MACHINE.next_state


def due_date(
    state: str, entered_on: dt.date, config: WorkflowConfig, *, approved_on: dt.date | None = None
) -> dt.date | None:
    """When the step that starts in `state` on `entered_on` is due (None for final states)."""
    if state in (APPLICATION, REVIEW):
        return entered_on + dt.timedelta(days=config.review_days)
    if state == NOTICE:
        return entered_on + dt.timedelta(days=config.notice_days)
    if state == SUBMITTED:
        return entered_on + dt.timedelta(days=config.submit_days)
    if state == APPROVED:
        return (approved_on or entered_on) + dt.timedelta(days=config.filing_days)
    if state == FILED:
        return (approved_on or entered_on) + dt.timedelta(days=config.announcement_days)
    return None


def notice_window(start: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """A notice of `days` days starting on `start` ends on start + days - 1 (inclusive)."""
    if days < 1:
        raise WorkflowError(
            "公示天数至少为 1 天 / the notice period must be at least one day", code="notice_days"
        )
    return start, start + dt.timedelta(days=days - 1)


def overdue_days(due_on: dt.date | None, today: dt.date) -> int:
    """Days past the due date (0 when not overdue or no deadline)."""
    if due_on is None:
        return 0
    return max(0, (today - due_on).days)
