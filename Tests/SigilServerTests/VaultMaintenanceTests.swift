import Foundation
import SigilCore
@testable import SigilServer
import SigilStore
import Testing

/// The background purge on a real server (SQLite, and PostgreSQL when SIGIL_TEST_POSTGRES_URL is
/// set): a deleted secret whose retention has ended goes, with an audit event and no value in it;
/// one still within its retention, a live one, and one under purge protection before its time stay.
@Suite struct VaultMaintenanceTests {
    @Test func onlyDeletedSecretsPastTheirRetentionArePurged() async throws {
        try await TestServer.with({ $0.vaultPurgeInterval = .seconds(1) }) { server in
            let store = server.store
            let vault = Vault(id: UUID().uuidString, tenantId: server.tenantId, name: "purgetest", retentionDays: 7, purgeProtection: true, createdAt: Date())
            try await store.createVault(vault, audit: audit(server, "purgetest"))
            let now = Date()
            for name in ["due", "not-yet", "live"] {
                _ = try await store.setSecret(
                    vaultId: vault.id, name: name, version: SecretVersion(secretName: name, version: "v1", properties: .init(), createdAt: now, updatedAt: now),
                    seal: { try server.server.kek.ring.seal("the value of \(name)", context: SecretEnvelope.context(secretId: $0, version: "v1")) },
                    audit: audit(server, name))
            }
            // Deleted eight days ago with a seven-day retention: due a day ago.
            _ = try await store.deleteSecret(
                vaultId: vault.id, name: "due", at: now.addingTimeInterval(-8 * 86_400), purgeAt: now.addingTimeInterval(-86_400), audit: { _ in audit(server, "due") })
            _ = try await store.deleteSecret(
                vaultId: vault.id, name: "not-yet", at: now, purgeAt: now.addingTimeInterval(7 * 86_400), audit: { _ in audit(server, "not-yet") })

            var purged = false
            for _ in 0..<100 where !purged {
                purged = try await store.secretVersion(vaultId: vault.id, name: "due", version: nil, deleted: true) == nil
                if !purged { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(purged)
            #expect(try await store.secretVersion(vaultId: vault.id, name: "not-yet", version: nil, deleted: true) != nil)
            #expect(try await store.secretVersion(vaultId: vault.id, name: "live", version: nil) != nil)
            let events = try await store.auditEvents(tenantId: server.tenantId, query: LogQuery()).filter { $0.action == "vault.secret.purge" }
            #expect(events.count == 1)
            #expect(events.first?.actorId == "sigil" && events.first?.targetId == "purgetest/due")
            #expect(events.allSatisfy { !($0.after?.serialized() ?? "").contains("the value of") })

            // A pass with nothing due purges nothing more.
            #expect(await RetentionMaintenance(store: store, interval: .seconds(1), logger: server.server.logger).purgeDue() == 0)
        }
    }

    func audit(_ server: TestServer, _ name: String) -> AuditEvent {
        AuditEvent(
            time: Date(), tenantId: server.tenantId, actorId: "test", actorName: "test", action: "test", targetType: "vaultSecret", targetId: name,
            ipAddress: "local", correlationId: UUID().uuidString)
    }
}
