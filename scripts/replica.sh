#!/usr/bin/env bash
# A local streaming replica (hot standby) of the main PostgreSQL cluster, to try DATABASE_REPLICA_URL
# on one machine (docs/scaling.md). Idempotent.
#   scripts/replica.sh            create (if missing) and start cluster 15/replica on port 5433, a hot
#                                 standby streaming from 127.0.0.1:5432 (pg_basebackup -R -X stream)
#   scripts/replica.sh --rebuild  throw the replica's data away and take a fresh base backup
#   scripts/replica.sh --stop     stop it (data kept; the next run starts it and it catches up)
#   scripts/replica.sh --drop     stop and remove the replica cluster and the replication role
# Then: DATABASE_REPLICA_URL=postgres://geo_mz:geo_mz@127.0.0.1:5433/geo_mz .venv/bin/python manage.py replica_check
# Configuration (environment): GEO_MZ_PG_VERSION=15 GEO_MZ_DB_PORT=5432 GEO_MZ_REPLICA_PORT=5433
#   GEO_MZ_REPLICA_CLUSTER=replica GEO_MZ_REPLICATION_USER=geo_mz_replicator
#   GEO_MZ_REPLICATION_PASSWORD=geo_mz_replicator
# Debian/Ubuntu (postgresql-common), as root or with sudo. The standby copies the whole primary
# cluster (every database). No replication slot is used, so a stopped replica never makes the primary
# keep WAL; one that has fallen too far behind to catch up needs --rebuild.
set -euo pipefail

PG_VERSION=${GEO_MZ_PG_VERSION:-15}
PRIMARY_PORT=${GEO_MZ_DB_PORT:-5432}
REPLICA_PORT=${GEO_MZ_REPLICA_PORT:-5433}
CLUSTER=${GEO_MZ_REPLICA_CLUSTER:-replica}
REPL_USER=${GEO_MZ_REPLICATION_USER:-geo_mz_replicator}
REPL_PASSWORD=${GEO_MZ_REPLICATION_PASSWORD:-geo_mz_replicator}
ACTION=up
for arg in "$@"; do
  case "$arg" in
    --drop) ACTION=drop ;;
    --stop) ACTION=stop ;;
    --rebuild) ACTION=rebuild ;;
    *) echo "unknown option: $arg (use --rebuild, --stop or --drop)" >&2; exit 2 ;;
  esac
done
[ "$CLUSTER" != "main" ] || { echo "refusing to use the main cluster as the replica" >&2; exit 2; }

log() { printf '\033[1;34m[replica]\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
as_postgres() { if [ -z "$SUDO" ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
psql_primary() { as_postgres psql -p "$PRIMARY_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
psql_replica() { as_postgres psql -p "$REPLICA_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
cluster_status() { pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}'; }
cluster_exists() { [ -n "$(cluster_status)" ]; }
cluster_online() { case "$(cluster_status)" in online*) return 0 ;; *) return 1 ;; esac; }  # "online,recovery"

if [ "$ACTION" = drop ]; then
  if cluster_exists; then
    log "dropping cluster ${PG_VERSION}/${CLUSTER}"
    $SUDO pg_dropcluster --stop "$PG_VERSION" "$CLUSTER"
  fi
  if pg_isready -q -h 127.0.0.1 -p "$PRIMARY_PORT"; then
    psql_primary -c "DROP ROLE IF EXISTS \"${REPL_USER}\""
  fi
  log "dropped"
  exit 0
fi
if [ "$ACTION" = stop ]; then
  if cluster_online; then $SUDO pg_ctlcluster "$PG_VERSION" "$CLUSTER" stop; fi
  log "stopped"
  exit 0
fi

# --- 1. the primary: streaming allowed? --------------------------------------------------------
pg_isready -q -h 127.0.0.1 -p "$PRIMARY_PORT" \
  || { echo "the primary is not running on port $PRIMARY_PORT (scripts/setup.sh starts it)" >&2; exit 1; }
wal_level=$(psql_primary -c "SHOW wal_level")
senders=$(psql_primary -c "SHOW max_wal_senders")
if [ "$wal_level" = minimal ] || [ "$senders" -lt 2 ]; then
  echo "the primary has wal_level=$wal_level, max_wal_senders=$senders; streaming needs wal_level=replica" \
       "and max_wal_senders >= 2 (Debian's defaults). Set them and restart the primary." >&2
  exit 1
fi
# pg_hba: a host "replication" rule for 127.0.0.1 (Debian's default has one for every role).
hba_ok=$(psql_primary -c "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host' AND error IS NULL
  AND 'replication' = ANY(database) AND (user_name && ARRAY['all', '${REPL_USER}'])
  AND address = '127.0.0.1' AND netmask = '255.255.255.255' AND auth_method IN ('scram-sha-256', 'md5')")
if [ "$hba_ok" = 0 ]; then
  hba=$(psql_primary -c "SHOW hba_file")
  log "allowing replication from 127.0.0.1 for ${REPL_USER} in $hba"
  echo "host    replication     ${REPL_USER}     127.0.0.1/32            scram-sha-256" | $SUDO tee -a "$hba" >/dev/null
  psql_primary -c "SELECT pg_reload_conf()" >/dev/null
fi
if [ "$(psql_primary -c "SELECT 1 FROM pg_roles WHERE rolname = '${REPL_USER}'")" != 1 ]; then
  log "creating replication role ${REPL_USER}"
  psql_primary -c "CREATE ROLE \"${REPL_USER}\" LOGIN REPLICATION PASSWORD '${REPL_PASSWORD}'"
else
  psql_primary -c "ALTER ROLE \"${REPL_USER}\" LOGIN REPLICATION PASSWORD '${REPL_PASSWORD}'"
fi

# --- 2. the standby cluster --------------------------------------------------------------------
fresh=0
if [ "$ACTION" = rebuild ] && cluster_exists; then
  log "rebuilding: dropping ${PG_VERSION}/${CLUSTER}"
  $SUDO pg_dropcluster --stop "$PG_VERSION" "$CLUSTER"
fi
if ! cluster_exists; then
  log "creating cluster ${PG_VERSION}/${CLUSTER} on port ${REPLICA_PORT}"
  $SUDO pg_createcluster --locale C.UTF-8 --encoding UTF8 -p "$REPLICA_PORT" "$PG_VERSION" "$CLUSTER" >/dev/null
  fresh=1
fi
DATA_DIR=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $6}')
CONF_DIR=/etc/postgresql/${PG_VERSION}/${CLUSTER}
if [ "$fresh" = 0 ] && ! $SUDO test -f "$DATA_DIR/standby.signal"; then
  echo "${PG_VERSION}/${CLUSTER} exists but is not a standby; run with --rebuild to replace it" >&2
  exit 1
fi
if [ "$fresh" = 1 ]; then
  if cluster_online; then $SUDO pg_ctlcluster "$PG_VERSION" "$CLUSTER" stop; fi
  # A hot standby needs these at least as high as on the primary; keep it light otherwise, and do not
  # start it at boot (it is a local experiment, started by this script).
  for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions \
              max_locks_per_transaction; do
    $SUDO pg_conftool -s "$PG_VERSION" "$CLUSTER" set "$name" "$(psql_primary -c "SHOW $name")"
  done
  $SUDO pg_conftool -s "$PG_VERSION" "$CLUSTER" set hot_standby on
  # Report the oldest snapshot to the primary, so that vacuum there does not cancel tile and OGC reads here.
  $SUDO pg_conftool -s "$PG_VERSION" "$CLUSTER" set hot_standby_feedback on
  $SUDO pg_conftool -s "$PG_VERSION" "$CLUSTER" set shared_buffers 128MB
  echo manual | $SUDO tee "$CONF_DIR/start.conf" >/dev/null
  log "base backup from 127.0.0.1:${PRIMARY_PORT} into $DATA_DIR"
  $SUDO find "$DATA_DIR" -mindepth 1 -delete
  started=$(date +%s)
  as_postgres env PGPASSWORD="$REPL_PASSWORD" pg_basebackup -h 127.0.0.1 -p "$PRIMARY_PORT" -U "$REPL_USER" -w \
    -D "$DATA_DIR" -R -X stream --checkpoint=fast
  log "base backup done in $(( $(date +%s) - started )) s ($($SUDO du -sh "$DATA_DIR" | cut -f1))"
fi

# --- 3. start and check ------------------------------------------------------------------------
if ! cluster_online; then
  log "starting ${PG_VERSION}/${CLUSTER}"
  $SUDO pg_ctlcluster "$PG_VERSION" "$CLUSTER" start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT" && break
  sleep 1
done
pg_isready -q -h 127.0.0.1 -p "$REPLICA_PORT" || { echo "the replica did not come up on port $REPLICA_PORT" >&2; exit 1; }
[ "$(psql_replica -c "SELECT pg_is_in_recovery()")" = t ] \
  || { echo "${PG_VERSION}/${CLUSTER} is up but not in recovery (not a standby)" >&2; exit 1; }
for _ in $(seq 1 30); do
  streaming=$(psql_primary -c "SELECT count(*) FROM pg_stat_replication WHERE usename = '${REPL_USER}' AND state = 'streaming'")
  [ "$streaming" -ge 1 ] && break
  sleep 1
done
[ "$streaming" -ge 1 ] || { echo "the replica is up but not streaming; see /var/log/postgresql/postgresql-${PG_VERSION}-${CLUSTER}.log (too far behind? --rebuild)" >&2; exit 1; }
psql_primary -c "SELECT 'streaming to ' || client_addr || ', replay lag ' || COALESCE(replay_lag::text, '0')
  FROM pg_stat_replication WHERE usename = '${REPL_USER}'" | while read -r line; do log "$line"; done
log "hot standby ready: DATABASE_REPLICA_URL=postgres://geo_mz:geo_mz@127.0.0.1:${REPLICA_PORT}/geo_mz"
log "check it: .venv/bin/python manage.py replica_check; stop it: scripts/replica.sh --stop"
