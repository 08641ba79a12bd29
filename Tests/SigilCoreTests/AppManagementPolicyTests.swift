import Crypto
import Foundation
import SigilCore
import Testing
import X509

/// App management policies without I/O: how restrictions are read (and bad ones refused), and
/// how a credential is judged against the policy in force.
@Suite struct AppManagementPolicyTests {
    static func parse(_ entries: [String: JSONValue]) throws(DirectoryRuleViolation) -> [CredentialRestriction] {
        try AppManagementPolicyJSON.parse(.object(entries), field: "restrictions")
    }

    static func lifetime(_ duration: String) -> [String: JSONValue] {
        ["passwordCredentials": [["restrictionType": "passwordLifetime", "maxLifetime": .string(duration)]]]
    }

    static func refusal(_ entries: [String: JSONValue]) -> String {
        do {
            _ = try parse(entries)
            return "accepted"
        } catch {
            return error.message
        }
    }

    // MARK: Bad input

    @Test(arguments: ["P0D", "P-1D", "PT", "PT0S", "90 days", "P", ""])
    func durationsThatAreNotAPositiveLifetimeAreRefused(_ duration: String) {
        let message = Self.refusal(Self.lifetime(duration))
        #expect(message.contains("maxLifetime of passwordLifetime"), "\(duration): \(message)")
    }

    @Test func durationsAreAcceptedAsGiven() throws {
        for duration in ["P90D", "P4DT12H30M5S", "PT1H", "P2Y"] {
            #expect(try Self.parse(Self.lifetime(duration)).first?.maxLifetime == duration)
        }
    }

    @Test func unknownAndMisplacedRestrictionsAreRefused() {
        #expect(Self.refusal(["passwordCredentials": [["restrictionType": "passwordForever"]]]).contains("unknown restriction 'passwordForever'"))
        #expect(Self.refusal(["passwordCredentials": [["restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P1D"]]])
            .contains("it belongs in keyCredentials"))
        #expect(Self.refusal(["servicePrincipalRestrictions": []]).contains("unknown member 'servicePrincipalRestrictions'"))
        #expect(Self.refusal(["passwordCredentials": [["restrictionType": "passwordAddition", "maxLifetime": "P1D"]]]).contains("takes no maxLifetime"))
        #expect(Self.refusal(["passwordCredentials": [["restrictionType": "passwordAddition", "state": "on"]]]).contains("enabled or disabled"))
        #expect(Self.refusal(["passwordCredentials": [["restrictionType": "passwordAddition", "colour": "red"]]]).contains("unknown field 'colour'"))
    }

    @Test func aRestrictionListedTwiceIsRefused() {
        let twice: [String: JSONValue] = [
            "passwordCredentials": [["restrictionType": "passwordAddition"], ["restrictionType": "passwordAddition", "state": "disabled"]],
        ]
        #expect(Self.refusal(twice).contains("passwordAddition is listed twice"))
    }

    @Test func datesMustBeWellFormedBetween1970And9999() throws {
        func entry(_ date: String) -> [String: JSONValue] {
            ["passwordCredentials": [["restrictionType": "passwordAddition", "restrictForAppsCreatedAfterDateTime": .string(date)]]]
        }
        #expect(Self.refusal(entry("1969-12-31T23:59:59Z")).contains("before 1970"))
        for malformed in ["10000-01-01T00:00:00Z", "yesterday", "2026-02-30T00:00:00Z"] {
            #expect(Self.refusal(entry(malformed)).contains("is not a date-time from 1970 to 9999"), "\(malformed)")
        }
        // A past date is Graph's way of saying every app; a future one schedules the restriction.
        #expect(try Self.parse(entry("2001-01-01T00:00:00Z")).first?.restrictForAppsCreatedAfter == RFC3339.date("2001-01-01T00:00:00Z"))
        #expect(try Self.parse(entry("9999-12-31T00:00:00Z")).count == 1)
    }

    @Test func aTrustedAuthorityMustBeACACertificate() throws {
        let ca = try TestCA()
        let leaf = try ca.issue()
        func entry(_ pems: [String]) -> [String: JSONValue] {
            ["keyCredentials": [["restrictionType": "trustedCertificateAuthority", "trustedCertificateAuthorities": .array(pems.map(JSONValue.string))]]]
        }
        #expect(Self.refusal(entry([leaf.pem])).contains("is not a CA certificate"))
        #expect(Self.refusal(entry(["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])).contains("not a PEM-encoded X.509 certificate"))
        #expect(Self.refusal(entry([])).contains("1 to 20 CA certificates"))
        #expect(try Self.parse(entry([ca.pem])).first?.trustedCertificateAuthorities == [ca.pem])
    }

    @Test func restrictionsRoundTripThroughGraphJSON() throws {
        let restrictions = try Self.parse([
            "passwordCredentials": [
                ["restrictionType": "passwordAddition", "state": "disabled", "restrictForAppsCreatedAfterDateTime": "2026-01-01T00:00:00Z"],
                ["restrictionType": "passwordLifetime", "maxLifetime": "P90D"],
            ],
            "keyCredentials": [["restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P4DT12H30M5S"]],
        ])
        let written = AppManagementPolicyJSON.restrictions(restrictions)
        #expect(try AppManagementPolicyJSON.parse(written, field: "restrictions") == restrictions)
        #expect(written.objectValue?["passwordCredentials"]?.arrayValue?.first?.objectValue?["state"] == "disabled")
    }

    // MARK: Evaluation

    static let appCreated = Date(timeIntervalSince1970: 1_800_000_000)

    static func policy(_ restrictions: [CredentialRestriction], name: String = "Default app management policy", enabled: Bool = true) -> AppManagementPolicy {
        AppManagementPolicy(id: AppManagementPolicy.defaultPolicyId, displayName: name, description: "", isEnabled: enabled, restrictions: restrictions)
    }

    static func secret(_ days: Double, custom: Bool = false) -> PolicyCredential {
        .password(lifetime: days * 86_400, requested: "P\(Int(days))D", custom: custom)
    }

    @Test func aLongerSecretThanTheMaximumIsRefusedWithWhatIsAllowed() throws {
        let policy = Self.policy([CredentialRestriction(.passwordLifetime, maxLifetime: "P90D")])
        #expect(throws: Never.self) { try CredentialPolicyCheck.check(Self.secret(90), appCreatedAt: Self.appCreated, policy: policy) }
        let refusal = try #require(CredentialPolicyCheck.violations(of: Self.secret(365), appCreatedAt: Self.appCreated, policy: policy).first)
        #expect(refusal.message
            == "Policy 'Default app management policy' (restriction passwordLifetime) allows client secrets to last at most P90D; you asked for P365D. Ask for P90D or less.")
        #expect(refusal.restriction == .passwordLifetime)
    }

    @Test func passwordAdditionAndCustomValuesAreRefusedByName() throws {
        let blocked = Self.policy([CredentialRestriction(.passwordAddition)])
        #expect(CredentialPolicyCheck.violations(of: Self.secret(30), appCreatedAt: Self.appCreated, policy: blocked).map(\.restriction) == [.passwordAddition])
        let noCustom = Self.policy([CredentialRestriction(.customPasswordAddition)])
        #expect(CredentialPolicyCheck.violations(of: Self.secret(30), appCreatedAt: Self.appCreated, policy: noCustom).isEmpty)
        let refusal = try #require(CredentialPolicyCheck.violations(of: Self.secret(30, custom: true), appCreatedAt: Self.appCreated, policy: noCustom).first)
        #expect(refusal.message.contains("does not allow client-chosen secret values"))
        // Password restrictions say nothing about keys.
        #expect(CredentialPolicyCheck.violations(of: .key(start: Self.appCreated, end: nil), appCreatedAt: Self.appCreated, policy: blocked).isEmpty)
    }

    @Test func onlyAppsCreatedAfterTheDateAreRestricted() {
        let cutoff = Self.appCreated
        let policy = Self.policy([CredentialRestriction(.passwordAddition, restrictForAppsCreatedAfter: cutoff)])
        #expect(CredentialPolicyCheck.violations(of: Self.secret(1), appCreatedAt: cutoff, policy: policy).isEmpty)
        #expect(CredentialPolicyCheck.violations(of: Self.secret(1), appCreatedAt: cutoff.addingTimeInterval(-1), policy: policy).isEmpty)
        #expect(CredentialPolicyCheck.violations(of: Self.secret(1), appCreatedAt: cutoff.addingTimeInterval(1), policy: policy).count == 1)
    }

    @Test func disabledRestrictionsAndDisabledPoliciesRestrictNothing() {
        let off = Self.policy([CredentialRestriction(.passwordAddition, isEnabled: false)])
        #expect(CredentialPolicyCheck.violations(of: Self.secret(1), appCreatedAt: Self.appCreated, policy: off).isEmpty)
        let disabled = Self.policy([CredentialRestriction(.passwordAddition)], enabled: false)
        #expect(CredentialPolicyCheck.violations(of: Self.secret(1), appCreatedAt: Self.appCreated, policy: disabled).isEmpty)
        #expect(!disabled.blocksSecrets)
    }

    @Test func anAppsOwnPolicyReplacesTheDefaultWithoutInheriting() {
        let secretless = AppManagementPolicy.secretlessDefault(tenantCreatedAt: Date(timeIntervalSince1970: 0))
        let own = AppManagementPolicy(
            id: "own", displayName: "Legacy billing", description: "", isEnabled: true,
            restrictions: [CredentialRestriction(.passwordLifetime, maxLifetime: "P30D")])
        let inForce = AppManagementPolicy.inForce(assigned: own, tenantDefault: secretless)
        #expect(inForce == own)
        // The default blocks secrets; the app's own policy does not, and only its own limit applies.
        #expect(CredentialPolicyCheck.violations(of: Self.secret(30), appCreatedAt: Self.appCreated, policy: inForce).isEmpty)
        #expect(CredentialPolicyCheck.violations(of: Self.secret(31), appCreatedAt: Self.appCreated, policy: inForce).map(\.policyName) == ["Legacy billing"])
        // A disabled own policy is not in force: the default is.
        var off = own
        off.isEnabled = false
        #expect(AppManagementPolicy.inForce(assigned: off, tenantDefault: secretless) == secretless)
        #expect(AppManagementPolicy.inForce(assigned: nil, tenantDefault: secretless) == secretless)
    }

    @Test func certificatesMustChainToATrustedCA() throws {
        let ca = try TestCA()
        let other = try TestCA(name: "Other CA")
        let policy = Self.policy([CredentialRestriction(.trustedCertificateAuthority, trustedCertificateAuthorities: [ca.pem])])
        let trusted = try ca.issue()
        #expect(CredentialPolicyCheck.violations(of: .certificate(trusted.certificate), appCreatedAt: Self.appCreated, policy: policy).isEmpty)
        let stranger = try other.issue()
        let refusal = try #require(CredentialPolicyCheck.violations(of: .certificate(stranger.certificate), appCreatedAt: Self.appCreated, policy: policy).first)
        #expect(refusal.message.contains("accepts only certificates issued by 'CN=Test CA'") && refusal.message.contains("issued by CN=Other CA"))
        // Same issuer name, different key: the signature decides.
        let impostor = try TestCA(name: "Test CA").issue()
        #expect(CredentialPolicyCheck.violations(of: .certificate(impostor.certificate), appCreatedAt: Self.appCreated, policy: policy).count == 1)
        // A bare key cannot show an issuer.
        #expect(CredentialPolicyCheck.violations(of: .key(start: Self.appCreated, end: nil), appCreatedAt: Self.appCreated, policy: policy).count == 1)
    }

    @Test func keyLifetimesCountCertificatesFromNotBeforeAndKeysToTheirEnd() throws {
        let policy = Self.policy([CredentialRestriction(.asymmetricKeyLifetime, maxLifetime: "P90D")])
        let ca = try TestCA()
        let short = try ca.issue(lifetime: 90 * 86_400)
        #expect(CredentialPolicyCheck.violations(of: .certificate(short.certificate), appCreatedAt: Self.appCreated, policy: policy).isEmpty)
        let long = try ca.issue(lifetime: 365 * 86_400)
        let refusal = try #require(CredentialPolicyCheck.violations(of: .certificate(long.certificate), appCreatedAt: Self.appCreated, policy: policy).first)
        #expect(refusal.message.contains("at most P90D; this one lasts P365D"))
        let start = Self.appCreated
        #expect(CredentialPolicyCheck.violations(of: .key(start: start, end: start.addingTimeInterval(89 * 86_400)), appCreatedAt: start, policy: policy).isEmpty)
        #expect(CredentialPolicyCheck.violations(of: .key(start: start, end: nil), appCreatedAt: start, policy: policy).first?.message.contains("has no end date") == true)
    }

    @Test func durationsAreWrittenBackInDaysAndTime() {
        #expect(ISO8601Duration.text(365 * 86_400) == "P365D")
        #expect(ISO8601Duration.text(4 * 86_400 + 12 * 3600 + 30 * 60 + 5) == "P4DT12H30M5S")
        #expect(ISO8601Duration.text(3600) == "PT1H")
        #expect(ISO8601Duration.text(0) == "PT0S")
    }

    @Test func aChosenSecretMustBeAStrongSigilSecret() throws {
        try DirectoryRules.checkChosenSecret(SigilSecretFormat.generate(.clientSecret))
        func refusal(_ secret: String) -> String {
            do {
                try DirectoryRules.checkChosenSecret(secret)
                return "accepted"
            } catch {
                return error.message
            }
        }
        let weakBody = String(repeating: "ab", count: 20)
        let weak = "sgs_" + weakBody + SigilSecretFormat.checksum(of: Array(weakBody.utf8))
        #expect(refusal(weak).contains("too easy to guess") && !refusal(weak).contains(weakBody))
        #expect(refusal("hunter2").contains("not a Sigil client secret") && !refusal("hunter2").contains("hunter2"))
        #expect(refusal(SigilSecretFormat.generate(.joinToken)).contains("not a join token"))
    }
}

/// A CA made here, and leaf certificates it issues.
struct TestCA {
    let key = P256.Signing.PrivateKey()
    let name: DistinguishedName
    let certificate: Certificate
    var pem: String { (try? certificate.serializeAsPEM().pemString) ?? "" }

    init(name: String = "Test CA") throws {
        self.name = try DistinguishedName { CommonName(name) }
        certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date().addingTimeInterval(-3600),
            notValidAfter: Date().addingTimeInterval(3650 * 86_400), issuer: self.name, subject: self.name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil)) },
            issuerPrivateKey: .init(key))
    }

    func issue(lifetime: TimeInterval = 30 * 86_400) throws -> (certificate: Certificate, pem: String) {
        let leafKey = P256.Signing.PrivateKey()
        let start = Date().addingTimeInterval(-60)
        let leaf = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey), notValidBefore: start,
            notValidAfter: start.addingTimeInterval(lifetime), issuer: name, subject: try DistinguishedName { CommonName("leaf") },
            signatureAlgorithm: .ecdsaWithSHA256, extensions: try Certificate.Extensions { Critical(BasicConstraints.notCertificateAuthority) },
            issuerPrivateKey: .init(key))
        return (leaf, try leaf.serializeAsPEM().pemString)
    }
}
