"""地名: named features (roads, streets, alleys, bridges, squares, compounds, natural villages …), their
name records with lineage, road segments, naming cases, road signs and place-name heritage.

A *feature* is the physical thing (a road centre-line, a bridge). A *name* is a record attached to it
that is never edited in place: a rename retires the old record (valid_to) and creates a new one that
points back to it (`previous`), so the name of any road on any date is answerable.

Geometry is stored in the deployment's projected CRS (settings.GEO_MZ_SRID, metres): lengths are
plain metres. `point` is a representative point on the feature (used for distances in rule checks
and for labels).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_mz.core.models import DecisionDocument, LifecycleStatus, TimeStampedModel
from geo_mz.divisions.models import Division


class GeometryType(models.TextChoices):
    POINT = "point", _("点")
    LINE = "line", _("线")
    POLYGON = "polygon", _("面")


class FeatureKind(TimeStampedModel):
    """Kinds of named features are data, not code: a deployment adds its own."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=40)
    category = models.CharField(_("地名类别"), max_length=40, help_text=_("国家地名信息库中的类别，如“道路”"))
    geometry_type = models.CharField(_("几何类型"), max_length=10, choices=GeometryType.choices)
    is_road = models.BooleanField(_("属于道路街巷"), default=False)
    one_word = models.BooleanField(
        _("拼写为一个词"), default=False, help_text=_("自然村、镇等名称连写，如 王村 Wangcun")
    )
    generics = models.CharField(_("常用通名"), max_length=200, blank=True, help_text=_("以逗号分隔"))
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=100)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("地名类别")
        verbose_name_plural = _("地名类别")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class NamedFeatureQuerySet(models.QuerySet):
    def within_code(self, code: str):
        from geo_mz.core.jurisdiction import jurisdiction_prefix

        return self.filter(division__code__startswith=jurisdiction_prefix(code))


class NamedFeature(TimeStampedModel):
    """The thing that carries a name. Roads are built from road segments (RoadSegment.feature)."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    kind = models.ForeignKey(FeatureKind, verbose_name=_("类别"), on_delete=models.PROTECT)
    status = models.CharField(
        _("状态"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.PROPOSED
    )
    geom = models.GeometryField(_("几何"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    point = models.PointField(_("代表点"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    division = models.ForeignKey(
        Division,
        verbose_name=_("主要所属区划"),
        on_delete=models.PROTECT,
        related_name="named_features",
        help_text=_("管辖判断依据：跨区划时为共同的上级区划"),
    )
    divisions = models.ManyToManyField(
        Division, verbose_name=_("所属区划"), related_name="named_features_crossing", blank=True
    )
    road_class = models.CharField(_("道路等级"), max_length=20, blank=True)
    width_m = models.FloatField(_("宽度（米）"), null=True, blank=True)
    length_m = models.FloatField(_("长度（米）"), null=True, blank=True, editable=False)
    start_desc = models.CharField(_("起点"), max_length=200, blank=True)
    end_desc = models.CharField(_("止点"), max_length=200, blank=True)
    location_desc = models.CharField(_("位置描述"), max_length=300, blank=True)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()
    objects = NamedFeatureQuerySet.as_manager()

    class Meta:
        verbose_name = _("地名实体")
        verbose_name_plural = _("地名实体")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="named_feature_geom_valid",
                condition=Q(geom__isnull=True) | Q(geom__isvalid=True),
                violation_error_message=_("几何无效"),
            ),
            models.CheckConstraint(
                name="named_feature_width_positive",
                condition=Q(width_m__isnull=True) | Q(width_m__gt=0),
                violation_error_message=_("宽度必须大于 0"),
            ),
        ]

    def __str__(self) -> str:
        name = self.current_name
        return f"{name.name if name else '（无名）'}（{self.code}）"

    @property
    def current_name(self) -> PlaceName | None:
        return self.names.filter(status=LifecycleStatus.ACTIVE).first()

    def location_text(self) -> str:
        if self.location_desc:
            return self.location_desc
        parts = [p for p in (self.start_desc, self.end_desc) if p]
        return "，".join(parts)


class PlaceNameQuerySet(models.QuerySet):
    def current(self):
        """Names in force or on the way there (not retired)."""
        return self.exclude(status=LifecycleStatus.RETIRED)

    def on_date(self, day: dt.date):
        """Names valid on `day`: valid_from ≤ day < valid_to."""
        return self.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day))


class PlaceName(TimeStampedModel):
    """One name record. Never edited in place: a rename retires it and creates a linked successor."""

    feature = models.ForeignKey(
        NamedFeature, verbose_name=_("地名实体"), on_delete=models.PROTECT, related_name="names"
    )
    name = models.CharField(_("标准名称"), max_length=50)
    specific = models.CharField(_("专名"), max_length=40, blank=True)
    generic = models.CharField(_("通名"), max_length=20, blank=True)
    romanization = models.CharField(_("罗马字母拼写"), max_length=400, blank=True)
    reading = models.CharField(
        _("读音校正"),
        max_length=400,
        blank=True,
        help_text=_("多音字读音，以空格分隔的无调拼音，每字一个，如 shi li pu"),
    )
    status = models.CharField(
        _("状态"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.PROPOSED
    )
    valid_from = models.DateField(_("启用日期"), null=True, blank=True)
    valid_to = models.DateField(_("废止日期"), null=True, blank=True)
    previous = models.OneToOneField(
        "self",
        verbose_name=_("前用名"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="successor",
    )
    decision = models.ForeignKey(
        DecisionDocument,
        verbose_name=_("批准文件"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approved_names",
    )
    retirement_decision = models.ForeignKey(
        DecisionDocument,
        verbose_name=_("废止依据"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retired_names",
    )
    meaning = models.TextField(_("含义"), blank=True)
    history_text = models.TextField(_("历史沿革"), blank=True)
    case = models.ForeignKey(
        "NamingCase",
        verbose_name=_("命名案件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="names",
    )
    # Search helpers, maintained by services (placenames.rules / romanize): toneless pinyin of the
    # full name (first reading), initials, and the rule engine's candidate keys.
    # a 50-character name (core.limits.MAX_NAME_CHARS) of six-letter syllables with separators fits in 400
    pinyin = models.CharField(_("无调拼音"), max_length=400, blank=True, editable=False)
    initials = models.CharField(_("拼音首字母"), max_length=50, blank=True, editable=False)
    keys = ArrayField(models.CharField(max_length=80), default=list, blank=True, editable=False)
    tokens = ArrayField(models.CharField(max_length=40), default=list, blank=True, editable=False)
    history = HistoricalRecords()
    objects = PlaceNameQuerySet.as_manager()

    class Meta:
        verbose_name = _("地名")
        verbose_name_plural = _("地名")
        ordering = ["feature", "valid_from", "id"]
        indexes = [
            GinIndex(fields=["keys"], name="placename_keys_gin"),
            GinIndex(fields=["tokens"], name="placename_tokens_gin"),
            GinIndex(fields=["name"], name="placename_name_trgm", opclasses=["gin_trgm_ops"]),
            GinIndex(fields=["pinyin"], name="placename_pinyin_trgm", opclasses=["gin_trgm_ops"]),
            models.Index(
                fields=["pinyin"], name="placename_pinyin_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["status"], name="placename_status_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["feature"],
                condition=Q(status="active"),
                name="placename_one_active_per_feature",
                violation_error_message=_("一个地名实体只能有一个现行名称"),
            ),
            models.CheckConstraint(
                name="placename_name_not_blank",
                condition=~Q(name="") & Q(name__regex=r"^\S+$"),
                violation_error_message=_("名称不能为空或包含空白"),
            ),
            models.CheckConstraint(
                name="placename_valid_range",
                condition=Q(valid_to__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_to__gte=models.F("valid_from")),
                violation_error_message=_("废止日期早于启用日期"),
            ),
            models.CheckConstraint(
                name="placename_retired_has_end",
                condition=~Q(status="retired") | Q(valid_to__isnull=False) | Q(valid_from__isnull=True),
                violation_error_message=_("已撤销的地名必须有废止日期"),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RoadSegment(TimeStampedModel):
    """A piece of road centre-line between junctions: the network edge. Unnamed segments have no feature."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    geom = models.LineStringField(_("中心线"), srid=settings.GEO_MZ_SRID)
    feature = models.ForeignKey(
        NamedFeature,
        verbose_name=_("所属道路"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="segments",
    )
    road_class = models.CharField(_("道路等级"), max_length=20, blank=True)
    width_m = models.FloatField(_("宽度（米）"), null=True, blank=True)
    length_m = models.FloatField(_("长度（米）"), editable=False, default=0)
    division = models.ForeignKey(
        Division, verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="road_segments"
    )
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("道路路段")
        verbose_name_plural = _("道路路段")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="road_segment_geom_valid",
                condition=Q(geom__isvalid=True),
                violation_error_message=_("中心线几何无效"),
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        self.length_m = round(self.geom.length, 2) if self.geom else 0
        super().save(*args, **kwargs)


class CaseKind(models.TextChoices):
    NEW = "new", _("命名")
    RENAME = "rename", _("更名")
    CANCEL = "cancel", _("销名")
    ALLEY_BATCH = "alley_batch", _("无名巷批量命名")


class CaseState(models.TextChoices):
    APPLICATION = "application", _("申报")
    REVIEW = "review", _("审核")
    NOTICE = "notice", _("公示")
    SUBMITTED = "submitted", _("报批")
    APPROVED = "approved", _("批准")
    FILED = "filed", _("备案")
    ANNOUNCED = "announced", _("公告")
    REJECTED = "rejected", _("不予批准")
    WITHDRAWN = "withdrawn", _("撤回")


class NamingCase(TimeStampedModel):
    """A naming case file: one application, its items (names), events, comments and attachments.

    The state machine lives in placenames/workflow.py (pure); services move the case.
    """

    number = models.CharField(_("案件编号"), max_length=40, unique=True)
    kind = models.CharField(_("类型"), max_length=20, choices=CaseKind.choices)
    state = models.CharField(
        _("状态"), max_length=20, choices=CaseState.choices, default=CaseState.APPLICATION
    )
    title = models.CharField(_("标题"), max_length=200)
    division = models.ForeignKey(
        Division, verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="naming_cases"
    )
    applicant = models.CharField(_("申报单位"), max_length=100)
    reason = models.TextField(_("申报理由"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("经办人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="naming_cases",
    )
    state_entered_on = models.DateField(_("进入当前状态日期"), default=dt.date.today)
    due_on = models.DateField(_("当前环节期限"), null=True, blank=True)
    notice_days = models.PositiveSmallIntegerField(_("公示天数"), default=7)
    notice_start = models.DateField(_("公示开始"), null=True, blank=True)
    notice_end = models.DateField(_("公示结束"), null=True, blank=True)
    decision = models.ForeignKey(
        DecisionDocument, verbose_name=_("批准文件"), null=True, blank=True, on_delete=models.PROTECT
    )
    approved_on = models.DateField(_("批准日期"), null=True, blank=True)
    filing_due_on = models.DateField(_("备案期限"), null=True, blank=True)
    announcement_due_on = models.DateField(_("公告期限"), null=True, blank=True)
    filed_on = models.DateField(_("备案日期"), null=True, blank=True)
    filed_with = models.CharField(_("备案机关"), max_length=100, blank=True)
    announced_on = models.DateField(_("公告日期"), null=True, blank=True)
    announcement_number = models.CharField(_("公告编号"), max_length=60, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("命名案件")
        verbose_name_plural = _("命名案件")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "due_on"], name="naming_case_state_due_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class CaseItem(TimeStampedModel):
    """One name in a case: a proposal for a new feature, a rename or a cancellation of an existing one."""

    case = models.ForeignKey(
        NamingCase, verbose_name=_("案件"), on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveSmallIntegerField(_("序号"), default=1)
    kind = models.ForeignKey(FeatureKind, verbose_name=_("类别"), on_delete=models.PROTECT)
    feature = models.ForeignKey(
        NamedFeature,
        verbose_name=_("地名实体"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="case_items",
    )
    segments = models.ManyToManyField(
        RoadSegment, verbose_name=_("路段"), blank=True, related_name="case_items"
    )
    name = models.CharField(_("拟用名称"), max_length=50, blank=True)
    specific = models.CharField(_("专名"), max_length=40, blank=True)
    generic = models.CharField(_("通名"), max_length=20, blank=True)
    reading = models.CharField(_("读音校正"), max_length=400, blank=True)
    romanization = models.CharField(_("罗马字母拼写"), max_length=400, blank=True)
    geom = models.GeometryField(_("几何"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    road_class = models.CharField(_("道路等级"), max_length=20, blank=True)
    width_m = models.FloatField(_("宽度（米）"), null=True, blank=True)
    start_desc = models.CharField(_("起点"), max_length=200, blank=True)
    end_desc = models.CharField(_("止点"), max_length=200, blank=True)
    meaning = models.TextField(_("含义"), blank=True)
    findings = models.JSONField(_("规则检查结果"), default=list, blank=True)
    result_name = models.ForeignKey(
        PlaceName,
        verbose_name=_("生成的地名"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("案件地名")
        verbose_name_plural = _("案件地名")
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(fields=["case", "position"], name="case_item_unique_position"),
        ]

    def __str__(self) -> str:
        return self.name or "（待命名）"


class CaseEvent(models.Model):
    """The case timeline: every transition with who, when and a comment."""

    case = models.ForeignKey(NamingCase, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=30)
    from_state = models.CharField(_("原状态"), max_length=20, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    comment = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("案件记录")
        verbose_name_plural = _("案件记录")
        ordering = ["case", "at", "id"]


class NoticeComment(TimeStampedModel):
    """A comment received during public notice (公示意见) and how it was handled."""

    case = models.ForeignKey(NamingCase, on_delete=models.CASCADE, related_name="comments")
    received_on = models.DateField(_("收到日期"))
    commenter = models.CharField(_("意见人"), max_length=100, blank=True)
    content = models.TextField(_("意见内容"))
    response = models.TextField(_("处理意见"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("公示意见")
        verbose_name_plural = _("公示意见")
        ordering = ["case", "received_on", "id"]


class AttachmentKind(models.TextChoices):
    ASSESSMENT = "assessment", _("综合评估报告")
    EXPERT = "expert", _("专家论证报告")
    CONSULTATION = "consultation", _("征求意见报告")
    OTHER = "other", _("其他材料")


class CaseAttachment(TimeStampedModel):
    case = models.ForeignKey(NamingCase, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("材料类型"), max_length=20, choices=AttachmentKind.choices)
    title = models.CharField(_("标题"), max_length=200)
    file = models.FileField(_("文件"), upload_to="placenames/cases/%Y/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("案件材料")
        verbose_name_plural = _("案件材料")
        ordering = ["case", "kind", "id"]


class SignType(models.TextChoices):
    ROAD = "路牌", _("路牌")
    ALLEY = "巷牌", _("巷牌")


class SignCondition(models.TextChoices):
    GOOD = "完好", _("完好")
    DAMAGED = "破损", _("破损")
    MISSING = "缺失", _("缺失")


class RoadSign(TimeStampedModel):
    """路牌/巷牌 inventory. `text` is what is printed on the sign; the report compares it with the name."""

    code = models.CharField(_("编号"), max_length=40, unique=True)
    sign_type = models.CharField(_("类型"), max_length=4, choices=SignType.choices)
    feature = models.ForeignKey(
        NamedFeature,
        verbose_name=_("道路"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="signs",
    )
    text = models.CharField(_("牌面名称"), max_length=50)
    pinyin_text = models.CharField(_("牌面拼音"), max_length=400, blank=True)
    point = models.PointField(_("位置"), srid=settings.GEO_MZ_SRID)
    installed_on = models.DateField(_("安装日期"), null=True, blank=True)
    condition = models.CharField(
        _("状况"), max_length=4, choices=SignCondition.choices, default=SignCondition.GOOD
    )
    photo = models.ImageField(_("照片"), upload_to="placenames/signs/%Y/", blank=True)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("路牌")
        verbose_name_plural = _("路牌")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class HeritageLevel(models.TextChoices):
    PROVINCIAL = "provincial", _("省级")
    MUNICIPAL = "municipal", _("市级")
    COUNTY = "county", _("县级")


class HeritageEntry(TimeStampedModel):
    """地名文化遗产 / 保护名录. A protected name needs protection measures on file before a rename."""

    feature = models.ForeignKey(
        NamedFeature, verbose_name=_("地名实体"), on_delete=models.PROTECT, related_name="heritage"
    )
    level = models.CharField(_("保护级别"), max_length=12, choices=HeritageLevel.choices)
    listed_on = models.DateField(_("列入日期"), null=True, blank=True)
    meaning = models.TextField(_("含义"), blank=True)
    history_text = models.TextField(_("历史沿革"), blank=True)
    protection_measures = models.TextField(_("保护措施"), blank=True)
    measures_on_file = models.BooleanField(_("保护措施已备案"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("地名保护名录")
        verbose_name_plural = _("地名保护名录")
        ordering = ["level", "feature"]

    def __str__(self) -> str:
        return f"{self.get_level_display()} {self.feature}"
