import Foundation
import SQLKit
import SigilCore

extension Store {
    /// Per kind of credential, how many end within each of `CredentialExpiries.windows` from
    /// `now` and when the next ends, in one aggregate query over both tables. Revoked secrets are
    /// left out; keys without an end never expire.
    public func credentialExpiries(now: Date) async throws -> [CredentialExpiries] {
        let start = now.epochMilliseconds
        let windows = CredentialExpiries.windows.map { start + Int64($0.seconds * 1000) }
        // Every value in the text is a number computed here or a constant: nothing comes from outside.
        func counts(_ table: String, kind: CredentialExpiries.Kind, where condition: String) -> String {
            let within = windows.enumerated().map { index, end in
                ", COALESCE(SUM(CASE WHEN end_at > \(start) AND end_at <= \(end) THEN 1 ELSE 0 END), 0) AS within_\(index)"
            }
            return "SELECT '\(kind.rawValue)' AS kind\(within.joined()), MIN(CASE WHEN end_at > \(start) THEN end_at END) AS next_end "
                + "FROM \(table) WHERE \(condition)"
        }
        let query = SQLQueryString(
            counts("password_credentials", kind: .passwordCredential, where: "revoked_at IS NULL") + " UNION ALL "
                + counts("key_credentials", kind: .keyCredential, where: "end_at IS NOT NULL"))
        return try await read { database in
            try await database.raw(query).all().compactMap { row in
                guard let kind = CredentialExpiries.Kind(rawValue: try row.string("kind")) else { return nil }
                return CredentialExpiries(
                    kind: kind, expiring: try windows.indices.map { Int(try row.int64("within_\($0)")) }, nextExpiry: try row.optionalDate("next_end"))
            }
        }
    }
}
