"""Security headers and settings (issue 14): CSP on every page, nonces on the generated folium map,
HTTPS settings from the environment with `check --deploy` clean."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from geo_mz.core import roles
from geo_mz.coverage.models import CoverageRun

ROOT = Path(__file__).resolve().parents[2]


def _directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.django_db
def test_pages_send_a_strict_policy_and_the_usual_headers():
    response = Client().get("/accounts/login/")
    policy = _directives(response["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce unless the page asks for one
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"] and policy["base-uri"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_templates_have_no_inline_script_or_handler():
    # every <script> in a template either loads a file or is a JSON data block (not executed)
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and "application/json" not in tag:
                offenders.append(f"{path.name}: {tag}")
        offenders += [f"{path.name}: {m}" for m in re.findall(r"\son[a-z]+=", text)]
        offenders += [f"{path.name}: {m}" for m in re.findall(r"\sstyle=\"", text)]
    assert not offenders, offenders


@pytest.mark.django_db
def test_folium_map_scripts_carry_the_response_nonce(make_user):
    client = Client()
    client.force_login(make_user(roles.PLANNER))
    client.post("/coverage/", {"form": "run", "types": ["day_care"], "mode": "straight", "group": "older"})
    run = CoverageRun.objects.latest("pk")

    for url in [f"/coverage/runs/{run.pk}/map/", f"/api/coverage/runs/{run.pk}/map.html/"]:
        response = client.get(url)
        assert response.status_code == 200
        policy = _directives(response["Content-Security-Policy"])
        nonces = {v for v in policy["script-src"] if v.startswith("'nonce-")}
        assert len(nonces) == 1, policy["script-src"]
        nonce = nonces.pop()[len("'nonce-") : -1]
        assert f"'nonce-{nonce}'" in policy["style-src"]
        html = response.content.decode()
        tags = re.findall(r"<(?:script|style)\b[^>]*>", html)
        assert tags and all(f'nonce="{nonce}"' in t for t in tags), [t for t in tags if nonce not in t]
        assert ' style="' not in html  # legend swatches are styled through the CSSOM
    # a second response gets another nonce
    again = client.get(f"/coverage/runs/{run.pk}/map/")
    assert nonce not in again["Content-Security-Policy"]


def _settings_with(env: dict[str, str]) -> dict:
    code = (
        "import json, django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'geo_mz.settings'); "
        "django.setup(); from django.conf import settings as s; print(json.dumps({k: getattr(s, k) for k in "
        "['SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
        "'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'CSRF_TRUSTED_ORIGINS', 'AXES_FAILURE_LIMIT']}))"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GEO_MZ_LOGIN"))}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "a-test-secret-that-is-long-enough-for-the-deploy-check-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "mz.example.gov.cn",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://mz.example.gov.cn",
    "DJANGO_SECURE_SSL_REDIRECT": "1",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "GEO_MZ_LOGIN_FAILURE_LIMIT": "7",
}


def test_security_settings_come_from_the_environment():
    local = _settings_with({})
    assert local["SESSION_COOKIE_SECURE"] is False and local["SECURE_PROXY_SSL_HEADER"] is None
    assert local["SECURE_HSTS_SECONDS"] == 0 and local["SESSION_COOKIE_HTTPONLY"] is True
    assert local["AXES_FAILURE_LIMIT"] == 5

    production = _settings_with(PRODUCTION)
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert production["SECURE_SSL_REDIRECT"] is True and production["SECURE_HSTS_SECONDS"] == 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] and production["SECURE_HSTS_PRELOAD"]
    assert production["SESSION_COOKIE_SECURE"] is True and production["CSRF_COOKIE_SECURE"] is True
    assert production["CSRF_TRUSTED_ORIGINS"] == ["https://mz.example.gov.cn"]
    assert production["AXES_FAILURE_LIMIT"] == 7

    # cookies are Secure by default with DEBUG off, and can be turned off explicitly
    plain = _settings_with(
        {**PRODUCTION, "DJANGO_SESSION_COOKIE_SECURE": "0", "DJANGO_CSRF_COOKIE_SECURE": "0"}
    )
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["CSRF_COOKIE_SECURE"] is False


def test_deploy_check_reports_no_security_warning():
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env={**base, **PRODUCTION},
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "System check identified" in output or result.returncode == 0, output
    assert not re.findall(r"\(security\.\w+\)", output), re.findall(r"\(security\.\w+\).*", output)
    assert "(axes." not in output and "(csp." not in output
