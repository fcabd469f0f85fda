"""行政区域界线: boundary lines between two divisions, their markers (界桩) and joint inspections (联检).

Geometry is stored in the deployment's projected CRS (settings.GEO_MZ_SRID, metres). A line belongs to
both adjoining divisions (side A has the smaller code). Key fields are never edited in place: a new
geometry or a renumbered marker retires the old row and creates a linked one (`previous`).

An inspection is a shared record: each side's boundary team confirms it, and after both have confirmed
it is locked. A correction of a locked record is a new record that points at it (`corrects`).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_mz.boundaries import markers as marker_rules
from geo_mz.core.models import DecisionDocument, LifecycleStatus, TimeStampedModel
from geo_mz.divisions.models import Division

NOT_RETIRED = ~Q(status=LifecycleStatus.RETIRED)


class LineLevel(models.TextChoices):
    PROVINCE = "province", _("省级界线")
    CITY = "city", _("地级界线")
    COUNTY = "county", _("县级界线")
    TOWNSHIP = "township", _("乡级界线")


class BoundaryLine(TimeStampedModel):
    code = models.CharField(_("界线编号"), max_length=40)
    name = models.CharField(_("界线名称"), max_length=100)
    level = models.CharField(_("界线级别"), max_length=10, choices=LineLevel.choices)
    division_a = models.ForeignKey(
        Division, verbose_name=_("甲方区划"), on_delete=models.PROTECT, related_name="boundary_lines_a"
    )
    division_b = models.ForeignKey(
        Division, verbose_name=_("乙方区划"), on_delete=models.PROTECT, related_name="boundary_lines_b"
    )
    section = models.PositiveSmallIntegerField(
        _("段号"), default=0, help_text=_("0 表示整条界线；分段管理时为 1、2、3…")
    )
    agreement_no = models.CharField(_("界线协议书编号"), max_length=100, blank=True)
    agreement_date = models.DateField(_("协议书签订日期"), null=True, blank=True)
    approving_authority = models.CharField(_("批准机关"), max_length=100, blank=True)
    geom = models.MultiLineStringField(_("界线几何"), srid=settings.GEO_MZ_SRID)
    length_m = models.FloatField(_("长度（米）"))
    status = models.CharField(
        _("状态"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.ACTIVE
    )
    derived_tolerance_m = models.FloatField(_("推导容差（米）"), null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        verbose_name=_("前身"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="successors",
    )
    decision = models.ForeignKey(
        DecisionDocument, verbose_name=_("批准文件"), null=True, blank=True, on_delete=models.PROTECT
    )
    inspection_interval_years = models.PositiveSmallIntegerField(_("联检周期（年）"), default=5)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("行政区域界线")
        verbose_name_plural = _("行政区域界线")
        ordering = ["level", "code", "section"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "section"], condition=NOT_RETIRED, name="boundary_line_code_unique_current"
            ),
            models.CheckConstraint(
                name="boundary_line_two_sides",
                condition=~Q(division_a=models.F("division_b")),
                violation_error_message=_("界线两侧必须是不同的区划"),
            ),
            models.CheckConstraint(
                name="boundary_line_geom_valid",
                condition=Q(geom__isvalid=True),
                violation_error_message=_("界线几何无效"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）" if not self.section else f"{self.name}第{self.section}段"

    @property
    def length_km(self) -> float:
        return round(self.length_m / 1000, 3)

    @property
    def side_codes(self) -> tuple[str, str]:
        return (self.division_a.code, self.division_b.code)


class MarkerKind(models.TextChoices):
    SINGLE = "single", _("单立")
    PAIRED = "paired", _("同号双立")
    TRIPLE = "triple", _("同号三立")


class Condition(models.TextChoices):
    INTACT = "intact", _("完好")
    DAMAGED = "damaged", _("损坏")
    MOVED = "moved", _("移位")
    LOST = "lost", _("丢失")


class Action(models.TextChoices):
    NONE = "none", _("无")
    REPAINTED = "repainted", _("描红")
    REPAIRED = "repaired", _("维修")
    RESET = "reset", _("重新埋设")
    REPORTED = "reported", _("上报待处理")


assert set(Condition.values) == set(marker_rules.CONDITIONS), "condition codes out of step"


class Marker(TimeStampedModel):
    line = models.ForeignKey(
        BoundaryLine, verbose_name=_("界线"), on_delete=models.PROTECT, related_name="markers"
    )
    number = models.CharField(_("界桩编号"), max_length=60)
    seq = models.PositiveIntegerField(_("序号"))
    letter = models.CharField(_("类型字母"), max_length=1)
    kind = models.CharField(
        _("界桩类型"), max_length=10, choices=MarkerKind.choices, default=MarkerKind.SINGLE
    )
    material = models.CharField(_("材质"), max_length=40, blank=True)
    responsible = models.ForeignKey(
        Division,
        verbose_name=_("负责维护方"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    point = models.PointField(_("位置"), srid=settings.GEO_MZ_SRID)
    elevation_m = models.FloatField(_("高程（米）"), null=True, blank=True)
    location_text = models.CharField(_("位置描述"), max_length=300, blank=True)
    bearings = models.JSONField(
        _("方位物"), default=list, blank=True, help_text=_("[{name, azimuth_deg, distance_m}]，至多 3 个")
    )
    sketch = models.FileField(_("点之记略图"), upload_to="boundaries/sketches/%Y/", blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.ACTIVE
    )
    buried_on = models.DateField(_("埋设日期"), null=True, blank=True)
    last_condition = models.CharField(_("最近状况"), max_length=10, choices=Condition.choices, blank=True)
    last_inspected_on = models.DateField(_("最近检查日期"), null=True, blank=True)
    needs_repair = models.BooleanField(_("待修复"), default=False)
    previous = models.ForeignKey(
        "self",
        verbose_name=_("前身"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="successors",
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("界桩")
        verbose_name_plural = _("界桩")
        ordering = ["line", "seq", "letter"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=NOT_RETIRED, name="marker_number_unique_current"
            ),
        ]
        indexes = [models.Index(fields=["line", "seq"], name="marker_line_seq_idx")]

    def __str__(self) -> str:
        return self.number


class MarkerPhoto(TimeStampedModel):
    marker = models.ForeignKey(
        Marker, verbose_name=_("界桩"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("照片"), upload_to="boundaries/markers/%Y/")
    caption = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("界桩照片")
        verbose_name_plural = _("界桩照片")


class InspectionKind(models.TextChoices):
    REGULAR = "regular", _("定期联检")
    ADHOC = "adhoc", _("专项检查")


class InspectionStatus(models.TextChoices):
    DRAFT = "draft", _("填报中")
    CONFIRMING = "confirming", _("一方已确认")
    LOCKED = "locked", _("已锁定")


class Inspection(TimeStampedModel):
    record_no = models.CharField(_("记录编号"), max_length=40, unique=True)
    line = models.ForeignKey(
        BoundaryLine, verbose_name=_("界线"), on_delete=models.PROTECT, related_name="inspections"
    )
    round_year = models.PositiveSmallIntegerField(_("联检年度"))
    kind = models.CharField(_("检查类型"), max_length=10, choices=InspectionKind.choices)
    reason = models.CharField(_("专项检查原因"), max_length=300, blank=True)
    lead = models.ForeignKey(Division, verbose_name=_("牵头方"), on_delete=models.PROTECT, related_name="+")
    participants_a = models.TextField(_("甲方参加人员"), blank=True)
    participants_b = models.TextField(_("乙方参加人员"), blank=True)
    start_date = models.DateField(_("开始日期"))
    end_date = models.DateField(_("结束日期"), null=True, blank=True)
    conclusion = models.TextField(_("检查结论"), blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=InspectionStatus.choices, default=InspectionStatus.DRAFT
    )
    confirmed_a_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("甲方确认人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    confirmed_a_at = models.DateTimeField(_("甲方确认时间"), null=True, blank=True)
    confirmed_b_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("乙方确认人"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )  # fmt: skip
    confirmed_b_at = models.DateTimeField(_("乙方确认时间"), null=True, blank=True)
    locked_at = models.DateTimeField(_("锁定时间"), null=True, blank=True)
    corrects = models.ForeignKey(
        "self", verbose_name=_("更正的记录"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="corrections",
    )  # fmt: skip
    peace_agreement = models.FileField(_("平安边界协议"), upload_to="boundaries/agreements/%Y/", blank=True)
    peace_agreement_note = models.CharField(_("平安边界协议说明"), max_length=200, blank=True)
    filed_on = models.DateField(_("备案日期"), null=True, blank=True)
    filed_with = models.CharField(_("备案机关"), max_length=100, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("界线联合检查")
        verbose_name_plural = _("界线联合检查")
        ordering = ["-round_year", "line", "record_no"]
        constraints = [
            models.CheckConstraint(
                name="inspection_adhoc_has_reason",
                condition=~Q(kind="adhoc") | ~Q(reason=""),
                violation_error_message=_("专项检查必须填写原因"),
            ),
            models.CheckConstraint(
                name="inspection_locked_has_both_confirmations",
                condition=~Q(status="locked")
                | (Q(confirmed_a_by__isnull=False) & Q(confirmed_b_by__isnull=False)),
                violation_error_message=_("双方确认后方可锁定"),
            ),
            models.CheckConstraint(
                name="inspection_dates_ordered",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                violation_error_message=_("结束日期不能早于开始日期"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_no} {self.line.name} {self.round_year}"

    @property
    def locked(self) -> bool:
        return self.status == InspectionStatus.LOCKED


class MarkerFinding(TimeStampedModel):
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("联检记录"), on_delete=models.CASCADE, related_name="marker_findings"
    )
    marker = models.ForeignKey(
        Marker, verbose_name=_("界桩"), on_delete=models.PROTECT, related_name="findings"
    )
    condition = models.CharField(_("状况"), max_length=10, choices=Condition.choices)
    repainted = models.BooleanField(_("已描红"), default=False)
    measured_point = models.PointField(_("实测位置"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    offset_m = models.FloatField(_("偏移（米）"), null=True, blank=True)
    action = models.CharField(_("处理措施"), max_length=10, choices=Action.choices, default=Action.NONE)
    bearings_intact = models.BooleanField(_("方位物完好"), default=True)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("界桩检查结果")
        verbose_name_plural = _("界桩检查结果")
        ordering = ["inspection", "marker__seq", "marker__letter"]
        constraints = [
            models.UniqueConstraint(fields=["inspection", "marker"], name="finding_one_per_marker"),
        ]


class FindingPhoto(TimeStampedModel):
    finding = models.ForeignKey(
        MarkerFinding, verbose_name=_("检查结果"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("照片"), upload_to="boundaries/inspections/%Y/")
    caption = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("检查照片")
        verbose_name_plural = _("检查照片")


class SegmentFinding(TimeStampedModel):
    inspection = models.ForeignKey(
        Inspection, verbose_name=_("联检记录"), on_delete=models.CASCADE, related_name="segment_findings"
    )
    section = models.CharField(_("界线段"), max_length=100, help_text=_("如 003Q–004Q 或地段描述"))
    terrain_change = models.CharField(_("地形地物变化"), max_length=300, blank=True)
    recognisable = models.BooleanField(_("界线走向清晰可辨"), default=True)
    construction = models.CharField(_("跨界建设"), max_length=300, blank=True)
    dispute = models.CharField(_("争议情况"), max_length=300, blank=True)
    handling = models.CharField(_("处理情况"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("界线段检查结果")
        verbose_name_plural = _("界线段检查结果")
        ordering = ["inspection", "id"]
