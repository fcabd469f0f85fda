"""行政区划: province → city → county → township → village, with official codes and geometry.

Geometry is stored in the deployment's projected CRS (settings.GEO_MZ_SRID, metres). `geom` is the
polygon when one is known; `point` is the representative (label) point and is always set when `geom`
is, so every located unit has a point. Units imported from a code list may have neither yet.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_mz.core.models import DecisionDocument, LifecycleStatus, TimeStampedModel, division_code_validator


class Level(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("地级")
    COUNTY = "county", _("县级")
    TOWNSHIP = "township", _("乡级")
    VILLAGE = "village", _("村级")


class DivisionQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(status=LifecycleStatus.RETIRED)

    def within_code(self, code: str):
        """The division and all its descendants, by code prefix."""
        from geo_mz.core.jurisdiction import jurisdiction_prefix

        return self.filter(code__startswith=jurisdiction_prefix(code))


class Division(TimeStampedModel):
    code = models.CharField(_("区划代码"), max_length=12, unique=True, validators=[division_code_validator])
    name = models.CharField(_("名称"), max_length=100)
    short_name = models.CharField(_("简称"), max_length=50, blank=True)
    statistical_name = models.CharField(
        _("统计用名称"), max_length=100, blank=True, help_text=_("国家统计局统计用区划代码中的名称")
    )
    level = models.CharField(_("级别"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级区划"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.ACTIVE
    )
    geom = models.MultiPolygonField(_("边界面"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    point = models.PointField(_("代表点"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    geometry_source = models.CharField(_("几何来源"), max_length=200, blank=True)
    synthetic = models.BooleanField(
        _("合成数据"), default=False, help_text=_("演示用合成几何或人口，非官方数据")
    )

    population = models.PositiveIntegerField(_("常住人口"), null=True, blank=True)
    population_source = models.CharField(_("人口数据来源"), max_length=100, blank=True)
    population_year = models.PositiveSmallIntegerField(_("人口数据年份"), null=True, blank=True)
    population_60_plus = models.PositiveIntegerField(_("60岁及以上人口"), null=True, blank=True)
    population_60_plus_source = models.CharField(_("老年人口数据来源"), max_length=100, blank=True)
    population_60_plus_year = models.PositiveSmallIntegerField(_("老年人口数据年份"), null=True, blank=True)
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    households_source = models.CharField(_("户数数据来源"), max_length=100, blank=True)
    households_year = models.PositiveSmallIntegerField(_("户数数据年份"), null=True, blank=True)

    decision = models.ForeignKey(
        DecisionDocument, verbose_name=_("批准文件"), null=True, blank=True, on_delete=models.PROTECT
    )
    history = HistoricalRecords()
    objects = DivisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["code"], name="division_code_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["level", "status"], name="division_level_status_idx"),
            GinIndex(fields=["name"], name="division_name_trgm_idx", opclasses=["gin_trgm_ops"]),
        ]
        constraints = [
            models.CheckConstraint(
                name="division_code_matches_level",
                condition=(
                    Q(level__in=["province", "city", "county"], code__regex=r"^\d{6}$")
                    | Q(level="township", code__regex=r"^\d{9}$")
                    | Q(level="village", code__regex=r"^\d{12}$")
                ),
                violation_error_message=_("区划代码位数与级别不符"),
            ),
            models.CheckConstraint(
                name="division_geom_valid",
                condition=Q(geom__isnull=True) | Q(geom__isvalid=True),
                violation_error_message=_("边界面几何无效"),
            ),
            models.CheckConstraint(
                name="division_geom_has_point",
                condition=Q(geom__isnull=True) | Q(point__isnull=False),
                violation_error_message=_("有边界面的区划必须有代表点"),
            ),
            models.CheckConstraint(
                name="division_population_60_le_total",
                condition=Q(population_60_plus__isnull=True)
                | Q(population__isnull=True)
                | Q(population_60_plus__lte=models.F("population")),
                violation_error_message=_("60岁及以上人口不能超过常住人口"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    @property
    def area_km2(self) -> float | None:
        """Planar area in the projected storage CRS (metres) → km²."""
        return self.geom.area / 1e6 if self.geom else None
