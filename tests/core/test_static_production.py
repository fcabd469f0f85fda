"""Production mode (issue 14): with DEBUG off every page renders from the collected manifest.

``DJANGO_DEBUG=0`` switches static files to whitenoise's manifest storage; before the fix the
set-up only collected static files when DEBUG was already off, so ``make run`` with
``DJANGO_DEBUG=0`` gave "Missing staticfiles manifest entry" (500) on every HTML page. Here the
set-up's collector runs into a temporary STATIC_ROOT, then the pages are requested through the
real middleware (whitenoise included) with DEBUG off and the manifest storage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client, override_settings

from geo_mz.core import roles
from geo_mz.core.staticfiles import static_collect_for_production


def _production(static_root: Path) -> override_settings:
    return override_settings(
        DEBUG=False,
        STATIC_ROOT=static_root,
        STORAGES={**settings.STORAGES, "staticfiles": settings.GEO_MZ_STATIC_MANIFEST_STORAGE},
    )


@pytest.fixture(scope="module")
def collected_root(
    tmp_path_factory: pytest.TempPathFactory, django_db_setup, django_db_blocker
) -> Iterator[Path]:
    """STATIC_ROOT after ``manage.py setup_app`` ran as scripts/setup.sh runs it: with DEBUG on."""
    root = tmp_path_factory.mktemp("static")
    with django_db_blocker.unblock(), override_settings(STATIC_ROOT=root, DEBUG=True):
        call_command("setup_app")
    yield root


def test_given_collected_once_when_collected_again_then_nothing_is_copied(collected_root: Path) -> None:
    with override_settings(STATIC_ROOT=collected_root):
        assert static_collect_for_production() == 0  # idempotent: the set-up runs on every make run


def test_given_setup_collected_static_when_debug_off_then_pages_render_and_hashed_assets_serve(
    collected_root: Path, make_user
) -> None:
    manifest = json.loads((collected_root / "staticfiles.json").read_text())["paths"]
    officer = make_user(role=roles.PLACENAME_OFFICER, jurisdiction_code="421281")

    with _production(collected_root):
        anonymous, signed_in = Client(), Client()
        signed_in.force_login(officer)
        pages = [
            (anonymous, "/"),
            (anonymous, "/accounts/login/"),
            (signed_in, "/"),
            (signed_in, "/placenames/"),
            (signed_in, "/admin/login/"),
        ]
        assets: set[str] = set()
        for client, path in pages:
            response = client.get(path)
            assert response.status_code in (200, 302), (path, response.status_code)
            if response.status_code == 200:
                assets |= set(re.findall(r'/static/([^"\'?#\s]+)', response.content.decode()))
        for asset in sorted(assets):
            response = anonymous.get(f"/static/{asset}")
            assert response.status_code == 200, asset
            response.close()

    hashed = set(manifest.values())
    assert assets and assets <= hashed, sorted(assets - hashed)  # pages link only hashed names


def test_given_nothing_collected_when_debug_off_then_pages_fail_on_the_missing_manifest(
    tmp_path: Path, db
) -> None:
    """The failure the set-up prevents: proves the check above can fail."""
    with _production(tmp_path), pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
        Client().get("/accounts/login/")
