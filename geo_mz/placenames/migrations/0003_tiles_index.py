"""Vector tiles: the `roads` layer reads road segments through an expression GiST index on their Web
Mercator geometry; writes to segments, named features or names bump the layer's version (a segment
shows its road's code, status and current name).
The index expression must match geo_mz/api/tiles.py (checked with EXPLAIN in tests/api/test_tiles.py).
"""

from django.db import migrations

FORWARD = """
CREATE INDEX road_segment_geom_3857_tiles_gist ON placenames_roadsegment
    USING gist (ST_Transform(geom, 3857));
CREATE TRIGGER roadsegment_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON placenames_roadsegment
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('roads');
CREATE TRIGGER namedfeature_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON placenames_namedfeature
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('roads');
CREATE TRIGGER placename_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON placenames_placename
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('roads');
"""

REVERSE = """
DROP TRIGGER IF EXISTS placename_tile_touch ON placenames_placename;
DROP TRIGGER IF EXISTS namedfeature_tile_touch ON placenames_namedfeature;
DROP TRIGGER IF EXISTS roadsegment_tile_touch ON placenames_roadsegment;
DROP INDEX IF EXISTS road_segment_geom_3857_tiles_gist;
"""


class Migration(migrations.Migration):
    dependencies = [("placenames", "0002_pinyin_prefix_index"), ("core", "0002_tile_change_log")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
