"""Every official PDF embeds a subset of a CJK TrueType font (issue 14: fresh-machine truth).

A referenced CID font (reportlab's STSong-Light) renders as empty tables in any viewer without
the Adobe-GB1 CMaps -- and ``pdftotext`` extracts nothing without Debian's ``poppler-data``.
These tests read every document type with ``pdffonts`` and ``pdftotext`` (poppler-utils), and
check the font finder of :mod:`geo_mz.core.pdf`.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph, SimpleDocTemplate

from geo_mz.addresses.documents import address_proof_pdf, certificate_pdf
from geo_mz.boundaries.documents import inspection_report_pdf
from geo_mz.core.pdf import (
    CJK_FONT_NAME,
    FONT_CANDIDATES,
    FONT_ENV,
    FONT_PACKAGE,
    PdfFontError,
    cjk_font_path,
    paragraph_style,
    register_cjk_font,
)
from geo_mz.coverage.documents import coverage_report_pdf
from geo_mz.placenames.documents import announcement_pdf, gazetteer_pdf
from tests.pure import test_address_documents as addr
from tests.pure import test_boundary_documents as bnd
from tests.pure import test_coverage_documents as cov
from tests.pure import test_placename_documents as pn
from tests.pure.pdf_text import assert_cjk_font_embedded, pdftotext

ROOT = Path(__file__).resolve().parents[2]

# document type -> (renderer, Chinese text pdftotext must find, whitespace removed)
OFFICIAL_PDFS: dict[str, tuple[Callable[[], bytes], tuple[str, ...]]] = {
    "门牌证": (lambda: certificate_pdf(addr.CERT), ("门牌证", "权利人", "赤马港街道", "扫码核验")),
    "地址证明": (lambda: address_proof_pdf(addr.PROOF), ("地址证明", "兹证明张三丰的标准地址为", "特此证明")),
    "命名公告": (
        lambda: announcement_pdf(pn._announcement(3)),
        ("关于赤壁市部分道路命名的公告", "赤民地公〔2023〕3号", "测试003路", "第1页共1页"),
    ),
    "地名录": (lambda: gazetteer_pdf([pn.ROAD, pn.BRIDGE, pn.LANE]), ("标准地名录", "赤壁大道", "历史沿革")),
    "联检报告": (lambda: inspection_report_pdf(bnd.REPORT), ("嘉鱼赤壁线联合检查报告", "双方确认", "界桩")),
    "覆盖分析报告": (
        lambda: coverage_report_pdf(cov.REPORT),
        ("赤壁市养老服务设施覆盖分析报告", "主要指标", "图例", "覆盖率"),
    ),
}


@pytest.mark.parametrize("kind", list(OFFICIAL_PDFS))
def test_given_official_pdf_when_listed_by_pdffonts_then_cjk_subset_embedded_and_text_extracts(
    kind: str,
) -> None:
    render, expected = OFFICIAL_PDFS[kind]

    pdf = render()

    assert_cjk_font_embedded(pdf)
    assert b"STSong-Light" not in pdf
    # a subset, not the 5 MB collection: the whole document stays small
    assert len(pdf) < 400_000, f"{kind}: {len(pdf)} bytes"
    flat = "".join(pdftotext(pdf).split())
    for text in expected:
        assert text in flat, f"{kind}: {text!r} not extracted"
    assert "\ufffd" not in flat


def test_given_bold_markup_when_paragraph_rendered_then_same_embedded_face_is_used() -> None:
    """``<b>`` must not fail (the font has no bold weight: the family maps bold to itself)."""
    buf = io.BytesIO()
    style = paragraph_style("t-bold", 14)
    SimpleDocTemplate(buf).build([Paragraph("<b>界桩成果表</b>　标准<b>地址</b>", style)])

    assert_cjk_font_embedded(buf.getvalue())
    assert "界桩成果表标准地址" in "".join(pdftotext(buf.getvalue()).split())


def _document_literals() -> set[str]:
    """Every non-ASCII character in string literals of the PDF-producing modules."""
    chars: set[str] = set()
    for module in ("placenames", "addresses", "boundaries", "coverage"):
        tree = ast.parse((ROOT / "geo_mz" / module / "documents.py").read_text(encoding="utf-8"))
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                chars |= {c for c in node.value if ord(c) > 127}
    return chars


def test_given_document_modules_when_font_checked_then_every_printed_character_has_a_glyph() -> None:
    register_cjk_font()
    glyphs = pdfmetrics.getFont(CJK_FONT_NAME).face.charToGlyph

    chars = _document_literals()

    assert len(chars) > 300  # the labels, headings and units really were collected
    missing = sorted(c for c in chars if ord(c) not in glyphs and c not in "✓✗")
    assert not missing, f"no glyph for {missing} in the embedded font"


def test_given_override_env_when_font_path_found_then_it_wins_with_its_index(tmp_path: Path) -> None:
    font = tmp_path / "custom.ttc"
    font.write_bytes(b"not read here")

    assert cjk_font_path({FONT_ENV: str(font)}) == (font, 0)
    assert cjk_font_path({FONT_ENV: f"{font}#1"}) == (font, 1)


def test_given_override_to_missing_file_when_font_path_found_then_error_names_the_variable(
    tmp_path: Path,
) -> None:
    with pytest.raises(PdfFontError, match=FONT_ENV):
        cjk_font_path({FONT_ENV: str(tmp_path / "nope.ttf")})


def test_given_no_font_installed_when_font_path_found_then_error_names_the_debian_package(
    tmp_path: Path,
) -> None:
    with pytest.raises(PdfFontError) as info:
        cjk_font_path({}, candidates=[(str(tmp_path / "missing.ttc"), 0)])

    assert FONT_PACKAGE in str(info.value) and "apt-get install" in str(info.value)


def test_given_debian_packages_when_font_path_found_then_the_setup_font_is_used() -> None:
    path, index = cjk_font_path({})

    assert (str(path), index) == FONT_CANDIDATES[0]  # fonts-wqy-microhei, see test_setup_packages
