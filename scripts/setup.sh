#!/usr/bin/env bash
# geo-mz set-up from nothing, idempotent.
#   scripts/setup.sh            system packages + PostGIS cluster + database + uv/.venv + migrate + demo
#   scripts/setup.sh --no-demo  everything except loading the demo county (used by the test command)
#   scripts/setup.sh --scale    also the scale data set (manage.py scale_data: 1M house numbers…);
#                               `make bench-scale` uses it with GEO_MZ_DB_NAME=geo_mz_scale
# Supported: Debian 12 (bookworm) / Ubuntu 22.04+ with PostgreSQL 15 packages, as root or with sudo.
# Configuration (environment, with safe local defaults):
#   GEO_MZ_DB_NAME=geo_mz GEO_MZ_DB_USER=geo_mz GEO_MZ_DB_PASSWORD=geo_mz GEO_MZ_DB_PORT=5432
#   GEO_MZ_PG_VERSION=15  GEO_MZ_SKIP_APT=1 (skip apt-get when packages are managed elsewhere)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
LOAD_DEMO=1
LOAD_SCALE=0
for arg in "$@"; do
  case "$arg" in
    --no-demo) LOAD_DEMO=0 ;;
    --scale) LOAD_SCALE=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

PG_VERSION=${GEO_MZ_PG_VERSION:-15}
DB_NAME=${GEO_MZ_DB_NAME:-geo_mz}
DB_USER=${GEO_MZ_DB_USER:-geo_mz}
DB_PASSWORD=${GEO_MZ_DB_PASSWORD:-geo_mz}
DB_PORT=${GEO_MZ_DB_PORT:-5432}
export DATABASE_URL=${DATABASE_URL:-postgres://${DB_USER}:${DB_PASSWORD}@127.0.0.1:${DB_PORT}/${DB_NAME}}

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# --- 1. system packages ------------------------------------------------------------------------
# Installed with --no-install-recommends, so everything used is listed, Recommends included:
#   gdal-bin        GeoDjango's libgdal/libgeos/libproj; ogr2ogr/ogrinfo (OGC API tests, benchmarks)
#   gettext         msgfmt for compilemessages
#   fonts-wqy-microhei  the CJK TrueType font every PDF embeds (geo_mz/core/pdf.py)
#   poppler-utils + poppler-data  pdftotext/pdffonts/pdfinfo/pdftoppm/pdfimages in the tests;
#                   poppler-data (only a Recommends) holds the CJK CMaps for PDFs from elsewhere
#   chromium        the browser tests (Playwright drives the Debian build)
PACKAGES=(postgresql "postgresql-${PG_VERSION}-postgis-3" "postgresql-${PG_VERSION}-pgrouting" gdal-bin
          gettext poppler-utils poppler-data chromium fonts-wqy-microhei python3 python3-venv python3-pip
          ca-certificates)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${GEO_MZ_SKIP_APT:-0}" != "1" ] && [ ${#missing[@]} -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif [ ${#missing[@]} -gt 0 ]; then
  log "GEO_MZ_SKIP_APT=1: not installing the missing packages ${missing[*]} (tests that use them will fail)"
else
  log "system packages present"
fi

# --- 2. PostgreSQL cluster (Debian cluster tools; the server runs as the postgres user) --------
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1"/"$2}' | grep -qx "${PG_VERSION}/main"; then
  log "creating PostgreSQL ${PG_VERSION} cluster 'main' (UTF-8)"
  $SUDO pg_createcluster --locale C.UTF-8 --encoding UTF8 -p "$DB_PORT" "$PG_VERSION" main >/dev/null
fi
status=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}')
if [ "$status" != "online" ]; then
  log "starting PostgreSQL ${PG_VERSION}/main"
  $SUDO pg_ctlcluster "$PG_VERSION" main start
fi
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p "$DB_PORT" && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$DB_PORT" || { echo "PostgreSQL did not come up on port $DB_PORT" >&2; exit 1; }

psql_admin() { $SUDO -u postgres psql -p "$DB_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ -z "$SUDO" ]; then psql_admin() { runuser -u postgres -- psql -p "$DB_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }; fi

# --- 3. role + database + extensions ----------------------------------------------------------
# The role is a superuser only so that the test runner can create the test database with the
# postgis/pgrouting extensions; set GEO_MZ_DB_SUPERUSER=0 on shared servers.
if [ "${GEO_MZ_DB_SUPERUSER:-1}" = "1" ]; then ROLE_ATTRS="SUPERUSER CREATEDB"; else ROLE_ATTRS="CREATEDB"; fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname='${DB_USER}'")" != "1" ]; then
  log "creating role ${DB_USER}"
  psql_admin -c "CREATE ROLE \"${DB_USER}\" LOGIN ${ROLE_ATTRS} PASSWORD '${DB_PASSWORD}'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname='${DB_NAME}'")" != "1" ]; then
  log "creating database ${DB_NAME} (UTF-8)"
  psql_admin -c "CREATE DATABASE \"${DB_NAME}\" OWNER \"${DB_USER}\" ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8' TEMPLATE template0"
fi
psql_admin -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS postgis; CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS pgrouting;"

# --- 4. uv + locked Python dependencies --------------------------------------------------------
if ! command -v uv >/dev/null 2>&1 && [ ! -x "$HOME/.local/bin/uv" ]; then
  log "installing uv"
  python3 -m pip install --quiet --user --break-system-packages uv 2>/dev/null \
    || python3 -m pip install --quiet --user uv
fi
UV=$(command -v uv || echo "$HOME/.local/bin/uv")
log "syncing locked dependencies into .venv"
"$UV" sync --frozen --quiet --python python3

# --- 5. Django: translations, migrations, roles, demo (one Django start-up) ----------------------
PY="$ROOT/.venv/bin/python"
po=locale/en/LC_MESSAGES/django.po; mo=${po%.po}.mo
if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then
  log "compiling translations"
  "$PY" manage.py compilemessages -v 0 --ignore=.venv
fi
if [ "$LOAD_DEMO" = "1" ]; then
  "$PY" manage.py setup_app --demo
else
  "$PY" manage.py setup_app
fi
if [ "$LOAD_SCALE" = "1" ]; then
  log "scale data set (skipped when already loaded)"
  "$PY" manage.py scale_data
fi
log "ready"
