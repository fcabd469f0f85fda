"""Server-rendered pages: Chinese by default, English on request, assets served locally."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from geo_mz.core import roles
from geo_mz.divisions.models import Division

pytestmark = pytest.mark.django_db


def test_map_page_is_chinese_and_loads_only_local_assets(client: Client):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "赤壁市" in html and "合成数据" in html
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not url.startswith(("http://", "https://", "//")), url


def test_map_page_in_english(client: Client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Synthetic data" in html and "Map" in html


def test_import_page_requires_login(client: Client):
    response = client.get("/divisions/import/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_import_page_dry_run_shows_row_report(client: Client, make_user):
    client.force_login(make_user(roles.ADMIN))
    upload = SimpleUploadedFile(
        "c.csv",
        "code,name,level,parent_code\n421281999,测试镇,township,421281\n42128199X,坏,township,421281\n".encode(),
    )
    response = client.post(
        "/divisions/import/",
        {
            "kind": "codes",
            "file": upload,
            "coordinate_system": "wgs84",
            "code_field": "code",
            "name_field": "name",
            "dry_run": "on",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="import-report"' in html and "42128199X" in html
    assert not Division.objects.filter(code="421281999").exists()


def test_login_and_logout(client: Client, make_user):
    user = make_user(roles.VIEWER)
    response = client.post("/accounts/login/", {"username": user.username, "password": "pw-Test-12345"})
    assert response.status_code == 302
    assert client.get("/").context["user"].is_authenticated
    client.post("/accounts/logout/")
    assert not client.get("/").context["user"].is_authenticated


def test_admin_division_change_page_uses_local_openlayers(client: Client, make_user):
    client.force_login(make_user(roles.ADMIN, is_superuser=True))
    division = Division.objects.get(code="421281001")
    html = client.get(f"/admin/divisions/division/{division.pk}/change/").content.decode()
    assert "vendor/ol/ol.js" in html
    assert "cdn.jsdelivr" not in html


def test_production_static_build_has_no_missing_references(tmp_path, settings):
    # Given DEBUG off (whitenoise's manifest storage), when collecting static files, then every
    # url()/sourceMappingURL reference in the vendored CSS/JS resolves.
    from django.core.management import call_command

    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/leaflet/leaflet.*.js"))
