"""Vector tiles: the `facilities` layer reads facility points through an expression GiST index on
their Web Mercator position; writes to facilities or facility types bump the layer's version.
The index expression must match geo_mz/api/tiles.py (checked with EXPLAIN in tests/api/test_tiles.py).
"""

from django.db import migrations

FORWARD = """
CREATE INDEX facility_point_3857_tiles_gist ON facilities_facility USING gist (ST_Transform(point, 3857));
CREATE TRIGGER facility_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON facilities_facility
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('facilities');
CREATE TRIGGER facilitytype_tile_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON facilities_facilitytype
    FOR EACH STATEMENT EXECUTE FUNCTION core_tile_touch('facilities');
"""

REVERSE = """
DROP TRIGGER IF EXISTS facilitytype_tile_touch ON facilities_facilitytype;
DROP TRIGGER IF EXISTS facility_tile_touch ON facilities_facility;
DROP INDEX IF EXISTS facility_point_3857_tiles_gist;
"""


class Migration(migrations.Migration):
    dependencies = [("facilities", "0001_initial"), ("core", "0002_tile_change_log")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
