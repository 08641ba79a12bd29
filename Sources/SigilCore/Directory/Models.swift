import Foundation

/// A tenant: every directory object lives in exactly one.
public struct Tenant: Sendable, Equatable {
    public var id: String
    public var displayName: String
    public var createdAt: Date

    public init(id: String, displayName: String, createdAt: Date) {
        self.id = id
        self.displayName = displayName
        self.createdAt = createdAt
    }
}

/// A role an application exposes to callers, carried in their tokens' `roles` claim.
public struct AppRole: Sendable, Equatable {
    public var id: String
    public var value: String
    public var displayName: String
    public var description: String

    public init(id: String, value: String, displayName: String, description: String) {
        self.id = id
        self.value = value
        self.displayName = displayName
        self.description = description
    }
}

/// What kind of service principal an `AppRegistration` is. Managed identities live in the same
/// table as apps, so grants, roles, tokens and the logs treat them alike; they differ in how they
/// authenticate (a host vouches for them) and in having no credential anyone can add or read.
public enum PrincipalKind: String, Sendable, Equatable, CaseIterable {
    case application
    /// A standalone managed identity, assignable to many hosts.
    case userAssignedIdentity
    /// A host's own identity: created with the host, removed with it.
    case systemAssignedIdentity

    public var isManagedIdentity: Bool { self != .application }
}

/// An app registration together with its service principal (one per app in a tenant).
public struct AppRegistration: Sendable, Equatable {
    public var objectId: String
    public var appId: String
    public var tenantId: String
    public var servicePrincipalId: String
    public var displayName: String
    public var identifierUris: [String]
    public var appRoles: [AppRole]
    /// When true, the app as a resource issues tokens only to callers holding one of its roles.
    public var appRoleAssignmentRequired: Bool
    /// The algorithm of access tokens issued *for* this app as a resource.
    public var accessTokenSigningAlgorithm: JWSAlgorithm
    public var enabled: Bool
    public var createdAt: Date
    public var kind: PrincipalKind
    /// For a system-assigned identity, the host it belongs to.
    public var hostId: String?

    public init(
        objectId: String, appId: String, tenantId: String, servicePrincipalId: String, displayName: String,
        identifierUris: [String], appRoles: [AppRole], appRoleAssignmentRequired: Bool,
        accessTokenSigningAlgorithm: JWSAlgorithm, enabled: Bool, createdAt: Date, kind: PrincipalKind = .application, hostId: String? = nil
    ) {
        self.objectId = objectId
        self.appId = appId
        self.tenantId = tenantId
        self.servicePrincipalId = servicePrincipalId
        self.displayName = displayName
        self.identifierUris = identifierUris
        self.appRoles = appRoles
        self.appRoleAssignmentRequired = appRoleAssignmentRequired
        self.accessTokenSigningAlgorithm = accessTokenSigningAlgorithm
        self.enabled = enabled
        self.createdAt = createdAt
        self.kind = kind
        self.hostId = hostId
    }
}

/// A client secret. The secret itself is never stored: only its salted hash and a 3-character hint.
public struct PasswordCredential: Sendable, Equatable {
    public var keyId: String
    public var applicationId: String
    public var displayName: String
    public var hint: String
    public var hash: SecretHash
    public var startDateTime: Date
    public var endDateTime: Date
    public var lastUsedAt: Date?
    /// When the secret was revoked (reported leaked): it stays listed, and never authenticates again.
    public var revokedAt: Date?
    public var revokedReason: String?
    /// When the secret was disabled (`sigil migrate finish`, `sigil incident contain`): it stays
    /// listed, is refused while disabled, and can be enabled again, unlike a revoked one.
    public var disabledAt: Date?
    /// Whether the client chose the value (`secretText`) rather than Sigil generating it.
    public var custom: Bool

    public init(
        keyId: String, applicationId: String, displayName: String, hint: String, hash: SecretHash,
        startDateTime: Date, endDateTime: Date, lastUsedAt: Date? = nil, revokedAt: Date? = nil, revokedReason: String? = nil,
        disabledAt: Date? = nil, custom: Bool = false
    ) {
        self.keyId = keyId
        self.applicationId = applicationId
        self.displayName = displayName
        self.hint = hint
        self.hash = hash
        self.startDateTime = startDateTime
        self.endDateTime = endDateTime
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.revokedReason = revokedReason
        self.disabledAt = disabledAt
        self.custom = custom
    }
}

extension PasswordCredential {
    /// A new client secret `secret`, kept as a salted hash and a three-character hint, valid
    /// for `lifetime` from `start`.
    public static func minted(
        _ secret: String, keyId: String, applicationId: String, displayName: String, start: Date, lifetime: TimeInterval, custom: Bool = false
    ) -> PasswordCredential {
        PasswordCredential(
            keyId: keyId, applicationId: applicationId, displayName: displayName, hint: String(secret.dropFirst(4).prefix(3)),
            hash: SecretHash.make(for: secret), startDateTime: start, endDateTime: start.addingTimeInterval(lifetime), custom: custom)
    }
}

/// A public key an application proves itself with in `private_key_jwt`: an X.509 certificate or
/// a bare JWK.
public struct KeyCredential: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case certificate = "AsymmetricX509Cert"
        case jwk = "Jwk"
    }

    public var keyId: String
    public var applicationId: String
    public var kind: Kind
    public var displayName: String
    /// The JWS `kid` that selects this key (the JWK thumbprint unless the JWK named its own).
    public var kid: String
    /// base64url SHA-1 and SHA-256 of the certificate's DER, for the `x5t` / `x5t#S256` headers.
    public var x5t: String?
    public var x5tS256: String?
    /// The certificate PEM, or the public JWK as JSON text.
    public var material: String
    public var startDateTime: Date
    public var endDateTime: Date?
    public var lastUsedAt: Date?
    /// When the key was disabled; it is refused until enabled again.
    public var disabledAt: Date?

    public init(
        keyId: String, applicationId: String, kind: Kind, displayName: String, kid: String, x5t: String?,
        x5tS256: String?, material: String, startDateTime: Date, endDateTime: Date?, lastUsedAt: Date? = nil, disabledAt: Date? = nil
    ) {
        self.keyId = keyId
        self.applicationId = applicationId
        self.kind = kind
        self.displayName = displayName
        self.kid = kid
        self.x5t = x5t
        self.x5tS256 = x5tS256
        self.material = material
        self.startDateTime = startDateTime
        self.endDateTime = endDateTime
        self.lastUsedAt = lastUsedAt
        self.disabledAt = disabledAt
    }

    /// A bare public key as a credential, its material the key's public JWK members with `kid`.
    public static func jwk(
        _ key: VerificationKey, kid: String, keyId: String, applicationId: String, displayName: String, now: Date
    ) -> KeyCredential {
        var members = key.jwkMembers
        members["kid"] = .string(kid)
        return KeyCredential(
            keyId: keyId, applicationId: applicationId, kind: .jwk, displayName: displayName, kid: kid, x5t: nil, x5tS256: nil,
            material: JSONValue.object(members).serialized(), startDateTime: now, endDateTime: nil)
    }

    /// The certificate's SHA-1 thumbprint in upper-case hex, as Entra shows it; nil for a bare key.
    public var thumbprintHex: String? { Self.thumbprintHex(x5t: x5t) }

    /// The upper-case hex of a base64url `x5t`.
    public static func thumbprintHex(x5t: String?) -> String? { x5t.flatMap { Base64URL.decode($0) }?.upperHex }

    /// The verification key inside `material`.
    public func verificationKey() throws -> VerificationKey {
        switch kind {
        case .certificate: try CertificateCredential(pem: material).key
        case .jwk: try VerificationKey(jwk: JSONParser.parseObject(Array(material.utf8)))
        }
    }
}

/// A role of a resource application granted to a client application's service principal.
public struct AppRoleAssignment: Sendable, Equatable {
    public var id: String
    public var principalId: String
    public var principalDisplayName: String
    public var resourceId: String
    public var resourceDisplayName: String
    public var appRoleId: String
    public var appRoleValue: String
    public var createdAt: Date

    public init(
        id: String, principalId: String, principalDisplayName: String, resourceId: String,
        resourceDisplayName: String, appRoleId: String, appRoleValue: String, createdAt: Date
    ) {
        self.id = id
        self.principalId = principalId
        self.principalDisplayName = principalDisplayName
        self.resourceId = resourceId
        self.resourceDisplayName = resourceDisplayName
        self.appRoleId = appRoleId
        self.appRoleValue = appRoleValue
        self.createdAt = createdAt
    }
}
