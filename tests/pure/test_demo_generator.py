"""Tests of the synthetic demo-county generator (gis_data.generate). No database, no Django:

.venv/bin/pytest tests/pure/test_demo_generator.py -q -p no:django
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from gis_data import generate as gen

REPO = Path(__file__).resolve().parents[2]
OUTPUT_FILES = (gen.TOWNSHIPS_FILE, gen.VILLAGES_FILE, gen.MANIFEST_FILE)
URBAN_STREETS = {"蒲圻街道", "赤马港街道", "陆水湖街道"}


@pytest.fixture(scope="module")
def fresh_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo_a")
    gen.write(gen.build(), out)
    return out


@pytest.fixture(scope="module")
def divisions() -> pd.DataFrame:
    return gen.load_source_divisions()


@pytest.fixture(scope="module")
def townships(fresh_dir) -> gpd.GeoDataFrame:
    return gpd.read_file(fresh_dir / gen.TOWNSHIPS_FILE)


@pytest.fixture(scope="module")
def villages(fresh_dir) -> gpd.GeoDataFrame:
    return gpd.read_file(fresh_dir / gen.VILLAGES_FILE)


@pytest.fixture(scope="module")
def county_metric():
    counties = gen.load_source_counties()
    return counties.loc[counties["adcode"] == gen.COUNTY_CODE].to_crs(gen.METRIC_CRS).geometry.iloc[0]


def test_build_twice_gives_identical_bytes(fresh_dir, tmp_path):
    hashes = gen.write(gen.build(gen.SEED), tmp_path)
    for name in OUTPUT_FILES:
        assert (tmp_path / name).read_bytes() == (fresh_dir / name).read_bytes(), name
        assert hashes[name] == hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()


def test_committed_demo_files_match_a_fresh_build(fresh_dir):
    for name in OUTPUT_FILES:
        committed = gen.DEMO_DIR / name
        assert committed.exists(), f"{committed} missing: run python -m gis_data.generate"
        assert committed.read_bytes() == (fresh_dir / name).read_bytes(), (
            f"{name} drifted from the generator: run python -m gis_data.generate"
        )


def test_manifest(fresh_dir):
    manifest = json.loads((fresh_dir / gen.MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest["seed"] == gen.SEED
    assert manifest["generator_version"] == gen.GENERATOR_VERSION
    assert manifest["counts"]["townships"] == 19
    assert manifest["counts"]["villages"] == 190
    for name in (gen.TOWNSHIPS_FILE, gen.VILLAGES_FILE):
        assert manifest["files"][name] == hashlib.sha256((fresh_dir / name).read_bytes()).hexdigest()
    for name, digest in manifest["source_files"].items():
        assert digest == hashlib.sha256((gen.SOURCE_DIR / name).read_bytes()).hexdigest()


def test_coordinates_have_at_most_six_decimals(fresh_dir):
    for name in (gen.TOWNSHIPS_FILE, gen.VILLAGES_FILE):
        text = (fresh_dir / name).read_text(encoding="utf-8")
        assert not re.search(r"\d\.\d{7,}", text)
        assert "e-" not in text.lower()


def test_townships_have_the_real_codes_and_names(townships, divisions):
    real = divisions.loc[divisions["level"] == "township"]
    assert len(townships) == 19
    assert dict(zip(townships["code"], townships["name"], strict=True)) == dict(
        zip(real["code"], real["name"], strict=True)
    )
    assert set(townships["level"]) == {"township"}
    assert set(townships["parent_code"]) == {gen.COUNTY_CODE}
    assert townships["synthetic"].all()


def test_townships_partition_the_county(townships, county_metric):
    assert townships.crs.to_epsg() == 4490
    assert set(townships.geom_type) == {"MultiPolygon"}
    assert townships.is_valid.all()
    assert (~townships.is_empty).all()
    metric = townships.to_crs(gen.METRIC_CRS).geometry.to_list()
    for a, b in itertools.combinations(metric, 2):
        assert shapely.intersection(a, b).area < 1.0
    union = shapely.union_all(metric)
    assert abs(union.area - county_metric.area) / county_metric.area < 1e-4
    assert shapely.symmetric_difference(union, county_metric).area < 1000.0


def test_neighbouring_townships_share_identical_vertices(townships):
    geoms = townships.geometry.to_list()
    for a, b in itertools.combinations(geoms, 2):
        if not a.touches(b):
            continue
        verts_b = {tuple(p) for p in shapely.get_coordinates(b)}
        coords_a = shapely.get_coordinates(a)
        on_b = shapely.distance(shapely.points(coords_a), b.boundary) < 1e-9
        assert {tuple(p) for p in coords_a[on_b]} <= verts_b


def test_township_areas_are_plausible(townships):
    metric = townships.to_crs(gen.METRIC_CRS)
    area = dict(zip(metric["name"], metric.area / 1e6, strict=True))
    assert 1650 < sum(area.values()) < 1760
    for name, km2 in area.items():
        assert km2 > 5, name
        if name in URBAN_STREETS:
            assert 10 <= km2 <= 60, (name, km2)
        elif name.endswith(("镇", "乡")):
            assert 50 <= km2 <= 300, (name, km2)
    np.testing.assert_allclose(metric["area_km2"], metric.area / 1e6, atol=0.01)


def test_villages_have_the_real_codes_and_lie_inside_their_township(villages, townships, divisions):
    real = divisions.loc[divisions["level"] == "village"]
    assert len(villages) == 190
    assert dict(zip(villages["code"], villages["name"], strict=True)) == dict(
        zip(real["code"], real["name"], strict=True)
    )
    assert dict(zip(villages["code"], villages["parent_code"], strict=True)) == dict(
        zip(real["code"], real["parent_code"], strict=True)
    )
    assert set(villages.geom_type) == {"Point"}
    assert villages["synthetic"].all()
    assert set(villages["level"]) == {"village"}
    polygons = dict(zip(townships["code"], townships.geometry, strict=True))
    for row in villages.itertuples():
        assert polygons[row.parent_code].contains(row.geometry), row.code
        assert row.kind == ("community" if gen.is_community(row.name) else "village")
    assert villages.geometry.apply(lambda p: (p.x, p.y)).is_unique


def test_population_totals_are_exact(villages, townships):
    census = pd.read_csv(gen.SOURCE_DIR / gen.CENSUS_FILE, dtype=str).set_index("adcode").loc[gen.COUNTY_CODE]
    total = int(census["population"])
    share = sum(Decimal(census[c]) for c in census.index if c.startswith("share_"))
    total60 = int((total * share).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert total == 470355
    assert total60 == round(470355 * 0.1885)
    assert int(villages["population"].sum()) == total
    assert int(villages["population_60_plus"].sum()) == total60
    assert int(villages["households"].sum()) == round(470355 / 2.62)
    assert (villages["population"] > 0).all()
    assert (villages["population_60_plus"] <= villages["population"]).all()
    assert (villages["population_60_plus"] >= 0).all()
    assert ((villages["households"] >= 1) & (villages["households"] <= villages["population"])).all()
    sums = villages.groupby("parent_code")[["population", "population_60_plus", "households"]].sum()
    t = townships.set_index("code")
    for col in ("population", "population_60_plus", "households"):
        assert (t[col] == sums.loc[t.index, col]).all(), col


def test_apportion_is_exact_and_proportional():
    out = gen.apportion(10, [1, 1, 1])
    assert out.tolist() == [4, 3, 3]
    weights = np.random.default_rng(0).lognormal(size=50)
    out = gen.apportion(123457, weights)
    assert out.sum() == 123457
    assert np.all(np.abs(out - 123457 * weights / weights.sum()) < 1)


def test_generator_does_not_import_django():
    code = (
        "import sys, gis_data.generate\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
