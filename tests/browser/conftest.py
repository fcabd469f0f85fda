"""Browser fixtures: Debian chromium through Playwright, and the demo county in the live-server DB."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("GEO_MZ_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("GEO_MZ_ARTIFACTS", "artifacts"))
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls here are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"Debian chromium not found at {CHROMIUM} (scripts/setup.sh installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


@pytest.fixture
def demo_county(transactional_db):
    """Each live-server test ends with a flush: reload the demo county when an earlier one emptied it."""
    from geo_mz.core.services import roles_sync
    from geo_mz.demo.services import demo_load
    from geo_mz.placenames.services import feature_kinds_ensure

    roles_sync()
    feature_kinds_ensure()
    demo_load()
