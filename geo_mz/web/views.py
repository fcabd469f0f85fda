"""Server-rendered pages; thin, over services and selectors."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from geo_mz.core import import_jobs, visibility
from geo_mz.core.basemap import basemap_config
from geo_mz.core.permissions import require_role
from geo_mz.divisions import services as division_services
from geo_mz.divisions.models import Division, Level


def map_page(request):
    county = Division.objects.filter(code=settings.GEO_MZ_COUNTY_CODE).first()
    counts = {
        level: Division.objects.active().within_code(settings.GEO_MZ_COUNTY_CODE).filter(level=level).count()
        for level in (Level.TOWNSHIP, Level.VILLAGE)
    }
    return render(
        request,
        "web/map.html",
        {
            "county": county,
            "counts": counts,
            "addresses_readable": visibility.addresses_readable(request.user),
            "map_config": {
                "basemap": basemap_config(),
                "countyCode": settings.GEO_MZ_COUNTY_CODE,
                "api": "/api/divisions/",
            },
        },
    )


class DivisionImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("导入内容"),
        choices=[
            ("geometries", _("区划边界面/代表点（GeoJSON、GeoPackage、Shapefile 压缩包）")),
            ("codes", _("区划代码 CSV（code,name,level,parent_code）")),
            ("figures", _("人口与户数 CSV")),
        ],
    )
    file = forms.FileField(label=_("文件"))
    coordinate_system = forms.ChoiceField(
        label=_("坐标系"),
        choices=[
            ("wgs84", _("WGS84 / CGCS2000 经纬度或文件自带坐标系")),
            ("gcj02", _("GCJ-02（高德、腾讯地图拾取）")),
            ("bd09", _("BD-09（百度地图拾取）")),
        ],
        initial="wgs84",
    )
    srid = forms.IntegerField(label=_("源坐标系 EPSG（文件未声明时）"), required=False)
    code_field = forms.CharField(label=_("代码字段"), initial="code")
    name_field = forms.CharField(label=_("名称字段"), initial="name")
    dry_run = forms.BooleanField(label=_("试运行（不写入）"), required=False, initial=True)


def _division_import(request, data):
    """Role first (before the upload is read); a large file becomes a background job."""
    require_role(request.user, "divisions")
    if not import_jobs.runs_in_background(data["file"]):
        return division_services.divisions_import_upload(data, request.user)
    params = {k: v for k, v in data.items() if k != "file"}
    job = import_jobs.import_job_submit("divisions", data["file"], params, user=request.user)
    messages.info(
        request,
        _("文件较大，已转为后台导入任务 #%(id)s，进度与报告见 %(url)s")
        % {"id": job.pk, "url": f"/api/import-jobs/{job.pk}/"},
    )
    return None


@login_required
def division_import(request):
    report = None
    error = None
    if request.method == "POST":
        form = DivisionImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = _division_import(request, form.cleaned_data)
            except PermissionDenied as exc:
                error = str(exc)
            except ValidationError as exc:  # the upload refused by size or content
                error = "；".join(exc.messages)
    else:
        form = DivisionImportForm()
    return render(request, "web/division_import.html", {"form": form, "report": report, "error": error})


@login_required
def exports_page(request):
    """Export any layer to GeoPackage, Shapefile, GeoJSON, KML, Excel or CSV as a background job."""
    from geo_mz.api import exports, ogc

    layers = [
        {"id": c.id, "title": c.title, "queryables": [(p.name, p.title) for p in c.queryables.values()]}
        for c in ogc.COLLECTIONS.values()
        if ogc.can_read(request.user, c.id)
    ]
    return render(request, "web/exports.html", {"layers": layers, "formats": list(exports.FORMATS)})
