#!/usr/bin/env sh
# Container start: wait for the database, migrate, create roles, optionally load the demo county.
set -eu
until pg_isready -q -d "$DATABASE_URL"; do echo "waiting for database..."; sleep 2; done
python manage.py migrate --noinput
python manage.py roles_sync
if [ "${GEO_MZ_LOAD_DEMO:-0}" = "1" ]; then
  python manage.py demo_load
  python manage.py demo_admin
fi
exec "$@"
