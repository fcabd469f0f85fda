-- geo-mz on Citus: where every table goes, and the schema changes Citus needs first.
--
-- A PLAN, not run here: Citus is not packaged for Debian and cannot be installed on these machines.
-- tests/core/test_citus_plan.py checks it against the Django models and the migrations' SQL: every
-- table classified exactly once, the create_* calls in foreign-key order, and the `-- requires:` list
-- equal to what Citus' rules demand of the current models (a new model, unique constraint, foreign
-- key or trigger fails the test until this file says what happens to it). The reasoning is in
-- docs/scaling.md ("Sharding by division code on Citus").
--
-- Conventions (read by the test):
--   SELECT create_reference_table('t');                      a copy of t on every node
--   SELECT create_distributed_table('t', 'county_code', colocate_with => 'placenames_namedfeature');
--                                                            t hash-sharded by county code, co-located
--   -- local: t   why                                        t stays on the coordinator
--   SELECT citus_add_local_table_to_metadata('t');           a local table with a foreign key to a
--                                                            reference table (a "Citus local table")
--   -- requires: t <what> [-> <how>]                         a change t needs before it is distributed;
--      <what> is: column c | primary key (cols) | unique (cols) | foreign key (col) references t2 |
--      trigger name. Without "-> <how>" the standard change applies:
--        column county_code                 add county_code char(6) NOT NULL (where each table takes it
--                                           from: the comment above its create_distributed_table)
--        primary key (id)                   PRIMARY KEY (id, county_code); id stays unique, from the
--                                           coordinator's identity sequence, and stays Django's pk
--        unique (a, b)                      UNIQUE (a, b, county_code), same WHERE for partial ones
--        foreign key (x_id) references t2   FOREIGN KEY (x_id, county_code) REFERENCES t2 (id,
--                                           county_code): parent and child are on the same shard
--        trigger name                       dropped; the service that writes bumps the tile-layer
--                                           version explicitly (core_tile_change stays local)
--      A unique constraint on a foreign key column (previous_id, feature_id, ...) loses nothing by
--      gaining county_code: the referenced row fixes the county.
--
-- Order: run on the coordinator after the schema changes (a Django migration of the Citus
-- deployment: SeparateDatabaseAndState, the ORM keeps `id` as the primary key).

-- 0. The cluster ------------------------------------------------------------------------------------
-- On every node: CREATE EXTENSION citus; CREATE EXTENSION postgis; CREATE EXTENSION pg_trgm;
-- CREATE EXTENSION pgrouting;  (PostGIS' spatial_ref_sys is the extension's own, on every node.)
SELECT citus_set_coordinator_host('coordinator.internal', 5432);  -- deployment-specific host names
SELECT citus_add_node('worker-1.internal', 5432);
SELECT citus_add_node('worker-2.internal', 5432);
SET citus.shard_count = 64;  -- ~100 counties per province: a few counties per shard, room to rebalance

-- 1. Reference tables -------------------------------------------------------------------------------
-- Small, shared by every county, and joined with (or referenced by) the distributed tables, so every
-- node needs a full copy. Referenced tables come first.

-- Users, groups, permissions: created_by/actor/history_user on the distributed tables point here.
SELECT create_reference_table('django_content_type');
SELECT create_reference_table('auth_permission');
SELECT create_reference_table('auth_group');
SELECT create_reference_table('auth_group_permissions');
SELECT create_reference_table('auth_user');
SELECT create_reference_table('auth_user_groups');
SELECT create_reference_table('auth_user_user_permissions');
SELECT create_reference_table('core_userprofile');
SELECT create_reference_table('core_historicaluserprofile');

-- Decision documents (批准文件): one document approves names, divisions and lines in several counties.
SELECT create_reference_table('core_decisiondocument');
SELECT create_reference_table('core_historicaldecisiondocument');

-- Divisions: the jurisdiction filter (code prefix) joins every query with them; ~30,000 units a
-- province (villages included), every distributed table references them.
-- requires: divisions_division trigger division_tile_touch
SELECT create_reference_table('divisions_division');
SELECT create_reference_table('divisions_historicaldivision');

-- Kinds and types are data, read with every feature and facility.
SELECT create_reference_table('placenames_featurekind');
SELECT create_reference_table('placenames_historicalfeaturekind');
-- requires: facilities_facilitytype trigger facilitytype_tile_touch
SELECT create_reference_table('facilities_facilitytype');
SELECT create_reference_table('facilities_historicalfacilitytype');

-- Boundaries: a line lies between two divisions, usually two counties, and both sides' teams edit
-- its markers and joint inspections: no county owns it. Few rows (a province: thousands of lines
-- and markers), rarely written (a five-year inspection round).
-- requires: boundaries_boundaryline trigger boundaryline_tile_touch
SELECT create_reference_table('boundaries_boundaryline');
SELECT create_reference_table('boundaries_historicalboundaryline');
SELECT create_reference_table('boundaries_marker');
SELECT create_reference_table('boundaries_historicalmarker');
SELECT create_reference_table('boundaries_markerphoto');
SELECT create_reference_table('boundaries_inspection');
SELECT create_reference_table('boundaries_historicalinspection');
SELECT create_reference_table('boundaries_markerfinding');
SELECT create_reference_table('boundaries_historicalmarkerfinding');
SELECT create_reference_table('boundaries_findingphoto');
SELECT create_reference_table('boundaries_segmentfinding');
SELECT create_reference_table('boundaries_historicalsegmentfinding');

-- Siting exclusion zones (water-source protection areas, farmland ...) cross county lines and are
-- joined spatially with candidate sites of any county.
SELECT create_reference_table('coverage_exclusionzone');
SELECT create_reference_table('coverage_historicalexclusionzone');

-- 2. Distributed tables: sharded by county_code -----------------------------------------------------
-- county_code = the first six digits of the code of the division the row belongs to (its county;
-- for a city's or province's own rows, the city's or province's code). Rows that hang off a parent
-- take the parent's county_code, which the composite foreign key then enforces. One co-location
-- group: a county's rows of every table are on the same shard, so county-scoped queries are
-- single-shard ("router") queries and joins between them stay on one node.

-- Place names. A named feature belongs to one county: a road that crosses a county line is recorded
-- as one feature per county (each county's part), see docs/scaling.md.
-- county_code: left(division.code, 6)
-- requires: placenames_namedfeature column county_code
-- requires: placenames_namedfeature primary key (id)
-- requires: placenames_namedfeature unique (code) -> codes get the county code as prefix (today F000001, per deployment)
-- requires: placenames_namedfeature trigger namedfeature_tile_touch
SELECT create_distributed_table('placenames_namedfeature', 'county_code', colocate_with => 'none');
-- county_code: the feature's
-- requires: placenames_namedfeature_divisions column county_code
-- requires: placenames_namedfeature_divisions primary key (id)
-- requires: placenames_namedfeature_divisions unique (namedfeature_id, division_id)
-- requires: placenames_namedfeature_divisions foreign key (namedfeature_id) references placenames_namedfeature -> a custom through model with county_code (auto-created through tables have no room for it)
SELECT create_distributed_table('placenames_namedfeature_divisions', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the feature's
-- requires: placenames_historicalnamedfeature column county_code -> copied by simple_history once the model has the field
-- requires: placenames_historicalnamedfeature primary key (history_id)
SELECT create_distributed_table('placenames_historicalnamedfeature', 'county_code', colocate_with => 'placenames_namedfeature');

-- Naming cases are filed per county (the county whose feature is named; a cross-county name is one
-- case per county part, all citing the same decision document).
-- county_code: left(division.code, 6)
-- requires: placenames_namingcase column county_code
-- requires: placenames_namingcase primary key (id)
-- requires: placenames_namingcase unique (number) -> numbers per county: DM421281-2026-0001 (today DM2026-0001 from a global max)
SELECT create_distributed_table('placenames_namingcase', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the case's
-- requires: placenames_historicalnamingcase column county_code
-- requires: placenames_historicalnamingcase primary key (history_id)
SELECT create_distributed_table('placenames_historicalnamingcase', 'county_code', colocate_with => 'placenames_namedfeature');

-- county_code: the feature's
-- requires: placenames_placename column county_code
-- requires: placenames_placename primary key (id)
-- requires: placenames_placename unique (feature_id)
-- requires: placenames_placename unique (previous_id)
-- requires: placenames_placename foreign key (feature_id) references placenames_namedfeature
-- requires: placenames_placename foreign key (previous_id) references placenames_placename
-- requires: placenames_placename foreign key (case_id) references placenames_namingcase
-- requires: placenames_placename trigger placename_tile_touch
SELECT create_distributed_table('placenames_placename', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalplacename column county_code
-- requires: placenames_historicalplacename primary key (history_id)
SELECT create_distributed_table('placenames_historicalplacename', 'county_code', colocate_with => 'placenames_namedfeature');

-- Road segments are split where they cross a county line (like junctions), so each has one county.
-- county_code: left(division.code, 6); a named segment's equals its road's
-- requires: placenames_roadsegment column county_code
-- requires: placenames_roadsegment primary key (id)
-- requires: placenames_roadsegment unique (code) -> county-prefixed codes, as for features
-- requires: placenames_roadsegment foreign key (feature_id) references placenames_namedfeature
-- requires: placenames_roadsegment trigger roadsegment_tile_touch
SELECT create_distributed_table('placenames_roadsegment', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalroadsegment column county_code
-- requires: placenames_historicalroadsegment primary key (history_id)
SELECT create_distributed_table('placenames_historicalroadsegment', 'county_code', colocate_with => 'placenames_namedfeature');

-- county_code: the case's
-- requires: placenames_caseitem column county_code
-- requires: placenames_caseitem primary key (id)
-- requires: placenames_caseitem unique (case_id, position)
-- requires: placenames_caseitem foreign key (case_id) references placenames_namingcase
-- requires: placenames_caseitem foreign key (feature_id) references placenames_namedfeature
-- requires: placenames_caseitem foreign key (result_name_id) references placenames_placename
SELECT create_distributed_table('placenames_caseitem', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalcaseitem column county_code
-- requires: placenames_historicalcaseitem primary key (history_id)
SELECT create_distributed_table('placenames_historicalcaseitem', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the case item's
-- requires: placenames_caseitem_segments column county_code
-- requires: placenames_caseitem_segments primary key (id)
-- requires: placenames_caseitem_segments unique (caseitem_id, roadsegment_id)
-- requires: placenames_caseitem_segments foreign key (caseitem_id) references placenames_caseitem -> a custom through model with county_code
-- requires: placenames_caseitem_segments foreign key (roadsegment_id) references placenames_roadsegment
SELECT create_distributed_table('placenames_caseitem_segments', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the case's
-- requires: placenames_caseevent column county_code
-- requires: placenames_caseevent primary key (id)
-- requires: placenames_caseevent foreign key (case_id) references placenames_namingcase
SELECT create_distributed_table('placenames_caseevent', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_noticecomment column county_code
-- requires: placenames_noticecomment primary key (id)
-- requires: placenames_noticecomment foreign key (case_id) references placenames_namingcase
SELECT create_distributed_table('placenames_noticecomment', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalnoticecomment column county_code
-- requires: placenames_historicalnoticecomment primary key (history_id)
SELECT create_distributed_table('placenames_historicalnoticecomment', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_caseattachment column county_code
-- requires: placenames_caseattachment primary key (id)
-- requires: placenames_caseattachment foreign key (case_id) references placenames_namingcase
SELECT create_distributed_table('placenames_caseattachment', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalcaseattachment column county_code
-- requires: placenames_historicalcaseattachment primary key (history_id)
SELECT create_distributed_table('placenames_historicalcaseattachment', 'county_code', colocate_with => 'placenames_namedfeature');

-- county_code: the road's; for a sign on no road, the county its point lies in
-- requires: placenames_roadsign column county_code
-- requires: placenames_roadsign primary key (id)
-- requires: placenames_roadsign unique (code) -> county-prefixed codes
-- requires: placenames_roadsign foreign key (feature_id) references placenames_namedfeature
SELECT create_distributed_table('placenames_roadsign', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalroadsign column county_code
-- requires: placenames_historicalroadsign primary key (history_id)
SELECT create_distributed_table('placenames_historicalroadsign', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the feature's
-- requires: placenames_heritageentry column county_code
-- requires: placenames_heritageentry primary key (id)
-- requires: placenames_heritageentry foreign key (feature_id) references placenames_namedfeature
SELECT create_distributed_table('placenames_heritageentry', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: placenames_historicalheritageentry column county_code
-- requires: placenames_historicalheritageentry primary key (history_id)
SELECT create_distributed_table('placenames_historicalheritageentry', 'county_code', colocate_with => 'placenames_namedfeature');

-- House numbers. The largest tables (a county: 10^5-10^6 addresses, and their history).
-- county_code: the compound's; a building outside compounds: the county its footprint lies in
-- requires: addresses_building column county_code
-- requires: addresses_building primary key (id)
-- requires: addresses_building unique (code) -> county-prefixed codes
-- requires: addresses_building unique (compound_id, number)
-- requires: addresses_building foreign key (compound_id) references placenames_namedfeature
SELECT create_distributed_table('addresses_building', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: addresses_historicalbuilding column county_code
-- requires: addresses_historicalbuilding primary key (history_id)
SELECT create_distributed_table('addresses_historicalbuilding', 'county_code', colocate_with => 'placenames_namedfeature');

-- county_code: left(division.code, 6) (township or village); equals the road's or compound's
-- requires: addresses_address column county_code
-- requires: addresses_address primary key (id)
-- requires: addresses_address unique (code) -> no change in meaning: the code starts with the township code
-- requires: addresses_address unique (previous_id)
-- requires: addresses_address unique (feature_id, number, suffix)
-- requires: addresses_address unique (feature_id, building_no, unit_no, room)
-- requires: addresses_address unique (division_id, group, number, suffix)
-- requires: addresses_address foreign key (feature_id) references placenames_namedfeature
-- requires: addresses_address foreign key (building_id) references addresses_building
-- requires: addresses_address foreign key (previous_id) references addresses_address
-- requires: addresses_address trigger address_tile_touch
-- requires: addresses_address trigger address_demand_insert -> the address services append the changed locations to coverage_demand_change in the same transaction
-- requires: addresses_address trigger address_demand_update -> as address_demand_insert
-- requires: addresses_address trigger address_demand_delete -> as address_demand_insert
-- requires: addresses_address trigger address_demand_truncate -> a TRUNCATE (tests, --drop of the scale data) writes one 'everything changed' row
SELECT create_distributed_table('addresses_address', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: addresses_historicaladdress column county_code
-- requires: addresses_historicaladdress primary key (history_id)
SELECT create_distributed_table('addresses_historicaladdress', 'county_code', colocate_with => 'placenames_namedfeature');

-- county_code: the road's
-- requires: addresses_numberingprofile column county_code
-- requires: addresses_numberingprofile primary key (id)
-- requires: addresses_numberingprofile unique (feature_id)
-- requires: addresses_numberingprofile foreign key (feature_id) references placenames_namedfeature
SELECT create_distributed_table('addresses_numberingprofile', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: addresses_historicalnumberingprofile column county_code
-- requires: addresses_historicalnumberingprofile primary key (history_id)
SELECT create_distributed_table('addresses_historicalnumberingprofile', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: left(village.code, 6)
-- requires: addresses_villagecampaign column county_code
-- requires: addresses_villagecampaign primary key (id)
-- requires: addresses_villagecampaign unique (village_id)
SELECT create_distributed_table('addresses_villagecampaign', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: addresses_historicalvillagecampaign column county_code
-- requires: addresses_historicalvillagecampaign primary key (history_id)
SELECT create_distributed_table('addresses_historicalvillagecampaign', 'county_code', colocate_with => 'placenames_namedfeature');

-- county_code: left(division.code, 6); equals its addresses'
-- requires: addresses_addresscase column county_code
-- requires: addresses_addresscase primary key (id)
-- requires: addresses_addresscase unique (number) -> numbers per county: MP421281-2026-00001 (today MP2026-00001, one serial scope 'case:<year>')
-- requires: addresses_addresscase foreign key (address_id) references addresses_address
-- requires: addresses_addresscase foreign key (replaces_id) references addresses_address
SELECT create_distributed_table('addresses_addresscase', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: addresses_historicaladdresscase column county_code
-- requires: addresses_historicaladdresscase primary key (history_id)
SELECT create_distributed_table('addresses_historicaladdresscase', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the case's
-- requires: addresses_addresscaseevent column county_code
-- requires: addresses_addresscaseevent primary key (id)
-- requires: addresses_addresscaseevent foreign key (case_id) references addresses_addresscase
SELECT create_distributed_table('addresses_addresscaseevent', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the address's
-- requires: addresses_certificate column county_code
-- requires: addresses_certificate primary key (id)
-- requires: addresses_certificate unique (serial) -> no change in meaning: serials are <county>-<year>-<n> already
-- requires: addresses_certificate unique (token) -> 128 random bits, collisions are not a concern; new QR URLs carry the county (/v/<county>/<token>/) so the public check is a single-shard lookup, old ones fan out
-- requires: addresses_certificate unique (address_id)
-- requires: addresses_certificate unique (replaces_id)
-- requires: addresses_certificate foreign key (address_id) references addresses_address
-- requires: addresses_certificate foreign key (case_id) references addresses_addresscase
-- requires: addresses_certificate foreign key (replaces_id) references addresses_certificate
SELECT create_distributed_table('addresses_certificate', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: addresses_historicalcertificate column county_code
-- requires: addresses_historicalcertificate primary key (history_id)
SELECT create_distributed_table('addresses_historicalcertificate', 'county_code', colocate_with => 'placenames_namedfeature');
-- Gap-free serials are locked and incremented in the same transaction as the certificate or case
-- they number: co-located, that transaction stays on one shard.
-- (core.sequences.next_serial: one upsert per number on core_serialcounter.)
-- county_code: the county in the scope ('certificate:<county>:<year>', 'address:<township>', and
-- 'case:<county>:<year>', 'namingcase:<county>:<year>', 'feature:<county>:F' instead of today's
-- deployment-wide 'case:<year>', 'namingcase:<year>' and 'feature:F')
-- requires: core_serialcounter column county_code
-- requires: core_serialcounter primary key (id)
-- requires: core_serialcounter unique (scope)
SELECT create_distributed_table('core_serialcounter', 'county_code', colocate_with => 'placenames_namedfeature');

-- Facilities.
-- county_code: left(division.code, 6)
-- requires: facilities_facility column county_code
-- requires: facilities_facility primary key (id)
-- requires: facilities_facility unique (code) -> county-prefixed codes (today F0001, per deployment)
-- requires: facilities_facility trigger facility_tile_touch
SELECT create_distributed_table('facilities_facility', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: facilities_historicalfacility column county_code
-- requires: facilities_historicalfacility primary key (history_id)
SELECT create_distributed_table('facilities_historicalfacility', 'county_code', colocate_with => 'placenames_namedfeature');

-- Coverage scenarios and runs belong to the area analysed: a county, or a city or province for a
-- wider analysis (whose key is then the city's or province's code; the Dask engine computes it per
-- county partition and stores one run).
-- county_code: left(<analysed division>.code, 6)
-- requires: coverage_scenario column county_code
-- requires: coverage_scenario primary key (id)
SELECT create_distributed_table('coverage_scenario', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: coverage_historicalscenario column county_code
-- requires: coverage_historicalscenario primary key (history_id)
SELECT create_distributed_table('coverage_historicalscenario', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the scenario's
-- requires: coverage_scenariochange column county_code
-- requires: coverage_scenariochange primary key (id)
-- requires: coverage_scenariochange foreign key (scenario_id) references coverage_scenario
-- requires: coverage_scenariochange foreign key (facility_id) references facilities_facility -> dropped (db_constraint=False): a city-wide scenario changes facilities of several counties; facility_code already keeps the record
SELECT create_distributed_table('coverage_scenariochange', 'county_code', colocate_with => 'placenames_namedfeature');
-- requires: coverage_historicalscenariochange column county_code
-- requires: coverage_historicalscenariochange primary key (history_id)
SELECT create_distributed_table('coverage_historicalscenariochange', 'county_code', colocate_with => 'placenames_namedfeature');
-- county_code: the analysed division's (the scenario's, when it has one)
-- requires: coverage_coveragerun column county_code
-- requires: coverage_coveragerun primary key (id)
-- requires: coverage_coveragerun foreign key (scenario_id) references coverage_scenario
SELECT create_distributed_table('coverage_coveragerun', 'county_code', colocate_with => 'placenames_namedfeature');

-- 3. Local tables: on the coordinator only ----------------------------------------------------------
-- Only the coordinator (the Django application's database) reads them, never joined with shards.
-- local: django_migrations     Django's migration record
-- local: django_session        sessions: looked up by key on every request, no county
-- local: django_admin_log      the admin's own log (references users and content types)
-- local: authtoken_token       API tokens: a key lookup on every API request
-- local: core_job              the job queue (SELECT ... FOR UPDATE SKIP LOCKED claims)
-- local: demo_loadeddataset    demo bookkeeping
-- local: core_tile_change      tile-layer versions: one small table the coordinator reads for every tile (ETag)
-- local: core_tile_grid        precomputed low-zoom address clusters, rebuilt by tiles_refresh (INSERT ... SELECT from the shards)
-- local: core_tile_grid_state  the grids' versions
-- local: coverage_demand_change the what-if's change feed of address locations (read by the coordinator's what-if index)
-- local: axes_accessattempt   login lockout counters (django-axes): per username and IP, on the coordinator
-- local: axes_accessattemptexpiration  their expiry times
-- local: axes_accessfailurelog  failed logins, for the admin
-- local: axes_accesslog       successful logins, for the admin
-- With foreign keys to reference tables (users, content types), these three become Citus local
-- tables (the coordinator is in the metadata; citus.enable_local_reference_table_foreign_keys):
SELECT citus_add_local_table_to_metadata('django_admin_log');
SELECT citus_add_local_table_to_metadata('authtoken_token');
SELECT citus_add_local_table_to_metadata('core_job');
