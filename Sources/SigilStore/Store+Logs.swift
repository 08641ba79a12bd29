import Foundation
import PostgresKit
import SQLKit
import SigilCore

extension Store {
    static func insertAudit(_ event: AuditEvent, on database: any SQLDatabase) async throws {
        try await database.raw("""
            INSERT INTO audit_events (id, tenant_id, time, actor_id, actor_name, action, target_type, target_id,
                before_json, after_json, ip_address, succeeded, correlation_id)
            VALUES (\(bind: event.id), \(bind: event.tenantId), \(bind: event.time.epochMilliseconds), \(bind: event.actorId),
                \(bind: event.actorName), \(bind: event.action), \(bind: event.targetType), \(bind: event.targetId),
                \(bind: event.before?.serialized()), \(bind: event.after?.serialized()), \(bind: event.ipAddress),
                \(bind: event.succeeded ? 1 : 0), \(bind: event.correlationId))
            """).run()
    }

    /// Records an audit event on its own (for refused admin calls, which change nothing else).
    public func recordAudit(_ event: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { try await Self.insertAudit(event, on: $0) }
    }

    /// Records the audit events of many reads in one transaction (the vault's group commit).
    public func recordAudits(_ events: [AuditEvent]) async throws {
        try await transaction(changesDirectory: false) { database in
            for event in events { try await Self.insertAudit(event, on: database) }
        }
    }

    /// Records many token requests (the token endpoint's group commit): each request's sign-in
    /// and its single-use assertion id, which the primary key of `single_use_assertions` keeps
    /// unique. A request whose assertion id was already used (before, on another replica, or
    /// earlier in the batch) is recorded with its `eventIfReplayed`. Returns the indices of those
    /// replays.
    ///
    /// The successful sign-ins' usage goes into the summaries the reports read in the same
    /// transaction, so a summary never counts a sign-in that is not in the log, nor misses one.
    ///
    /// On SQLite a batch is one job on the batch connection; on PostgreSQL one prepared statement
    /// (`PostgresSignInBatch`), or for a batch that met a replay, a transaction of a few.
    public func recordSignIns(_ records: [SignInRecord]) async throws -> Set<Int> {
        guard !records.isEmpty else { return [] }
        var replayed = Set<Int>()
        var claims: [Int] = []
        var seen = Set<String>()
        for (index, record) in records.enumerated() {
            guard let id = record.assertionId else { continue }
            if seen.insert(id).inserted { claims.append(index) } else { replayed.insert(index) }
        }
        // Claimed in id order, so that two replicas' batches claiming the same ids at once wait
        // for each other in one order instead of deadlocking.
        claims.sort { records[$0].assertionId ?? "" < records[$1].assertionId ?? "" }
        if let batchPool { return try await recordSignIns(records, claims: claims, replayed: replayed, on: batchPool) }
        do {
            let batch = PostgresSignInBatch(records, claims: claims, replayed: replayed, usage: Self.usage(records, replayed: replayed))
            return try await timed(writeDuration) {
                try await pool.withConnection { database in
                    guard let postgres = database as? OpenConnectionGuard else { preconditionFailure("the store's connections are PostgreSQL's") }
                    do {
                        _ = try await postgres.execute(batch)
                    } catch let error as PSQLError where error.serverInfo?[.sqlState] == "22012" {
                        throw LateReplays()
                    }
                    return replayed
                }
            }
        } catch is LateReplays {
            // Nothing of it stayed: written again below, claims first.
        }
        return try await transaction(changesDirectory: false) { database in
            // Claim the ids first: the ones already taken (in an earlier batch or by another
            // replica) are replays, and their sign-ins are the failures they are.
            var replayed = replayed
            for chunk in claims.chunks(of: Self.assertionRowsPerStatement) {
                let claim = Self.claimAssertions(records, chunk, on: database)
                let claimed = try await database.raw("\(claim.insert)").all().map { try $0.string("id") }
                replayed.formUnion(Self.unclaimed(records, chunk, claimed: Set(claimed)))
            }
            for chunk in Array(records.indices).chunks(of: Self.signInRowsPerStatement) {
                try await Self.logSignIns(records, chunk, replayed: replayed, on: database).run()
            }
            for statement in Self.usageStatements(Self.usage(records, replayed: replayed)) { try await database.raw(statement.query).run() }
            return replayed
        }
    }

    /// The one-statement batch met an assertion id used before it and left nothing: it is written
    /// again, claims first. The connection it failed on is kept (replays cannot make the pool reconnect).
    private struct LateReplays: HarmlessToConnection {}

    /// SQLite: the whole batch as one job on the batch connection, its statements prepared once.
    /// An id already in `single_use_assertions` is not inserted again, which makes its request a replay.
    private func recordSignIns(
        _ records: [SignInRecord], claims: [Int], replayed: Set<Int>, on batchPool: ConnectionPool<SQLiteBatchConnection>
    ) async throws -> Set<Int> {
        guard let writerGate, let threadPool else { preconditionFailure("the batch connection is SQLite's") }
        return try await timed(writeDuration) {
            try await writerGate.run {
                try await batchPool.withConnection { connection in
                    try await threadPool.runIfActive {
                        try connection.transaction { () throws(SQLiteStatus) -> Set<Int> in
                            var replayed = replayed
                            for index in claims {
                                let claim = SQLStatement(Self.sqliteClaim, [
                                    .text(records[index].assertionId ?? ""), .integer(records[index].event.time.epochMilliseconds),
                                ])
                                if try connection.execute(claim) == 0 { replayed.insert(index) }
                            }
                            for (index, record) in records.enumerated() {
                                let event = replayed.contains(index) ? record.eventIfReplayed ?? record.event : record.event
                                try connection.execute(SQLStatement(Self.signInInsert, Self.signInValues(event)))
                            }
                            for statement in Self.usageStatements(Self.usage(records, replayed: replayed)) { try connection.execute(statement) }
                            return replayed
                        }
                    }
                }
            }
        }
    }

    /// The usage of the sign-ins in a batch that were not replays.
    private static func usage(_ records: [SignInRecord], replayed: Set<Int>) -> UsageSummary {
        UsageSummary(records.indices.filter { !replayed.contains($0) }.map { records[$0].event })
    }

    /// Claims one assertion id on SQLite: changes no row when the id was used before.
    private static let sqliteClaim = "INSERT INTO single_use_assertions (id, used_at) VALUES (?, ?) ON CONFLICT DO NOTHING"

    /// Logs one sign-in, its values from `signInValues`.
    private static let signInInsert =
        "INSERT INTO sign_ins (\(signInColumns.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: signInColumns.count).joined(separator: ", ")))"

    /// `INSERT` of the assertion ids of `records` at `indices`, returning the ids it claimed.
    private static func claimAssertions(_ records: [SignInRecord], _ indices: some Collection<Int>, on database: any SQLDatabase) -> SQLInsertBuilder {
        var insert = database.insert(into: "single_use_assertions").columns("id", "used_at")
        for index in indices { insert = insert.values([records[index].assertionId, records[index].event.time.epochMilliseconds]) }
        insert = insert.ignoringConflicts()
        insert.returning = SQLReturning([SQLColumn("id")])
        return insert
    }

    /// The indices among `indices` whose assertion id is not in `claimed`: replays.
    private static func unclaimed(_ records: [SignInRecord], _ indices: some Collection<Int>, claimed: Set<String>) -> [Int] {
        indices.filter { !claimed.contains(records[$0].assertionId ?? "") }
    }

    /// `INSERT` of the sign-ins of `records` at `indices`: a replay's as its `eventIfReplayed`.
    private static func logSignIns(_ records: [SignInRecord], _ indices: some Collection<Int>, replayed: Set<Int>, on database: any SQLDatabase) -> SQLInsertBuilder {
        var insert = database.insert(into: "sign_ins").columns(signInColumns)
        for index in indices {
            let record = records[index]
            insert = insert.values(signInValues(replayed.contains(index) ? record.eventIfReplayed ?? record.event : record.event).map(\.expression))
        }
        return insert
    }

    /// Deletes up to `limit` sign-ins recorded before `cutoff`, oldest first; returns how many.
    /// Retention calls it in a loop, so no statement holds the writer for long. On PostgreSQL it
    /// deletes only from the default partition: the day partitions are dropped whole
    /// (`dropSignInPartitions`).
    public func deleteSignIns(before cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(from: dialect == .sqlite ? "sign_ins" : "sign_ins_default", by: "time", before: cutoff, limit: limit)
    }

    /// Forgets up to `limit` single-use assertion ids used before `cutoff`; returns how many.
    public func deleteSingleUseAssertions(usedBefore cutoff: Date, limit: Int) async throws -> Int {
        try await deleteOldest(from: "single_use_assertions", by: "used_at", before: cutoff, limit: limit)
    }

    /// Deletes up to `limit` rows of `table` whose `column` (epoch milliseconds) is before
    /// `cutoff`, oldest first; returns how many.
    private func deleteOldest(from table: String, by column: String, before cutoff: Date, limit: Int) async throws -> Int {
        try await write { database in
            try await database.raw("""
                DELETE FROM \(ident: table) WHERE id IN (
                    SELECT id FROM \(ident: table) WHERE \(ident: column) < \(bind: cutoff.epochMilliseconds)
                    ORDER BY \(ident: column) LIMIT \(bind: limit))
                RETURNING id
                """).all().count
        }
    }

    /// PostgreSQL's statements for a batch written claims first: two columns a row.
    static let assertionRowsPerStatement = 1000

    /// PostgreSQL's statements for a batch written claims first: 25 columns a row.
    static let signInRowsPerStatement = 200

    static let signInColumns = [
        "id", "tenant_id", "time", "app_id", "app_display_name", "service_principal_id", "credential_type", "credential_id",
        "ip_address", "user_agent", "resource", "resource_id", "succeeded", "error_code", "failure_reason",
        "conditional_access_status", "risk_level", "correlation_id", "federated_issuer", "federated_subject", "host_id",
        "caller_uid", "caller_executable", "ca_policy_set", "ca_results",
    ]

    /// A sign-in's values, in the order of `signInColumns`.
    static func signInValues(_ event: SignInEvent) -> [SQLValue] {
        [
            .text(event.id), .text(event.tenantId), .integer(event.time.epochMilliseconds), .text(event.appId), SQLValue(event.appDisplayName),
            SQLValue(event.servicePrincipalId), SQLValue(event.credentialType?.rawValue), SQLValue(event.credentialId), .text(event.ipAddress),
            SQLValue(event.userAgent), SQLValue(event.resource), SQLValue(event.resourceId), .integer(event.succeeded ? 1 : 0),
            SQLValue(event.errorCode.map(Int64.init)), SQLValue(event.failureReason), .text(event.conditionalAccessStatus),
            .text(event.riskLevel), .text(event.correlationId), SQLValue(event.secretless.federatedIssuer),
            SQLValue(event.secretless.federatedSubject), SQLValue(event.secretless.hostId), SQLValue(event.secretless.callerUid),
            SQLValue(event.secretless.callerExecutable), SQLValue(event.policyResults?.policySetId), SQLValue(event.policyResults?.codes),
        ]
    }

    /// Sign-ins of a tenant, newest first.
    public func signIns(tenantId: String, query: LogQuery) async throws -> [SignInEvent] {
        try await read { database in
            try await database.raw("""
                SELECT s.*, p.policies AS ca_policies FROM sign_ins s LEFT JOIN conditional_access_policy_sets p ON p.id = s.ca_policy_set
                WHERE s.tenant_id = \(bind: tenantId) \(Self.filters(query, appColumn: "app_id"))
                ORDER BY s.time DESC, s.id LIMIT \(bind: query.limit) OFFSET \(bind: query.offset)
                """).all().map(Self.signIn)
        }
    }

    /// A sign-in row; its policy results are expanded when the row was read with its policy list (`ca_policies`).
    static func signIn(_ row: any SQLRow) throws -> SignInEvent {
        var policyResults: SignInPolicyResults?
        if let setId = try row.optionalString("ca_policy_set"), let codes = try row.optionalString("ca_results") {
            let snapshot = row.contains(column: "ca_policies") ? try row.optionalString("ca_policies") : nil
            policyResults = SignInPolicyResults(
                policySetId: setId, codes: codes, applied: snapshot.map { PolicySetSnapshot.applied(snapshotJSON: $0, codes: codes) } ?? [])
        }
        return SignInEvent(
            id: try row.string("id"), time: try row.date("time"), tenantId: try row.string("tenant_id"),
            appId: try row.string("app_id"), appDisplayName: try row.optionalString("app_display_name"),
            servicePrincipalId: try row.optionalString("service_principal_id"),
            credentialType: try row.optionalString("credential_type").flatMap(CredentialType.init(rawValue:)),
            credentialId: try row.optionalString("credential_id"), ipAddress: try row.string("ip_address"),
            userAgent: try row.optionalString("user_agent"), resource: try row.optionalString("resource"),
            resourceId: try row.optionalString("resource_id"), succeeded: try row.bool("succeeded"),
            errorCode: try row.optionalInt64("error_code").map(Int.init), failureReason: try row.optionalString("failure_reason"),
            conditionalAccessStatus: try row.string("conditional_access_status"), riskLevel: try row.string("risk_level"),
            correlationId: try row.string("correlation_id"),
            secretless: SecretlessSignIn(
                federatedIssuer: try row.optionalString("federated_issuer"), federatedSubject: try row.optionalString("federated_subject"),
                hostId: try row.optionalString("host_id"), callerUid: try row.optionalInt64("caller_uid"),
                callerExecutable: try row.optionalString("caller_executable")),
            policyResults: policyResults)
    }

    /// Audit events of a tenant, newest first; `appId` filters on the target's id.
    public func auditEvents(tenantId: String, query: LogQuery) async throws -> [AuditEvent] {
        try await read { database in
            try await database.raw("""
                SELECT * FROM audit_events WHERE tenant_id = \(bind: tenantId) \(Self.filters(query, appColumn: "target_id"))
                ORDER BY time DESC, id LIMIT \(bind: query.limit) OFFSET \(bind: query.offset)
                """).all().map(Self.auditEvent)
        }
    }

    static func auditEvent(_ row: any SQLRow) throws -> AuditEvent {
        AuditEvent(
            id: try row.string("id"), time: try row.date("time"), tenantId: try row.string("tenant_id"),
            actorId: try row.string("actor_id"), actorName: try row.string("actor_name"), action: try row.string("action"),
            targetType: try row.string("target_type"), targetId: try row.string("target_id"),
            before: try row.optionalString("before_json").flatMap { try? JSONParser.parse(Array($0.utf8)) },
            after: try row.optionalString("after_json").flatMap { try? JSONParser.parse(Array($0.utf8)) },
            ipAddress: try row.string("ip_address"), succeeded: try row.bool("succeeded"),
            correlationId: try row.string("correlation_id"))
    }

    static func filters(_ query: LogQuery, appColumn: String) -> SQLQueryString {
        var clause: SQLQueryString = ""
        if let appId = query.appId { clause = "\(clause) AND \(unsafeRaw: appColumn) = \(bind: appId)" }
        if let succeeded = query.succeeded { clause = "\(clause) AND succeeded = \(bind: succeeded ? 1 : 0)" }
        if let since = query.since { clause = "\(clause) AND time >= \(bind: since.epochMilliseconds)" }
        if let until = query.until { clause = "\(clause) AND time < \(bind: until.epochMilliseconds)" }
        if let type = query.credentialType { clause = "\(clause) AND credential_type = \(bind: type.rawValue)" }
        if let actor = query.actor { clause = "\(clause) AND (actor_id = \(bind: actor) OR actor_name = \(bind: actor))" }
        if let action = query.action { clause = "\(clause) AND action = \(bind: action)" }
        return clause
    }
}
