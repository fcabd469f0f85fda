"""Background jobs (exports, bulk imports) with progress, on PostgreSQL alone.

No broker: a job is a `core.Job` row. Workers claim queued rows with ``FOR UPDATE SKIP LOCKED``, so
any number of them (threads in the web process, or `manage.py jobs_work` processes on other machines)
never run one job twice. Handlers are registered by kind (`job_handler`) by the apps that own them.

``GEO_MZ_JOBS_MODE``:

* ``thread`` (default, and `make run`): submitting a job starts a daemon thread in the web process
  that works the queue until it is empty. Nothing else to run, but a restart of the web process
  interrupts a running job.
* ``worker`` (production, docker-compose): the web process only queues; `manage.py jobs_work` runs them.

Progress is written with its own short UPDATE (autocommit), so a client polling the job sees it
move while the handler's own work runs in a separate transaction.

Jobs always finish one way or another: while a handler runs, a heartbeat thread stamps
``heartbeat_at`` every ``GEO_MZ_JOBS_HEARTBEAT_S`` seconds on its own connection. Housekeeping
(`jobs_housekeeping`: recovery and purge) runs when any web process starts (wsgi/asgi call
`jobs_startup`), every minute in a daemon thread of that process, and in every `jobs_work` loop: a
running job whose heartbeat is older than ``GEO_MZ_JOBS_STALE_S`` lost its process (killed worker,
restarted server) and is marked failed as interrupted, its partial files removed. `job_retry` queues it
again with the same parameters.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import close_old_connections, connection, models, transaction
from django.utils import timezone

from geo_mz.core.db import connection_lost
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
        jobs_housekeeping(min_interval_s=60)
        while job_work_one():
            close_old_connections()
    finally:
        connection.close()


def heartbeat_seconds() -> float:
    return float(getattr(settings, "GEO_MZ_JOBS_HEARTBEAT_S", 10))


def stale_seconds() -> float:
    return float(getattr(settings, "GEO_MZ_JOBS_STALE_S", 60))


class _Heartbeat:
    """Stamp `heartbeat_at` of one job every `interval` seconds from a daemon thread (own connection,
    autocommit) until stopped: the handler may hold a long transaction on the main connection."""

    def __init__(self, job_id: int, interval: float) -> None:
        self.job_id = job_id
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"geo-mz-job-{job_id}-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except Exception:  # noqa: BLE001 - a missed beat is retried; the job itself goes on
                    logger.warning("job %s: heartbeat not recorded", self.job_id, exc_info=True)
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
        job.started_at = job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "started_at", "heartbeat_at"])
    return job


def job_run(job: Job) -> Job:
    """Run a claimed job's handler and store its outcome (done with result/file, or failed)."""
    handler = _HANDLERS.get(job.kind)
    with tempfile.TemporaryDirectory(prefix=_workdir_prefix(job.pk)) as tmp:
        ctx = JobContext(job, Path(tmp))
        try:
            if handler is None:
                raise JobError(f"未知任务类型 {job.kind} / unknown job kind")
            with _Heartbeat(job.pk, heartbeat_seconds()):
                out = handler(ctx)
        except Exception as exc:  # noqa: BLE001 - any failure is the job's outcome, reported to the user
            if not isinstance(exc, JobError | ValueError):
                logger.exception("job %s failed", job.pk)
            if connection_lost(exc) and not connection.in_atomic_block:
                connection.close()  # the failure is saved on a fresh connection, not on the dead one
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


INTERRUPTED = "任务被中断（处理它的进程已停止），可点击“重试”重新运行"


def _workdir_prefix(job_id: int) -> str:
    return f"geo-mz-job-{job_id}-"


def _remove_partial_files(job: Job) -> None:
    """A killed process leaves its work directory (partial exports, unpacked uploads) in the temp dir."""
    for path in Path(tempfile.gettempdir()).glob(_workdir_prefix(job.pk) + "*"):
        shutil.rmtree(path, ignore_errors=True)
    if job.file:
        job.file.delete(save=False)


def jobs_recover(stale_after_s: float | None = None) -> int:
    """Mark running jobs whose process died (no heartbeat for `stale_after_s`, GEO_MZ_JOBS_STALE_S)
    as failed with the reason "interrupted", and remove their partial files. Returns how many."""
    stale = stale_seconds() if stale_after_s is None else stale_after_s
    cutoff = timezone.now() - timezone.timedelta(seconds=stale)
    n = 0
    stale_jobs = Job.objects.filter(status=JobStatus.RUNNING).filter(
        models.Q(heartbeat_at__lt=cutoff) | models.Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    for job in stale_jobs:
        # the UPDATE re-checks the status and heartbeat: a beat that arrived meanwhile keeps the job
        marked = (
            Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING)
            .filter(models.Q(heartbeat_at__lt=cutoff) | models.Q(heartbeat_at__isnull=True))
            .update(status=JobStatus.FAILED, error=INTERRUPTED, finished_at=timezone.now(), file="")
        )
        if marked:
            _remove_partial_files(job)
            n += 1
    return n


def job_retry(job: Job, *, user=None) -> Job:
    """Queue a failed job again with the same parameters (the retry links back to it)."""
    if job.status != JobStatus.FAILED:
        raise JobError("只有失败的任务可以重试")
    upload = job.params.get("upload") if isinstance(job.params, dict) else None
    if upload and not (Path(settings.MEDIA_ROOT) / upload).exists():
        raise JobError("该任务上传的文件已不在服务器上，请重新上传后再导入")
    retry = job_submit(job.kind, dict(job.params), user=user or job.created_by)
    Job.objects.filter(pk=retry.pk).update(retry_of=job)
    retry.retry_of = job
    return retry


_last_housekeeping = 0.0
_housekeeping_lock = threading.Lock()


def jobs_housekeeping(*, min_interval_s: float = 0.0) -> tuple[int, int]:
    """Recover interrupted jobs and purge old ones; at most once per `min_interval_s` in a process.
    Returns (recovered, purged). Never raises: housekeeping must not break the caller."""
    global _last_housekeeping
    with _housekeeping_lock:
        now = time.monotonic()
        if _last_housekeeping and now - _last_housekeeping < min_interval_s:
            return 0, 0
        _last_housekeeping = now
    try:
        return jobs_recover(), jobs_purge()
    except Exception:  # noqa: BLE001 - e.g. the table does not exist yet before the first migrate
        logger.warning("jobs housekeeping failed", exc_info=True)
        return 0, 0


def _housekeeping_main(interval_s: float) -> None:
    while True:
        try:
            close_old_connections()
            jobs_housekeeping()
            if jobs_mode() == "thread" and Job.objects.filter(status=JobStatus.QUEUED).exists():
                _start_thread()  # jobs queued by a process that died before working them
        except Exception:  # noqa: BLE001 - keep the loop alive across database restarts
            logger.warning("jobs housekeeping loop", exc_info=True)
        finally:
            connection.close()
        time.sleep(interval_s)


_started = False


def jobs_startup(interval_s: float = 60.0) -> None:
    """Called once by each web process (wsgi.py/asgi.py): housekeeping now and every `interval_s`."""
    global _started
    if _started:
        return
    _started = True
    threading.Thread(
        target=_housekeeping_main, args=(interval_s,), name="geo-mz-jobs-housekeeping", daemon=True
    ).start()


def jobs_purge(keep_days: int | None = None) -> int:
    """Delete finished jobs (and their files) older than `keep_days` (GEO_MZ_JOBS_KEEP_DAYS, 7)."""
    days = keep_days if keep_days is not None else getattr(settings, "GEO_MZ_JOBS_KEEP_DAYS", 7)
    cutoff = timezone.now() - timezone.timedelta(days=days)
    n = 0
    for job in Job.objects.filter(finished_at__lt=cutoff):
        if job.file:
            job.file.delete(save=False)
        upload = job.params.get("upload") if isinstance(job.params, dict) else None
        if upload:  # an import's saved upload, kept after a failure so that it can be retried
            with contextlib.suppress(OSError):
                shutil.rmtree((Path(settings.MEDIA_ROOT) / upload).parent)
        job.delete()
        n += 1
    return n
