"""/files/<kind>/<id>/: the only way a stored upload or job file leaves the server.

There is no /media/ route. Each file is looked up through the object that owns it, and the reader is
checked against that owner: export and import job files go to the user who asked for them and nobody
else; attachments of naming cases, marker and inspection photos, sketches, agreements and sign
photos go to users whose role may read that app (its editing roles, plus 只读 viewers and admins).
Anyone else gets 404, as if the file did not exist (ids are sequential: no probing).

Responses are always downloads: ``Content-Disposition: attachment``, a Content-Type taken from the
file's content (core.uploads.safe_content_type: never text/html or SVG), ``nosniff`` and a
``Content-Security-Policy: sandbox`` so that even a file opened in the browser runs no script with
the site's origin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.contrib.auth.views import redirect_to_login
from django.db.models import Model
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from geo_mz.core import roles, uploads
from geo_mz.core.permissions import is_admin, user_roles
from geo_mz.core.upload_files import protect


def app_readable(user, app: str) -> bool:
    """May `user` read the files of `app`? Its editing roles, 只读 viewers and admins may; a user
    with no role reads no file."""
    if not user.is_authenticated:
        return False
    if is_admin(user):
        return True
    if app == "*":  # shared by every app (decision documents): any role
        allowed = set(roles.ALL_ROLES)
    else:
        allowed = {*roles.EDIT_ROLES.get(app, (roles.ADMIN,)), roles.VIEWER}
    return bool(user_roles(user) & allowed)


@dataclass(frozen=True)
class FileKind:
    """Where a kind of file lives (`model`, `field`) and who may read it (`app`, or the owner)."""

    load: Callable[[], type[Model]]
    field: str
    app: str | None  # None: only the object's `created_by` (jobs)
    title: Callable[[Model], str] = lambda obj: ""


def _model(path: str) -> Callable[[], type[Model]]:
    def load() -> type[Model]:
        from django.apps import apps

        return apps.get_model(path)

    return load


KINDS: dict[str, FileKind] = {
    "job": FileKind(_model("core.Job"), "file", None, lambda j: j.file_name),
    "decision": FileKind(_model("core.DecisionDocument"), "file", "*", lambda d: d.number),
    "attachment": FileKind(_model("placenames.CaseAttachment"), "file", "placenames", lambda a: a.title),
    "sign-photo": FileKind(_model("placenames.RoadSign"), "photo", "placenames", lambda s: s.code),
    "marker-photo": FileKind(_model("boundaries.MarkerPhoto"), "file", "boundaries", lambda p: p.caption),
    "marker-sketch": FileKind(_model("boundaries.Marker"), "sketch", "boundaries", lambda m: m.number),
    "finding-photo": FileKind(_model("boundaries.FindingPhoto"), "file", "boundaries", lambda p: p.caption),
    "agreement": FileKind(
        _model("boundaries.Inspection"), "peace_agreement", "boundaries", lambda i: i.record_no
    ),
}


def file_url(kind: str, pk: int) -> str:
    from django.urls import reverse

    return reverse("file-download", args=[kind, pk])


def _download_name(title: str, stored_name: str, content_type: str) -> str:
    """A readable name with the extension of what the bytes are (never the uploader's extension)."""
    ext = {v.content_type: v.ext for v in (uploads.JPEG, uploads.PNG, uploads.GIF, uploads.PDF)}.get(
        content_type, PurePosixPath(stored_name).suffix.lstrip(".") or "bin"
    )
    stem = PurePosixPath(title or stored_name).stem or "file"
    stem = "".join(ch for ch in stem if ch.isprintable() and ch not in '\\/:*?"<>|')[:80] or "file"
    if content_type == uploads.OCTET_STREAM and ext in {"html", "htm", "svg", "xml", "js", "xhtml"}:
        ext = "bin"
    return f"{stem}.{ext}"


@require_GET
def file_download(request: HttpRequest, kind: str, pk: int) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    spec = KINDS.get(kind)
    if spec is None:
        raise Http404
    obj = spec.load().objects.filter(pk=pk).first()
    if obj is None:
        raise Http404
    if spec.app is None:
        if getattr(obj, "created_by_id", None) != request.user.pk:
            raise Http404
    elif not app_readable(request.user, spec.app):
        raise Http404
    stored = getattr(obj, spec.field)
    if not stored:
        raise Http404
    try:
        handle = stored.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    head = handle.read(16)
    handle.seek(0)
    content_type = uploads.safe_content_type(head)
    if kind == "job":  # export formats (GeoJSON, KML, CSV) are data to save, not pages to render
        name = obj.file_name or PurePosixPath(stored.name).name
    else:
        name = _download_name(spec.title(obj), stored.name, content_type)
    return protect(FileResponse(handle, as_attachment=True, filename=name, content_type=content_type))
