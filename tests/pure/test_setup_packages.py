"""scripts/setup.sh installs every system program the app and the tests use (issue 14).

The set-up installs with ``--no-install-recommends``; a program that arrived on the developer's
machine by a Recommends or a hand install (``poppler-data`` did) passes here and fails on a
fresh Debian 12 image. So each program is traced to its Debian package with ``dpkg -S``, and that
package must be in the set-up's list -- or be a hard dependency of one that is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from geo_mz.core.pdf import FONT_CANDIDATES, FONT_PACKAGE

ROOT = Path(__file__).resolve().parents[2]

# Programs run by the tests, the app and the benchmarks (grep for subprocess / shutil.which).
PROGRAMS = (
    "pdffonts",
    "pdftotext",
    "pdfinfo",
    "pdftoppm",
    "pdfimages",
    "ogr2ogr",
    "ogrinfo",
    "msgfmt",
    "chromium",
    "pg_dump",
    "pg_restore",
    "pg_isready",
)
# Packages that the listed ones pull in through Depends (installed even without Recommends).
VIA_DEPENDS = {"postgresql-client-common": "postgresql"}


def _setup_packages() -> set[str]:
    text = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    match = re.search(r"^PACKAGES=\((.*?)\)", text, re.S | re.M)
    assert match, "PACKAGES=(...) not found in scripts/setup.sh"
    version = re.search(r"PG_VERSION=\$\{GEO_MZ_PG_VERSION:-(\d+)\}", text)
    assert version
    words = re.sub(r"#.*", "", match.group(1)).replace("${PG_VERSION}", version.group(1))
    return {w.strip('"') for w in words.split()}


def _debian_package(path: str) -> str:
    real = str(Path(path).resolve())
    result = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True, check=True)
    return result.stdout.split(":", 1)[0].split(",")[0].strip()


@pytest.mark.parametrize("program", PROGRAMS)
def test_given_program_used_when_traced_to_its_package_then_setup_installs_it(program: str) -> None:
    path = shutil.which(program)
    assert path, f"{program} missing: scripts/setup.sh should have installed it"

    package = _debian_package(path)

    listed = _setup_packages()
    assert package in listed or VIA_DEPENDS.get(package) in listed, f"{program} comes from {package}"


def test_given_pdf_font_when_traced_then_setup_and_app_image_install_its_package() -> None:
    font_path, _index = FONT_CANDIDATES[0]

    assert _debian_package(font_path) == FONT_PACKAGE
    assert FONT_PACKAGE in _setup_packages()
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(rf"apt-get install[^\n]*(\\\n[^\n]*)*\b{re.escape(FONT_PACKAGE)}\b", dockerfile)


def test_given_poppler_utils_without_recommends_then_poppler_data_is_listed_explicitly() -> None:
    """poppler-data (CJK CMaps) is only a Recommends of poppler-utils."""
    assert {"poppler-utils", "poppler-data"} <= _setup_packages()
