-- docker/initdb/10-caas.sql — run once by the postgres image on first start,
-- in $POSTGRES_DB (caas): install caas and, through CASCADE, pg_cron.
CREATE EXTENSION IF NOT EXISTS caas CASCADE;
