#!/usr/bin/env sh
# Container start: wait for the database, migrate, create roles, optionally load the demo county.
# GEO_MZ_SKIP_SETUP=1 (the jobs worker) only waits for the database: the app container migrates.
set -eu
until pg_isready -q -d "$DATABASE_URL"; do echo "waiting for database..."; sleep 2; done
if [ "${GEO_MZ_SKIP_SETUP:-0}" != "1" ]; then
  python manage.py migrate --noinput
  python manage.py roles_sync
  if [ "${GEO_MZ_LOAD_DEMO:-0}" = "1" ]; then
    python manage.py demo_load
    python manage.py demo_admin
  fi
else
  until python manage.py migrate --check >/dev/null 2>&1; do echo "waiting for migrations..."; sleep 3; done
fi
exec "$@"
