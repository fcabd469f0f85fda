import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
application = get_wsgi_application()

# Background-job housekeeping in every web process: interrupted jobs are marked failed and old ones
# purged at start-up and every minute (geo_mz.core.jobs).
from geo_mz.core.jobs import jobs_startup  # noqa: E402 - needs the app registry set up above

jobs_startup()
