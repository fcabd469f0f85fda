"""Vector tiles (geo_mz/api/tiles.py): a change log that versions each tile layer, and the table of
precomputed point clusters for low zooms.

Every table that feeds a tile layer gets a statement-level trigger (in its own app's migration) that
calls core_tile_touch('<layer>'). The trigger only INSERTs, so concurrent writers never wait on each
other. A layer's version is SUM(weight) over its rows: it grows by one per committed writing statement
and only becomes visible when the writer commits, together with its data. `tiles_refresh` compacts
the log (many rows → one row with the same sum), so the version never goes back.
"""

from django.db import migrations

FORWARD = """
CREATE TABLE core_tile_change (
    id bigserial PRIMARY KEY,
    layer varchar(40) NOT NULL,
    weight bigint NOT NULL DEFAULT 1 CHECK (weight > 0),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX core_tile_change_layer_idx ON core_tile_change (layer) INCLUDE (weight);
COMMENT ON TABLE core_tile_change IS
    'Vector-tile layer versions: one row per writing statement on a source table; version = sum(weight).';

CREATE FUNCTION core_tile_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    layer_name text;
BEGIN
    FOREACH layer_name IN ARRAY TG_ARGV LOOP
        INSERT INTO core_tile_change (layer) VALUES (layer_name);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TABLE core_tile_grid (
    layer varchar(40) NOT NULL,
    z smallint NOT NULL,
    x integer NOT NULL,
    y integer NOT NULL,
    n integer NOT NULL CHECK (n > 0),
    geom geometry(Point, 3857) NOT NULL
);
CREATE INDEX core_tile_grid_tile_idx ON core_tile_grid (layer, z, x, y);
COMMENT ON TABLE core_tile_grid IS
    'Precomputed point clusters per zoom (one row per occupied grid cell), rebuilt by tiles_refresh.';

CREATE TABLE core_tile_grid_state (
    layer varchar(40) PRIMARY KEY,
    version bigint NOT NULL,
    config varchar(100) NOT NULL,
    points bigint NOT NULL,
    cells bigint NOT NULL,
    built_at timestamptz NOT NULL DEFAULT now()
);
"""

REVERSE = """
DROP TABLE IF EXISTS core_tile_grid_state;
DROP TABLE IF EXISTS core_tile_grid;
DROP FUNCTION IF EXISTS core_tile_touch();
DROP TABLE IF EXISTS core_tile_change;
"""


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
