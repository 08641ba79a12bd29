import Foundation
import SQLKit
import SigilCore

extension Store {
    /// A server-wide setting, or nil when it was never set.
    public func serverSetting(_ name: String) async throws -> String? {
        try await read { database in
            try await database.raw("SELECT value FROM server_settings WHERE name = \(bind: name)").first().map { try $0.string("value") }
        }
    }

    /// Sets `name` to `value` only if it has no value yet; returns the value it has afterwards
    /// (another replica's, when it won the race).
    public func settleServerSetting(_ name: String, _ value: String) async throws -> String {
        try await transaction(changesDirectory: false) { database in
            try await database.raw("""
                INSERT INTO server_settings (name, value, updated_at) VALUES (\(bind: name), \(bind: value), \(bind: Date().epochMilliseconds))
                ON CONFLICT (name) DO NOTHING
                """).run()
            return try await database.raw("SELECT value FROM server_settings WHERE name = \(bind: name)").first().map { try $0.string("value") } ?? value
        }
    }

    /// Changes `name` to `value`, with the audit event saying so.
    public func changeServerSetting(_ name: String, _ value: String, audit: AuditEvent) async throws {
        try await transaction(changesDirectory: false) { database in
            try await database.raw("""
                INSERT INTO server_settings (name, value, updated_at) VALUES (\(bind: name), \(bind: value), \(bind: Date().epochMilliseconds))
                ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """).run()
            try await Self.insertAudit(audit, on: database)
        }
    }
}
