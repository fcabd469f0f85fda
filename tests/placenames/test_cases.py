"""Naming cases through every state on real PostGIS: rule checks, lineage, deadlines, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from geo_mz.core import roles
from geo_mz.core.errors import ConflictError
from geo_mz.placenames import selectors, services
from geo_mz.placenames.models import CaseEvent, NamedFeature, NamingCase, PlaceName
from tests.pure.pdf_text import pdf_strings

pytestmark = pytest.mark.django_db

LINE = {"type": "LineString", "coordinates": [[113.930, 29.740], [113.936, 29.741]]}
DAY0 = dt.date(2026, 3, 2)


def _line(lonlats):
    from django.conf import settings
    from django.contrib.gis.geos import LineString

    from geo_mz.core import crs

    return LineString(
        [crs.lonlat_to_projected(x, y, settings.GEO_MZ_SRID) for x, y in lonlats], srid=settings.GEO_MZ_SRID
    )


def _officer(make_user, code="421281"):
    return make_user(roles.PLACENAME_OFFICER, jurisdiction_code=code)


def _new_case(user, name="栖霞路", *, kind="new", items=None, division_code="421281002"):
    return services.naming_case_create(
        kind=kind,
        division_code=division_code,
        title=f"{name}命名",
        applicant="赤马港街道办事处",
        reason="新建道路",
        items=items
        or [
            {
                "name": name,
                "kind": "road",
                "geom": _line([(113.930, 29.740), (113.936, 29.741)]),
                "width_m": 24,
            }
        ],
        user=user,
        today=DAY0,
    )


def _run_to_approved(case, user, *, decision="赤政函〔2026〕31号"):
    services.naming_case_transition(case.pk, "accept", user=user, today=DAY0)
    services.naming_case_transition(
        case.pk, "start_notice", user=user, today=DAY0, payload={"notice_days": 7}
    )
    services.naming_case_transition(case.pk, "submit", user=user, today=DAY0 + dt.timedelta(days=8))
    return services.naming_case_transition(
        case.pk,
        "approve",
        user=user,
        today=DAY0 + dt.timedelta(days=20),
        payload={
            "decision_number": decision,
            "decided_on": DAY0 + dt.timedelta(days=20),
            "approving_body": "赤壁市人民政府",
        },
    )


def test_new_name_runs_through_every_state_and_becomes_active(make_user):
    # Given an officer of 赤壁市 and a proposal for a new road
    officer = _officer(make_user)
    case = _new_case(officer)
    assert case.state == "application" and case.due_on == DAY0 + dt.timedelta(days=10)
    assert case.items.get().romanization == "Qixia Lu"

    # When the case moves through review and a 7-day notice with one comment
    services.naming_case_transition(case.pk, "accept", user=officer, today=DAY0)
    case = services.naming_case_transition(
        case.pk, "start_notice", user=officer, today=DAY0, payload={"notice_days": 7}
    )
    assert (case.notice_start, case.notice_end) == (DAY0, DAY0 + dt.timedelta(days=6))
    comment = services.naming_case_comment_add(case, content="建议保留原名", received_on=DAY0, user=officer)

    # then it cannot be submitted before the notice ends, nor with an unanswered comment
    with pytest.raises(ValidationError, match="公示期"):
        services.naming_case_transition(case.pk, "submit", user=officer, today=DAY0 + dt.timedelta(days=3))
    with pytest.raises(ValidationError, match="尚未处理"):
        services.naming_case_transition(case.pk, "submit", user=officer, today=DAY0 + dt.timedelta(days=8))
    services.naming_case_comment_answer(comment, response="经论证维持拟用名", user=officer)
    services.naming_case_transition(case.pk, "submit", user=officer, today=DAY0 + dt.timedelta(days=8))

    # When the government approves, the name is approved (not yet in force) with its decision
    approved_on = DAY0 + dt.timedelta(days=20)
    case = services.naming_case_transition(
        case.pk,
        "approve",
        user=officer,
        today=approved_on,
        payload={
            "decision_number": "赤政函〔2026〕31号",
            "decided_on": approved_on,
            "approving_body": "赤壁市人民政府",
        },
    )
    item = case.items.get()
    assert item.result_name.status == "approved" and item.feature.status == "approved"
    assert case.filing_due_on == approved_on + dt.timedelta(days=15)
    assert case.announcement_due_on == approved_on + dt.timedelta(days=15)

    # and after filing and announcement it is active, with the whole timeline recorded
    services.naming_case_transition(
        case.pk, "file", user=officer, today=approved_on, payload={"filed_with": "咸宁市民政局"}
    )
    case = services.naming_case_transition(
        case.pk,
        "announce",
        user=officer,
        today=approved_on + dt.timedelta(days=2),
        payload={"announcement_number": "赤民地公〔2026〕1号"},
    )
    record = PlaceName.objects.get(pk=item.result_name_id)
    assert case.state == "announced" and record.status == "active" and record.valid_from == approved_on
    assert record.decision.number == "赤政函〔2026〕31号"
    assert record.feature.status == "active" and record.feature.length_m > 500
    assert record.feature.divisions.filter(code="421281002").exists() or record.feature.divisions.exists()
    actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
    assert actions == ["create", "accept", "start_notice", "submit", "approve", "file", "announce"]


def test_announcement_pdf_lists_the_names_in_chinese(make_user):
    officer = _officer(make_user)
    case = _run_to_approved(_new_case(officer, "栖凤路"), officer)
    announcement = selectors.case_announcement(case)
    assert announcement.entries[0].name == "栖凤路" and announcement.entries[0].romanization == "Qifeng Lu"
    assert "赤壁市人民政府" in announcement.body
    from geo_mz.placenames import documents

    pdf = documents.announcement_pdf(announcement, compress=False)
    assert pdf.startswith(b"%PDF")
    assert "栖凤路" in pdf_strings(pdf) and "Qifeng Lu" in pdf_strings(pdf)


def test_rename_retires_the_old_name_and_links_the_new_one(make_user, make_road):
    # Given a road named in 2010
    officer = _officer(make_user)
    road = make_road("建设路", decided_on=dt.date(2010, 5, 1))
    old = road.current_name

    # When a rename case is approved and announced
    case = _new_case(
        officer, kind="rename", items=[{"name": "金桂路", "feature_code": road.code}], division_code="421281"
    )
    case = _run_to_approved(case, officer, decision="赤政函〔2026〕40号")
    assert road.current_name.pk == old.pk  # approved, not yet announced: the old name is still in force
    services.naming_case_transition(
        case.pk,
        "file",
        user=officer,
        today=DAY0 + dt.timedelta(days=21),
        payload={"filed_with": "咸宁市民政局"},
    )
    services.naming_case_transition(
        case.pk,
        "announce",
        user=officer,
        today=DAY0 + dt.timedelta(days=22),
        payload={"announcement_number": "赤民地公〔2026〕2号"},
    )

    # then the history shows both names with dates and decision documents
    history = selectors.feature_history(road)
    assert [h["name"] for h in history] == ["建设路", "金桂路"]
    assert history[0]["status"] == "retired" and history[0]["valid_to"] == DAY0 + dt.timedelta(days=20)
    assert (
        history[0]["decision_number"].startswith("测试批文")
        and history[1]["decision_number"] == "赤政函〔2026〕40号"
    )
    assert history[1]["previous_id"] == old.pk
    # and the name on any date is answerable
    assert selectors.names_on_date(dt.date(2015, 1, 1)).filter(feature=road).get().name == "建设路"
    assert selectors.names_on_date(DAY0 + dt.timedelta(days=30)).filter(feature=road).get().name == "金桂路"


def test_cancellation_retires_the_name_and_the_feature(make_user, make_road):
    officer = _officer(make_user)
    road = make_road("废弃路")
    case = _run_to_approved(
        _new_case(officer, kind="cancel", items=[{"feature_code": road.code}], division_code="421281"),
        officer,
    )
    services.naming_case_transition(
        case.pk,
        "file",
        user=officer,
        today=DAY0 + dt.timedelta(days=21),
        payload={"filed_with": "咸宁市民政局"},
    )
    services.naming_case_transition(
        case.pk,
        "announce",
        user=officer,
        today=DAY0 + dt.timedelta(days=21),
        payload={"announcement_number": "赤民地公〔2026〕3号"},
    )
    road.refresh_from_db()
    assert road.status == "retired" and road.current_name is None
    assert road.names.get().status == "retired"


def test_duplicate_of_an_existing_road_blocks_the_notice(make_user, make_road):
    # Given 人民路 exists in the county
    officer = _officer(make_user)
    make_road("人民路")
    # When 人民路 is proposed again, the case records the error finding
    case = _new_case(officer, "人民路")
    findings = case.items.get().findings
    assert any(f["rule_id"] == "duplicate.exact" and f["severity"] == "error" for f in findings)
    services.naming_case_transition(case.pk, "accept", user=officer, today=DAY0)
    # then the notice cannot start until the name is changed
    with pytest.raises(ValidationError, match="规则错误"):
        services.naming_case_transition(case.pk, "start_notice", user=officer, today=DAY0)
    services.naming_case_item_update(case, 1, {"name": "人和路"}, user=officer)
    services.naming_case_transition(case.pk, "start_notice", user=officer, today=DAY0)


def test_homophone_is_flagged_with_the_other_roads_location(make_user, make_road):
    officer = _officer(make_user)
    make_road("中山路", ((113.90, 29.72), (113.91, 29.72)))
    case = _new_case(officer, "钟山路")
    homophones = [f for f in case.items.get().findings if f["rule_id"].startswith("homophone")]
    assert homophones, case.items.get().findings
    conflict = homophones[0]["conflicts"][0]
    assert conflict["name"] == "中山路"
    assert conflict["lon"] == pytest.approx(113.905, abs=0.003) and conflict["lat"] == pytest.approx(
        29.72, abs=0.003
    )


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("", "为空"),
        ("   ", "为空"),
        ("路", ""),
        ("ＡＢ路", ""),
        ("Zhongshan路", ""),
        ("中山 路", ""),
        ("中山坡", ""),
    ],
)
def test_unusable_names_are_refused_and_nothing_is_written(make_user, name, fragment):
    officer = _officer(make_user)
    before = (NamingCase.objects.count(), NamedFeature.objects.count())
    with pytest.raises(ValidationError) as exc:
        _new_case(officer, name)
    assert "items[1]" in str(exc.value.message_dict)
    assert fragment in str(exc.value)
    assert (NamingCase.objects.count(), NamedFeature.objects.count()) == before


def test_officer_outside_the_jurisdiction_is_refused(make_user):
    other = _officer(make_user, code="421202")
    with pytest.raises(PermissionDenied, match="管辖"):
        _new_case(other)
    viewer = make_user(roles.VIEWER)
    with pytest.raises(PermissionDenied):
        _new_case(viewer)


def test_out_of_order_and_stale_transitions_are_refused(make_user):
    officer = _officer(make_user)
    case = _new_case(officer)
    with pytest.raises(ConflictError, match="不能执行"):
        services.naming_case_transition(case.pk, "approve", user=officer)
    services.naming_case_transition(
        case.pk, "accept", user=officer, expected_version=case.version, today=DAY0
    )
    # a second officer's form still shows the old version: refused, not silently applied
    with pytest.raises(ConflictError) as exc:
        services.naming_case_transition(case.pk, "accept", user=officer, expected_version=case.version)
    assert exc.value.code == "stale"
    with pytest.raises(ValidationError, match="理由"):
        services.naming_case_transition(case.pk, "reject", user=officer, comment=" ")
    case = services.naming_case_transition(case.pk, "reject", user=officer, comment="与规划不符")
    assert case.state == "rejected"
    with pytest.raises(ConflictError):
        services.naming_case_transition(case.pk, "withdraw", user=officer, comment="x")


def test_approval_requires_a_complete_decision_document(make_user):
    officer = _officer(make_user)
    case = _new_case(officer)
    services.naming_case_transition(case.pk, "accept", user=officer, today=DAY0)
    services.naming_case_transition(case.pk, "start_notice", user=officer, today=DAY0)
    services.naming_case_transition(case.pk, "submit", user=officer, today=DAY0 + dt.timedelta(days=10))
    with pytest.raises(ValidationError) as exc:
        services.naming_case_transition(
            case.pk, "approve", user=officer, payload={"decision_number": "赤政函〔2026〕9号"}
        )
    assert {"decided_on", "approving_body"} <= set(exc.value.message_dict)
    assert NamingCase.objects.get(pk=case.pk).state == "submitted"
    assert not PlaceName.objects.filter(case=case).exists()


def test_queue_orders_overdue_cases_first(make_user):
    officer = _officer(make_user)
    older = _new_case(officer, "甲秀路")
    newer = services.naming_case_create(
        kind="new",
        division_code="421281002",
        title="乙新路命名",
        applicant="x",
        items=[{"name": "秀园路", "geom": _line([(113.93, 29.75), (113.94, 29.75)])}],
        user=officer,
        today=DAY0 + dt.timedelta(days=9),
    )
    entries = selectors.case_queue(officer, today=DAY0 + dt.timedelta(days=12))
    numbers = [e.case.number for e in entries]
    assert numbers.index(older.number) < numbers.index(newer.number)
    first = next(e for e in entries if e.case.pk == older.pk)
    assert first.overdue_days == 2 and "accept" in first.next_actions
    outsider = _officer(make_user, code="421202")
    assert selectors.case_queue(outsider) == []
