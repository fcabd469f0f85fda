"""Coverage runs (every analysis with its parameters, input versions, engine version, run time and
results) and scenarios (facilities added, moved or closed, compared with the baseline)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_mz.core.models import TimeStampedModel
from geo_mz.facilities.models import Facility, FacilityType


class Scenario(TimeStampedModel):
    name = models.CharField(_("方案名称"), max_length=100)
    description = models.TextField(_("说明"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("创建人"), null=True, blank=True, on_delete=models.SET_NULL
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("规划方案")
        verbose_name_plural = _("规划方案")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ChangeAction(models.TextChoices):
    ADD = "add", _("新增")
    MOVE = "move", _("迁址")
    CLOSE = "close", _("关停")


class ScenarioChange(TimeStampedModel):
    scenario = models.ForeignKey(
        Scenario, verbose_name=_("方案"), on_delete=models.CASCADE, related_name="changes"
    )
    action = models.CharField(_("变更"), max_length=8, choices=ChangeAction.choices)
    facility = models.ForeignKey(
        Facility, verbose_name=_("设施"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    facility_code = models.CharField(
        _("设施编码"), max_length=30, blank=True, help_text=_("迁址/关停时的设施编码（留档）")
    )
    type = models.ForeignKey(
        FacilityType, verbose_name=_("类型"), null=True, blank=True, on_delete=models.PROTECT
    )
    name = models.CharField(_("名称"), max_length=120, blank=True)
    point = models.PointField(_("位置"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    capacity = models.PositiveIntegerField(_("能力（床位/人数）"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(_("服务半径（米）"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("方案变更")
        verbose_name_plural = _("方案变更")
        ordering = ["scenario", "id"]


class RunKind(models.TextChoices):
    COVERAGE = "coverage", _("覆盖分析")
    MCLP = "mclp", _("最大覆盖选址")
    LSCP = "lscp", _("最少设施全覆盖")


class CoverageRun(models.Model):
    kind = models.CharField(_("分析类型"), max_length=10, choices=RunKind.choices)
    label = models.CharField(_("名称"), max_length=200, blank=True)
    parameters = models.JSONField(_("参数"))
    input_versions = models.JSONField(_("输入数据版本"))
    engine_version = models.CharField(_("引擎版本"), max_length=20)
    scenario = models.ForeignKey(
        Scenario,
        verbose_name=_("方案"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    started_at = models.DateTimeField(_("开始时间"), auto_now_add=True)
    runtime_ms = models.FloatField(_("运行时间（毫秒）"))
    summary = models.JSONField(_("结果摘要"))
    divisions = models.JSONField(_("分区结果"), default=list)
    suggestions = models.JSONField(_("选址建议"), default=list, blank=True)
    uncovered = models.JSONField(_("未覆盖区域（GeoJSON）"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("运行人"), null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("分析记录")
        verbose_name_plural = _("分析记录")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label} {self.started_at:%Y-%m-%d %H:%M}"


class ExclusionKind(models.TextChoices):
    WATER_SOURCE = "water_source", _("饮用水水源保护区")
    MAIN_ROAD = "main_road", _("主要道路")
    RAILWAY = "railway", _("铁路")
    DWELLINGS = "dwellings", _("居民点")
    FARMLAND = "farmland", _("基本农田")
    SCENIC = "scenic", _("风景名胜区、文物保护区")
    RESERVOIR = "reservoir", _("水库、河堤")
    OTHER = "other", _("其他")


class ExclusionZone(TimeStampedModel):
    """A siting constraint as data (cemeteries: no site inside, or within `buffer_m` of, the zone)."""

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=20, choices=ExclusionKind.choices)
    geom = models.GeometryField(_("范围"), srid=settings.GEO_MZ_SRID)
    buffer_m = models.FloatField(_("缓冲距离（米）"), default=0.0)
    applies_to = models.JSONField(
        _("适用设施类型"), default=list, blank=True, help_text=_("设施类型代码列表；空则适用于全部殡葬设施")
    )
    active = models.BooleanField(_("启用"), default=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("选址排除区")
        verbose_name_plural = _("选址排除区")
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                name="exclusion_buffer_non_negative",
                condition=models.Q(buffer_m__gte=0) & models.Q(buffer_m__lte=20000),
                violation_error_message=_("缓冲距离应在 0–20000 米"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"
