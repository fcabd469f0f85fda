"""Shared kernel models: timestamps, lifecycle status, decision documents, user profiles."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        abstract = True


class LifecycleStatus(models.TextChoices):
    """proposed → approved → active → retired. Key fields are never edited in place: a change retires
    the old record and creates a linked new one."""

    PROPOSED = "proposed", _("拟设")
    APPROVED = "approved", _("已批准")
    ACTIVE = "active", _("现行")
    RETIRED = "retired", _("已撤销")


class DecisionDocument(TimeStampedModel):
    """The decision behind a change: 批准文号, date and approving body."""

    number = models.CharField(_("批准文号"), max_length=100)
    title = models.CharField(_("文件标题"), max_length=200, blank=True)
    decided_on = models.DateField(_("批准日期"))
    approving_body = models.CharField(_("批准机关"), max_length=100)
    file = models.FileField(_("文件"), upload_to="decisions/%Y/", blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("批准文件")
        verbose_name_plural = _("批准文件")
        ordering = ["-decided_on", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["number", "approving_body"], name="decision_document_unique_number"
            )
        ]

    def __str__(self) -> str:
        return f"{self.approving_body} {self.number}"


division_code_validator = RegexValidator(
    r"^(\d{6}|\d{9}|\d{12})$", _("区划代码必须为 6、9 或 12 位数字 / a division code has 6, 9 or 12 digits")
)


class UserProfile(TimeStampedModel):
    """Each user works within a jurisdiction, a division given by its code (see core.jurisdiction)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    jurisdiction_code = models.CharField(
        _("管辖区划代码"), max_length=12, validators=[division_code_validator], blank=True
    )
    organisation = models.CharField(_("单位"), max_length=100, blank=True)
    phone = models.CharField(_("电话"), max_length=30, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("用户资料")
        verbose_name_plural = _("用户资料")

    def __str__(self) -> str:
        return f"{self.user} @ {self.jurisdiction_code or '-'}"


class SerialCounter(models.Model):
    """Gap-free per-scope sequences (core.sequences.next_serial): case numbers, feature codes, address
    codes per township, certificate serials per county and year. Incremented under a row lock."""

    scope = models.CharField(max_length=60, unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("流水号")
        verbose_name_plural = _("流水号")

    def __str__(self) -> str:
        return f"{self.scope}: {self.last}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    RUNNING = "running", _("进行中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("失败")


class Job(models.Model):
    """A background job (exports, bulk imports) with progress, run by core.jobs.

    `kind` names a handler registered in core.jobs; `params` are its arguments. A finished job keeps
    its result file (under MEDIA_ROOT/jobs/) and a JSON `result` (counts, per-row report…)."""

    kind = models.CharField(_("类型"), max_length=40)
    params = models.JSONField(_("参数"), default=dict)
    status = models.CharField(_("状态"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveBigIntegerField(_("已处理"), default=0)
    total = models.PositiveBigIntegerField(_("总数"), null=True, blank=True)
    message = models.CharField(_("说明"), max_length=300, blank=True)
    result = models.JSONField(_("结果"), default=dict, blank=True)
    file = models.FileField(_("结果文件"), upload_to="jobs/%Y/%m/", blank=True, max_length=300)
    file_name = models.CharField(_("下载文件名"), max_length=200, blank=True)
    error = models.TextField(_("错误"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("提交人"), null=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    # Written every few seconds by the process running the job (core.jobs): a running job whose
    # heartbeat is older than GEO_MZ_JOBS_STALE_S lost its process and is marked failed.
    heartbeat_at = models.DateTimeField(_("最近心跳"), null=True, blank=True)
    retry_of = models.ForeignKey(
        "self", verbose_name=_("重试自"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="core_job_status_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} {self.status}"

    @property
    def percent(self) -> float | None:
        if not self.total:
            return 100.0 if self.status == JobStatus.DONE else None
        return round(min(self.progress / self.total, 1.0) * 100, 1)
