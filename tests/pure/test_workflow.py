"""The naming-case state machine and deadlines (pure, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from geo_mz.placenames import workflow as wf

HAPPY_PATH = ["accept", "start_notice", "submit", "approve", "file", "announce"]


def test_happy_path_visits_every_state_in_order():
    state, seen = wf.APPLICATION, [wf.APPLICATION]
    for action in HAPPY_PATH:
        state = wf.next_state(state, action)
        seen.append(state)
    assert seen == [wf.APPLICATION, wf.REVIEW, wf.NOTICE, wf.SUBMITTED, wf.APPROVED, wf.FILED, wf.ANNOUNCED]
    assert wf.allowed_actions(wf.ANNOUNCED) == []


@pytest.mark.parametrize("state", [wf.APPLICATION, wf.REVIEW, wf.NOTICE, wf.SUBMITTED])
def test_open_steps_can_be_rejected_or_withdrawn(state):
    assert wf.next_state(state, "reject") == wf.REJECTED
    assert wf.next_state(state, "withdraw") == wf.WITHDRAWN


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (wf.APPLICATION, "approve"),
        (wf.REVIEW, "submit"),
        (wf.APPROVED, "reject"),
        (wf.ANNOUNCED, "withdraw"),
        (wf.REJECTED, "accept"),
    ],
)
def test_out_of_order_actions_are_refused_with_the_allowed_ones(state, action):
    with pytest.raises(wf.WorkflowError) as exc:
        wf.next_state(state, action)
    assert wf.STATE_LABELS[state] in exc.value.message and "可执行" in exc.value.message


def test_unknown_action_is_refused():
    with pytest.raises(wf.WorkflowError) as exc:
        wf.next_state(wf.APPLICATION, "teleport")
    assert exc.value.code == "unknown_action"


def test_deadlines_follow_the_configuration():
    config = wf.WorkflowConfig.from_mapping({"notice_days": 9, "filing_days": 15, "announcement_days": 10})
    day = dt.date(2026, 1, 1)
    approved = dt.date(2026, 2, 1)
    assert wf.due_date(wf.NOTICE, day, config) == dt.date(2026, 1, 10)
    assert wf.due_date(wf.APPROVED, day, config, approved_on=approved) == dt.date(2026, 2, 16)
    assert wf.due_date(wf.FILED, dt.date(2026, 2, 5), config, approved_on=approved) == dt.date(2026, 2, 11)
    assert wf.due_date(wf.ANNOUNCED, day, config) is None
    assert wf.notice_window(day, 7) == (day, dt.date(2026, 1, 7))
    assert wf.overdue_days(dt.date(2026, 1, 5), dt.date(2026, 1, 8)) == 3
    assert wf.overdue_days(dt.date(2026, 1, 5), dt.date(2026, 1, 4)) == 0


@pytest.mark.parametrize("bad", [{"notice": 7}, {"notice_days": 0}, {"notice_days": "7"}])
def test_bad_configuration_is_refused(bad):
    with pytest.raises(ValueError):
        wf.WorkflowConfig.from_mapping(bad)
