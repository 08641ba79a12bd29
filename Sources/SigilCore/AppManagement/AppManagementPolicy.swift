import Foundation
import X509

/// One restriction of an app management policy, as Graph's `passwordCredentialConfiguration`
/// and `keyCredentialConfiguration` have it.
public struct CredentialRestriction: Sendable, Equatable {
    /// The restriction types. Graph lists the first four under `passwordCredentials` and the
    /// last two under `keyCredentials`.
    public enum Kind: String, Sendable, CaseIterable {
        case passwordAddition, customPasswordAddition, passwordLifetime, symmetricKeyAddition
        case asymmetricKeyLifetime, trustedCertificateAuthority

        /// The array of the policy's restrictions it is listed in.
        public var group: Group {
            switch self {
            case .asymmetricKeyLifetime, .trustedCertificateAuthority: .keyCredentials
            default: .passwordCredentials
            }
        }

        /// Whether it carries a `maxLifetime`.
        public var hasLifetime: Bool { self == .passwordLifetime || self == .asymmetricKeyLifetime }
    }

    public enum Group: String, Sendable, CaseIterable { case passwordCredentials, keyCredentials }

    public var kind: Kind
    /// `state`: `enabled` or `disabled`.
    public var isEnabled: Bool
    /// The longest lifetime allowed, as the ISO-8601 duration it was given in (lifetime restrictions only).
    public var maxLifetime: String?
    /// Only apps created after this time are restricted; nil restricts every app.
    public var restrictForAppsCreatedAfter: Date?
    /// For `trustedCertificateAuthority`: the CA certificates (PEM) a certificate must be issued by.
    public var trustedCertificateAuthorities: [String]

    public init(
        _ kind: Kind, isEnabled: Bool = true, maxLifetime: String? = nil, restrictForAppsCreatedAfter: Date? = nil,
        trustedCertificateAuthorities: [String] = []
    ) {
        self.kind = kind
        self.isEnabled = isEnabled
        self.maxLifetime = maxLifetime
        self.restrictForAppsCreatedAfter = restrictForAppsCreatedAfter
        self.trustedCertificateAuthorities = trustedCertificateAuthorities
    }

    /// Whether it restricts an app created at `appCreatedAt`.
    public func applies(toAppCreatedAt appCreatedAt: Date) -> Bool {
        isEnabled && restrictForAppsCreatedAfter.map { appCreatedAt > $0 } ?? true
    }

    /// `maxLifetime` in seconds.
    public var maxLifetimeSeconds: TimeInterval? { maxLifetime.flatMap(ISO8601Duration.seconds) }
}

/// An app management policy: the tenant default (Graph's `tenantAppManagementPolicy`) or one
/// that applications are assigned (`appManagementPolicy`). An application's own policy replaces
/// the default; nothing is inherited from it.
public struct AppManagementPolicy: Sendable, Equatable {
    /// The tenant default's id, as Graph gives it.
    public static let defaultPolicyId = "00000000-0000-0000-0000-000000000000"
    public static let defaultDisplayName = "Default app management policy"

    public var id: String
    public var displayName: String
    public var description: String
    public var isEnabled: Bool
    public var restrictions: [CredentialRestriction]

    public init(id: String, displayName: String, description: String, isEnabled: Bool, restrictions: [CredentialRestriction]) {
        self.id = id
        self.displayName = displayName
        self.description = description
        self.isEnabled = isEnabled
        self.restrictions = restrictions
    }

    public var isTenantDefault: Bool { id == Self.defaultPolicyId }

    /// The default of a new tenant: secretless. Password addition is blocked for every app
    /// created after the tenant (the bootstrap's own apps hold keys only).
    public static func secretlessDefault(tenantCreatedAt: Date) -> AppManagementPolicy {
        AppManagementPolicy(
            id: defaultPolicyId, displayName: defaultDisplayName,
            description: "New applications may not add client secrets: use a certificate, a key or a federated credential.",
            isEnabled: true, restrictions: [CredentialRestriction(.passwordAddition, restrictForAppsCreatedAfter: tenantCreatedAt)])
    }

    /// The restriction of `kind`, when the policy has it.
    public func restriction(_ kind: CredentialRestriction.Kind) -> CredentialRestriction? { restrictions.first { $0.kind == kind } }

    /// Whether the policy blocks password addition for some apps (what `--allow-secrets` turns off).
    public var blocksSecrets: Bool { isEnabled && restriction(.passwordAddition)?.isEnabled == true }

    /// The policy in force for an application: its own when it has an enabled one, else the default.
    public static func inForce(assigned: AppManagementPolicy?, tenantDefault: AppManagementPolicy?) -> AppManagementPolicy? {
        if let assigned, assigned.isEnabled { return assigned }
        return tenantDefault
    }
}

/// A CA certificate listed in a `trustedCertificateAuthority` restriction.
public struct TrustedAuthority: Sendable {
    public let certificate: Certificate

    /// Parses a PEM certificate that must be a CA (basicConstraints with CA set).
    public init(pem: String) throws(DirectoryRuleViolation) {
        let field = "trustedCertificateAuthorities"
        do {
            certificate = try Certificate(pemEncoded: pem)
        } catch {
            throw DirectoryRuleViolation(field: field, message: "a trusted certificate authority is not a PEM-encoded X.509 certificate")
        }
        let constraints: BasicConstraints?
        do {
            constraints = try certificate.extensions.basicConstraints
        } catch {
            throw DirectoryRuleViolation(field: field, message: "the basicConstraints of '\(certificate.subject)' cannot be read")
        }
        guard case .isCertificateAuthority = constraints else {
            throw DirectoryRuleViolation(
                field: field, message: "'\(certificate.subject)' is not a CA certificate (its basicConstraints do not say CA:TRUE); list the CA that issues your certificates")
        }
    }

    /// Whether this CA issued `leaf`: its subject is the leaf's issuer and its key verifies the leaf's signature.
    public func issued(_ leaf: Certificate) -> Bool {
        leaf.issuer == certificate.subject && certificate.publicKey.isValidSignature(leaf.signature, for: leaf)
    }
}
