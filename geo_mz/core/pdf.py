"""PDF plumbing shared by every official document: the embedded CJK font and the A4 builder.

Pure module (standard library and reportlab only, never Django), so the document renderers in
``placenames``, ``addresses``, ``boundaries`` and ``coverage`` stay pure too.

Why a TrueType font: reportlab's built-in CID fonts (``STSong-Light``) are only *referenced*
by name; every glyph then comes from the viewer, which needs the Adobe-GB1 character collection
(Debian's ``poppler-data``, Adobe's Asian font pack …). Without it a viewer -- and
``pdftotext`` -- shows empty tables. A TrueType font registered with
:class:`reportlab.pdfbase.ttfonts.TTFont` is embedded as a subset of the glyphs actually used
(about 20–150 KB per document), with a ``ToUnicode`` map, so every viewer renders and extracts
the same text.

The font file is found by :func:`cjk_font_path`: the environment variable
:data:`FONT_ENV` (``GEO_MZ_PDF_FONT``) if set, else the first of :data:`FONT_CANDIDATES` that
exists (Debian ``fonts-wqy-microhei`` first, installed by ``scripts/setup.sh`` and the
Dockerfile). The font must have TrueType (``glyf``) outlines: reportlab cannot embed CFF/OTF
fonts such as Noto Sans CJK. WenQuanYi Micro Hei covers GBK (about 21,000 CJK ideographs);
characters outside it (CJK Extension B and later) render as an empty box.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape as _xml_escape

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, SimpleDocTemplate

__all__ = [
    "CJK_FONT_NAME",
    "FONT_CANDIDATES",
    "FONT_ENV",
    "FONT_PACKAGE",
    "PDF_PRODUCER",
    "PdfFontError",
    "build_pdf",
    "cjk_font_path",
    "numbered_canvas_class",
    "paragraph_style",
    "paragraph_text",
    "register_cjk_font",
]

#: Name under which the embedded font is registered with reportlab (also its bold/italic face:
#: the font has no bold weight, so ``<b>`` in a Paragraph keeps the same glyphs instead of failing).
CJK_FONT_NAME: Final = "GeoMzCJK"
FONT_ENV: Final = "GEO_MZ_PDF_FONT"
FONT_PACKAGE: Final = "fonts-wqy-microhei"
#: Debian paths tried in order: (path, sub-font index inside a .ttc collection). All TrueType.
FONT_CANDIDATES: Final[tuple[tuple[str, int], ...]] = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),  # fonts-wqy-microhei
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),  # fonts-wqy-zenhei
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),  # fonts-arphic-uming
)
PDF_PRODUCER: Final = "geo-mz"


class PdfFontError(RuntimeError):
    """No usable CJK TrueType font: a deployment problem, so the message names the fix."""


def cjk_font_path(
    env: Mapping[str, str] | None = None,
    candidates: Sequence[tuple[str, int]] = FONT_CANDIDATES,
) -> tuple[Path, int]:
    """The CJK font file to embed and its sub-font index (0 for a plain .ttf).

    ``GEO_MZ_PDF_FONT`` (``path`` or ``path#index`` for a .ttc collection) wins when set; a
    missing file there is an error, never a silent fallback. Otherwise the first existing
    candidate. Raises :class:`PdfFontError` naming the Debian package when nothing is found.
    """
    env = os.environ if env is None else env
    override = env.get(FONT_ENV, "").strip()
    if override:
        path_text, _sep, index_text = override.partition("#")
        path = Path(path_text)
        if not path.is_file():
            raise PdfFontError(
                f"{FONT_ENV}={override!r}: 字体文件不存在 / font file not found. "
                f"Point it to a TrueType .ttf/.ttc file or unset it to use {FONT_PACKAGE}."
            )
        try:
            index = int(index_text) if index_text else 0
        except ValueError:
            raise PdfFontError(
                f"{FONT_ENV}={override!r}: the part after # must be a sub-font number"
            ) from None
        return path, index
    for path_text, index in candidates:
        path = Path(path_text)
        if path.is_file():
            return path, index
    looked = ", ".join(p for p, _i in candidates)
    raise PdfFontError(
        f"PDF 缺少中文字体：请安装 Debian 软件包 {FONT_PACKAGE}（scripts/setup.sh 会安装）。"
        f" / No CJK TrueType font for PDFs: install the Debian package {FONT_PACKAGE}"
        f" (apt-get install {FONT_PACKAGE}; scripts/setup.sh does) or set {FONT_ENV} to a .ttf/.ttc file."
        f" Looked in: {looked}"
    )


@lru_cache(maxsize=1)
def register_cjk_font() -> str:
    """Register the embedded CJK font with reportlab once per process; return its name.

    Parsing the 5 MB WenQuanYi collection takes about 0.2 s, hence the cache. Each document
    embeds only the subset of glyphs it uses.
    """
    if CJK_FONT_NAME in pdfmetrics.getRegisteredFontNames():
        return CJK_FONT_NAME
    path, index = cjk_font_path()
    try:
        font = TTFont(CJK_FONT_NAME, str(path), subfontIndex=index)
    except TTFError as exc:  # e.g. a CFF-outline .otf/.ttc such as Noto Sans CJK
        raise PdfFontError(
            f"{path}: reportlab cannot embed this font ({exc}). Use a TrueType (glyf) font such as {FONT_PACKAGE}."
        ) from exc
    pdfmetrics.registerFont(font)
    pdfmetrics.registerFontFamily(
        CJK_FONT_NAME,
        normal=CJK_FONT_NAME,
        bold=CJK_FONT_NAME,
        italic=CJK_FONT_NAME,
        boldItalic=CJK_FONT_NAME,
    )
    return CJK_FONT_NAME


def paragraph_style(name: str, size: float, *, leading: float | None = None, **kw: Any) -> ParagraphStyle:
    """A Paragraph style in the embedded CJK font; ``size`` and ``leading`` in points."""
    kw.setdefault("wordWrap", "CJK")  # Chinese has no spaces: allow breaks between any characters
    return ParagraphStyle(
        name, fontName=register_cjk_font(), fontSize=size, leading=leading or size * 1.35, **kw
    )


def paragraph_text(text: str) -> str:
    """Escape text for a reportlab Paragraph (mini-XML) and keep explicit line breaks."""
    return _xml_escape(text.strip()).replace("\r\n", "\n").replace("\n", "<br/>")


def numbered_canvas_class(font: str, footer_size: float = 9) -> type[Canvas]:
    """A canvas that defers page output so every page can show "第 N 页 共 M 页" (size in points)."""

    class _NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved_pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._saved_pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved_pages)
            for state in self._saved_pages:
                self.__dict__.update(state)
                self._draw_footer(total)
                super().showPage()
            super().save()

        def _draw_footer(self, total: int) -> None:
            width, _height = self._pagesize
            self.saveState()
            self.setFont(font, footer_size)
            self.drawCentredString(width / 2, 10 * mm, f"第 {self._pageNumber} 页 共 {total} 页")
            self.restoreState()

    return _NumberedCanvas


def build_pdf(
    story: list[Flowable],
    *,
    title: str,
    author: str = "",
    subject: str = "",
    compress: bool,
    invariant: bool,
    margins_mm: tuple[float, float, float, float] = (20, 18, 18, 20),  # top, right, bottom(+footer), left
) -> bytes:
    """Lay ``story`` out on A4 pages numbered "第 N 页 共 M 页" and return the PDF bytes.

    ``compress=False`` writes uncompressed page streams (for inspection); ``invariant=True``
    fixes the creation date and document id so the output is reproducible byte for byte.
    """
    font = register_cjk_font()
    buf = io.BytesIO()
    top, right, bottom, left = margins_mm
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        topMargin=top * mm,
        rightMargin=right * mm,
        bottomMargin=bottom * mm,
        leftMargin=left * mm,
        title=title,
        author=author,
        subject=subject,
        creator=PDF_PRODUCER,
        producer=PDF_PRODUCER,
        lang="zh-CN",
        pageCompression=1 if compress else 0,
        invariant=1 if invariant else 0,
        initialFontName=font,
    )
    doc.build(story, canvasmaker=numbered_canvas_class(font))
    return buf.getvalue()
