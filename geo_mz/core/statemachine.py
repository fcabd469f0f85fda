"""A small declarative state machine for case files (pure: no Django).

Each case type (naming cases, house-number cases, …) declares its transitions as data:
``action → (allowed source states, target state)`` plus Chinese labels. The machine answers
"which actions are allowed now" and "where does this action lead", with an officer-readable
message when an action is not allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


class WorkflowError(Exception):
    """A transition that the state machine does not allow, with a message for the officer."""

    def __init__(self, message: str, code: str = "invalid_transition") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class StateMachine:
    transitions: Mapping[str, tuple[tuple[str, ...], str]]
    action_labels: Mapping[str, str]
    state_labels: Mapping[str, str]
    noun: str = "案件"

    def allowed_actions(self, state: str) -> list[str]:
        return [action for action, (sources, _) in self.transitions.items() if state in sources]

    def next_state(self, state: str, action: str) -> str:
        """The state after `action`, or WorkflowError naming what is allowed instead."""
        if action not in self.transitions:
            raise WorkflowError(f"未知操作 {action} / unknown action", code="unknown_action")
        sources, target = self.transitions[action]
        if state not in sources:
            allowed = "、".join(self.action_labels[a] for a in self.allowed_actions(state)) or "无"
            raise WorkflowError(
                f"{self.noun}处于“{self.state_labels.get(state, state)}”状态，不能执行“{self.action_labels[action]}”；"
                f"可执行：{allowed} / action '{action}' is not allowed in state '{state}'"
            )
        return target


def add_working_days(start: dt.date, days: int, holidays: Iterable[dt.date] = ()) -> dt.date:
    """The date `days` working days after `start` (Monday–Friday, minus `holidays`).

    ``add_working_days(friday, 1) == next monday``; 0 days returns `start` itself.
    """
    if days < 0:
        raise ValueError("working days must be >= 0")
    off = set(holidays)
    day = start
    remaining = days
    while remaining:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            remaining -= 1
    return day
