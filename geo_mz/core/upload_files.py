"""Uploads at the Django edge: limits from settings, files ready to store, temp copies that vanish.

The checks themselves are pure (core/uploads.py); this module reads the limits from settings,
turns refusals into Django ValidationErrors (`UploadRejected`; the API answers 413 for size
refusals, 400 otherwise) and gives the one way to put an upload on disk for an importer
(`saved_upload`, a context manager: the temp directory is removed whatever happens).

Settings (MB unless noted): GEO_MZ_UPLOAD_MAX_MB (photos and documents, 20), GEO_MZ_IMPORT_MAX_MB
(data imports, 200), GEO_MZ_IMPORT_BACKGROUND_MB (imports above this run as background jobs, 20),
GEO_MZ_ZIP_MAX_MB (inflated size of one archive, 2048), GEO_MZ_ZIP_MAX_ENTRIES (10000),
GEO_MZ_ZIP_MAX_RATIO (per entry, 200), GEO_MZ_IMAGE_MAX_PIXELS (50,000,000).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from geo_mz.core import uploads
from geo_mz.core.uploads import MB, UploadError, ZipLimits

_SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
# Served files are downloads: even opened in a tab they run no script with the site's origin.
FILE_CSP = "sandbox; default-src 'none'; frame-ancestors 'none'"


class UploadRejected(ValidationError):
    """An upload refused by content or size; `too_large` → HTTP 413 at the API edge."""

    def __init__(self, error: UploadError) -> None:
        super().__init__({error.field: [error.message]})
        self.too_large = error.too_large


def _mb(name: str, default: float) -> int:
    return int(float(getattr(settings, name, default)) * MB)


def upload_max_bytes() -> int:
    """Largest photo or document (GEO_MZ_UPLOAD_MAX_MB)."""
    return _mb("GEO_MZ_UPLOAD_MAX_MB", 20)


def import_max_bytes() -> int:
    """Largest data import (GEO_MZ_IMPORT_MAX_MB)."""
    return _mb("GEO_MZ_IMPORT_MAX_MB", 200)


def import_background_bytes() -> int:
    """Imports larger than this run as background jobs (GEO_MZ_IMPORT_BACKGROUND_MB)."""
    return _mb("GEO_MZ_IMPORT_BACKGROUND_MB", 20)


def zip_limits() -> ZipLimits:
    return ZipLimits(
        max_entries=int(getattr(settings, "GEO_MZ_ZIP_MAX_ENTRIES", 10_000)),
        max_total_bytes=_mb("GEO_MZ_ZIP_MAX_MB", 2048),
        max_ratio=float(getattr(settings, "GEO_MZ_ZIP_MAX_RATIO", 200)),
    )


def image_max_pixels() -> int:
    return int(getattr(settings, "GEO_MZ_IMAGE_MAX_PIXELS", 50_000_000))


def check_upload_size(upload: Any, *, field: str, max_bytes: int | None = None) -> None:
    """Refuse an upload over the limit by its size, before a byte of it is read."""
    try:
        uploads.check_size(int(upload.size or 0), max_bytes or upload_max_bytes(), field)
    except UploadError as exc:
        raise UploadRejected(exc) from exc


def read_upload(upload: Any, *, field: str, max_bytes: int | None = None) -> bytes:
    """The bytes of a photo/document upload, size-checked first."""
    check_upload_size(upload, field=field, max_bytes=max_bytes)
    return upload.read()


def stored_image(data: bytes, *, field: str, name: str = "") -> ContentFile:
    """A re-encoded image (JPEG/PNG) under a generated name, ready for an ImageField/FileField."""
    try:
        uploads.check_size(len(data), upload_max_bytes(), field)
        clean, kind = uploads.image_reencode(data, field=field, name=name, max_pixels=image_max_pixels())
    except UploadError as exc:
        raise UploadRejected(exc) from exc
    return ContentFile(clean, name=uploads.generated_name(kind))


def stored_document(data: bytes, *, field: str, name: str = "") -> ContentFile:
    """A document (PDF, macro-free Office package, or an image, which is re-encoded) under a
    generated name. HTML, SVG, XML, scripts and unknown content are refused."""
    try:
        uploads.check_size(len(data), upload_max_bytes(), field)
        kind = uploads.document_check(data, field=field, name=name, limits=zip_limits())
    except UploadError as exc:
        raise UploadRejected(exc) from exc
    if kind.family == "image":
        return stored_image(data, field=field, name=name)
    return ContentFile(data, name=uploads.generated_name(kind))


def check_archive(path: Path, *, field: str = "file") -> None:
    """If `path` is a zip (by content: also .xlsx, zipped shapefiles), check its central directory."""
    import zipfile

    with path.open("rb") as fh:
        head = fh.read(4)
    if not uploads.is_zip(head):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            uploads.zip_check(zf, zip_limits(), field=field)
    except zipfile.BadZipFile as exc:
        raise UploadRejected(UploadError(field, "不是有效的 zip 压缩包 / not a valid zip archive")) from exc
    except UploadError as exc:
        raise UploadRejected(exc) from exc


def safe_suffix(name: str) -> str:
    """The upload's extension if it is plain (importers pick a reader by it), else none."""
    suffix = Path(name or "").suffix.lower()
    return suffix if _SAFE_SUFFIX.match(suffix) else ""


@contextmanager
def saved_upload(upload: Any, *, field: str = "file", max_bytes: int | None = None) -> Iterator[Path]:
    """Put a data-import upload in a fresh temp directory as ``upload<.ext>`` and yield its path.

    The size is checked before anything is written (GEO_MZ_IMPORT_MAX_MB), an archive is checked
    before anyone opens it (`check_archive`), and the directory, with anything an importer unpacked
    into it, is removed on the way out, also after an error."""
    check_upload_size(upload, field=field, max_bytes=max_bytes or import_max_bytes())
    tmp = Path(tempfile.mkdtemp(prefix="geo_mz_upload_"))
    try:
        path = tmp / f"upload{safe_suffix(upload.name)}"
        with path.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        check_archive(path, field=field)
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def upload_to_media(upload: Any, *, field: str = "file", max_bytes: int | None = None) -> str:
    """Save a data-import upload where a job worker can read it (MEDIA_ROOT/jobs/uploads/<uuid>/),
    checked like `saved_upload`. Returns the path relative to MEDIA_ROOT; the job removes it.
    MEDIA_ROOT is not served by any route: files leave only through the download view."""
    import uuid

    check_upload_size(upload, field=field, max_bytes=max_bytes or import_max_bytes())
    relative = Path("jobs") / "uploads" / uuid.uuid4().hex / f"upload{safe_suffix(upload.name)}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with target.open("wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        check_archive(target, field=field)
    except BaseException:
        shutil.rmtree(target.parent, ignore_errors=True)
        raise
    return str(relative)


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".bmp")


def photo_map(files: Any, *, field: str = "photos") -> dict[str, bytes]:
    """File name → bytes of uploaded photos for a bulk import. A zip (recognised by content, not
    name) contributes its image members: checked on its central directory first, then read with a
    hard cap, each member at most GEO_MZ_UPLOAD_MAX_MB. Content is checked again (and re-encoded)
    when a photo is stored. Call it only after the permission check."""
    out: dict[str, bytes] = {}
    per_file = upload_max_bytes()
    limits = zip_limits()
    # photos are held in memory: an archive of them may inflate to the import limit, not the disk one
    in_memory = dataclasses.replace(limits, max_total_bytes=min(limits.max_total_bytes, import_max_bytes()))
    total = 0
    for f in files:
        head = f.read(4)
        f.seek(0)
        if uploads.is_zip(head):
            check_upload_size(f, field=field, max_bytes=import_max_bytes())
            try:
                out.update(
                    uploads.zip_read_members(
                        f, in_memory, field=field, max_member_bytes=per_file, suffixes=PHOTO_SUFFIXES
                    )
                )
            except UploadError as exc:
                raise UploadRejected(exc) from exc
        else:
            out[Path(f.name).name] = read_upload(f, field=field)
        total = sum(len(v) for v in out.values())
        if total > import_max_bytes():  # many photos, each under the limit, still have to fit
            raise UploadRejected(
                UploadError(
                    field, "照片总量超过导入上限 / the photos exceed the import limit", too_large=True
                )
            )
    return out


def protect(response: Any) -> Any:
    """The headers every served stored file carries (/files/ and the export download)."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


class RequestSizeLimitMiddleware:
    """413 before the body is read when a request declares more than GEO_MZ_IMPORT_MAX_MB (+1 MB
    for the multipart envelope and form fields). Django would otherwise stream any upload to a temp
    file first (DATA_UPLOAD_MAX_MEMORY_SIZE does not count files); the per-kind limits then apply
    in the views. Without a Content-Length, Django reads no body at all."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        limit = import_max_bytes() + MB
        if declared > limit:
            from django.http import JsonResponse

            message = (
                f"请求过大（{declared / MB:.0f} MB），上限 {limit / MB:.0f} MB / "
                f"the request is too large ({declared / MB:.0f} MB; the limit is {limit / MB:.0f} MB)"
            )
            return JsonResponse(
                {"detail": message, "errors": {"file": [message]}, "code": "too_large"}, status=413
            )
        return self.get_response(request)
