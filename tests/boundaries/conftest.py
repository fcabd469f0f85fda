from __future__ import annotations

import datetime as dt
import io

import pytest


def png_bytes(color=(200, 30, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def open_inspection(honghu_line, side_users):
    from geo_mz.boundaries import services

    return services.inspection_create(
        honghu_line.pk,
        round_year=2026,
        lead_code="421281",
        start_date=dt.date(2026, 10, 12),
        end_date=dt.date(2026, 10, 15),
        participants_a="洪湖市民政局 甲某",
        participants_b="赤壁市民政局 乙某",
        user=side_users[1],
    )


def record_all(inspection, user, *, condition="intact"):
    """A finding for every marker of the inspection's line."""
    from geo_mz.boundaries import services

    for m in inspection.line.markers.exclude(status="retired"):
        services.finding_record(inspection.pk, marker_id=m.pk, condition=condition, repainted=True, user=user)
