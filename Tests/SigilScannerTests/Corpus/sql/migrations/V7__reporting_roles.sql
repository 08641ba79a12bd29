-- V7: read-only roles for the reporting stack and the BI tool.
-- Applied by Flyway as orders_owner.

BEGIN;

CREATE ROLE reporting_ro WITH LOGIN PASSWORD '⟦generic-password⟧' CONNECTION LIMIT 20;
CREATE ROLE metabase WITH LOGIN PASSWORD '⟦generic-password|Ledger!Harbor77⟧';
CREATE ROLE replication_monitor WITH LOGIN;  -- password set by ops via \password

GRANT CONNECT ON DATABASE orders TO reporting_ro, metabase;
GRANT USAGE ON SCHEMA public, reporting TO reporting_ro, metabase;
GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO reporting_ro, metabase;
ALTER DEFAULT PRIVILEGES IN SCHEMA reporting GRANT SELECT ON TABLES TO reporting_ro, metabase;

-- Foreign server for the legacy invoicing database
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
CREATE SERVER IF NOT EXISTS invoicing_legacy
  FOREIGN DATA WRAPPER postgres_fdw
  OPTIONS (host 'inv-db.internal', port '5432', dbname 'invoicing');

CREATE USER MAPPING IF NOT EXISTS FOR reporting_ro
  SERVER invoicing_legacy
  OPTIONS (user 'invoicing_ro', password '⟦generic-password⟧');

CREATE SCHEMA IF NOT EXISTS legacy;
IMPORT FOREIGN SCHEMA public LIMIT TO (invoices, invoice_lines) FROM SERVER invoicing_legacy INTO legacy;

CREATE OR REPLACE VIEW reporting.daily_revenue AS
SELECT date_trunc('day', o.created_at) AS day,
       o.currency,
       count(*)                       AS orders,
       sum(o.total_cents) / 100.0     AS revenue
FROM orders o
WHERE o.status IN ('paid', 'shipped', 'delivered')
GROUP BY 1, 2;

COMMENT ON ROLE metabase IS 'BI tool; password rotated quarterly, stored in kv/db/metabase';

COMMIT;
