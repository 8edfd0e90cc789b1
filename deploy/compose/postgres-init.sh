#!/bin/sh
# PostgreSQL's first-start script in compose.yaml (mounted into /docker-entrypoint-initdb.d,
# which the postgres image runs once, on an empty data directory): the two databases of the
# stack, each owned by a role of its own.
#   lakeflight_catalog  the Iceberg catalog both lakeflight replicas share (role lakeflight)
#   airflow             Airflow's metadata database (role airflow)
# The passwords come from the container's environment (CATALOG_DB_PASSWORD and
# AIRFLOW_DB_PASSWORD, set from .env); psql quotes them (:'name'), so no character breaks the SQL.
set -eu

: "${CATALOG_DB_PASSWORD:?CATALOG_DB_PASSWORD is not set}"
: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD is not set}"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v catalog_password="$CATALOG_DB_PASSWORD" -v airflow_password="$AIRFLOW_DB_PASSWORD" <<'SQL'
CREATE ROLE lakeflight LOGIN PASSWORD :'catalog_password';
CREATE DATABASE lakeflight_catalog OWNER lakeflight;
REVOKE ALL ON DATABASE lakeflight_catalog FROM PUBLIC;

CREATE ROLE airflow LOGIN PASSWORD :'airflow_password';
CREATE DATABASE airflow OWNER airflow;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
SQL
