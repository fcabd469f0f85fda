"""The pure engines must not import Django (DESIGN §1): checked in a clean interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE_MODULES = [
    "geo_mz.core.crs",
    "geo_mz.core.csp_policy",
    "geo_mz.core.pdf",
    "geo_mz.core.jurisdiction",
    "geo_mz.core.importing",
    "geo_mz.core.geofile",
    "geo_mz.core.uploads",
    "geo_mz.core.exporting",
    "geo_mz.divisions.codes",
    "geo_mz.divisions.topology",
    "gis_data.generate",
    "gis_data.roads",
    "geo_mz.placenames.documents",
    "geo_mz.placenames.workflow",
    "geo_mz.placenames.search",
    "geo_mz.placenames.rules",
    "geo_mz.placenames.romanize",
    "geo_mz.core.errors",
    "geo_mz.core.statemachine",
    "gis_data.addresses",
    "gis_data.facilities",
    "gis_data.scale",
    "geo_mz.addresses.numbering",
    "geo_mz.addresses.parse",
    "geo_mz.addresses.parse_tokens",
    "geo_mz.core.limits",
    "geo_mz.core.cells",
    "geo_mz.addresses.documents",
    "geo_mz.addresses.workflow",
    "geo_mz.coverage.engine",
    "geo_mz.coverage.network",
    "geo_mz.coverage.allocation",
    "geo_mz.coverage.maps",
    "geo_mz.coverage.documents",
    "geo_mz.coverage.partitioned",
    "geo_mz.coverage.demand_index",
    "geo_mz.boundaries.documents",
    "geo_mz.boundaries.markers",
    "geo_mz.boundaries.derive",
]


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_does_not_import_django(module: str) -> None:
    code = f"import sys, {module}; bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; assert not bad, bad"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_jurisdiction_prefixes() -> None:
    from geo_mz.core.jurisdiction import any_code_within, code_within, jurisdiction_prefix

    assert jurisdiction_prefix("420000") == "42"
    assert jurisdiction_prefix("421200") == "4212"
    assert jurisdiction_prefix("421281") == "421281"
    assert code_within("421281001001", "421281") and code_within("421281", "420000")
    assert not code_within("421202", "421281")
    assert not code_within("430682", "421200")
    assert any_code_within(["421202", "421281"], "421281")
