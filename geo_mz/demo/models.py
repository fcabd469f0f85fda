from django.db import models
from django.utils.translation import gettext_lazy as _


class LoadedDataset(models.Model):
    """Which demo data set was loaded, by content fingerprint, so a repeated set-up can skip it."""

    name = models.CharField(_("数据集"), max_length=50, unique=True)
    fingerprint = models.CharField(_("内容摘要"), max_length=64)
    loaded_at = models.DateTimeField(_("加载时间"), auto_now=True)

    class Meta:
        verbose_name = _("已加载数据集")
        verbose_name_plural = _("已加载数据集")

    def __str__(self) -> str:
        return f"{self.name} {self.fingerprint[:12]}"
