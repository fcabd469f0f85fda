"""Vector tiles: the `boundary_lines` layer reads lines through an expression GiST index on their Web
Mercator geometry; writes to boundary lines bump the layer's version.
The index expression must match geo_mz/api/tiles.py (checked with EXPLAIN in tests/api/test_tiles.py).
"""

from django.db import migrations

FORWARD = """
CREATE INDEX boundary_line_geom_3857_tiles_gist ON boundaries_boundaryline
    USING gist (ST_Transform(geom, 3857));
CREATE TRIGGER boundaryline_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON boundaries_boundaryline
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('boundary_lines');
"""

REVERSE = """
DROP TRIGGER IF EXISTS boundaryline_tile_touch ON boundaries_boundaryline;
DROP INDEX IF EXISTS boundary_line_geom_3857_tiles_gist;
"""


class Migration(migrations.Migration):
    dependencies = [("boundaries", "0001_initial"), ("core", "0002_tile_change_log")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
