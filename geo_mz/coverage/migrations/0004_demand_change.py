"""The what-if's address change feed (geo_mz/coverage/whatif.py).

Every writing statement on addresses_address records the entrance locations it touched (old and new
points) with its transaction id, through statement-level triggers with transition tables (one
INSERT … SELECT per statement, so a bulk import of 800k rows adds one statement, not 800k). A
TRUNCATE records one row without a location: "rebuild everything".

A reader that built its index at snapshot S re-reads the locations of the rows whose transaction
was not visible in S (`pg_visible_in_snapshot`), so commit order never loses a change; re-reading a
location is idempotent, so overlap is harmless. Rows older than a day are purged by the reader
(an index older than the oldest row left is rebuilt from scratch).
"""

from django.db import migrations

FORWARD = """
CREATE TABLE coverage_demand_change (
    id bigserial PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    x double precision,
    y double precision,
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coverage_demand_change_xid_idx ON coverage_demand_change (xid);
COMMENT ON TABLE coverage_demand_change IS
    'Address locations touched per transaction, for the coverage what-if index (NULL x: truncate).';

CREATE FUNCTION coverage_demand_touch_new() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_demand_change (x, y)
        SELECT DISTINCT ST_X(point), ST_Y(point) FROM new_rows WHERE point IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE FUNCTION coverage_demand_touch_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_demand_change (x, y)
        SELECT DISTINCT ST_X(point), ST_Y(point) FROM old_rows WHERE point IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE FUNCTION coverage_demand_touch_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_demand_change (x, y)
        SELECT ST_X(point), ST_Y(point) FROM old_rows WHERE point IS NOT NULL
        UNION
        SELECT ST_X(point), ST_Y(point) FROM new_rows WHERE point IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE FUNCTION coverage_demand_touch_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO coverage_demand_change (x, y) VALUES (NULL, NULL);
    RETURN NULL;
END
$$;
CREATE TRIGGER address_demand_insert AFTER INSERT ON addresses_address
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_demand_touch_new();
CREATE TRIGGER address_demand_delete AFTER DELETE ON addresses_address
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION coverage_demand_touch_old();
CREATE TRIGGER address_demand_update AFTER UPDATE ON addresses_address
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_demand_touch_update();
CREATE TRIGGER address_demand_truncate AFTER TRUNCATE ON addresses_address
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_demand_touch_all();
"""

REVERSE = """
DROP TRIGGER IF EXISTS address_demand_truncate ON addresses_address;
DROP TRIGGER IF EXISTS address_demand_update ON addresses_address;
DROP TRIGGER IF EXISTS address_demand_delete ON addresses_address;
DROP TRIGGER IF EXISTS address_demand_insert ON addresses_address;
DROP FUNCTION IF EXISTS coverage_demand_touch_all();
DROP FUNCTION IF EXISTS coverage_demand_touch_update();
DROP FUNCTION IF EXISTS coverage_demand_touch_old();
DROP FUNCTION IF EXISTS coverage_demand_touch_new();
DROP TABLE IF EXISTS coverage_demand_change;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("coverage", "0003_exclusionzone_historicalexclusionzone"),
        ("addresses", "0002_tiles_index"),
    ]

    operations = [migrations.RunSQL(FORWARD, reverse_sql=REVERSE)]
