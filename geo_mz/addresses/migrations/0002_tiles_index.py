"""Vector tiles: the `addresses` layer reads entrance points (room = '', not retired) through an
expression GiST index on their Web Mercator position, and every write bumps the layer's version.

The index expression and predicate must match geo_mz/api/tiles.py exactly (tests/api/test_tiles.py
checks with EXPLAIN that tile queries use it). An expression index was chosen over a stored 3857
column: no extra column for the ORM, importers or the history table to keep in step.
"""

from django.db import migrations

FORWARD = """
CREATE INDEX address_point_3857_tiles_gist ON addresses_address
    USING gist (ST_Transform(point, 3857)) WHERE room = '' AND status <> 'retired';
CREATE TRIGGER address_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON addresses_address
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('addresses');
"""

REVERSE = """
DROP TRIGGER IF EXISTS address_tile_touch ON addresses_address;
DROP INDEX IF EXISTS address_point_3857_tiles_gist;
"""


class Migration(migrations.Migration):
    dependencies = [("addresses", "0001_initial"), ("core", "0002_tile_change_log")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
