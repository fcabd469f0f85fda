# geo-mz application image (gunicorn + whitenoise). The database runs in its own container
# (see docker-compose.yml): PostgreSQL 15 + PostGIS 3.3 + pgRouting.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH

# The runtime part of scripts/setup.sh's package list: GDAL/GEOS/PROJ for GeoDjango, gettext,
# pg_dump/pg_restore (postgresql-client, for backups) and the CJK TrueType font the PDFs
# embed (fonts-wqy-microhei). poppler-utils/poppler-data and chromium are for the tests only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gdal-bin libgdal32 libgeos-c1v5 libproj25 gettext postgresql-client \
      fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && pip install --no-cache-dir uv==0.9.5

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py compilemessages --ignore=/opt/venv -v 0 \
 && DJANGO_SECRET_KEY=build-only DJANGO_DEBUG=0 python manage.py collectstatic --noinput -v 0 \
 && useradd --system --home /app geomz && mkdir -p /app/media && chown -R geomz /app/media

USER geomz
EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "geo_mz.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
