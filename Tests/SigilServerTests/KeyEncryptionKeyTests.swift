import Foundation
import Logging
import SigilCore
@testable import SigilServer
@testable import SigilStore
import Synchronization
import Testing

/// The key-encryption key on a real server (SQLite, and PostgreSQL when SIGIL_TEST_POSTGRES_URL
/// is set): a start with a missing or wrong key is refused and changes nothing; a rotation runs
/// while versions are read and loses none; an interrupted rotation is finished at the next start.
@Suite struct KeyEncryptionKeyTests {

    // MARK: Refusals first

    @Test func aMissingKekFileIsRefusedAndNothingChanges() async throws {
        try await withStoppedServer(versions: 3) { stopped in
            try FileManager.default.removeItem(at: stopped.folder.appendingPathComponent("kek"))
            let message = try await expectRefusal(stopped)
            #expect(message.contains("the store holds 4 signing keys and 3 vault secret versions sealed under a key-encryption key, but there is none"))
            #expect(message.contains("Restore \(stopped.folder.appendingPathComponent("kek").path) from the backup"))
            #expect(message.contains("nothing was changed"))
        }
    }

    @Test func aReplacedKekFileIsRefusedAndNothingChanges() async throws {
        try await withStoppedServer(versions: 1) { stopped in
            try (KeyEncryptionKey().base64 + "\n").write(to: stopped.folder.appendingPathComponent("kek"), atomically: true, encoding: .utf8)
            let message = try await expectRefusal(stopped)
            #expect(message.contains("4 of the store's 4 signing keys do not open with this key-encryption key"))
            #expect(message.contains("does not open with this key-encryption key"))
        }
    }

    @Test func aWrongEnvironmentKekIsRefusedAndNothingChanges() async throws {
        try await withStoppedServer(versions: 1) { stopped in
            let message = try await expectRefusal(stopped, environment: .init(current: KeyEncryptionKey().base64))
            #expect(message.contains("(SIGIL_KEK)") && message.contains("Set SIGIL_KEK to the key the store was sealed with"))
        }
    }

    @Test func aMalformedEnvironmentKekIsRefusedAndNothingChanges() async throws {
        try await withStoppedServer(versions: 1) { stopped in
            let message = try await expectRefusal(stopped, environment: .init(current: "not-a-key"))
            #expect(message == "SIGIL_KEK: the key-encryption key must be 32 bytes, base64-encoded; nothing was changed")
        }
    }

    /// The signing keys open, but a version's data key is wrapped by a key the server does not hold.
    @Test func aVersionUnderAnUnknownKekIsRefusedAndNothingChanges() async throws {
        let stranger = KeyEncryptionKey()
        try await withStoppedServer(versions: 2, strangerVersion: stranger) { stopped in
            let message = try await expectRefusal(stopped)
            #expect(message.contains("1 vault secret versions are wrapped by key-encryption key \(stranger.id)"))
        }
    }

    /// A store from before the vault, with sealed signing keys: the refusal applies no migration.
    @Test func aRefusalAppliesNoMigration() async throws {
        try await TestStore.withFreshLocation { location, folder in
            let old = try await Store.open(location, logger: TestStore.quietLogger, migratingThrough: 11)
            let keys = SigningKeyRing(
                store: old, kek: KeyEncryptionKeys(.init(current: KeyEncryptionKey())), rotationInterval: 86_400, promotionDelay: 0,
                logger: TestStore.quietLogger)
            try await keys.start()
            await old.close()
            var configuration = ServerConfiguration()
            configuration.dataPath = folder.path
            configuration.port = 0
            if case .postgres(let url) = location { configuration.database = url }
            let before = try await Snapshot(folder: folder, location: location)
            await #expect(throws: ServerError.self) { _ = try await SigilServer.prepare(configuration, logger: TestStore.quietLogger) }
            #expect(try await Snapshot(folder: folder, location: location) == before)
            #expect(before.rows["schema_migrations"]?.count == 11 && before.rows["vault_secret_versions"] == nil)
        }
    }

    @Test func theRightKeyStartsAndOpensEveryVersion() async throws {
        try await withStoppedServer(versions: 3) { stopped in
            let server = try await TestServer.start(folder: stopped.folder) { $0.database = stopped.configuration.database }
            let failures = try await unreadable(stopped.versions, on: server)
            await server.stop()
            #expect(failures.isEmpty)
        }
    }

    // MARK: Rotation

    /// Versions are read all through the rotation (none fails), then a server with only the new
    /// key reads every one; the old key alone is refused.
    @Test func anOnlineRotationLosesNoVersion() async throws {
        let server = try await TestServer.start()
        let oldKek = try String(contentsOf: server.folder.appendingPathComponent("kek"), encoding: .utf8)
        let versions = try await setVersions(1_100, on: server)
        let reading = Atomic<Bool>(true)
        let reader = Task {
            var reads = 0
            var failed: [String] = []
            while reading.load(ordering: .relaxed) || reads < versions.count {
                let batch = try await unreadable(versions, on: server)
                failed += batch
                reads += versions.count
            }
            return (reads, failed)
        }
        let rotated = try await server.admin("POST", "keyEncryptionKey/rotate")
        reading.store(false, ordering: .relaxed)
        let (reads, failed) = try await reader.value
        #expect(rotated.status == 200, "\(rotated.json)")
        #expect(rotated.json["rewrappedVersions"]?.integerValue == 1_100 && rotated.json["resealedSigningKeys"]?.integerValue == 4)
        #expect(reads >= versions.count && failed.isEmpty)
        let newKek = try String(contentsOf: server.folder.appendingPathComponent("kek"), encoding: .utf8)
        #expect(newKek != oldKek && !FileManager.default.fileExists(atPath: server.folder.appendingPathComponent("kek.new").path))
        #expect(try KeyEncryptionKey(base64: newKek).id == rotated.json["kekId"]?.stringValue)
        #expect(!String(decoding: rotated.body, as: UTF8.self).contains(newKek.trimmingCharacters(in: .whitespacesAndNewlines)))
        let audit = try await server.store.auditEvents(tenantId: server.tenantId, query: LogQuery()).first { $0.action == "keyEncryptionKey.rotate" }
        #expect(audit?.targetId == rotated.json["kekId"]?.stringValue)
        let database = server.server.configuration.database
        await server.stop(keepingData: true)
        defer { try? FileManager.default.removeItem(at: server.folder) }

        let restarted = try await TestServer.start(folder: server.folder) { $0.database = database }
        #expect(try await unreadable(versions, on: restarted).isEmpty)
        #expect(try await restarted.store.sealedMaterial().versionsByKek.keys.sorted() == [try KeyEncryptionKey(base64: newKek).id])
        await restarted.stop(keepingData: true)
        var withOld = restarted.server.configuration
        withOld.environmentKeys = .init(current: oldKek)
        await #expect(throws: ServerError.self) { _ = try await SigilServer.prepare(withOld, logger: TestStore.quietLogger) }
    }

    /// `SIGIL_KEK` cannot change in a running server: the rotation is refused until the server holds
    /// the new key in SIGIL_KEK and the old one in SIGIL_KEK_PREVIOUS, then re-wraps to the new one.
    @Test func anEnvironmentKekRotatesFromThePreviousOne() async throws {
        let old = KeyEncryptionKey()
        let new = KeyEncryptionKey()
        let server = try await TestServer.start { $0.environmentKeys = .init(current: old.base64) }
        #expect(!FileManager.default.fileExists(atPath: server.folder.appendingPathComponent("kek").path))
        let versions = try await setVersions(20, on: server)
        let refused = try await server.admin("POST", "keyEncryptionKey/rotate")
        #expect(refused.status == 409 && refused.json["error"]?["message"]?.stringValue?.contains("SIGIL_KEK_PREVIOUS") == true)
        let database = server.server.configuration.database
        await server.stop(keepingData: true)
        defer { try? FileManager.default.removeItem(at: server.folder) }

        let both = try await TestServer.start(folder: server.folder) {
            $0.database = database
            $0.environmentKeys = .init(current: new.base64, previous: old.base64)
        }
        let more = try await setVersions(5, on: both, prefix: "during")
        #expect(try await both.store.sealedMaterial().versionsByKek == [old.id: 20, new.id: 5])
        let rotated = try await both.admin("POST", "keyEncryptionKey/rotate")
        #expect(rotated.status == 200 && rotated.json["rewrappedVersions"]?.integerValue == 20 && rotated.json["kekId"]?.stringValue == new.id)
        await both.stop(keepingData: true)

        let onlyNew = try await TestServer.start(folder: server.folder) {
            $0.database = database
            $0.environmentKeys = .init(current: new.base64)
        }
        #expect(try await unreadable(versions + more, on: onlyNew).isEmpty)
        await onlyNew.stop(keepingData: true)
    }

    /// A rotation that stopped halfway (the new key in `kek.new`, half the versions re-wrapped)
    /// is finished by the next start, audited as Sigil's own; then the new key alone opens everything.
    @Test func anInterruptedRotationIsFinishedAtTheNextStart() async throws {
        try await withStoppedServer(versions: 40) { stopped in
            let oldText = try String(contentsOf: stopped.folder.appendingPathComponent("kek"), encoding: .utf8)
            let old = try KeyEncryptionKey(base64: oldText)
            let new = KeyEncryptionKey()
            try (new.base64 + "\n").write(to: stopped.folder.appendingPathComponent("kek.new"), atomically: true, encoding: .utf8)
            let store = try await Store.open(stopped.location, logger: TestStore.quietLogger)
            let ring = KeyEncryptionKeyRing(current: new, previous: old)
            #expect(try await store.rewrapSecretVersions(wrappedBy: old.id, notWrappedBy: new.id, limit: 15) { try ring.rewrap($0, context: $1) } == 15)
            await store.close()

            let server = try await TestServer.start(folder: stopped.folder) { $0.database = stopped.configuration.database }
            var finished = false
            for _ in 0..<200 where !finished {
                finished = !FileManager.default.fileExists(atPath: stopped.folder.appendingPathComponent("kek.new").path)
                if !finished { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(finished)
            #expect(try await server.store.sealedMaterial().versionsByKek == [new.id: 40])
            #expect(try await unreadable(stopped.versions, on: server).isEmpty)
            let audit = try await server.store.auditEvents(tenantId: server.tenantId, query: LogQuery()).first { $0.action == "keyEncryptionKey.rotate" }
            #expect(audit?.actorId == "sigil" && audit?.after?["rewrappedVersions"]?.integerValue == 25)
            await server.stop(keepingData: true)
            #expect(try KeyEncryptionKey(base64: try String(contentsOf: stopped.folder.appendingPathComponent("kek"), encoding: .utf8)).id == new.id)
            let again = try await TestServer.start(folder: stopped.folder) { $0.database = stopped.configuration.database }
            #expect(try await unreadable(stopped.versions, on: again).isEmpty)
            await again.stop(keepingData: true)
        }
    }

    /// Offline (`sigil kek rotate --data`): the vault's data keys are re-wrapped too.
    @Test func anOfflineRotationRewrapsTheVault() async throws {
        try await withStoppedServer(versions: 12) { stopped in
            let outcome = try await KeyEncryptionKeyFile.rotate(
                dataPath: stopped.folder.path, database: stopped.configuration.database, environment: nil, logger: TestStore.quietLogger)
            #expect(outcome.rewrappedVersions == 12 && outcome.resealedSigningKeys == 4 && outcome.newEnvironmentKey == nil)
            let server = try await TestServer.start(folder: stopped.folder) { $0.database = stopped.configuration.database }
            #expect(try await server.store.sealedMaterial().versionsByKek == [outcome.kekId: 12])
            #expect(try await unreadable(stopped.versions, on: server).isEmpty)
            await server.stop(keepingData: true)
        }
    }

    // MARK: Support

    struct Stopped {
        let folder: URL
        let configuration: ServerConfiguration
        let versions: [(vault: Vault, name: String, version: String, value: String)]
        var location: StoreLocation { StoreLocation(argument: configuration.database ?? folder.appendingPathComponent("sigil.sqlite").path) }
    }

    /// A server that set `versions` secret versions (and one under `strangerVersion`, if given), stopped with its data kept.
    func withStoppedServer(versions count: Int, strangerVersion: KeyEncryptionKey? = nil, _ body: (Stopped) async throws -> Void) async throws {
        let server = try await TestServer.start()
        defer { try? FileManager.default.removeItem(at: server.folder) }
        let versions: [(vault: Vault, name: String, version: String, value: String)]
        do {
            versions = try await setVersions(count, on: server)
            if let strangerVersion {
                _ = try await server.store.setSecret(
                    vaultId: versions[0].vault.id, name: "stranger", version: SecretVersion(secretName: "stranger", version: "f00d", properties: .init(), createdAt: Date(), updatedAt: Date()),
                    seal: { try SecretEnvelope.seal("x", context: SecretEnvelope.context(secretId: $0, version: "f00d"), kek: strangerVersion) },
                    audit: audit(server, "stranger"))
            }
        } catch {
            await server.stop()
            throw error
        }
        let configuration = server.server.configuration
        await server.stop(keepingData: true)
        try await body(Stopped(folder: server.folder, configuration: configuration, versions: versions))
    }

    /// Tries to start on the stopped server's data; expects a refusal that leaves the folder's
    /// files byte for byte and the store's rows as they were. Returns the message.
    func expectRefusal(_ stopped: Stopped, environment: ServerConfiguration.EnvironmentKeys? = nil) async throws -> String {
        var configuration = stopped.configuration
        configuration.environmentKeys = environment
        let before = try await Snapshot(folder: stopped.folder, location: stopped.location)
        var message = ""
        do {
            let server = try await SigilServer.prepare(configuration, logger: TestStore.quietLogger)
            await server.store.close()
            Issue.record("the server started")
        } catch let error as ServerError {
            message = error.description
        }
        let after = try await Snapshot(folder: stopped.folder, location: stopped.location)
        #expect(after.files == before.files, "files changed: \(Set(after.files.keys).symmetricDifference(before.files.keys))")
        #expect(after.rows == before.rows)
        return message
    }

    /// The data folder's files and the store's rows.
    struct Snapshot: Equatable {
        var files: [String: Data] = [:]
        var rows: [String: [String]] = [:]

        init(folder: URL, location: StoreLocation) async throws {
            let store = try await Store.open(location, logger: TestStore.quietLogger, migrating: false)
            for table in ["schema_migrations", "tenants", "signing_keys", "applications", "audit_events", "vault_secret_versions"] {
                // A table the store does not have yet (before its migration) is left out.
                guard let rows = try? await store.read({ database in
                    try await database.raw("SELECT * FROM \(unsafeRaw: table)").all().map { row in
                        row.allColumns.sorted().map { column -> String in
                            if let text = try? row.decode(column: column, as: String.self) { return text }
                            if let number = try? row.decode(column: column, as: Int64.self) { return String(number) }
                            return "null"
                        }.joined(separator: "|")
                    }
                }) else { continue }
                self.rows[table] = rows.sorted()
            }
            await store.close()
            // After the store is closed: SQLite has folded its log back into the file.
            let enumerator = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
            while let url = enumerator?.nextObject() as? URL {
                guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
                files[url.path.replacingOccurrences(of: folder.path, with: "")] = try Data(contentsOf: url)
            }
        }
    }

    func audit(_ server: TestServer, _ name: String) -> AuditEvent {
        AuditEvent(
            time: Date(), tenantId: server.tenantId, actorId: "test", actorName: "test", action: "vault.secret.set", targetType: "vaultSecret",
            targetId: name, ipAddress: "local", correlationId: UUID().uuidString)
    }

    /// Sets `count` secret versions (a few secrets of several versions) through the store, sealed as the server seals them.
    func setVersions(_ count: Int, on server: TestServer, prefix: String = "db") async throws -> [(vault: Vault, name: String, version: String, value: String)] {
        let vault: Vault
        if let existing = try await server.store.vault(named: "kektest") {
            vault = existing
        } else {
            vault = Vault(id: UUID().uuidString, tenantId: server.tenantId, name: "kektest", retentionDays: 7, purgeProtection: false, createdAt: Date())
            try await server.store.createVault(vault, audit: audit(server, "kektest"))
        }
        var set: [(vault: Vault, name: String, version: String, value: String)] = []
        for index in 0..<count {
            let name = "\(prefix)-\(index % 10)"
            let version = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
            let value = "value \(index) ✓"
            _ = try await server.store.setSecret(
                vaultId: vault.id, name: name, version: SecretVersion(secretName: name, version: version, properties: .init(), createdAt: Date(), updatedAt: Date()),
                seal: { try server.server.kek.ring.seal(value, context: SecretEnvelope.context(secretId: $0, version: version)) }, audit: audit(server, name))
            set.append((vault, name, version, value))
        }
        return set
    }

    /// The versions that do not read back with their value through the server's keys.
    func unreadable(_ versions: [(vault: Vault, name: String, version: String, value: String)], on server: TestServer) async throws -> [String] {
        var failed: [String] = []
        for (vault, name, version, value) in versions {
            guard let stored = try await server.store.secretVersion(vaultId: vault.id, name: name, version: version),
                (try? server.server.kek.ring.open(stored.envelope, context: stored.context)) == value
            else {
                failed.append("\(name)/\(version)")
                continue
            }
        }
        return failed
    }
}
