-- Fills a Sigil store for bench/reports.sh (SQLite and PostgreSQL alike): :apps applications of
-- tenant :tenant, each with a client secret, half of them also with a key; :signins successful
-- sign-ins spread over the last 30 days (apps 1–50 % on their secret only, 50–80 % on both, the
-- rest on their key only). Then the usage summaries are rebuilt from the log by the statements of
-- migration 15, plus one network and one user agent per used credential.
-- psql and sqlite3 both read it after `sed` replaced :tenant, :apps, :signins and :now.
INSERT INTO applications (object_id, tenant_id, app_id, service_principal_id, display_name, display_name_key,
    app_role_assignment_required, access_token_alg, enabled, created_at, kind)
SELECT 'o-' || n, ':tenant', 'a-' || n, 's-' || n, 'bench-app-' || n, 'bench-app-' || n, 0, 'ES256', 1, :now - 90 * CAST(86400000 AS BIGINT), 'application'
FROM apps;
INSERT INTO password_credentials (key_id, application_id, display_name, hint, salt, digest, start_at, end_at, created_at)
SELECT 'p-' || n, 'o-' || n, 'bench', 'abc', '', '', :now - 90 * CAST(86400000 AS BIGINT), :now + (n % 60) * CAST(86400000 AS BIGINT), :now - 90 * CAST(86400000 AS BIGINT) FROM apps;
INSERT INTO key_credentials (key_id, application_id, kind, display_name, kid, material, start_at, created_at)
SELECT 'k-' || n, 'o-' || n, 'Jwk', 'bench', 'kid-' || n, '{}', :now - 90 * CAST(86400000 AS BIGINT), :now - 90 * CAST(86400000 AS BIGINT) FROM apps WHERE n > :apps / 2;
INSERT INTO sign_ins (id, tenant_id, time, app_id, credential_type, credential_id, ip_address, user_agent, succeeded,
    conditional_access_status, risk_level, correlation_id)
SELECT 'si-' || j, ':tenant', :now - (j % 29) * CAST(86400000 AS BIGINT) - (j % 86400) * 1000, 'a-' || (j % :apps + 1),
    CASE WHEN j % :apps + 1 <= :apps / 2 OR (j % :apps + 1 <= :apps * 8 / 10 AND j % 2 = 0) THEN 'clientSecret' ELSE 'clientAssertion' END,
    CASE WHEN j % :apps + 1 <= :apps / 2 OR (j % :apps + 1 <= :apps * 8 / 10 AND j % 2 = 0) THEN 'p-' || (j % :apps + 1) ELSE 'kid-' || (j % :apps + 1) END,
    '10.0.0.1', 'bench/1.0', 1, 'notApplied', 'none', 'c'
FROM signins;
DELETE FROM credential_usage;
DELETE FROM credential_usage_sources;
DELETE FROM app_daily_sign_ins;
INSERT INTO credential_usage (tenant_id, app_id, credential_type, credential_id, first_used, last_used, sign_ins)
SELECT MIN(tenant_id), app_id, credential_type, credential_id, MIN(time), MAX(time), COUNT(*) FROM sign_ins
WHERE succeeded = 1 AND credential_type IS NOT NULL AND credential_id IS NOT NULL
GROUP BY app_id, credential_type, credential_id;
INSERT INTO app_daily_sign_ins (tenant_id, day, app_id, secret_sign_ins, secretless_sign_ins)
SELECT tenant_id, (time / 86400000) * 86400000, app_id,
    SUM(CASE WHEN credential_type = 'clientSecret' THEN 1 ELSE 0 END), SUM(CASE WHEN credential_type = 'clientSecret' THEN 0 ELSE 1 END)
FROM sign_ins WHERE succeeded = 1 AND credential_type IS NOT NULL
GROUP BY tenant_id, (time / 86400000) * 86400000, app_id;
INSERT INTO credential_usage_sources (app_id, credential_type, credential_id, kind, value, last_seen, sign_ins)
SELECT app_id, credential_type, credential_id, 'network', '10.0.0.0/24', last_used, sign_ins FROM credential_usage;
INSERT INTO credential_usage_sources (app_id, credential_type, credential_id, kind, value, last_seen, sign_ins)
SELECT app_id, credential_type, credential_id, 'userAgent', 'bench/1.0', last_used, sign_ins FROM credential_usage;
