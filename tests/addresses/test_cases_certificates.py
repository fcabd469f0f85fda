"""House-number cases 申请 → 编制 → 审核 → 发证, certificates (PDF, verification, reissue, cancel),
change with lineage, the address proof."""

from __future__ import annotations

import subprocess

import pytest
from django.core.exceptions import ValidationError

from geo_mz.addresses import selectors, services
from geo_mz.core.errors import ConflictError
from tests.addresses.conftest import DAY0, offset_point


def _pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _issued_case(road, user=None, chainage=70.0, owner="刘晓梅"):
    case = services.address_case_create(
        owner=owner,
        point=offset_point(road, chainage, 12),
        feature=road,
        phone="13800000000",
        previous_address="蒲圻街道原78号",
        previous_source="房产证",
        today=DAY0,
        user=user,
    )
    for action in ("accept", "submit", "issue"):
        case = services.address_case_transition(
            case.pk, action, user=user, expected_version=case.version, today=DAY0
        )
    return case


def test_full_case_issues_a_verifiable_certificate(ew_road, make_user, tmp_path):
    officer = make_user("地名管理员", "421281003")
    case = services.address_case_create(
        owner="刘晓梅",
        point=offset_point(ew_road, 70, 12),
        feature=ew_road,
        phone="13800000000",
        previous_address="蒲圻街道原78号",
        previous_source="房产证",
        today=DAY0,
        user=officer,
    )
    assert case.state == "application" and case.due_on.isoformat() == "2026-03-16"  # 10 working days
    case = services.address_case_transition(
        case.pk, "accept", user=officer, expected_version=case.version, today=DAY0
    )
    assert case.state == "compile" and case.address.number is not None and case.address.number % 2 == 1
    with pytest.raises(ConflictError, match="版本"):
        services.address_case_transition(
            case.pk, "submit", user=officer, expected_version=case.version - 1, today=DAY0
        )
    case = services.address_case_transition(
        case.pk, "submit", user=officer, expected_version=case.version, today=DAY0
    )
    case = services.address_case_transition(
        case.pk, "issue", user=officer, expected_version=case.version, today=DAY0
    )
    assert case.state == "issued" and case.address.status == "active"
    cert = case.certificates.get()
    assert cert.serial.startswith(f"421281-{DAY0.year}-")
    text = _pdf_text(services.certificate_document(cert), tmp_path)
    assert "门牌证" in text and case.address.label in text.replace(" ", "") and "刘晓梅" in text
    v = selectors.certificate_verify(cert.token)
    assert v.valid and v.address == case.address.full_text and v.issued_on == DAY0
    assert "刘晓梅" not in repr(v) and "138" not in repr(v)


def test_compile_adjustment_is_checked(ew_road):
    case = services.address_case_create(
        owner="王强", point=offset_point(ew_road, 70, 12), feature=ew_road, today=DAY0
    )
    case = services.address_case_transition(case.pk, "accept", expected_version=case.version, today=DAY0)
    case = services.address_case_adjust(case.pk, number_text_value="8", expected_version=case.version)
    assert any(f["severity"] == "error" for f in case.findings)
    with pytest.raises(ValidationError):
        services.address_case_transition(case.pk, "submit", expected_version=case.version, today=DAY0)
    case = services.address_case_adjust(case.pk, number_text_value="9", expected_version=case.version)
    case = services.address_case_transition(case.pk, "submit", expected_version=case.version, today=DAY0)
    assert case.state == "review" and case.address.number == 9


def test_reissue_supersedes_and_a_second_reissue_of_the_old_certificate_is_refused(ew_road):
    case = _issued_case(ew_road)
    old = case.certificates.get()
    new = services.certificate_reissue(old.pk, reason="遗失", kind="补发", today=DAY0)
    old.refresh_from_db()
    assert old.status == "superseded" and new.replaces_id == old.pk and new.issue_kind == "补发"
    with pytest.raises(ConflictError, match="已换发"):
        services.certificate_reissue(old.pk, reason="再次", kind="补发", today=DAY0)
    assert not selectors.certificate_verify(old.token).valid
    assert selectors.certificate_verify(new.token).valid
    services.certificate_cancel(new.pk, reason="房屋拆除", today=DAY0)
    assert not selectors.certificate_verify(new.token).valid


def test_change_retires_the_old_number_with_lineage_and_reissues(ew_road, make_road):
    case = _issued_case(ew_road)
    old = case.address
    other = make_road("鹭鸣路", ((113.945, 29.708), (113.955, 29.708)))
    change = services.address_case_create(
        kind="change",
        owner="刘晓梅",
        replaces=old,
        point=offset_point(other, 100, 12),
        feature=other,
        today=DAY0,
    )
    for action in ("accept", "submit", "issue"):
        change = services.address_case_transition(
            change.pk, action, expected_version=change.version, today=DAY0
        )
    old.refresh_from_db()
    new = change.address
    assert old.status == "retired" and new.previous_id == old.pk and new.label.startswith("鹭鸣路")
    assert [a.pk for a in selectors.address_history(new)] == [old.pk, new.pk]
    assert old.certificates.get().status == "cancelled"
    assert new.certificates.get(status="valid").issue_kind == "换发"


def test_refused_case_leaves_no_active_number(ew_road):
    case = services.address_case_create(
        owner="赵六", point=offset_point(ew_road, 70, 12), feature=ew_road, today=DAY0
    )
    case = services.address_case_transition(case.pk, "accept", expected_version=case.version, today=DAY0)
    case = services.address_case_transition(
        case.pk, "refuse", expected_version=case.version, today=DAY0, comment="不符合条件"
    )
    case.address.refresh_from_db()
    assert case.address.status == "retired" and not case.certificates.exists()
    with pytest.raises(ConflictError, match="不能执行"):
        services.address_case_transition(case.pk, "issue", today=DAY0)


def test_address_proof_lists_the_former_address(ew_road, make_road, tmp_path):
    case = _issued_case(ew_road)
    other = make_road("鹭影路", ((113.945, 29.711), (113.955, 29.711)))
    change = services.address_case_create(
        kind="change",
        owner="刘晓梅",
        replaces=case.address,
        point=offset_point(other, 100, 12),
        feature=other,
        today=DAY0,
    )
    for action in ("accept", "submit", "issue"):
        change = services.address_case_transition(
            change.pk, action, expected_version=change.version, today=DAY0
        )
    text = _pdf_text(
        services.address_proof_document(change.address, holder="刘晓梅", purpose="办理户籍"), tmp_path
    )
    flat = text.replace(" ", "")
    assert "地址证明" in flat and change.address.label in flat and case.address.label in flat


def test_jurisdiction_is_enforced(ew_road, make_user):
    outsider = make_user("地名管理员", "421281100")  # 新店镇 officer, road in 陆水湖街道
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.address_case_create(
            owner="某人", point=offset_point(ew_road, 70, 12), feature=ew_road, today=DAY0, user=outsider
        )
