import SigilCore

/// The versioned schema. Both dialects run the same statements: only portable types
/// (TEXT, BIGINT, INTEGER) are used, times are epoch milliseconds and booleans 0/1. Where a
/// dialect needs its own (PostgreSQL's partitioned sign-in log), those run after the shared ones.
/// Append new versions; never edit one that has shipped.
enum Schema {
    struct Migration {
        let version: Int
        let statements: [String]
        var sqliteStatements: [String] = []
        var postgresStatements: [String] = []

        /// The statements `dialect` runs, in order.
        func statements(for dialect: Store.Dialect) -> [String] {
            statements + (dialect == .sqlite ? sqliteStatements : postgresStatements)
        }
    }

    static let migrations: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE tenants (
                id TEXT PRIMARY KEY, display_name TEXT NOT NULL, is_default INTEGER NOT NULL,
                created_at BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX tenants_one_default ON tenants (is_default) WHERE is_default = 1",
            """
            CREATE TABLE applications (
                object_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id),
                app_id TEXT NOT NULL UNIQUE, service_principal_id TEXT NOT NULL UNIQUE,
                display_name TEXT NOT NULL, display_name_key TEXT NOT NULL,
                app_role_assignment_required INTEGER NOT NULL, access_token_alg TEXT NOT NULL,
                enabled INTEGER NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE UNIQUE INDEX applications_name ON applications (tenant_id, display_name_key)",
            """
            CREATE TABLE identifier_uris (
                tenant_id TEXT NOT NULL, uri TEXT NOT NULL,
                application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                PRIMARY KEY (tenant_id, uri))
            """,
            """
            CREATE TABLE app_roles (
                id TEXT PRIMARY KEY,
                application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                value TEXT NOT NULL, display_name TEXT NOT NULL, description TEXT NOT NULL,
                UNIQUE (application_id, value))
            """,
            """
            CREATE TABLE app_role_assignments (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
                principal_app_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                resource_app_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                app_role_id TEXT NOT NULL REFERENCES app_roles (id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                UNIQUE (principal_app_id, app_role_id))
            """,
            "CREATE INDEX app_role_assignments_pair ON app_role_assignments (principal_app_id, resource_app_id)",
            """
            CREATE TABLE password_credentials (
                key_id TEXT PRIMARY KEY,
                application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                display_name TEXT NOT NULL, hint TEXT NOT NULL, salt TEXT NOT NULL, digest TEXT NOT NULL,
                start_at BIGINT NOT NULL, end_at BIGINT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX password_credentials_app ON password_credentials (application_id)",
            """
            CREATE TABLE key_credentials (
                key_id TEXT PRIMARY KEY,
                application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                kind TEXT NOT NULL, display_name TEXT NOT NULL, kid TEXT NOT NULL,
                x5t TEXT, x5t_s256 TEXT, material TEXT NOT NULL,
                start_at BIGINT NOT NULL, end_at BIGINT, created_at BIGINT NOT NULL,
                UNIQUE (application_id, kid))
            """,
            """
            CREATE TABLE signing_keys (
                kid TEXT PRIMARY KEY, alg TEXT NOT NULL, state TEXT NOT NULL,
                sealed_private_key TEXT NOT NULL, public_jwk TEXT NOT NULL,
                created_at BIGINT NOT NULL, activated_at BIGINT, retired_at BIGINT)
            """,
            """
            CREATE TABLE used_assertions (
                id TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)
            """,
            "CREATE INDEX used_assertions_expiry ON used_assertions (expires_at)",
            """
            CREATE TABLE sign_ins (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, time BIGINT NOT NULL, app_id TEXT NOT NULL,
                app_display_name TEXT, service_principal_id TEXT, credential_type TEXT, credential_id TEXT,
                ip_address TEXT NOT NULL, user_agent TEXT, resource TEXT, resource_id TEXT,
                succeeded INTEGER NOT NULL, error_code BIGINT, failure_reason TEXT,
                conditional_access_status TEXT NOT NULL, risk_level TEXT NOT NULL, correlation_id TEXT NOT NULL)
            """,
            "CREATE INDEX sign_ins_time ON sign_ins (tenant_id, time)",
            "CREATE INDEX sign_ins_app ON sign_ins (tenant_id, app_id, time)",
            """
            CREATE TABLE audit_events (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, time BIGINT NOT NULL,
                actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, action TEXT NOT NULL,
                target_type TEXT NOT NULL, target_id TEXT NOT NULL, before_json TEXT, after_json TEXT,
                ip_address TEXT NOT NULL, succeeded INTEGER NOT NULL, correlation_id TEXT NOT NULL)
            """,
            "CREATE INDEX audit_events_time ON audit_events (tenant_id, time)",
        ]),
        Migration(version: 2, statements: [
            "CREATE TABLE directory_generation (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO directory_generation (id, value) VALUES (1, 0)",
        ]),
        // Leak reports: a revoked secret stays listed (and refused with its own message);
        // detections are kept after their app is deleted, as history.
        Migration(version: 3, statements: [
            "ALTER TABLE password_credentials ADD COLUMN revoked_at BIGINT",
            "ALTER TABLE password_credentials ADD COLUMN revoked_reason TEXT",
            """
            CREATE TABLE risk_detections (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, service_principal_id TEXT NOT NULL, app_id TEXT NOT NULL,
                risk_event_type TEXT NOT NULL, risk_level TEXT NOT NULL, risk_state TEXT NOT NULL,
                detected_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, key_id TEXT, source TEXT NOT NULL,
                correlation_id TEXT NOT NULL)
            """,
            "CREATE INDEX risk_detections_time ON risk_detections (tenant_id, detected_at)",
            "CREATE INDEX risk_detections_principal ON risk_detections (tenant_id, service_principal_id, risk_state)",
        ]),
        // Single-use assertion ids move onto the sign-in row that used them, so the token
        // endpoint writes one row per request in one statement (no transaction). An id is now
        // remembered as long as its sign-in, longer than the assertion's `exp` requires; the ids
        // of `used_assertions` are not carried over, so an assertion used in the minutes before
        // the upgrade could be presented once more until it expires.
        Migration(version: 4, statements: [
            "ALTER TABLE sign_ins ADD COLUMN assertion_id TEXT",
            "CREATE UNIQUE INDEX sign_ins_assertion ON sign_ins (assertion_id) WHERE assertion_id IS NOT NULL",
            "DROP TABLE used_assertions",
        ]),
        // Secretless credentials: managed identities are service principals of another kind in
        // the applications table (so grants, roles and logs need nothing new); federated
        // credentials, hosts with their join tokens, identity assignments, the agent's mapping
        // rules and trusted issuers; and what a secretless sign-in adds to its log row. A host's
        // key is a key credential of its system-assigned identity.
        Migration(version: 5, statements: [
            "ALTER TABLE applications ADD COLUMN kind TEXT NOT NULL DEFAULT 'application'",
            "ALTER TABLE applications ADD COLUMN host_id TEXT",
            """
            CREATE TABLE federated_credentials (
                id TEXT PRIMARY KEY,
                application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                name TEXT NOT NULL, issuer TEXT NOT NULL, subject TEXT, claims_expression TEXT, audience TEXT NOT NULL,
                description TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (application_id, name))
            """,
            "CREATE UNIQUE INDEX federated_credentials_subject ON federated_credentials (application_id, issuer, subject) WHERE subject IS NOT NULL",
            """
            CREATE TABLE hosts (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), name TEXT NOT NULL, name_key TEXT NOT NULL,
                system_identity_id TEXT NOT NULL REFERENCES applications (object_id),
                join_token_hash TEXT NOT NULL, join_expires_at BIGINT NOT NULL, enrolled_at BIGINT, reported_hostname TEXT,
                created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, name_key))
            """,
            "CREATE UNIQUE INDEX hosts_join_token ON hosts (join_token_hash)",
            """
            CREATE TABLE identity_assignments (
                host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
                identity_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (host_id, identity_id))
            """,
            "CREATE INDEX identity_assignments_identity ON identity_assignments (identity_id)",
            """
            CREATE TABLE host_rules (
                id TEXT PRIMARY KEY, host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
                identity_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                selectors TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (host_id, identity_id, selectors))
            """,
            """
            CREATE TABLE trusted_issuers (
                tenant_id TEXT NOT NULL REFERENCES tenants (id), issuer TEXT NOT NULL, ca_pem TEXT, created_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, issuer))
            """,
            "ALTER TABLE sign_ins ADD COLUMN federated_issuer TEXT",
            "ALTER TABLE sign_ins ADD COLUMN federated_subject TEXT",
            "ALTER TABLE sign_ins ADD COLUMN host_id TEXT",
            "ALTER TABLE sign_ins ADD COLUMN caller_uid BIGINT",
            "ALTER TABLE sign_ins ADD COLUMN caller_executable TEXT",
        ]),
        // Retention deletes sign-ins by age across tenants.
        Migration(version: 6, statements: [
            "CREATE INDEX sign_ins_age ON sign_ins (time)",
        ]),
        // Server-wide settings that must survive restarts, such as the issuer URL.
        Migration(version: 7, statements: [
            "CREATE TABLE server_settings (name TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        ]),
        // App management policies: each tenant's default (id 00000000-…) and per-app policies,
        // their restrictions in Graph's JSON shape; at most one policy assigned per app; whether a
        // client secret's value was chosen by the client. Tenants that exist already get a default
        // that restricts nothing, so an upgraded store behaves as before (new tenants start
        // secretless, see TenantBootstrap).
        Migration(version: 8, statements: [
            """
            CREATE TABLE app_management_policies (
                tenant_id TEXT NOT NULL REFERENCES tenants (id), id TEXT NOT NULL,
                display_name TEXT NOT NULL, display_name_key TEXT NOT NULL, description TEXT NOT NULL,
                is_enabled INTEGER NOT NULL, restrictions TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, id),
                UNIQUE (tenant_id, display_name_key))
            """,
            """
            CREATE TABLE app_management_policy_assignments (
                application_id TEXT PRIMARY KEY REFERENCES applications (object_id) ON DELETE CASCADE,
                tenant_id TEXT NOT NULL, policy_id TEXT NOT NULL, created_at BIGINT NOT NULL,
                FOREIGN KEY (tenant_id, policy_id) REFERENCES app_management_policies (tenant_id, id))
            """,
            "CREATE INDEX app_management_policy_assignments_policy ON app_management_policy_assignments (tenant_id, policy_id)",
            "ALTER TABLE password_credentials ADD COLUMN custom INTEGER NOT NULL DEFAULT 0",
            """
            INSERT INTO app_management_policies (tenant_id, id, display_name, display_name_key, description, is_enabled, restrictions, created_at, updated_at)
            SELECT id, '00000000-0000-0000-0000-000000000000', 'Default app management policy', 'default app management policy',
                'Restricts nothing yet (this tenant predates secretless defaults); sigil policy app set --block-secrets blocks new client secrets.',
                1, '{"keyCredentials":[],"passwordCredentials":[]}', created_at, created_at FROM tenants
            """,
        ]),
        // Conditional Access: named locations (canonical CIDRs, space-separated), policies (the
        // Graph `conditions` as JSON), and every list of policies a sign-in was evaluated against
        // (content-addressed, written when the policies change). A sign-in row keeps the list's
        // id and one result character per policy.
        Migration(version: 9, statements: [
            """
            CREATE TABLE named_locations (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), display_name TEXT NOT NULL,
                display_name_key TEXT NOT NULL, is_trusted INTEGER NOT NULL, ip_ranges TEXT NOT NULL,
                created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL,
                UNIQUE (tenant_id, display_name_key))
            """,
            """
            CREATE TABLE conditional_access_policies (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), display_name TEXT NOT NULL,
                display_name_key TEXT NOT NULL, state TEXT NOT NULL, conditions TEXT NOT NULL,
                created_at BIGINT NOT NULL, modified_at BIGINT NOT NULL,
                UNIQUE (tenant_id, display_name_key))
            """,
            "CREATE TABLE conditional_access_policy_sets (id TEXT PRIMARY KEY, policies TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "ALTER TABLE sign_ins ADD COLUMN ca_policy_set TEXT",
            "ALTER TABLE sign_ins ADD COLUMN ca_results TEXT",
        ]),
        // Admin roles: custom role definitions (the built-in ones live in code, with fixed ids) and
        // assignments of any role to any principal, scoped to the tenant or one application. The
        // admin API's old `Administrator` app role becomes a tenant-wide Administrator assignment
        // (same id), and the app role goes: admin rights are directory roles from now on.
        Migration(version: 10, statements: [
            """
            CREATE TABLE directory_roles (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), display_name TEXT NOT NULL,
                name_key TEXT NOT NULL, description TEXT NOT NULL, permissions TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (tenant_id, name_key))
            """,
            """
            CREATE TABLE directory_role_assignments (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), role_id TEXT NOT NULL,
                principal_app_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                scope TEXT NOT NULL, created_at BIGINT NOT NULL,
                UNIQUE (role_id, principal_app_id, scope))
            """,
            "CREATE INDEX directory_role_assignments_principal ON directory_role_assignments (principal_app_id)",
            """
            INSERT INTO directory_role_assignments (id, tenant_id, role_id, principal_app_id, scope, created_at)
            SELECT a.id, a.tenant_id, '\(DirectoryRole.administratorId)', a.principal_app_id, '/', a.created_at
            FROM app_role_assignments a JOIN app_roles r ON r.id = a.app_role_id
            JOIN identifier_uris u ON u.application_id = a.resource_app_id
            WHERE u.uri = 'api://sigil-admin' AND r.value = 'Administrator'
            """,
            "DELETE FROM app_role_assignments WHERE app_role_id IN (SELECT r.id FROM app_roles r JOIN identifier_uris u ON u.application_id = r.application_id WHERE u.uri = 'api://sigil-admin')",
            "DELETE FROM app_roles WHERE application_id IN (SELECT application_id FROM identifier_uris WHERE uri = 'api://sigil-admin')",
        ]),
        // Workload risk from sign-ins: what each service principal has been seen to use (its first
        // sign-in, networks, credential types, credentials), learned once per fact, and what a
        // detection was raised on.
        Migration(version: 11, statements: [
            """
            CREATE TABLE sign_in_facts (
                service_principal_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, first_seen BIGINT NOT NULL,
                PRIMARY KEY (service_principal_id, kind, value))
            """,
            "ALTER TABLE risk_detections ADD COLUMN ip_address TEXT",
            "ALTER TABLE risk_detections ADD COLUMN evidence TEXT",
        ]),
        // The vault: vaults (global names, since each is a host name), secrets (one row per name,
        // soft-deleted in place so a deleted name cannot be reused before it is purged), and
        // versions in order, each value sealed under its own data key, wrapped by the KEK named
        // in kek_id.
        Migration(version: 12, statements: [
            """
            CREATE TABLE vaults (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), name TEXT NOT NULL UNIQUE,
                retention_days INTEGER NOT NULL, purge_protection INTEGER NOT NULL, created_at BIGINT NOT NULL)
            """,
            """
            CREATE TABLE vault_secrets (
                id TEXT PRIMARY KEY, vault_id TEXT NOT NULL REFERENCES vaults (id), name TEXT NOT NULL, name_key TEXT NOT NULL,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, deleted_at BIGINT, scheduled_purge_at BIGINT,
                UNIQUE (vault_id, name_key))
            """,
            "CREATE INDEX vault_secrets_purge ON vault_secrets (scheduled_purge_at) WHERE scheduled_purge_at IS NOT NULL",
            """
            CREATE TABLE vault_secret_versions (
                secret_id TEXT NOT NULL REFERENCES vault_secrets (id) ON DELETE CASCADE, version TEXT NOT NULL, seq BIGINT NOT NULL,
                content_type TEXT, tags TEXT NOT NULL, enabled INTEGER NOT NULL, not_before BIGINT, expires BIGINT,
                created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, managed INTEGER NOT NULL,
                ciphertext TEXT NOT NULL, wrapped_key TEXT NOT NULL, kek_id TEXT NOT NULL,
                PRIMARY KEY (secret_id, version), UNIQUE (secret_id, seq))
            """,
            "CREATE INDEX vault_secret_versions_kek ON vault_secret_versions (kek_id)",
        ]),
        // Vault events: webhook subscriptions per vault (the HMAC key sealed like a secret
        // version), the outbox of deliveries written in the transaction that caused them, and
        // how far each subscription has announced each version's expiry (1 near expiry, 2 expired),
        // so each of those events goes out once per version.
        Migration(version: 13, statements: [
            """
            CREATE TABLE vault_event_subscriptions (
                id TEXT PRIMARY KEY, vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE, url TEXT NOT NULL,
                secret_name_pattern TEXT, near_expiry_lead_ms BIGINT NOT NULL, allow_private_network INTEGER NOT NULL,
                key_ciphertext TEXT NOT NULL, key_wrapped TEXT NOT NULL, kek_id TEXT NOT NULL, created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX vault_event_subscriptions_vault ON vault_event_subscriptions (vault_id)",
            """
            CREATE TABLE vault_event_deliveries (
                id TEXT PRIMARY KEY, subscription_id TEXT NOT NULL REFERENCES vault_event_subscriptions (id) ON DELETE CASCADE,
                event_type TEXT NOT NULL, event TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL, created_at BIGINT NOT NULL, last_attempt_at BIGINT, last_error TEXT)
            """,
            "CREATE INDEX vault_event_deliveries_due ON vault_event_deliveries (state, next_attempt_at)",
            "CREATE INDEX vault_event_deliveries_subscription ON vault_event_deliveries (subscription_id, state)",
            """
            CREATE TABLE vault_event_announcements (
                subscription_id TEXT NOT NULL REFERENCES vault_event_subscriptions (id) ON DELETE CASCADE,
                secret_id TEXT NOT NULL REFERENCES vault_secrets (id) ON DELETE CASCADE, version TEXT NOT NULL, stage INTEGER NOT NULL,
                PRIMARY KEY (subscription_id, secret_id, version))
            """,
        ]),
        // Rotation of an app's client secret kept in a vault secret: one policy per secret name
        // (the secret may not exist before the first rotation writes it), with the state its
        // steps move through, so a restart resumes from the last committed step. `generation`
        // is bumped by every step: a step decided on an older state is refused.
        Migration(version: 14, statements: [
            """
            CREATE TABLE vault_secret_rotations (
                id TEXT PRIMARY KEY, vault_id TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE, secret_name TEXT NOT NULL,
                name_key TEXT NOT NULL, application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                every_ms BIGINT NOT NULL, overlap_ms BIGINT NOT NULL, phase TEXT NOT NULL, current_key_id TEXT, retiring_key_id TEXT,
                next_rotation_at BIGINT NOT NULL, retire_at BIGINT, last_rotated_at BIGINT, due_at BIGINT NOT NULL, last_error TEXT,
                generation BIGINT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,
                UNIQUE (vault_id, name_key))
            """,
            "CREATE INDEX vault_secret_rotations_due ON vault_secret_rotations (due_at)",
            "CREATE INDEX vault_secret_rotations_application ON vault_secret_rotations (application_id)",
        ]),
        // Triage and migration. Credentials can be disabled (and enabled again), which is not
        // removal. Usage is summarised as sign-ins are recorded, so reports read summaries, not the
        // log: per credential (first and last use, count), where each was used from (at most
        // `UsageSummary.maximumSourcesPerKind` networks and user agents each), and per app and
        // UTC day, secret and secretless sign-ins. Existing sign-ins are summarised here once;
        // sources are recorded from the upgrade on. `app_migrations` is each app's walk off its
        // secrets (`sigil migrate`).
        Migration(version: 15, statements: [
            "ALTER TABLE password_credentials ADD COLUMN disabled_at BIGINT",
            "ALTER TABLE key_credentials ADD COLUMN disabled_at BIGINT",
            "ALTER TABLE federated_credentials ADD COLUMN disabled_at BIGINT",
            """
            CREATE TABLE credential_usage (
                tenant_id TEXT NOT NULL, app_id TEXT NOT NULL, credential_type TEXT NOT NULL, credential_id TEXT NOT NULL,
                first_used BIGINT NOT NULL, last_used BIGINT NOT NULL, sign_ins BIGINT NOT NULL,
                PRIMARY KEY (app_id, credential_type, credential_id))
            """,
            "CREATE INDEX credential_usage_tenant ON credential_usage (tenant_id)",
            """
            CREATE TABLE credential_usage_sources (
                app_id TEXT NOT NULL, credential_type TEXT NOT NULL, credential_id TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
                last_seen BIGINT NOT NULL, sign_ins BIGINT NOT NULL,
                PRIMARY KEY (app_id, credential_type, credential_id, kind, value))
            """,
            """
            CREATE TABLE app_daily_sign_ins (
                tenant_id TEXT NOT NULL, day BIGINT NOT NULL, app_id TEXT NOT NULL,
                secret_sign_ins BIGINT NOT NULL, secretless_sign_ins BIGINT NOT NULL,
                PRIMARY KEY (tenant_id, day, app_id))
            """,
            """
            INSERT INTO credential_usage (tenant_id, app_id, credential_type, credential_id, first_used, last_used, sign_ins)
            SELECT MIN(tenant_id), app_id, credential_type, credential_id, MIN(time), MAX(time), COUNT(*) FROM sign_ins
            WHERE succeeded = 1 AND credential_type IS NOT NULL AND credential_id IS NOT NULL
            GROUP BY app_id, credential_type, credential_id
            """,
            """
            INSERT INTO app_daily_sign_ins (tenant_id, day, app_id, secret_sign_ins, secretless_sign_ins)
            SELECT tenant_id, (time / 86400000) * 86400000, app_id,
                SUM(CASE WHEN credential_type = 'clientSecret' THEN 1 ELSE 0 END), SUM(CASE WHEN credential_type = 'clientSecret' THEN 0 ELSE 1 END)
            FROM sign_ins WHERE succeeded = 1 AND credential_type IS NOT NULL
            GROUP BY tenant_id, (time / 86400000) * 86400000, app_id
            """,
            """
            CREATE TABLE app_migrations (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, application_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                state TEXT NOT NULL, replacement TEXT NOT NULL, secret_key_ids TEXT NOT NULL,
                applied_at BIGINT NOT NULL, finished_at BIGINT, delete_after BIGINT, updated_at BIGINT NOT NULL,
                UNIQUE (application_id))
            """,
        ]),
        // Alert webhooks (issue 12): a tenant's subscriptions, their outbox (the vault events'
        // shape, drained by the same delivery service) and what the periodic scan announced
        // (a spike window, a credential nearing its end), so each alert goes out once; an
        // announcement is forgotten once `until_at` has passed, when it can no longer recur.
        Migration(version: 16, statements: [
            """
            CREATE TABLE alert_subscriptions (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), url TEXT NOT NULL, kinds TEXT NOT NULL,
                spike_app INTEGER NOT NULL, spike_tenant INTEGER NOT NULL, spike_window_ms BIGINT NOT NULL, expiring_within_ms BIGINT NOT NULL,
                allow_private_network INTEGER NOT NULL, key_ciphertext TEXT NOT NULL, key_wrapped TEXT NOT NULL, kek_id TEXT NOT NULL,
                created_at BIGINT NOT NULL)
            """,
            "CREATE INDEX alert_subscriptions_tenant ON alert_subscriptions (tenant_id)",
            """
            CREATE TABLE alert_deliveries (
                id TEXT PRIMARY KEY, subscription_id TEXT NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE,
                event_type TEXT NOT NULL, event TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
                next_attempt_at BIGINT NOT NULL, created_at BIGINT NOT NULL, last_attempt_at BIGINT, last_error TEXT)
            """,
            "CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at)",
            "CREATE INDEX alert_deliveries_subscription ON alert_deliveries (subscription_id, state)",
            """
            CREATE TABLE alert_announcements (
                subscription_id TEXT NOT NULL REFERENCES alert_subscriptions (id) ON DELETE CASCADE, subject TEXT NOT NULL,
                until_at BIGINT NOT NULL, PRIMARY KEY (subscription_id, subject))
            """,
            "CREATE INDEX alert_announcements_until ON alert_announcements (until_at)",
        ]),
        // Incident response: one row per containment of a service principal, with what it
        // disabled (so release enables exactly that) and the vault secrets it put up for
        // rotation; at most one open per principal. The revocation list: per principal, its
        // tokens issued at or before revoked_before are refused until expires_at, when every one
        // of them has expired. The audit log is read per target and per actor for timelines.
        Migration(version: 17, statements: [
            """
            CREATE TABLE incidents (
                id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), application_id TEXT NOT NULL,
                service_principal_id TEXT NOT NULL, app_id TEXT NOT NULL, display_name TEXT NOT NULL, state TEXT NOT NULL,
                contained_at BIGINT NOT NULL, contained_by_id TEXT NOT NULL, contained_by_name TEXT NOT NULL,
                released_at BIGINT, released_by_id TEXT, released_by_name TEXT, was_enabled INTEGER NOT NULL,
                disabled_credentials TEXT NOT NULL, secrets TEXT NOT NULL)
            """,
            "CREATE UNIQUE INDEX incidents_open ON incidents (service_principal_id) WHERE state = 'contained'",
            "CREATE INDEX incidents_tenant ON incidents (tenant_id, contained_at)",
            """
            CREATE TABLE token_revocations (
                service_principal_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL REFERENCES tenants (id), app_id TEXT NOT NULL,
                revoked_before BIGINT NOT NULL, expires_at BIGINT NOT NULL)
            """,
            "CREATE INDEX token_revocations_tenant ON token_revocations (tenant_id, expires_at)",
            "CREATE INDEX audit_events_target ON audit_events (tenant_id, target_id, time)",
            "CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, time)",
        ]),
        // The dashboard's sign-in: one-time codes that `sigil dashboard` mints and the sessions they
        // become, each kept as the SHA-256 of its secret, for the principal that asked (its roles
        // are read per request). A code's `used_at` is set once, by the one exchange that wins.
        Migration(version: 18, statements: [
            """
            CREATE TABLE dashboard_codes (
                code_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
                principal_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, used_at BIGINT)
            """,
            "CREATE INDEX dashboard_codes_expiry ON dashboard_codes (expires_at)",
            """
            CREATE TABLE dashboard_sessions (
                session_hash TEXT PRIMARY KEY, tenant_id TEXT NOT NULL,
                principal_id TEXT NOT NULL REFERENCES applications (object_id) ON DELETE CASCADE,
                created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)
            """,
            "CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at)",
        ]),
        // The security assessment's score per tenant and UTC day (the day's last assessment), so
        // it has a trend.
        Migration(version: 19, statements: [
            """
            CREATE TABLE posture_scores (
                tenant_id TEXT NOT NULL, day BIGINT NOT NULL, score INTEGER NOT NULL, items TEXT NOT NULL,
                PRIMARY KEY (tenant_id, day))
            """,
        ]),
        // Single-use assertion ids move off the sign-in rows into their own table, so that on
        // PostgreSQL the sign-in log can be partitioned by UTC day and retention can drop whole
        // partitions (a unique index on a partitioned table must include the partition key, so it
        // could not keep an id unique across days). The ids in use are carried over; retention
        // keeps an id a day (`SignInMaintenance.assertionMemory`), far past any assertion's `exp`.
        //
        // PostgreSQL rebuilds `sign_ins` as a table partitioned by range of `time`: one partition
        // per UTC day named `sign_ins_YYYYMMDD` (`SignInPartition`), created ahead by maintenance,
        // and `sign_ins_default` for rows no day partition takes. The rows already logged move into
        // partitions for their days, inside the upgrade's transaction (token requests wait for it).
        // Its primary key becomes (id, time), as partitioning requires.
        Migration(
            version: 20,
            statements: [
                // First, so that on PostgreSQL the log is locked before the ids are copied: a
                // replica of the previous version still writing would otherwise add an id after
                // the copy, which could then be used once more.
                "DROP INDEX sign_ins_assertion",
                "CREATE TABLE single_use_assertions (id TEXT PRIMARY KEY, used_at BIGINT NOT NULL)",
                "CREATE INDEX single_use_assertions_age ON single_use_assertions (used_at)",
                "INSERT INTO single_use_assertions (id, used_at) SELECT assertion_id, time FROM sign_ins WHERE assertion_id IS NOT NULL",
            ],
            sqliteStatements: [
                "ALTER TABLE sign_ins DROP COLUMN assertion_id",
            ],
            postgresStatements: [
                "ALTER TABLE sign_ins RENAME TO sign_ins_unpartitioned",
                "CREATE TABLE sign_ins (LIKE sign_ins_unpartitioned INCLUDING DEFAULTS) PARTITION BY RANGE (time)",
                "ALTER TABLE sign_ins DROP COLUMN assertion_id",
                "CREATE TABLE sign_ins_default PARTITION OF sign_ins DEFAULT",
                """
                DO $$
                DECLARE day BIGINT;
                BEGIN
                    FOR day IN SELECT DISTINCT time / 86400000 FROM sign_ins_unpartitioned LOOP
                        EXECUTE format('CREATE TABLE %I PARTITION OF sign_ins FOR VALUES FROM (%s) TO (%s)',
                            'sign_ins_' || to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYYMMDD'),
                            day * 86400000, (day + 1) * 86400000);
                    END LOOP;
                END $$
                """,
                """
                INSERT INTO sign_ins (id, tenant_id, time, app_id, app_display_name, service_principal_id, credential_type,
                    credential_id, ip_address, user_agent, resource, resource_id, succeeded, error_code, failure_reason,
                    conditional_access_status, risk_level, correlation_id, federated_issuer, federated_subject, host_id,
                    caller_uid, caller_executable, ca_policy_set, ca_results)
                SELECT id, tenant_id, time, app_id, app_display_name, service_principal_id, credential_type,
                    credential_id, ip_address, user_agent, resource, resource_id, succeeded, error_code, failure_reason,
                    conditional_access_status, risk_level, correlation_id, federated_issuer, federated_subject, host_id,
                    caller_uid, caller_executable, ca_policy_set, ca_results
                FROM sign_ins_unpartitioned
                """,
                "DROP TABLE sign_ins_unpartitioned",
                "ALTER TABLE sign_ins ADD PRIMARY KEY (id, time)",
                "CREATE INDEX sign_ins_time ON sign_ins (tenant_id, time)",
                "CREATE INDEX sign_ins_app ON sign_ins (tenant_id, app_id, time)",
                "CREATE INDEX sign_ins_age ON sign_ins (time)",
            ]),
    ]
}
