"""geo-mz settings: one module, configured from the environment with safe local defaults.

Environment variables
---------------------
DATABASE_URL            postgres://geo_mz:geo_mz@127.0.0.1:5432/geo_mz
DATABASE_REPLICA_URL    optional hot-standby replica for OGC API and vector-tile reads (docs/scaling.md)
GEO_MZ_REPLICA_MAX_LAG_S  replica replay lag (s) above which those reads use default instead (default 30;
                        0 = never check)
GEO_MZ_SRID             storage CRS, a CGCS2000 3-degree Gauss-Krüger zone (demo: 4547, CM 114E)
DJANGO_SECRET_KEY       required when DJANGO_DEBUG=0
DJANGO_DEBUG            1 (local default) / 0
DJANGO_ALLOWED_HOSTS    comma-separated, default 127.0.0.1,localhost
DJANGO_CSRF_TRUSTED_ORIGINS, DJANGO_SECURE_SSL_REDIRECT, DJANGO_SECURE_HSTS_SECONDS (+ _INCLUDE_SUBDOMAINS,
_PRELOAD), DJANGO_SECURE_PROXY_SSL_HEADER ("HTTP_X_FORWARDED_PROTO,https"), DJANGO_SESSION_COOKIE_SECURE,
DJANGO_CSRF_COOKIE_SECURE (default on when DJANGO_DEBUG=0), DJANGO_SECURE_REFERRER_POLICY: HTTPS and headers
GEO_MZ_LOGIN_FAILURE_LIMIT  failed logins per username + client IP before a lockout (default 5)
GEO_MZ_LOGIN_COOLOFF_MINUTES  lockout duration (default 15); GEO_MZ_LOGIN_THROTTLE=0 turns lockouts off
GEO_MZ_TOKEN_RATE       POST /api/auth/token/ requests per client IP (default 30/min)
GEO_MZ_PROXY_COUNT      trusted reverse proxies in front of the app (client IP from X-Forwarded-For; default 0)
GEO_MZ_BASEMAP          none (default, works offline) | osm | tianditu
GEO_MZ_TIANDITU_KEY     Tianditu browser key, needed for GEO_MZ_BASEMAP=tianditu
GEO_MZ_OSM_TILE_URL     tile URL template for GEO_MZ_BASEMAP=osm (default: tile.openstreetmap.org)
GEO_MZ_OGC_PUBLIC       OGC API – Features (/ogc/) collections readable without signing in, comma-separated
                        (default: every collection except addresses; `addresses` follows
                        GEO_MZ_ADDRESSES_PUBLIC whatever this list says)
GEO_MZ_ADDRESSES_PUBLIC 1 = house-number points are public (tiles, /api/addresses/, OGC, exports);
                        0 (default) = signed-in users only
GEO_MZ_BUREAU_NAME      the bureau that issues announcements (default 赤壁市民政局)
GEO_MZ_PLACENAME_RULEPACK  place-name rule pack: a name in geo_mz/placenames/rulepacks/ or a JSON path
GEO_MZ_NAMING_WORKFLOW  naming-case periods in days as JSON, e.g. {"notice_days": 9}
GEO_MZ_NUMBERING        house-numbering rules as JSON, e.g. {"convention": "beijing", "spacing_m": 20,
                        "suffix_scheme": "zhiyi", "skip_numbers": [4, 13, 14]} (per road: NumberingProfile)
GEO_MZ_ADDRESS_WORKFLOW house-number case deadline as JSON, e.g. {"working_days": 10, "holidays": ["2026-10-01"]}
GEO_MZ_MARKER_RULES     boundary-marker quality tolerances as JSON, e.g. {"max_offset_m": 5, "disabled": ["BM05"]}
GEO_MZ_MARKER_MOVED_TOLERANCE_M  GNSS offset (m) above which an "intact" marker is flagged (default 0.5)
GEO_MZ_PUBLIC_URL       absolute base URL printed in certificate QR codes (default http://127.0.0.1:8000)
GEO_MZ_TILE_MAX_AGE     Cache-Control max-age (seconds) of vector tiles and TileJSON under /tiles/ (default 300)
GEO_MZ_TILE_CLUSTER_BELOW_ZOOM  below this zoom, dense point layers (addresses) are served as grid clusters
                        with a `count` (default 14)
GEO_MZ_TILE_CACHE_MB    per-process cache of built tiles, keyed by their ETag (default 64; 0 = off)
GEO_MZ_JOBS_MODE        background jobs (exports, bulk imports): thread (default: in the web process) or
                        worker (only queued; `manage.py jobs_work` runs them)
GEO_MZ_JOBS_KEEP_DAYS   finished jobs and their files are purged after this many days (default 7)
GEO_MZ_DASK_SCHEDULER   a dask.distributed scheduler (tcp://host:8786) for partitioned coverage runs;
                        empty (default) = in-process
GEO_MZ_WHATIF_BACKGROUND  1 (default): a worker prepares its coverage what-if index in a background thread
                        (the API answers 202 + Retry-After meanwhile); 0: in the first request instead
GEO_MZ_UPLOAD_MAX_MB    largest photo or document upload (default 20; larger: 413)
GEO_MZ_IMPORT_MAX_MB    largest data-import upload (default 200; larger: 413)
GEO_MZ_IMPORT_BACKGROUND_MB  facility, division and address imports larger than this run as background
                        jobs (202 + the job; default 20)
GEO_MZ_IMPORT_BACKGROUND_ROWS  address imports with more data rows than this (estimated from the file)
                        run as background jobs (default 500)
GEO_MZ_ZIP_MAX_MB, GEO_MZ_ZIP_MAX_ENTRIES, GEO_MZ_ZIP_MAX_RATIO  archive bounds checked before any
                        extraction: inflated total (default 2048), entries (10000), per-entry ratio (200)
GEO_MZ_IMAGE_MAX_PIXELS images above this many pixels are refused before decoding (default 50000000)
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.utils.translation import gettext_lazy as _

from geo_mz.core.crs import storage_srid
from geo_mz.core.csp_policy import content_security_policy

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")
    SECRET_KEY = "local-development-only-not-secret"  # noqa: S105 - only used with DEBUG on
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

GEO_MZ_SRID = storage_srid()
# The demo/deployment county: the map opens on it and region checks use its extent.
GEO_MZ_COUNTY_CODE = os.environ.get("GEO_MZ_COUNTY_CODE", "421281")

INSTALLED_APPS = [
    "geo_mz.core.admin_site.GeoMzAdminConfig",  # django.contrib.admin, superusers only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    # trigram_similar / TrigramSimilarity lookups (fuzzy address and name search) need it.
    "django.contrib.postgres",
    "django.forms",
    "rest_framework",
    "rest_framework.authtoken",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "csp",
    "geo_mz.core",
    "geo_mz.divisions",
    "geo_mz.placenames",
    "geo_mz.addresses",
    "geo_mz.boundaries",
    "geo_mz.facilities",
    "geo_mz.coverage",
    "geo_mz.demo",
    "geo_mz.api",
    "geo_mz.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # NUL bytes in path, query or text body: 400 before any view (PostgreSQL text cannot hold them)
    "geo_mz.api.nul_bytes.RefuseNulBytesMiddleware",
    # a declared body over GEO_MZ_IMPORT_MAX_MB: 413 before Django spools the upload to disk
    "geo_mz.core.upload_files.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # last: turns a lockout flagged during authentication into the lockout page / JSON
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "geo_mz.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "geo_mz.core.context_processors.geo_mz",
            ],
        },
    },
]
# Widgets (the admin map) render through TEMPLATES, so templates/gis/ can override them.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "geo_mz.wsgi.application"
ASGI_APPLICATION = "geo_mz.asgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://geo_mz:geo_mz@127.0.0.1:5432/geo_mz"),
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        # a pooled connection broken by a database restart is replaced before the request uses it
        conn_health_checks=True,
    )
}
# An optional streaming (hot-standby) replica for the high-volume anonymous reads: OGC API items and
# vector tiles (core.db.read_alias; docs/scaling.md). Without it there is no "replica" alias and every
# read goes to default. In tests it would mirror default; tests/conftest.py removes it for the suite.
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"],
        engine="django.contrib.gis.db.backends.postgis",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Replication lag (seconds) above which replica reads fall back to default; 0 = never check.
GEO_MZ_REPLICA_MAX_LAG_S = float(os.environ.get("GEO_MZ_REPLICA_MAX_LAG_S", "30"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:map"
LOGOUT_REDIRECT_URL = "web:map"

# Login throttling (django-axes): the web login, the admin login and POST /api/auth/token/ all go
# through authenticate(request=...). After GEO_MZ_LOGIN_FAILURE_LIMIT failures for one username from
# one client IP, that pair is refused (even with the right password) for GEO_MZ_LOGIN_COOLOFF_MINUTES;
# other users and other IPs are unaffected, and a successful login clears the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses locked-out attempts before any password check
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("GEO_MZ_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = int(os.environ.get("GEO_MZ_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=float(os.environ.get("GEO_MZ_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "geo_mz.core.auth_lockout.lockout_response"
AXES_VERBOSE = False
# Client IP behind a reverse proxy: with GEO_MZ_PROXY_COUNT=n (n trusted proxies in front of the app,
# each appending to X-Forwarded-For) the client is the n-th address from the right. Without it only
# REMOTE_ADDR counts, so a client cannot dodge the lockout by sending its own X-Forwarded-For.
GEO_MZ_PROXY_COUNT = int(os.environ.get("GEO_MZ_PROXY_COUNT", "0"))
if GEO_MZ_PROXY_COUNT > 0:
    AXES_IPWARE_PROXY_COUNT = GEO_MZ_PROXY_COUNT
    AXES_IPWARE_PROXY_ORDER = "right-most"
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# HTTPS, cookies and security headers. Local defaults work over plain http://127.0.0.1; with
# DJANGO_DEBUG=0 cookies are Secure unless turned off (a LAN deployment without TLS must set
# DJANGO_SESSION_COOKIE_SECURE=0 and DJANGO_CSRF_COOKIE_SECURE=0 -- and should not exist).
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", False)
# "HTTP_X_FORWARDED_PROTO,https": only behind a proxy that sets (and strips client copies of) that header
_proxy_ssl_header = [p.strip() for p in os.environ.get("DJANGO_SECURE_PROXY_SSL_HEADER", "").split(",")]
if len(_proxy_ssl_header) == 2 and all(_proxy_ssl_header):
    SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header[0], _proxy_ssl_header[1])
elif any(_proxy_ssl_header):
    raise RuntimeError('DJANGO_SECURE_PROXY_SSL_HEADER must look like "HTTP_X_FORWARDED_PROTO,https"')
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
# The CSRF cookie stays readable: the pages' fetch() calls copy it into X-CSRFToken.
SECURE_REFERRER_POLICY = os.environ.get("DJANGO_SECURE_REFERRER_POLICY", "same-origin")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Chinese first, English through Django i18n.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("GEO_MZ_MEDIA_ROOT", BASE_DIR / "media"))
# Production static files: hashed names from a manifest, pre-compressed, served by whitenoise.
# The set-up collects with this storage even when DEBUG is on (geo_mz.core.staticfiles), so a
# later start with DJANGO_DEBUG=0 finds every manifest entry.
GEO_MZ_STATIC_MANIFEST_STORAGE = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": GEO_MZ_STATIC_MANIFEST_STORAGE,
}
if DEBUG:
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": None,
    "EXCEPTION_HANDLER": "geo_mz.api.exceptions.json_exception_handler",
    # POST /api/auth/token/ per client IP (api/auth.py), on top of the axes lockout per username + IP
    "DEFAULT_THROTTLE_RATES": {"auth-token": os.environ.get("GEO_MZ_TOKEN_RATE", "30/min")},
    # the client IP for throttles: REMOTE_ADDR, or X-Forwarded-For behind GEO_MZ_PROXY_COUNT proxies
    "NUM_PROXIES": GEO_MZ_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "geo-mz API",
    "DESCRIPTION": "县级民政地理信息服务 / GIS server for county civil-affairs bureaus. "
    "Geometries are GeoJSON in lon/lat (EPSG:4326).",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc from the drf-spectacular-sidecar package: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # error responses, integer ids and file media types for every operation (geo_mz/api/schema_hooks.py)
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "geo_mz.api.schema_hooks.api_schema_postprocess",
    ],
}

# Basemap: "none" works offline; "osm" and "tianditu" need network access to their tile servers.
GEO_MZ_BASEMAP = os.environ.get("GEO_MZ_BASEMAP", "none").strip().lower()
if GEO_MZ_BASEMAP not in {"none", "osm", "tianditu"}:
    raise RuntimeError(f"GEO_MZ_BASEMAP must be none, osm or tianditu, not {GEO_MZ_BASEMAP!r}")
GEO_MZ_TIANDITU_KEY = os.environ.get("GEO_MZ_TIANDITU_KEY", "")
# OGC API – Features (/ogc/, geo_mz/api/ogc.py): anonymous collections; the rest need a session or a token.
GEO_MZ_OGC_PUBLIC = [
    c.strip()
    for c in os.environ.get(
        "GEO_MZ_OGC_PUBLIC",
        "divisions,division_points,roads,boundary_lines,boundary_markers,facilities,coverage",
    ).split(",")
    if c.strip()
]
# House-number points (core/visibility.py): one switch for vector tiles, /api/addresses/…, the OGC
# `addresses` collection and every address export. Owners and phones are never public either way.
GEO_MZ_ADDRESSES_PUBLIC = env_bool("GEO_MZ_ADDRESSES_PUBLIC", False)
# Place names: the rule pack (a name under geo_mz/placenames/rulepacks/ or a path to a JSON file) and
# the naming-case periods in days (JSON, e.g. {"notice_days": 9, "filing_days": 15}).
GEO_MZ_BUREAU_NAME = os.environ.get("GEO_MZ_BUREAU_NAME", "赤壁市民政局")
GEO_MZ_PLACENAME_RULEPACK = os.environ.get("GEO_MZ_PLACENAME_RULEPACK", "default")
GEO_MZ_NAMING_WORKFLOW = json.loads(os.environ.get("GEO_MZ_NAMING_WORKFLOW", "{}") or "{}")
GEO_MZ_NUMBERING = json.loads(os.environ.get("GEO_MZ_NUMBERING", "{}") or "{}")
GEO_MZ_ADDRESS_WORKFLOW = json.loads(os.environ.get("GEO_MZ_ADDRESS_WORKFLOW", "{}") or "{}")
GEO_MZ_MARKER_RULES = json.loads(os.environ.get("GEO_MZ_MARKER_RULES", "{}") or "{}")
GEO_MZ_MARKER_MOVED_TOLERANCE_M = float(os.environ.get("GEO_MZ_MARKER_MOVED_TOLERANCE_M", "0.5"))
GEO_MZ_PUBLIC_URL = os.environ.get("GEO_MZ_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
GEO_MZ_OSM_TILE_URL = os.environ.get("GEO_MZ_OSM_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
# Vector tiles (/tiles/, geo_mz/api/tiles.py): browser cache lifetime, and the zoom below which the
# address layer is aggregated into grid clusters (precomputed by `manage.py tiles_refresh`).
GEO_MZ_TILE_MAX_AGE = int(os.environ.get("GEO_MZ_TILE_MAX_AGE", "300"))
GEO_MZ_TILE_CLUSTER_BELOW_ZOOM = int(os.environ.get("GEO_MZ_TILE_CLUSTER_BELOW_ZOOM", "14"))
GEO_MZ_TILE_CACHE_MB = int(os.environ.get("GEO_MZ_TILE_CACHE_MB", "64"))
# Background jobs (core/jobs.py) and partitioned coverage on Dask (coverage/partitioned.py).
GEO_MZ_JOBS_MODE = os.environ.get("GEO_MZ_JOBS_MODE", "thread").strip().lower()
if GEO_MZ_JOBS_MODE not in {"thread", "worker"}:
    raise RuntimeError(f"GEO_MZ_JOBS_MODE must be thread or worker, not {GEO_MZ_JOBS_MODE!r}")
GEO_MZ_JOBS_KEEP_DAYS = int(os.environ.get("GEO_MZ_JOBS_KEEP_DAYS", "7"))
# Uploads (core/uploads.py, core/upload_files.py): sizes in MB, checked before a file is read.
GEO_MZ_UPLOAD_MAX_MB = float(os.environ.get("GEO_MZ_UPLOAD_MAX_MB", "20"))
GEO_MZ_IMPORT_MAX_MB = float(os.environ.get("GEO_MZ_IMPORT_MAX_MB", "200"))
GEO_MZ_IMPORT_BACKGROUND_MB = float(os.environ.get("GEO_MZ_IMPORT_BACKGROUND_MB", "20"))
GEO_MZ_IMPORT_BACKGROUND_ROWS = int(os.environ.get("GEO_MZ_IMPORT_BACKGROUND_ROWS", "500"))
GEO_MZ_ZIP_MAX_MB = float(os.environ.get("GEO_MZ_ZIP_MAX_MB", "2048"))
GEO_MZ_ZIP_MAX_ENTRIES = int(os.environ.get("GEO_MZ_ZIP_MAX_ENTRIES", "10000"))
GEO_MZ_ZIP_MAX_RATIO = float(os.environ.get("GEO_MZ_ZIP_MAX_RATIO", "200"))
GEO_MZ_IMAGE_MAX_PIXELS = int(os.environ.get("GEO_MZ_IMAGE_MAX_PIXELS", "50000000"))
# A running job stamps a heartbeat every GEO_MZ_JOBS_HEARTBEAT_S; with none for GEO_MZ_JOBS_STALE_S its
# process is taken as dead and the job is marked failed (interrupted), ready for a retry.
GEO_MZ_JOBS_HEARTBEAT_S = float(os.environ.get("GEO_MZ_JOBS_HEARTBEAT_S", "10"))
GEO_MZ_JOBS_STALE_S = float(os.environ.get("GEO_MZ_JOBS_STALE_S", "60"))
GEO_MZ_DASK_SCHEDULER = os.environ.get("GEO_MZ_DASK_SCHEDULER", "").strip()
GEO_MZ_WHATIF_BACKGROUND = env_bool("GEO_MZ_WHATIF_BACKGROUND", True)

# Content-Security-Policy (django-csp 4; geo_mz/core/csp_policy.py explains each directive). Tile hosts
# of the configured basemap are the only other origin images may come from.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": content_security_policy(GEO_MZ_BASEMAP, GEO_MZ_OSM_TILE_URL, NONCE),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "WARNING")},
}

# Debian 12 ships GDAL 3.6; Django's gis.W001 asks for 3.9 to block file/network access from spatial
# references. Uploaded files are read by pyogrio's own bundled GDAL, not Django's, so we silence it.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
