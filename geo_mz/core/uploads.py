"""Upload validation by content, never by name (pure: Pillow and the standard library, no Django).

Every uploaded file that is kept (marker, finding and sign photos, 点之记 sketches, naming-case
attachments, decision files, 平安边界 agreements) and every archive that is opened goes through here:

* **Type by content.** `sniff` reads the magic bytes (JPEG, PNG, GIF, WebP, TIFF, BMP, PDF, ZIP and
  the Office Open XML packages inside a ZIP). The file name's extension is ignored: a GIF named
  ``x.html`` is a GIF, an HTML page named ``x.jpg`` is refused. HTML, SVG, XML and scripts are never
  in an allow-list.
* **Images are re-encoded** (`image_reencode`): opened and verified by Pillow, refused above
  ``max_pixels`` before any pixel is decoded (decompression bombs), EXIF orientation applied, then
  written afresh as JPEG (or PNG when the image has transparency). Anything appended to the original
  (a script after a GIF's trailer) and all metadata are gone. Stored names are generated
  (`generated_name`: a uuid with the extension of the detected type).
* **Archives are checked before extraction** (`zip_check`): entry count, total declared
  uncompressed size, per-entry compression ratio, absolute/``..``/drive paths and symlinks, all from
  the central directory, so a 1 MB → 1 GB zip is refused without inflating a byte. Extraction
  (`zip_extract`, `zip_read_members`) then streams with a hard byte cap rather than trusting headers.

Sizes are bytes unless a name says otherwise. Messages are Chinese first with English, and name the
field (`UploadError.field`).
"""

from __future__ import annotations

import io
import shutil
import stat
import uuid
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Final, Literal

MB: Final = 1024 * 1024
CHUNK: Final = 1 * MB

Family = Literal["image", "pdf", "office", "zip"]


class UploadError(ValueError):
    """A refused upload: `field` is the form/API field, `message` is for the user (Chinese first).
    `too_large` marks size refusals (HTTP 413 at the API edge)."""

    def __init__(self, field: str, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True)
class FileType:
    """A type detected from content: the extension we store it under and the Content-Type we serve."""

    ext: str
    content_type: str
    family: Family


JPEG: Final = FileType("jpg", "image/jpeg", "image")
PNG: Final = FileType("png", "image/png", "image")
GIF: Final = FileType("gif", "image/gif", "image")
WEBP: Final = FileType("webp", "image/webp", "image")
TIFF: Final = FileType("tif", "image/tiff", "image")
BMP: Final = FileType("bmp", "image/bmp", "image")
PDF: Final = FileType("pdf", "application/pdf", "pdf")
ZIP: Final = FileType("zip", "application/zip", "zip")
DOCX: Final = FileType(
    "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "office"
)
XLSX: Final = FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "office")
PPTX: Final = FileType(
    "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "office"
)
OCTET_STREAM: Final = "application/octet-stream"

# Upload kinds → what their content may be. Images are always re-encoded before they are stored.
IMAGE_KIND: Final = "image"
DOCUMENT_KIND: Final = "document"
ALLOWED_FAMILIES: Final[dict[str, frozenset[str]]] = {
    IMAGE_KIND: frozenset({"image"}),
    DOCUMENT_KIND: frozenset({"image", "pdf", "office"}),
}
KIND_LABELS: Final = {
    IMAGE_KIND: "图片（JPEG、PNG、GIF、WebP）/ an image (JPEG, PNG, GIF, WebP)",
    DOCUMENT_KIND: "PDF、图片或 Word/Excel/PowerPoint（.docx/.xlsx/.pptx）/ a PDF, an image or an Office file",
}


@dataclass(frozen=True)
class ZipLimits:
    """Bounds on an archive, checked on its central directory before anything is inflated.

    `max_ratio` applies to entries larger than `ratio_floor` bytes (small files may compress well
    without harm); real shapefiles and spreadsheets stay far below 200:1, a zip bomb is ~1000:1."""

    max_entries: int = 10_000
    max_total_bytes: int = 2048 * MB
    max_ratio: float = 200.0
    ratio_floor: int = 1 * MB


# ---------------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------------


def _office_type(data: bytes) -> FileType | None:
    """An Office Open XML package (a zip with [Content_Types].xml), macro-free; else None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "[Content_Types].xml" not in names:
                return None
            info = zf.getinfo("[Content_Types].xml")
            if info.file_size > MB:
                return None
            content_types = zf.read(info).decode("utf-8", errors="replace").lower()
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
        return None
    if "macroenabled" in content_types or "vbaproject" in content_types:
        return None  # .docm/.xlsm: macros are code
    if any(n.startswith("word/") for n in names):
        return DOCX
    if any(n.startswith("xl/") for n in names):
        return XLSX
    if any(n.startswith("ppt/") for n in names):
        return PPTX
    return None


def sniff(data: bytes) -> FileType | None:
    """The type of `data` from its magic bytes (and, for zips, its contents); None when unknown.

    Office packages are told apart from plain zips by reading their central directory (cheap; no
    entry is inflated except [Content_Types].xml, capped at 1 MB)."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    if head.startswith(b"BM") and len(data) > 26:
        return BMP
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _office_type(data) or ZIP
    return None


def is_zip(head: bytes) -> bool:
    """A local-file-header magic (also xlsx/docx/gpkg-in-zip…): such files get `zip_check`."""
    return head.startswith(b"PK\x03\x04")


def generated_name(file_type: FileType) -> str:
    """A fresh name for a stored file: uuid + the extension of its detected type (never the user's)."""
    return f"{uuid.uuid4().hex}.{file_type.ext}"


def check_size(size: int, max_bytes: int, field: str) -> None:
    if size > max_bytes:
        raise UploadError(
            field,
            f"文件过大（{size / MB:.1f} MB），上限 {max_bytes / MB:.0f} MB / "
            f"the file is too large ({size / MB:.1f} MB; the limit is {max_bytes / MB:.0f} MB)",
            too_large=True,
        )


# ---------------------------------------------------------------------------------------------------
# Images and documents
# ---------------------------------------------------------------------------------------------------


def image_reencode(
    data: bytes, *, field: str, name: str = "", max_pixels: int = 50_000_000
) -> tuple[bytes, FileType]:
    """Verify and re-encode an image. Returns (new bytes, JPEG or PNG): PNG for lossless sources
    (PNG, GIF, BMP) and for transparency, JPEG otherwise.

    The pixel count is checked on the header, before decoding (a 1 MB PNG can hold 4 G pixels). EXIF
    orientation is applied so the picture stands as it was taken; EXIF itself is dropped (it may
    carry GPS positions and arbitrary text). Animated images keep their first frame."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    label = name or "文件"
    detected = sniff(data)
    if detected is None or detected.family != "image":
        raise UploadError(field, f"{label} 不是可识别的图片 / not a readable image (JPEG, PNG, GIF, WebP)")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            if width * height > max_pixels:
                raise UploadError(
                    field,
                    f"{label} 像素过多（{width}×{height}），上限 {max_pixels:,} 像素 / "
                    f"too many pixels ({width}×{height}; the limit is {max_pixels:,})",
                    too_large=True,
                )
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.seek(0)
            img.load()
            upright = ImageOps.exif_transpose(img)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
                upright.mode == "P" and "transparency" in upright.info
            )
            out = io.BytesIO()
            # lossless sources (PNG, GIF, BMP: sketches, scans) stay lossless; photos stay JPEG
            if has_alpha or detected in (PNG, GIF, BMP):
                upright.convert("RGBA" if has_alpha else "RGB").save(out, format="PNG", optimize=True)
                kind = PNG
            else:
                upright.convert("RGB").save(out, format="JPEG", quality=90, optimize=True)
                kind = JPEG
    except UploadError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise UploadError(field, f"{label} 不是可识别的图片 / not a readable image") from exc
    return out.getvalue(), kind


def document_check(data: bytes, *, field: str, name: str = "", limits: ZipLimits | None = None) -> FileType:
    """The type of a document upload (PDF, image or macro-free Office package), else UploadError.

    Never HTML, SVG, XML, scripts, plain zips or unknown content. An Office package is a zip, so its
    central directory passes `zip_check` too."""
    detected = sniff(data)
    if detected is None or detected.family not in ALLOWED_FAMILIES[DOCUMENT_KIND]:
        raise UploadError(
            field,
            f"{name or '文件'} 的内容类型不允许，仅接受 {KIND_LABELS[DOCUMENT_KIND]} / "
            "this file type is not allowed",
        )
    if detected.family == "office":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            zip_check(zf, limits or ZipLimits(), field=field)
    return detected


def safe_content_type(data_head: bytes) -> str:
    """The Content-Type to serve stored bytes with: from their content, never text/html or SVG.

    Only a handful of binary types are named; everything else (GeoJSON, CSV, KML exports, old files
    uploaded before content checks) is application/octet-stream. Office packages need the whole file
    to be told apart from zips, so they are served as zip here: still a download."""
    detected = sniff(data_head) if not is_zip(data_head) else ZIP
    return detected.content_type if detected is not None else OCTET_STREAM


# ---------------------------------------------------------------------------------------------------
# Archives
# ---------------------------------------------------------------------------------------------------


def _unsafe_member(name: str) -> bool:
    posix = name.replace("\\", "/")
    parts = PurePosixPath(posix).parts
    return (
        posix.startswith("/")
        or ".." in parts
        or (bool(parts) and len(parts[0]) >= 2 and parts[0][1] == ":")  # C:\…
        or "\x00" in name
    )


def zip_check(zf: zipfile.ZipFile, limits: ZipLimits, *, field: str = "file") -> list[zipfile.ZipInfo]:
    """Check an archive's central directory against `limits`; returns its file entries.

    Nothing is inflated. Refuses: more than `max_entries` entries; a declared total above
    `max_total_bytes`; an entry over `ratio_floor` bytes whose size/compressed size exceeds
    `max_ratio`; absolute, drive-letter or ``..`` paths (zip slip); symlinks; encrypted entries."""
    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise UploadError(
            field,
            f"压缩包条目过多（{len(infos)}），上限 {limits.max_entries} / "
            f"too many entries in the archive ({len(infos)}; the limit is {limits.max_entries})",
            too_large=True,
        )
    total = 0
    files = []
    for info in infos:
        if _unsafe_member(info.filename):
            raise UploadError(field, f"压缩包含非法路径 {info.filename!r} / unsafe path in the archive")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadError(field, f"压缩包含符号链接 {info.filename!r} / the archive holds a symlink")
        if info.flag_bits & 0x1:
            raise UploadError(field, "压缩包已加密 / the archive is encrypted")
        if info.is_dir():
            continue
        total += info.file_size
        if info.file_size > limits.ratio_floor:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise UploadError(
                    field,
                    f"压缩包条目 {info.filename!r} 压缩比异常（{ratio:.0f}:1，上限 "
                    f"{limits.max_ratio:.0f}:1），疑似压缩炸弹 / compression ratio {ratio:.0f}:1 is "
                    "beyond the limit (a zip bomb?)",
                    too_large=True,
                )
        files.append(info)
    if total > limits.max_total_bytes:
        raise UploadError(
            field,
            f"压缩包解压后共 {total / MB:.0f} MB，上限 {limits.max_total_bytes / MB:.0f} MB / "
            f"the archive inflates to {total / MB:.0f} MB (the limit is {limits.max_total_bytes / MB:.0f} MB)",
            too_large=True,
        )
    return files


def _copy_capped(src: BinaryIO, dst: BinaryIO, *, declared: int, budget: int, field: str, name: str) -> int:
    """Copy in chunks; refuse as soon as more than `declared` bytes or the remaining `budget` arrive."""
    written = 0
    while chunk := src.read(CHUNK):
        written += len(chunk)
        if written > declared or written > budget:
            raise UploadError(
                field,
                f"压缩包条目 {name!r} 实际大小超出声明或总量上限 / the entry inflates beyond "
                "its declared size or the total limit",
                too_large=True,
            )
        dst.write(chunk)
    return written


def zip_extract(path: Path, target: Path, limits: ZipLimits, *, field: str = "file") -> list[Path]:
    """Check, then extract an archive into `target` with a hard byte cap; returns the files written.

    On any refusal, what was written so far is removed (the caller's `target` directory stays)."""
    root = target.resolve()
    written_paths: list[Path] = []
    try:
        with zipfile.ZipFile(path) as zf:
            budget = limits.max_total_bytes
            for info in zip_check(zf, limits, field=field):
                dest = (root / info.filename.replace("\\", "/")).resolve()
                if root not in dest.parents:
                    raise UploadError(field, f"压缩包含非法路径 {info.filename!r} / unsafe path")
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, dest.open("wb") as dst:
                    written_paths.append(dest)
                    budget -= _copy_capped(
                        src, dst, declared=info.file_size, budget=budget, field=field, name=info.filename
                    )
    except zipfile.BadZipFile as exc:
        _remove_children(root)
        raise UploadError(field, "不是有效的 zip 压缩包 / not a valid zip archive") from exc
    except UploadError:
        _remove_children(root)
        raise
    return written_paths


def _remove_children(root: Path) -> None:
    for child in root.iterdir() if root.exists() else ():
        if child.is_dir():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def zip_read_members(
    source: BinaryIO | Path,
    limits: ZipLimits,
    *,
    field: str = "file",
    max_member_bytes: int | None = None,
    suffixes: Iterable[str] | None = None,
) -> dict[str, bytes]:
    """The files of an archive as {base name: bytes}, checked first and read with a hard cap.

    For small members kept in memory (photos in a zip): `max_member_bytes` bounds each one (and is
    enforced while reading), `limits.max_total_bytes` the sum. `suffixes` (lower case, with dot)
    skips other entries without inflating them."""
    wanted = tuple(s.lower() for s in suffixes) if suffixes is not None else None
    out: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(source) as zf:
            budget = limits.max_total_bytes
            for info in zip_check(zf, limits, field=field):
                base = PurePosixPath(info.filename.replace("\\", "/")).name
                if (
                    not base
                    or base.startswith(".")
                    or (wanted is not None and not base.lower().endswith(wanted))
                ):
                    continue
                if max_member_bytes is not None:
                    check_size(info.file_size, max_member_bytes, field)
                cap = min(info.file_size, max_member_bytes or info.file_size)
                buf = io.BytesIO()
                with zf.open(info) as src:
                    budget -= _copy_capped(src, buf, declared=cap, budget=budget, field=field, name=base)
                out[base] = buf.getvalue()
    except zipfile.BadZipFile as exc:
        raise UploadError(field, "不是有效的 zip 压缩包 / not a valid zip archive") from exc
    return out
