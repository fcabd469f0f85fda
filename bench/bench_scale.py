"""Million-feature benchmarks on the scale data set (`manage.py scale_data`, `make bench-scale`).

* Vector tiles of the 1M-address layer at z14 and z10 through the real HTTP stack (gunicorn, 2 workers ×
  4 threads, persistent DB connections) under 8 concurrent clients, against the raw `ST_AsMVT` SQL
  for the same tiles on 8 concurrent connections.
* OGC API items, limit=1000, random 0.02° boxes, 8 concurrent clients, against the raw SQL of the page.
* Address search and reverse geocoding (issue #4 targets) over 1M addresses, in process, against
  unindexed SQL.

Targets: tiles z14 p95 ≤ 50 ms and z10 ≤ 300 ms; OGC items p95 ≤ 300 ms; search p95 ≤ 30 ms;
reverse p95 ≤ 10 ms. The server's peak RSS is noted after each HTTP case.
"""

from __future__ import annotations

import http.client
import math
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.runner import Case

SCALE = True
ROOT = Path(__file__).resolve().parents[1]
CLIENTS = 8
_local = threading.local()
_server: dict[str, object] = {}


def _ensure_data() -> None:
    from geo_mz.demo import scale

    counts = scale.scale_counts()
    if counts != scale.DEFAULTS:
        print(f"… loading the scale data set (found {counts})", file=sys.stderr, flush=True)
        scale.scale_load(progress=lambda m: print(f"  {m}", file=sys.stderr, flush=True))
        from django.core.management import call_command

        call_command("tiles_refresh")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_server(cache_mb: int = 64) -> int:
    """gunicorn on a free port (one per tile-cache size); requests go to the one last started."""
    key = f"port{cache_mb}"
    if key in _server:
        _server["port"], _server["proc"] = _server[key], _server[f"proc{cache_mb}"]
        return _server["port"]  # type: ignore[return-value]
    port = _free_port()
    env = os.environ | {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CONN_MAX_AGE": "600",
        "GEO_MZ_OGC_PUBLIC": "divisions,roads,addresses,facilities",
        "GEO_MZ_TILE_CACHE_MB": str(cache_mb),
    }
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "geo_mz.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--worker-class",
            "gthread",
            "--keep-alive",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    _server.update({"port": port, "proc": proc, key: port, f"proc{cache_mb}": proc})
    import atexit

    atexit.register(proc.terminate)
    return port


def _server_rss_mib() -> str:
    proc = _server.get("proc")
    if proc is None:
        return ""
    pids = [proc.pid]  # type: ignore[attr-defined]
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")  # type: ignore[attr-defined]
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return f"server peak RSS {peak / 1024:.0f} MiB/worker"


def _get(path: str, retry: bool = True) -> bytes:
    conn = getattr(_local, "http", None)
    if conn is None:
        conn = _local.http = http.client.HTTPConnection("127.0.0.1", _server["port"], timeout=60)  # type: ignore[arg-type]
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
    except (http.client.RemoteDisconnected, ConnectionError):  # the server closed a kept-alive connection
        conn.close()
        _local.http = None
        if not retry:
            raise
        return _get(path, retry=False)
    if response.status not in (200, 204):
        raise RuntimeError(f"{path}: HTTP {response.status} {body[:200]!r}")
    return body


def _pg():
    conn = getattr(_local, "pg", None)
    if conn is None:
        import psycopg
        from django.db import connection

        s = connection.settings_dict
        conn = _local.pg = psycopg.connect(
            dbname=s["NAME"],
            user=s["USER"],
            password=s["PASSWORD"],
            host=s["HOST"],
            port=s["PORT"],
            autocommit=True,
        )
    return conn


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def _samples(n: int = 400) -> list[tuple[float, float, str]]:
    """Lon/lat and label of a seeded sample of scale addresses."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT setseed(0.2026)")
        cur.execute(
            "SELECT ST_X(g), ST_Y(g), label FROM (SELECT ST_Transform(point, 4490) g, label FROM addresses_address "
            "WHERE code LIKE 'SC%%' ORDER BY random() LIMIT %s) s",
            [n],
        )
        return cur.fetchall()


RAW_MVT = (
    "SELECT ST_AsMVT(q, 'addresses', 4096, 'geom') FROM (SELECT a.code, a.label, "
    "ST_AsMVTGeom(ST_Transform(a.point, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4096, 64, true) AS geom "
    "FROM addresses_address a WHERE ST_Transform(a.point, 3857) && "
    "ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 64.0 / 4096) "
    "AND a.room = '' AND a.status <> 'retired') q"  # the layer's filter: the partial 3857 index applies
)
RAW_PAGE = (
    "SELECT json_agg(json_build_object('type', 'Feature', 'id', a.code, 'geometry', "
    "ST_AsGeoJSON(ST_Transform(a.point, 4326), 9)::json, 'properties', json_build_object('code', a.code, "
    "'full_text', a.full_text, 'label', a.label, 'number', a.number)))::text FROM (SELECT * FROM addresses_address "
    "WHERE point && ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), %s) ORDER BY id LIMIT 1000) a"
)


def cases() -> list[Case]:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from geo_mz.addresses import selectors

    _ensure_data()
    samples = _samples()
    rng = random.Random(14)
    cases: list[Case] = []
    for z, repeat, target, cache_mb in (
        (14, 400, "≤ 50 ms", 0),
        (14, 400, "≤ 50 ms", 64),
        (10, 200, "≤ 300 ms", 0),
        (10, 200, "≤ 300 ms", 64),
    ):
        tiles = sorted({_tile_of(lon, lat, z) for lon, lat, _ in samples})
        ours_tiles = iter(rng.choices(tiles, k=10_000))
        ref_tiles = iter(rng.choices(tiles, k=10_000))

        def ours(it=ours_tiles, mb=cache_mb) -> None:
            _start_server(mb)
            z_, x_, y_ = next(it)
            _get(f"/tiles/addresses/{z_}/{x_}/{y_}.pbf")

        def reference(it=ref_tiles) -> None:
            z_, x_, y_ = next(it)
            _pg().execute(RAW_MVT, {"z": z_, "x": x_, "y": y_}).fetchone()

        cache = "tile cache on" if cache_mb else "tile cache off"
        cases.append(
            Case(
                f"1M addresses: tile z{z} over HTTP, {CLIENTS} clients, {cache} "
                f"({len(tiles)} tiles; target p95 {target})",
                ours,
                reference,
                f"raw ST_AsMVT SQL, {CLIENTS} connections",
                repeat=repeat,
                statistic="p95",
                concurrency=CLIENTS,
                note=_server_rss_mib,
            )
        )

    boxes = [(lon - 0.01, lat - 0.01, lon + 0.01, lat + 0.01) for lon, lat, _ in samples]
    ours_boxes = iter(rng.choices(boxes, k=10_000))
    ref_boxes = iter(rng.choices(boxes, k=10_000))

    def ogc() -> None:
        _start_server(0)
        b = next(ours_boxes)
        _get("/ogc/collections/addresses/items?f=json&limit=1000&bbox=" + ",".join(f"{v:.5f}" for v in b))

    def ogc_ref() -> None:
        _pg().execute(RAW_PAGE, [*next(ref_boxes), settings.GEO_MZ_SRID]).fetchone()

    cases.append(
        Case(
            f"1M addresses: OGC items limit=1000, random 0.02° bbox, {CLIENTS} clients (target p95 ≤ 300 ms)",
            ogc,
            ogc_ref,
            f"raw SQL json_agg page, {CLIENTS} connections",
            repeat=200,
            statistic="p95",
            concurrency=CLIENTS,
            note=_server_rss_mib,
        )
    )

    labels = [label for _, _, label in samples]
    ours_labels = iter(labels * 50)
    ref_labels = iter(labels * 50)

    def search() -> None:
        selectors.address_search(next(ours_labels))

    def search_ref() -> None:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM addresses_address WHERE status = 'active' AND full_text LIKE %s LIMIT 10",
                [f"%{next(ref_labels)}%"],
            )
            cur.fetchall()

    cases.append(
        Case(
            "1M addresses: address search (parse + rank), one client (target p95 ≤ 30 ms)",
            search,
            search_ref,
            "full_text LIKE '%label%' (no index)",
            repeat=100,
            statistic="p95",
        )
    )

    points = [(lon + rng.uniform(-5e-4, 5e-4), lat + rng.uniform(-5e-4, 5e-4)) for lon, lat, _ in samples]
    ours_points = iter(points * 50)
    ref_points = iter(points * 50)

    def reverse() -> None:
        selectors.address_reverse(*next(ours_points))

    def reverse_ref() -> None:
        lon, lat = next(ref_points)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM addresses_address WHERE status = 'active' ORDER BY "
                "ST_Distance(point, ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4490), %s)) LIMIT 1",
                [lon, lat, settings.GEO_MZ_SRID],
            )
            cur.fetchall()

    cases.append(
        Case(
            "1M addresses: reverse geocoding (GiST KNN), one client (target p95 ≤ 10 ms)",
            reverse,
            reverse_ref,
            "ORDER BY ST_Distance (no index)",
            repeat=50,
            statistic="p95",
        )
    )
    cases.append(_export_case())
    return cases


EXPORT_SCRIPT = """
import os, resource, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_mz.settings")
django.setup()
from bench.bench_scale import export_addresses
n = export_addresses(sys.argv[1])
print(n, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def export_addresses(path: str) -> int:
    """The export job's code path: every address (the `addresses` collection) to a GeoPackage."""
    from geo_mz.api import exports, ogc
    from geo_mz.core import crs, exporting

    c = ogc.COLLECTIONS["addresses"]
    q = ogc.items_query(c, {})
    Path(path).unlink(missing_ok=True)
    out = exporting.layer_write(
        path,
        "gpkg",
        layer=c.id,
        fields=exports.layer_fields(c),
        batches=exports.layer_batches(q),
        geometry_type=c.geometry_type,
        srid=crs.CGCS2000,
    )
    return out.count


def _export_case() -> Case:
    import tempfile

    from django.db import connection

    tmp = Path(tempfile.mkdtemp(prefix="geo-mz-bench-export-"))
    s = connection.settings_dict
    pg = f"PG:dbname={s['NAME']} user={s['USER']} password={s['PASSWORD']} host={s['HOST']} port={s['PORT']}"
    sql = (
        "SELECT a.code, a.full_text, a.label, a.kind, a.status, a.number, a.suffix, "
        "(SELECT code FROM divisions_division WHERE id = a.division_id) AS division_code, "
        "ST_Transform(a.point, 4490) AS geom FROM addresses_address a ORDER BY a.id"
    )
    rss: dict[str, float] = {}

    def ours() -> None:
        export_addresses(str(tmp / "ours.gpkg"))

    def reference() -> None:
        (tmp / "ogr.gpkg").unlink(missing_ok=True)
        subprocess.run(
            ["ogr2ogr", "-f", "GPKG", str(tmp / "ogr.gpkg"), pg, "-sql", sql, "-nln", "addresses"],
            check=True,
            capture_output=True,
        )

    def note() -> str:
        out = subprocess.run(
            [str(ROOT / ".venv/bin/python"), "-c", EXPORT_SCRIPT, str(tmp / "rss.gpkg")],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        rss["mib"] = int(out[1]) / 1024
        return f"{int(out[0]):,} features, process peak RSS {rss['mib']:.0f} MiB (target ≤ 1 GB)"

    return Case(
        "1M addresses: export to GeoPackage (server-side cursor → batches → GDAL; target ≤ 2× ogr2ogr)",
        ours,
        reference,
        "ogr2ogr -f GPKG from PostGIS (same columns)",
        repeat=2,
        note=note,
    )
