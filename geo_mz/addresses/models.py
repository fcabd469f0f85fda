"""门牌: address points (house numbers) on roads, in compounds and in villages; buildings; numbering
profiles; house-number cases; certificates (门牌证) with verifiable serials; rural campaigns.

An *address* is a numbered entrance. Its key fields (locator + number + suffix, building/unit/room)
are never edited in place: a change retires the record and creates a new one that points back to
it (`previous`), so "what was this address in 2019?" has an answer. An entrance captured before it
has a number is an address in state `proposed` with `number` empty.

Uniqueness is enforced by the database, on active records only:
road + number + suffix; compound + building + unit + room; village + group + number + suffix.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from geo_mz.addresses import workflow
from geo_mz.core.models import DecisionDocument, LifecycleStatus, TimeStampedModel
from geo_mz.divisions.models import Division
from geo_mz.placenames.models import NamedFeature


class AddressKind(models.TextChoices):
    ROAD = "road", _("道路门牌")
    COMPOUND = "compound", _("小区楼栋门牌")
    RURAL = "rural", _("农村门牌")


class NumberingProfile(TimeStampedModel):
    """Per-road overrides of the deployment's numbering rules (see addresses/numbering.py)."""

    feature = models.OneToOneField(
        NamedFeature, verbose_name=_("道路"), on_delete=models.CASCADE, related_name="numbering_profile"
    )
    rules = models.JSONField(
        _("编号规则覆盖"),
        default=dict,
        blank=True,
        help_text=_('如 {"direction": "reverse", "spacing_m": 15, "suffix_scheme": "dash"}'),
    )
    origin = models.PointField(_("起编点（死胡同入口）"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("道路编号规则")
        verbose_name_plural = _("道路编号规则")

    def __str__(self) -> str:
        return f"{self.feature}: {self.rules}"


class Building(TimeStampedModel):
    """A building footprint; compound buildings carry their building number and layout."""

    code = models.CharField(_("编码"), max_length=40, unique=True)
    footprint = models.PolygonField(_("建筑轮廓"), srid=settings.GEO_MZ_SRID, null=True, blank=True)
    compound = models.ForeignKey(
        NamedFeature,
        verbose_name=_("所属小区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="buildings",
    )
    number = models.PositiveIntegerField(_("楼栋号"), null=True, blank=True)
    units = models.PositiveSmallIntegerField(_("单元数"), default=1)
    floors = models.PositiveSmallIntegerField(_("层数"), default=1)
    rooms_per_floor = models.PositiveSmallIntegerField(_("每层每单元户数"), default=2)
    use = models.CharField(_("用途"), max_length=20, blank=True)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("建筑")
        verbose_name_plural = _("建筑")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                name="building_footprint_valid",
                condition=Q(footprint__isnull=True) | Q(footprint__isvalid=True),
                violation_error_message=_("建筑轮廓几何无效"),
            ),
            models.UniqueConstraint(
                fields=["compound", "number"],
                condition=Q(compound__isnull=False, number__isnull=False),
                name="building_unique_number_in_compound",
                violation_error_message=_("小区内楼栋号重复"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}" + (f"（{self.number}幢）" if self.number else "")


class AddressQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=LifecycleStatus.ACTIVE)

    def within_code(self, code: str):
        from geo_mz.core.jurisdiction import jurisdiction_prefix

        return self.filter(division__code__startswith=jurisdiction_prefix(code))


class Address(TimeStampedModel):
    """One house number (门牌). `point` is the entrance (门口) in the storage CRS."""

    code = models.CharField(_("门牌编码"), max_length=24, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=AddressKind.choices)
    status = models.CharField(
        _("状态"), max_length=10, choices=LifecycleStatus.choices, default=LifecycleStatus.PROPOSED
    )
    point = models.PointField(_("门口位置"), srid=settings.GEO_MZ_SRID)
    building = models.ForeignKey(
        Building,
        verbose_name=_("建筑"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="addresses",
    )
    feature = models.ForeignKey(
        NamedFeature,
        verbose_name=_("道路或小区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="addresses",
    )
    division = models.ForeignKey(
        Division,
        verbose_name=_("所属区划"),
        on_delete=models.PROTECT,
        related_name="addresses",
        help_text=_("乡镇（街道）；农村门牌为村（社区）"),
    )
    group = models.CharField(_("组/自然村"), max_length=30, blank=True)
    number = models.PositiveIntegerField(_("门牌号"), null=True, blank=True)
    suffix = models.CharField(_("附号"), max_length=8, blank=True, help_text=_("如 之一、-1、甲、A"))
    building_no = models.PositiveIntegerField(_("幢"), null=True, blank=True)
    unit_no = models.PositiveSmallIntegerField(_("单元"), null=True, blank=True)
    room = models.CharField(_("室"), max_length=10, blank=True)
    label = models.CharField(_("门牌"), max_length=80, blank=True, help_text=_("如 人民路15号之一"))
    full_text = models.CharField(_("标准地址"), max_length=200, blank=True)
    chainage_m = models.FloatField(_("沿路里程（米）"), null=True, blank=True)
    side = models.SmallIntegerField(_("侧别"), null=True, blank=True, help_text=_("1 右侧，-1 左侧"))
    use = models.CharField(_("用途"), max_length=20, blank=True)
    valid_from = models.DateField(_("启用日期"), null=True, blank=True)
    valid_to = models.DateField(_("停用日期"), null=True, blank=True)
    previous = models.OneToOneField(
        "self",
        verbose_name=_("原门牌"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="successor",
    )
    decision = models.ForeignKey(
        DecisionDocument, verbose_name=_("批准文件"), null=True, blank=True, on_delete=models.PROTECT
    )
    recorded_only = models.BooleanField(
        _("他部门编制"), default=False, help_text=_("由公安等其他部门编制，本局登记")
    )
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()
    objects = AddressQuerySet.as_manager()

    class Meta:
        verbose_name = _("门牌")
        verbose_name_plural = _("门牌")
        ordering = ["feature_id", "number", "suffix", "building_no", "unit_no", "room"]
        indexes = [
            models.Index(fields=["feature", "number"], name="address_feature_number_idx"),
            models.Index(fields=["division", "status"], name="address_division_status_idx"),
            models.Index(fields=["status", "kind"], name="address_status_kind_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["feature", "number", "suffix"],
                condition=Q(status="active", kind="road"),
                name="address_unique_active_road_number",
                violation_error_message=_("该道路上此门牌号已在使用"),
            ),
            models.UniqueConstraint(
                fields=["feature", "building_no", "unit_no", "room"],
                condition=Q(status="active", kind="compound"),
                nulls_distinct=False,
                name="address_unique_active_compound_room",
                violation_error_message=_("该小区此楼栋/单元/室已在使用"),
            ),
            models.UniqueConstraint(
                fields=["division", "group", "number", "suffix"],
                condition=Q(status="active", kind="rural"),
                name="address_unique_active_rural_number",
                violation_error_message=_("该村此组门牌号已在使用"),
            ),
            models.CheckConstraint(
                name="address_active_has_number",
                condition=~Q(status="active") | Q(number__isnull=False) | Q(building_no__isnull=False),
                violation_error_message=_("现行门牌必须有门牌号或楼栋号"),
            ),
            models.CheckConstraint(
                name="address_road_kind_has_feature",
                condition=~Q(kind__in=["road", "compound"]) | Q(feature__isnull=False),
                violation_error_message=_("道路门牌和小区门牌必须指明道路或小区"),
            ),
        ]

    def __str__(self) -> str:
        return self.full_text or self.label or self.code


class VillageCampaign(TimeStampedModel):
    """A village's standard rural numbering campaign (农村门牌编制), for the completion figures."""

    village = models.OneToOneField(
        Division, verbose_name=_("村（社区）"), on_delete=models.PROTECT, related_name="numbering_campaign"
    )
    started_on = models.DateField(_("开始日期"))
    completed_on = models.DateField(_("完成日期"), null=True, blank=True)
    households_expected = models.PositiveIntegerField(_("应编户数"), null=True, blank=True)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("农村门牌编制")
        verbose_name_plural = _("农村门牌编制")
        ordering = ["village__code"]

    def __str__(self) -> str:
        return f"{self.village.name} {'已完成' if self.completed_on else '进行中'}"


class AddressCaseKind(models.TextChoices):
    NEW = "new", _("新编门牌")
    CHANGE = "change", _("门牌变更")


class AddressCaseState(models.TextChoices):
    APPLICATION = workflow.APPLICATION, _("申请")
    COMPILE = workflow.COMPILE, _("编制")
    REVIEW = workflow.REVIEW, _("审核")
    ISSUED = workflow.ISSUED, _("发证")
    REFUSED = workflow.REFUSED, _("不予办理")
    WITHDRAWN = workflow.WITHDRAWN, _("撤回")


class OwnerKind(models.TextChoices):
    PERSON = "person", _("个人")
    UNIT = "unit", _("单位")


class AddressCase(TimeStampedModel):
    """A house-number application: 申请 → 编制 → 审核 → 发证. The owner's contact data stay here and
    on the certificate, never on the public verification page."""

    number = models.CharField(_("案件编号"), max_length=40, unique=True)
    kind = models.CharField(_("类型"), max_length=10, choices=AddressCaseKind.choices)
    state = models.CharField(
        _("状态"), max_length=20, choices=AddressCaseState.choices, default=AddressCaseState.APPLICATION
    )
    owner = models.CharField(_("权利人/申请人"), max_length=100)
    owner_kind = models.CharField(_("申请人类型"), max_length=10, choices=OwnerKind.choices)
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    previous_address = models.CharField(_("原地址"), max_length=200, blank=True)
    previous_source = models.CharField(
        _("原地址来源"), max_length=20, blank=True, help_text=_("房产证、不动产权证、土地证、户籍、营业执照")
    )
    division = models.ForeignKey(
        Division, verbose_name=_("所属区划"), on_delete=models.PROTECT, related_name="address_cases"
    )
    address = models.ForeignKey(
        Address,
        verbose_name=_("门牌"),
        on_delete=models.PROTECT,
        related_name="cases",
        help_text=_("新编：待编号的门口；变更：拟用的新门牌"),
    )
    replaces = models.ForeignKey(
        Address,
        verbose_name=_("原门牌（变更）"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="change_cases",
    )
    reason = models.TextField(_("申请事由"), blank=True)
    findings = models.JSONField(_("编号检查结果"), default=list, blank=True)
    applied_on = models.DateField(_("申请日期"))
    due_on = models.DateField(_("办结期限"), null=True, blank=True)
    issued_on = models.DateField(_("发证日期"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(_("版本"), default=1)
    history = HistoricalRecords(excluded_fields=["phone"])

    class Meta:
        verbose_name = _("门牌案件")
        verbose_name_plural = _("门牌案件")
        ordering = ["-applied_on", "-id"]
        indexes = [models.Index(fields=["state", "due_on"], name="address_case_state_due_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.owner}"


class AddressCaseEvent(models.Model):
    case = models.ForeignKey(AddressCase, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("操作"), max_length=30)
    from_state = models.CharField(_("原状态"), max_length=20, blank=True)
    to_state = models.CharField(_("新状态"), max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    comment = models.TextField(_("说明"), blank=True)

    class Meta:
        verbose_name = _("门牌案件记录")
        verbose_name_plural = _("门牌案件记录")
        ordering = ["case", "at", "id"]


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("有效")
    SUPERSEDED = "superseded", _("已换发")
    CANCELLED = "cancelled", _("已注销")


def _token() -> str:
    return secrets.token_urlsafe(16)


class Certificate(TimeStampedModel):
    """门牌证. `token` makes the public verification URL unguessable; the serial is gap-free per county
    and year. One valid certificate per address (partial unique index)."""

    serial = models.CharField(_("证号"), max_length=40, unique=True)
    token = models.CharField(max_length=40, unique=True, default=_token, editable=False)
    address = models.ForeignKey(
        Address, verbose_name=_("门牌"), on_delete=models.PROTECT, related_name="certificates"
    )
    case = models.ForeignKey(
        AddressCase,
        verbose_name=_("案件"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="certificates",
    )
    owner = models.CharField(_("权利人/申请人"), max_length=100)
    owner_kind = models.CharField(_("申请人类型"), max_length=10, choices=OwnerKind.choices)
    previous_address = models.CharField(_("原地址"), max_length=200, blank=True)
    previous_source = models.CharField(_("原地址来源"), max_length=20, blank=True)
    issued_on = models.DateField(_("发证日期"))
    issuing_office = models.CharField(_("发证机关"), max_length=100)
    status = models.CharField(
        _("状态"), max_length=12, choices=CertificateStatus.choices, default=CertificateStatus.VALID
    )
    issue_kind = models.CharField(
        _("发证方式"), max_length=10, default="初发", help_text=_("初发、补发（遗失）、换发（损坏或变更）")
    )
    replaces = models.OneToOneField(
        "self",
        verbose_name=_("原证"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    ended_on = models.DateField(_("失效日期"), null=True, blank=True)
    end_reason = models.CharField(_("失效原因"), max_length=200, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    synthetic = models.BooleanField(_("合成数据"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("门牌证")
        verbose_name_plural = _("门牌证")
        ordering = ["-issued_on", "-serial"]
        constraints = [
            models.UniqueConstraint(
                fields=["address"],
                condition=Q(status="valid"),
                name="certificate_one_valid_per_address",
                violation_error_message=_("该门牌已有有效门牌证"),
            ),
        ]

    def __str__(self) -> str:
        return self.serial
