"""Collect static files for production whatever DEBUG is now.

With ``DJANGO_DEBUG=0`` the pages link hashed file names from ``staticfiles.json`` (whitenoise's
``CompressedManifestStaticFilesStorage``); a missing manifest entry is a 500 on every HTML page.
The set-up usually runs with DEBUG on (the local default), where Django's ``collectstatic`` would
use the plain storage and write no manifest, so it is run here with the production storage.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.management.commands.collectstatic import Command as CollectStatic
from django.core.files.storage import Storage
from django.core.management import call_command
from django.utils.module_loading import import_string


def static_collect_for_production(*, verbosity: int = 0) -> int:
    """Copy, hash and compress static files into ``STATIC_ROOT`` and write the manifest.

    Uses ``settings.GEO_MZ_STATIC_MANIFEST_STORAGE`` (the storage production serves from) even
    when DEBUG is on. Idempotent: unchanged files are not copied again. Returns the number of
    files copied this time.
    """
    spec = settings.GEO_MZ_STATIC_MANIFEST_STORAGE
    storage: Storage = import_string(spec["BACKEND"])(**spec.get("OPTIONS", {}))
    command = CollectStatic()
    command.storage = storage  # instead of the DEBUG-dependent staticfiles_storage
    call_command(command, interactive=False, verbosity=verbosity)
    return len(command.copied_files)
