import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from geo_mz.core import jobs


class Command(BaseCommand):
    help = (
        "Work the background job queue (exports, bulk imports). Run one or more of these with "
        "GEO_MZ_JOBS_MODE=worker; jobs are claimed with SKIP LOCKED, so workers never collide."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="run the queued jobs, then stop")
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between polls of an empty queue")

    def handle(self, *args, **opts):
        while True:
            close_old_connections()
            # at start and then at most once a minute: interrupted jobs failed, old ones purged
            recovered, purged = jobs.jobs_housekeeping(min_interval_s=60)
            if recovered:
                self.stdout.write(f"[jobs] marked {recovered} interrupted job(s) as failed")
            if purged:
                self.stdout.write(f"[jobs] purged {purged} old job(s)")
            ran = 0
            while jobs.job_work_one():
                close_old_connections()
                ran += 1
            if ran:
                self.stdout.write(f"[jobs] ran {ran} job(s)")
            if opts["once"]:
                return
            time.sleep(opts["poll"])
