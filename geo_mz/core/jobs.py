"""Background jobs (exports, bulk imports) with progress, on PostgreSQL alone.

No broker: a job is a `core.Job` row. Workers claim queued rows with ``FOR UPDATE SKIP LOCKED``, so
any number of them (threads in the web process, or `manage.py jobs_work` processes on other machines)
never run one job twice. Handlers are registered by kind (`job_handler`) by the apps that own them.

``GEO_MZ_JOBS_MODE``:

* ``thread`` (default, and `make run`): submitting a job starts a daemon thread in the web process
  that works the queue until it is empty. Nothing else to run, but a restart of the web process
  interrupts a running job (it is marked failed with the reason at the next start of a worker).
* ``worker`` (production, docker-compose): the web process only queues; `manage.py jobs_work` runs them.

Progress is written with its own short UPDATE (autocommit), so a client polling the job sees it
move while the handler's own work runs in a separate transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from geo_mz.core.models import Job, JobStatus

logger = logging.getLogger(__name__)


class JobError(Exception):
    """A job failed for a reason the user should read (shown as the job's error)."""


@dataclass
class JobContext:
    """What a handler gets: the job, a progress callback and where to put its result file."""

    job: Job
    workdir: Path
    _last: float = 0.0

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Record progress; throttled to one UPDATE per 0.5 s except when `total` or `message` change."""
        now = time.monotonic()
        if now - self._last < 0.5 and total is None and not message:
            return
        self._last = now
        fields: dict[str, Any] = {"progress": done}
        if total is not None:
            fields["total"] = total
        if message:
            fields["message"] = message[:300]
        Job.objects.filter(pk=self.job.pk).update(**fields)


Handler = Callable[[JobContext], dict[str, Any] | tuple[dict[str, Any], Path, str]]
_HANDLERS: dict[str, Handler] = {}


def job_handler(kind: str) -> Callable[[Handler], Handler]:
    """Register a handler. It returns the result dict, or (result, file path, download name)."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def jobs_mode() -> str:
    return getattr(settings, "GEO_MZ_JOBS_MODE", "thread")


def job_submit(kind: str, params: dict[str, Any], *, user=None) -> Job:
    """Queue a job; in thread mode start working the queue once the surrounding transaction commits."""
    if kind not in _HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job.objects.create(kind=kind, params=params, created_by=user if user and user.pk else None)
    if jobs_mode() == "thread":
        transaction.on_commit(_start_thread)
    return job


def _start_thread() -> None:
    threading.Thread(target=_thread_main, name="geo-mz-jobs", daemon=True).start()


def _thread_main() -> None:
    try:
        close_old_connections()
        while job_work_one():
            close_old_connections()
    finally:
        connection.close()


def job_claim() -> Job | None:
    """The oldest queued job, marked running, or None. Safe with concurrent workers."""
    with transaction.atomic():
        job = (
            Job.objects.select_for_update(skip_locked=True)
            .filter(status=JobStatus.QUEUED)
            .order_by("created_at", "id")
            .first()
        )
        if job is None:
            return None
        job.status = JobStatus.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["status", "started_at"])
    return job


def job_run(job: Job) -> Job:
    """Run a claimed job's handler and store its outcome (done with result/file, or failed)."""
    import tempfile

    handler = _HANDLERS.get(job.kind)
    with tempfile.TemporaryDirectory(prefix=f"geo-mz-job-{job.pk}-") as tmp:
        ctx = JobContext(job, Path(tmp))
        try:
            if handler is None:
                raise JobError(f"未知任务类型 {job.kind} / unknown job kind")
            out = handler(ctx)
        except Exception as exc:  # noqa: BLE001 - any failure is the job's outcome, reported to the user
            if not isinstance(exc, JobError | ValueError):
                logger.exception("job %s failed", job.pk)
            job.status = JobStatus.FAILED
            job.error = str(exc) or exc.__class__.__name__
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
            return job
        if isinstance(out, tuple):
            result, path, name = out
            with path.open("rb") as fh:
                job.file.save(f"{job.pk}-{name}", File(fh), save=False)
            job.file_name = name
        else:
            result = out
        job.refresh_from_db(fields=["progress", "total", "message"])
        job.result = result
        job.status = JobStatus.DONE
        if job.total is not None:
            job.progress = job.total
        job.finished_at = timezone.now()
        job.save(update_fields=["result", "status", "file", "file_name", "progress", "finished_at"])
    return job


def job_work_one() -> bool:
    """Claim and run one job. False when the queue is empty. Long-running workers call
    `close_old_connections()` between jobs (the thread and `jobs_work` do)."""
    job = job_claim()
    if job is None:
        return False
    job_run(job)
    return True


def jobs_recover(stale_after_s: float = 6 * 3600) -> int:
    """Mark jobs left running by a dead process as failed (a restart interrupted them)."""
    cutoff = timezone.now() - timezone.timedelta(seconds=stale_after_s)
    return Job.objects.filter(status=JobStatus.RUNNING, started_at__lt=cutoff).update(
        status=JobStatus.FAILED,
        error="任务被中断（服务重启），请重新提交 / interrupted by a restart; submit it again",
        finished_at=timezone.now(),
    )


def jobs_purge(keep_days: int | None = None) -> int:
    """Delete finished jobs (and their files) older than `keep_days` (GEO_MZ_JOBS_KEEP_DAYS, 7)."""
    days = keep_days if keep_days is not None else getattr(settings, "GEO_MZ_JOBS_KEEP_DAYS", 7)
    cutoff = timezone.now() - timezone.timedelta(days=days)
    n = 0
    for job in Job.objects.filter(finished_at__lt=cutoff):
        if job.file:
            job.file.delete(save=False)
        job.delete()
        n += 1
    return n
