import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
application = get_asgi_application()

from geo_mz.core.jobs import jobs_startup  # noqa: E402 - needs the app registry set up above

jobs_startup()
