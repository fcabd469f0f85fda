"""民政设施: facility types as data (norms, service radius, demand group, capacity unit) and facilities
with capacity (beds, nursing beds, grave plots, places, floor area), status and dates.

Geometry is stored in the deployment's projected CRS (settings.GEO_MZ_SRID, metres)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_mz.core.models import TimeStampedModel
from geo_mz.divisions.models import Division


class DemandGroup(models.TextChoices):
    ALL = "all", _("全体常住人口")
    OLDER = "older", _("60岁及以上人口")
    HOUSEHOLDS = "households", _("户数")
    VILLAGERS = "villagers", _("本村村民")


class CapacityUnit(models.TextChoices):
    BEDS = "beds", _("床位")
    PLOTS = "plots", _("墓穴")
    PLACES = "places", _("服务人数")
    AREA = "m2", _("平方米")
    NONE = "none", _("无")


class IndicatorGroup(models.TextChoices):
    """Which dashboard indicator a type counts toward (DOMAIN §4)."""

    ELDERLY_INSTITUTION = "elderly_institution", _("养老机构床位")
    URBAN_ELDERLY = "urban_elderly", _("城市社区养老服务设施")
    RURAL_MUTUAL_AID = "rural_mutual_aid", _("农村互助养老设施")
    CEMETERY = "cemetery", _("公益性公墓")
    COMMUNITY_CENTRE = "community_centre", _("社区综合服务设施")
    NONE = "", _("无")


class FacilityType(TimeStampedModel):
    code = models.SlugField(_("类型代码"), max_length=40, unique=True)
    name = models.CharField(_("类型名称"), max_length=60)
    category = models.CharField(
        _("类别"), max_length=30, blank=True, help_text=_("如 养老服务、殡葬、救助、社区、减灾")
    )
    radius_m = models.PositiveIntegerField(_("默认服务半径（米）"), null=True, blank=True)
    walk_minutes = models.PositiveSmallIntegerField(_("步行时间（分钟）"), null=True, blank=True)
    drive_minutes = models.PositiveSmallIntegerField(_("车行时间（分钟）"), null=True, blank=True)
    demand_group = models.CharField(
        _("服务对象"), max_length=12, choices=DemandGroup.choices, default=DemandGroup.ALL
    )
    capacity_unit = models.CharField(
        _("能力单位"), max_length=8, choices=CapacityUnit.choices, default=CapacityUnit.NONE
    )
    indicator_group = models.CharField(
        _("统计口径"), max_length=24, choices=IndicatorGroup.choices, default=IndicatorGroup.NONE, blank=True
    )
    norm_text = models.CharField(_("规范依据"), max_length=300, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("设施类型")
        verbose_name_plural = _("设施类型")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Operator(models.TextChoices):
    PUBLIC = "public", _("公办")
    PRIVATE = "private", _("民办")


class FacilityStatus(models.TextChoices):
    PLANNED = "planned", _("规划")
    UNDER_CONSTRUCTION = "under_construction", _("在建")
    OPERATING = "operating", _("运营")
    CLOSED = "closed", _("关停")


class Facility(TimeStampedModel):
    code = models.CharField(_("设施编码"), max_length=30, unique=True)
    name = models.CharField(_("名称"), max_length=120)
    type = models.ForeignKey(
        FacilityType, verbose_name=_("类型"), on_delete=models.PROTECT, related_name="facilities"
    )
    point = models.PointField(_("位置"), srid=settings.GEO_MZ_SRID)
    site = models.MultiPolygonField(_("用地范围"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    division = models.ForeignKey(
        Division, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="facilities"
    )
    address = models.CharField(_("地址"), max_length=200, blank=True)
    operator = models.CharField(
        _("举办性质"), max_length=8, choices=Operator.choices, default=Operator.PUBLIC
    )
    status = models.CharField(
        _("状态"), max_length=20, choices=FacilityStatus.choices, default=FacilityStatus.OPERATING
    )
    opened_on = models.DateField(_("投入运营日期"), null=True, blank=True)
    closed_on = models.DateField(_("关停日期"), null=True, blank=True)
    beds = models.PositiveIntegerField(_("床位数"), null=True, blank=True)
    nursing_beds = models.PositiveIntegerField(_("护理型床位数"), null=True, blank=True)
    plots_total = models.PositiveIntegerField(_("墓穴总数"), null=True, blank=True)
    plots_used = models.PositiveIntegerField(_("已使用墓穴"), null=True, blank=True)
    area_mu = models.FloatField(_("占地面积（亩）"), null=True, blank=True)
    area_m2 = models.FloatField(_("建筑面积（平方米）"), null=True, blank=True)
    places = models.PositiveIntegerField(_("服务人数"), null=True, blank=True)
    star_rating = models.PositiveSmallIntegerField(_("星级"), null=True, blank=True)
    radius_m = models.PositiveIntegerField(
        _("服务半径（米）"), null=True, blank=True, help_text=_("空则用类型默认值")
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("民政设施")
        verbose_name_plural = _("民政设施")
        ordering = ["type__sort_order", "code"]
        indexes = [models.Index(fields=["type", "status"], name="facility_type_status_idx")]
        constraints = [
            models.CheckConstraint(
                name="facility_nursing_le_beds",
                condition=Q(nursing_beds__isnull=True)
                | Q(beds__isnull=True)
                | Q(nursing_beds__lte=models.F("beds")),
                violation_error_message=_("护理型床位数不能超过床位数"),
            ),
            models.CheckConstraint(
                name="facility_plots_used_le_total",
                condition=Q(plots_used__isnull=True)
                | Q(plots_total__isnull=True)
                | Q(plots_used__lte=models.F("plots_total")),
                violation_error_message=_("已使用墓穴不能超过墓穴总数"),
            ),
            models.CheckConstraint(
                name="facility_star_rating_range",
                condition=Q(star_rating__isnull=True) | Q(star_rating__gte=1, star_rating__lte=5),
                violation_error_message=_("星级应为 1–5"),
            ),
            models.CheckConstraint(
                name="facility_site_valid",
                condition=Q(site__isnull=True) | Q(site__isvalid=True),
                violation_error_message=_("用地范围几何无效"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def effective_radius_m(self) -> int | None:
        return self.radius_m or self.type.radius_m
