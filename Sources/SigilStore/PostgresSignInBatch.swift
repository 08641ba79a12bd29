import PostgresNIO
import SigilCore

/// PostgreSQL's sign-in batch as one prepared statement: the assertion ids claimed, every sign-in
/// logged and the usage added, atomic without a transaction (data-modifying CTEs). The rows go in
/// as JSON arrays, one parameter a table, so the statement's text is the same whatever the batch:
/// PostgreSQL parses and plans it once per connection instead of once per batch, which was two
/// thirds of its time on a batch (docs/decisions.md, "Group commit").
///
/// The usage is added as if no id had been used before. If one had (rare: another batch or
/// replica used it), fewer ids are claimed than asked for and the statement divides by zero on
/// purpose, so that nothing of it stays, and the store writes the batch again, claims first.
///
/// PostgreSQL runs the CTEs the final query does not read after it, last-written first: the
/// daily counts, the sources, the credentials, the sign-ins. `Store.usageStatements`, the batch
/// written again, takes the usage tables in that order too, so the two cannot deadlock.
///
/// The statements in a CTE all see the tables as they were before it: a credential's new sources
/// in one batch are each checked against the sources kept before the batch, so a batch can take a
/// credential past `UsageSummary.maximumSourcesPerKind` by its own few.
struct PostgresSignInBatch: PostgresPreparedStatement {
    typealias Row = Int

    static let name = "sigil_sign_in_batch"
    static let bindingDataTypes: [PostgresDataType] = [.text, .text, .text, .text, .text, .int8, .int8]

    static let sql = """
        WITH claimed AS (
            INSERT INTO single_use_assertions (id, used_at)
            SELECT id, used_at FROM jsonb_populate_recordset(NULL::single_use_assertions, $1::text::jsonb)
            ON CONFLICT DO NOTHING RETURNING id
        ), logged AS (
            INSERT INTO sign_ins (\(Store.signInColumns.joined(separator: ", ")))
            SELECT \(Store.signInColumns.joined(separator: ", ")) FROM jsonb_populate_recordset(NULL::sign_ins, $2::text::jsonb)
        ), credentials AS (
            INSERT INTO credential_usage (\(Store.credentialUsageColumns))
            SELECT \(Store.credentialUsageColumns) FROM jsonb_populate_recordset(NULL::credential_usage, $3::text::jsonb)
            \(Store.credentialUsageConflict)
        ), sources AS (
            INSERT INTO credential_usage_sources (\(Store.usageSourceColumns))
            SELECT \(Store.usageSourceColumns) FROM jsonb_populate_recordset(NULL::credential_usage_sources, $4::text::jsonb) AS new
            WHERE (SELECT COUNT(*) FROM credential_usage_sources kept WHERE \(sameCredential)) < $6::bigint
                OR EXISTS (SELECT 1 FROM credential_usage_sources kept WHERE \(sameCredential) AND kept.value = new.value)
            \(Store.usageSourceConflict)
        ), days AS (
            INSERT INTO app_daily_sign_ins (\(Store.appDayColumns))
            SELECT \(Store.appDayColumns) FROM jsonb_populate_recordset(NULL::app_daily_sign_ins, $5::text::jsonb)
            \(Store.appDayConflict)
        )
        SELECT 1 / (CASE WHEN count(*) = $7::bigint THEN 1 ELSE 0 END) FROM claimed
        """

    private static let sameCredential = """
        kept.app_id = new.app_id AND kept.credential_type = new.credential_type AND kept.credential_id = new.credential_id AND kept.kind = new.kind
        """

    let claims: String
    let signIns: String
    let credentials: String
    let sources: String
    let days: String
    let claimCount: Int

    /// The batch of `records`: the ids at `claims` claimed, a replay's sign-in as its `eventIfReplayed`.
    init(_ records: [SignInRecord], claims: [Int], replayed: Set<Int>, usage: UsageSummary) {
        self.claims = JSONRows.write(claims.map { index in
            [("id", .text(records[index].assertionId ?? "")), ("used_at", .integer(records[index].event.time.epochMilliseconds))]
        })
        signIns = JSONRows.write(records.indices.map { index in
            let event = replayed.contains(index) ? records[index].eventIfReplayed ?? records[index].event : records[index].event
            return Array(zip(Store.signInColumns, Store.signInValues(event)))
        })
        credentials = JSONRows.write(Store.credentialUsageRows(usage))
        sources = JSONRows.write(Store.usageSourceRows(usage))
        days = JSONRows.write(Store.appDayRows(usage))
        claimCount = claims.count
    }

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        for rows in [claims, signIns, credentials, sources, days] { bindings.append(rows) }
        bindings.append(Int64(UsageSummary.maximumSourcesPerKind))
        bindings.append(Int64(claimCount))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int { try row.decode(Int.self) }
}

/// Rows as a JSON array of objects, a member per column: text escaped, integers exact (JSON
/// numbers in PostgreSQL are exact decimals), NULL as null.
enum JSONRows {
    static func write(_ rows: [SQLRowValues]) -> String {
        var output: [UInt8] = [UInt8(ascii: "[")]
        output.reserveCapacity(512 * rows.count)
        for (offset, row) in rows.enumerated() {
            if offset > 0 { output.append(UInt8(ascii: ",")) }
            output.append(UInt8(ascii: "{"))
            for (member, (column, value)) in row.enumerated() {
                if member > 0 { output.append(UInt8(ascii: ",")) }
                JSONValue.writeString(column, into: &output)
                output.append(UInt8(ascii: ":"))
                switch value {
                case .text(let text): JSONValue.writeString(text, into: &output)
                case .integer(let integer): output.append(contentsOf: String(integer).utf8)
                case .null: output.append(contentsOf: "null".utf8)
                }
            }
            output.append(UInt8(ascii: "}"))
        }
        output.append(UInt8(ascii: "]"))
        return String(decoding: output, as: UTF8.self)
    }
}
