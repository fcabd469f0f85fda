"""Vector tiles: the `divisions` layer draws each unit's polygon, or its representative point when it
has no polygon yet, through an expression GiST index on that geometry in Web Mercator; writes to
divisions bump the layer's version.
The index expression must match geo_mz/api/tiles.py (checked with EXPLAIN in tests/api/test_tiles.py).
"""

from django.db import migrations

FORWARD = """
CREATE INDEX division_geom_3857_tiles_gist ON divisions_division
    USING gist (ST_Transform(COALESCE(geom, point), 3857));
CREATE TRIGGER division_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON divisions_division
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('divisions');
"""

REVERSE = """
DROP TRIGGER IF EXISTS division_tile_touch ON divisions_division;
DROP INDEX IF EXISTS division_geom_3857_tiles_gist;
"""


class Migration(migrations.Migration):
    dependencies = [("divisions", "0001_initial"), ("core", "0002_tile_change_log")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
