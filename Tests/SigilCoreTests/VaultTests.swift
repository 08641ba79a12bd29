import Foundation
import Testing

@testable import SigilCore

@Suite struct VaultRulesTests {
    @Test(arguments: ["payments", "kv1", "a-b-c", "abc", String(repeating: "a", count: 24)])
    func vaultNamesThatAreHostLabelsAreTaken(name: String) throws {
        try VaultRules.checkVaultName(name)
    }

    @Test(arguments: ["ab", "1abc", "abc-", "a--b", "a_b", "a.b", String(repeating: "a", count: 25), "ábc", "", "a b"])
    func otherVaultNamesAreRefused(name: String) {
        #expect(throws: DirectoryRuleViolation.self) { try VaultRules.checkVaultName(name) }
    }

    @Test func secretNamesFollowKeyVaultsPattern() throws {
        try VaultRules.checkSecretName("db-Password-1")
        try VaultRules.checkSecretName(String(repeating: "a", count: 127))
        for bad in ["", String(repeating: "a", count: 128), "a_b", "a.b", "a/b", "é", "a b", "a%20b"] {
            #expect(throws: DirectoryRuleViolation.self, "\(bad)") { try VaultRules.checkSecretName(bad) }
        }
    }

    @Test func aValueMayBe25KBOfUTF8AndNoMore() throws {
        try VaultRules.checkValue("")
        try VaultRules.checkValue(String(repeating: "x", count: 25 * 1024))
        #expect(throws: DirectoryRuleViolation.self) { try VaultRules.checkValue(String(repeating: "x", count: 25 * 1024 + 1)) }
        // Two bytes a character: half as many characters fit.
        #expect(throws: DirectoryRuleViolation.self) { try VaultRules.checkValue(String(repeating: "é", count: 25 * 1024 / 2 + 1)) }
    }

    @Test func propertiesAreBounded() throws {
        try VaultRules.checkProperties(SecretProperties(contentType: "text/plain", tags: Dictionary(uniqueKeysWithValues: (0..<15).map { ("t\($0)", "v") })))
        let refused: [SecretProperties] = [
            SecretProperties(tags: Dictionary(uniqueKeysWithValues: (0..<16).map { ("t\($0)", "v") })),
            SecretProperties(tags: ["": "v"]),
            SecretProperties(tags: ["t": String(repeating: "v", count: 257)]),
            SecretProperties(contentType: String(repeating: "c", count: 256)),
            SecretProperties(contentType: "a\u{0}b"),
            SecretProperties(notBefore: Date(timeIntervalSince1970: 200), expires: Date(timeIntervalSince1970: 100)),
        ]
        for properties in refused {
            #expect(throws: DirectoryRuleViolation.self) { try VaultRules.checkProperties(properties) }
        }
    }

    @Test func aDisabledExpiredOrNotYetValidVersionIsNotRead() {
        let now = Date()
        #expect(VaultRules.readRefusal(SecretProperties(), now: now) == nil)
        #expect(VaultRules.readRefusal(SecretProperties(enabled: false), now: now) != nil)
        #expect(VaultRules.readRefusal(SecretProperties(expires: now), now: now) != nil)
        #expect(VaultRules.readRefusal(SecretProperties(notBefore: now.addingTimeInterval(60)), now: now) != nil)
        #expect(VaultRules.readRefusal(SecretProperties(notBefore: now.addingTimeInterval(-60), expires: now.addingTimeInterval(60)), now: now) == nil)
    }

    @Test func versionsAre32LowerCaseHexDigits() {
        let version = VaultRules.newVersion()
        #expect(VaultRules.isVersion(version))
        #expect(version != VaultRules.newVersion())
        #expect(!VaultRules.isVersion(version.uppercased()) || version.uppercased() == version)
        #expect(!VaultRules.isVersion(String(version.dropLast())))
        #expect(!VaultRules.isVersion("versions"))
    }

    @Test func theVaultDomainIsADNSName() throws {
        for domain in ["vault.localhost", "vault.example.com", "kv-1.internal"] { try VaultRules.checkVaultDomain(domain) }
        for domain in ["localhost", "127.0.0.1", "vault..localhost", "-vault.localhost", "vault.localhost.", "va ult.x", "*.vault.x", "vault_x.y"] {
            #expect(throws: DirectoryRuleViolation.self, "\(domain)") { try VaultRules.checkVaultDomain(domain) }
        }
    }
}

@Suite struct SecretEnvelopeTests {
    @Test func aValueOpensOnlyWithItsKEKAndOnlyOnItsOwnRow() throws {
        let kek = KeyEncryptionKey()
        let context = SecretEnvelope.context(secretId: "s1", version: "v1")
        let envelope = try SecretEnvelope.seal("hunter2 🔑", context: context, kek: kek)
        #expect(try envelope.open(context: context, kek: kek) == "hunter2 🔑")
        #expect(!envelope.ciphertext.contains("hunter2") && envelope.kekId == kek.id)
        // Copied onto another version or another secret's row, it does not open.
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try envelope.open(context: SecretEnvelope.context(secretId: "s1", version: "v2"), kek: kek) }
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try envelope.open(context: SecretEnvelope.context(secretId: "s2", version: "v1"), kek: kek) }
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try envelope.open(context: context, kek: KeyEncryptionKey()) }
        // A wrapped key from another version does not open this value.
        let other = try SecretEnvelope.seal("hunter2 🔑", context: context, kek: kek)
        var spliced = envelope
        spliced.wrappedKey = other.wrappedKey
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try spliced.open(context: context, kek: kek) }
    }

    @Test func everyVersionHasItsOwnDataKey() throws {
        let kek = KeyEncryptionKey()
        let a = try SecretEnvelope.seal("same", context: "c", kek: kek)
        let b = try SecretEnvelope.seal("same", context: "c", kek: kek)
        #expect(a.ciphertext != b.ciphertext && a.wrappedKey != b.wrappedKey)
    }

    @Test func reWrappingChangesTheKEKAndNotTheValue() throws {
        let old = KeyEncryptionKey()
        let new = KeyEncryptionKey()
        let envelope = try SecretEnvelope.seal("value", context: "c", kek: old)
        let rewrapped = try envelope.rewrapped(context: "c", from: old, to: new)
        #expect(rewrapped.ciphertext == envelope.ciphertext && rewrapped.kekId == new.id && new.id != old.id)
        #expect(try rewrapped.open(context: "c", kek: new) == "value")
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try rewrapped.open(context: "c", kek: old) }
        let ring = KeyEncryptionKeyRing(current: new, previous: old)
        #expect(try ring.open(envelope, context: "c") == "value")
        #expect(try ring.open(rewrapped, context: "c") == "value")
        #expect(throws: KeyEncryptionKey.Failure.wrongKey) { try KeyEncryptionKeyRing(current: new).open(envelope, context: "c") }
    }

    @Test func aKEKsIdRevealsNothingAndIsStable() throws {
        let kek = KeyEncryptionKey()
        #expect(kek.id == (try KeyEncryptionKey(base64: kek.base64)).id)
        #expect(kek.id.count == 16 && !kek.base64.contains(kek.id))
    }
}

@Suite struct VaultRoleScopeTests {
    @Test func vaultScopesReadBackAsWritten() {
        for scope: RoleScope in [.tenant, .application(objectId: "a"), .vault(id: "v"), .vaultSecret(vaultId: "v", name: "db")] {
            #expect(RoleScope(directoryScopeId: scope.directoryScopeId) == scope)
        }
        #expect(RoleScope(directoryScopeId: "/vaults/v/secrets/DB") == .vaultSecret(vaultId: "v", name: "db"))
        for bad in ["", "//", "/vaults", "/vaults/", "/vaults/v/", "/vaults/v/secrets", "/vaults/v/secrets/", "/vaults/v/keys/k", "/vaults/v/secrets/a/b"] {
            #expect(RoleScope(directoryScopeId: bad) == nil, "\(bad)")
        }
    }

    @Test func aGrantCoversOnlyWhatItIsScopedTo() {
        let user: Set<AdminPermission> = [.vaultSecretsGet]
        let vaultWide = RoleGrants([(user, .vault(id: "v1"))])
        #expect(vaultWide.allows(.vaultSecretsGet, onVault: "v1", secret: "anything"))
        #expect(vaultWide.allows(.vaultSecretsGet, onVault: "v1", secret: nil))
        #expect(!vaultWide.allows(.vaultSecretsGet, onVault: "v2", secret: "anything"))
        #expect(!vaultWide.allows(.vaultSecretsSet, onVault: "v1", secret: "anything"))

        let oneSecret = RoleGrants([(user, .vaultSecret(vaultId: "v1", name: "db"))])
        #expect(oneSecret.allows(.vaultSecretsGet, onVault: "v1", secret: "DB"))
        #expect(!oneSecret.allows(.vaultSecretsGet, onVault: "v1", secret: "db2"))
        #expect(!oneSecret.allows(.vaultSecretsGet, onVault: "v1", secret: nil), "listing needs the vault")
        #expect(!oneSecret.allows(.vaultSecretsGet, onVault: "v2", secret: "db"))

        #expect(RoleGrants([(user, .tenant)]).allows(.vaultSecretsGet, onVault: "v9", secret: nil))
        #expect(!RoleGrants([(user, .application(objectId: "v1"))]).allows(.vaultSecretsGet, onVault: "v1", secret: "db"))
        #expect(!oneSecret.hasApplicationScoped(.vaultSecretsGet), "a vault grant is not an application grant")
    }
}
