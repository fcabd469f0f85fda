"""地名 pages: work queue and search, naming-case form with live rule findings, case page with its
state machine, road page with its name history and signs, sign report, import. Thin over services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _

from geo_mz.core.errors import ConflictError
from geo_mz.core.limits import MAX_NAME_CHARS
from geo_mz.core.permissions import user_jurisdiction_code
from geo_mz.divisions.models import Division, Level
from geo_mz.placenames import importers, selectors, services, workflow
from geo_mz.placenames.models import (
    AttachmentKind,
    CaseKind,
    CaseState,
    FeatureKind,
    NamedFeature,
    NamingCase,
)
from geo_mz.web.views import basemap_config

STEPS = [
    (CaseState.APPLICATION, _("申报")),
    (CaseState.REVIEW, _("审核")),
    (CaseState.NOTICE, _("公示")),
    (CaseState.SUBMITTED, _("报批")),
    (CaseState.APPROVED, _("批准")),
    (CaseState.FILED, _("备案")),
    (CaseState.ANNOUNCED, _("公告")),
]


def _map_config() -> dict:
    return {"basemap": basemap_config(), "countyCode": settings.GEO_MZ_COUNTY_CODE}


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "；".join(f"{k}: {'；'.join(v)}" for k, v in exc.message_dict.items())
        return "；".join(exc.messages)
    if isinstance(exc, ConflictError):
        return exc.message
    return str(exc)


@login_required
def placename_home(request):
    query = request.GET.get("q", "")
    results = []
    if len(query) > MAX_NAME_CHARS:  # bounded work (issue 14): say so instead of searching
        limit = {"limit": MAX_NAME_CHARS, "length": len(query)}
        messages.error(request, _("不能超过 %(limit)d 个字符（现有 %(length)d 个）") % limit)
    elif query:
        results = selectors.placename_search(query, include_retired=True)
    queue = selectors.case_queue(request.user)
    return render(
        request,
        "placenames/home.html",
        {"query": query, "results": results, "queue": queue, "today": dt.date.today()},
    )


def _division_choices(user) -> list[tuple[str, str]]:
    scope = user_jurisdiction_code(user) or settings.GEO_MZ_COUNTY_CODE
    qs = Division.objects.within_code(scope if not user.is_superuser else settings.GEO_MZ_COUNTY_CODE)
    qs = qs.filter(level__in=[Level.COUNTY, Level.TOWNSHIP]).order_by("code")
    return [(d.code, f"{d.name}（{d.code}）") for d in qs]


@login_required
def case_new(request):
    kinds = FeatureKind.objects.all()
    return render(
        request,
        "placenames/case_new.html",
        {
            "divisions": _division_choices(request.user),
            "kinds": kinds,
            "case_kinds": [(k, label) for k, label in CaseKind.choices if k != CaseKind.ALLEY_BATCH],
            "map_config": _map_config(),
        },
    )


class TransitionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in workflow.TRANSITIONS])
    expected_version = forms.IntegerField()
    comment = forms.CharField(required=False)
    notice_start = forms.DateField(required=False)
    notice_days = forms.IntegerField(required=False, min_value=1, max_value=60)
    decision_number = forms.CharField(required=False)
    decided_on = forms.DateField(required=False)
    approving_body = forms.CharField(required=False)
    filed_on = forms.DateField(required=False)
    filed_with = forms.CharField(required=False)
    announced_on = forms.DateField(required=False)
    announcement_number = forms.CharField(required=False)


@login_required
def case_detail(request, pk: int):
    case = get_object_or_404(NamingCase.objects.select_related("division", "decision"), pk=pk)
    if request.method == "POST":
        op = request.POST.get("op", "transition")
        try:
            if op == "transition":
                form = TransitionForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(form.errors.get_json_data())
                data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
                action = data.pop("action")
                version = data.pop("expected_version")
                comment = data.pop("comment", "")
                services.naming_case_transition(
                    case.pk,
                    action,
                    user=request.user,
                    expected_version=version,
                    comment=comment,
                    payload=data,
                )
                messages.success(request, _("已完成：%(a)s") % {"a": workflow.ACTION_LABELS[action]})
            elif op == "rename_item":
                services.naming_case_item_update(
                    case,
                    int(request.POST["position"]),
                    {"name": request.POST.get("name", ""), "reading": request.POST.get("reading", "")},
                    user=request.user,
                )
                messages.success(request, _("拟用名称已更新，规则已重新检查"))
            elif op == "comment":
                services.naming_case_comment_add(
                    case,
                    content=request.POST.get("content", ""),
                    received_on=dt.date.fromisoformat(
                        request.POST.get("received_on") or dt.date.today().isoformat()
                    ),
                    commenter=request.POST.get("commenter", ""),
                    response=request.POST.get("response", ""),
                    user=request.user,
                )
                messages.success(request, _("公示意见已登记"))
            elif op == "answer":
                comment = get_object_or_404(case.comments, pk=int(request.POST["comment_id"]))
                services.naming_case_comment_answer(
                    comment, response=request.POST.get("response", ""), user=request.user
                )
                messages.success(request, _("处理意见已登记"))
            elif op == "attach":
                upload = request.FILES.get("file")
                if upload is None:
                    raise ValidationError({"file": "请选择文件 / a file is required"})
                services.naming_case_attachment_add(
                    case,
                    kind=request.POST.get("kind", ""),
                    title=request.POST.get("title", ""),
                    file=upload,
                    user=request.user,
                )
                messages.success(request, _("材料已上传"))
        except (ValidationError, ConflictError, PermissionDenied) as exc:
            messages.error(request, _error_text(exc))
        return redirect("web:naming-case", pk=case.pk)
    case.refresh_from_db()
    items = list(case.items.select_related("kind", "feature", "result_name").prefetch_related("segments"))
    reached = [s for s, _label in STEPS].index(case.state) if case.state in [s for s, _ in STEPS] else -1
    return render(
        request,
        "placenames/case_detail.html",
        {
            "case": case,
            "items": items,
            "steps": [(s, label, i <= reached) for i, (s, label) in enumerate(STEPS)],
            "actions": [(a, workflow.ACTION_LABELS[a]) for a in workflow.allowed_actions(case.state)],
            "events": case.events.select_related("actor"),
            "comments": case.comments.all(),
            "attachments": case.attachments.all(),
            "attachment_kinds": AttachmentKind.choices,
            "editable": case.state in (CaseState.APPLICATION, CaseState.REVIEW),
            "today": dt.date.today(),
            "map_config": {**_map_config(), "caseId": case.pk},
        },
    )


@login_required
def alley_batch_new(request):
    if request.method == "POST":
        try:
            case = services.alley_batch_case_open(
                division_code=request.POST.get("division_code", ""),
                min_length_m=float(request.POST.get("min_length_m") or 50),
                user=request.user,
            )
        except (ValidationError, PermissionDenied, ValueError) as exc:
            messages.error(request, _error_text(exc))
            return redirect("web:placenames")
        messages.success(request, _("已生成无名巷批量命名案件"))
        return redirect("web:naming-case", pk=case.pk)
    return redirect("web:placenames")


def feature_detail(request, code: str):
    feature = get_object_or_404(NamedFeature.objects.select_related("kind", "division"), code=code)
    return render(
        request,
        "placenames/feature_detail.html",
        {
            "feature": feature,
            "history": selectors.feature_history(feature),
            "signs": feature.signs.order_by("code"),
            "heritage": feature.heritage.all(),
            "current": feature.current_name,
            "map_config": {**_map_config(), "featureCode": feature.code},
        },
    )


def sign_report(request):
    issues = selectors.sign_report(request.GET.get("within") or None)
    return render(request, "placenames/sign_report.html", {"issues": issues})


class NamesImportForm(forms.Form):
    file = forms.FileField(label=_("文件（.xlsx 或 .csv）"))
    coordinate_system = forms.ChoiceField(
        label=_("坐标系"),
        choices=[
            ("wgs84", _("WGS84 / CGCS2000 经纬度")),
            ("gcj02", _("GCJ-02（高德、腾讯地图拾取）")),
            ("bd09", _("BD-09（百度地图拾取）")),
        ],
        initial="wgs84",
    )
    dry_run = forms.BooleanField(label=_("试运行（不写入）"), required=False, initial=True)


@login_required
def names_import(request):
    report = None
    error = None
    if request.method == "POST":
        form = NamesImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = importers.placenames_import_upload(
                    form.cleaned_data["file"],
                    dry_run=form.cleaned_data["dry_run"],
                    coordinate_system=form.cleaned_data["coordinate_system"],
                    user=request.user,
                )
            except PermissionDenied as exc:
                error = str(exc)
            except ValidationError as exc:  # the upload refused by size or content
                error = "；".join(exc.messages)
    else:
        form = NamesImportForm()
    return render(request, "placenames/import.html", {"form": form, "report": report, "error": error})
