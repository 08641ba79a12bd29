import Foundation

/// A federated identity credential (FIC): the app (or user-assigned managed identity) trusts
/// tokens that `issuer` gave to `subject` (or to whatever `claimsMatchingExpression` accepts),
/// addressed to `audience`. The workload then needs no secret: it shows the token it already has.
public struct FederatedIdentityCredential: Sendable, Equatable {
    public var id: String
    /// The object id of the application or managed identity the credential belongs to.
    public var applicationId: String
    public var name: String
    public var issuer: String
    /// The exact `sub` accepted; nil when `claimsMatchingExpression` decides instead.
    public var subject: String?
    public var claimsMatchingExpression: String?
    /// Exactly one audience (Entra's rule); `api://AzureADTokenExchange` unless told otherwise.
    public var audiences: [String]
    public var description: String
    public var createdAt: Date
    /// When the credential was disabled; a disabled credential matches no token.
    public var disabledAt: Date?

    public init(
        id: String, applicationId: String, name: String, issuer: String, subject: String?, claimsMatchingExpression: String?,
        audiences: [String], description: String, createdAt: Date, disabledAt: Date? = nil
    ) {
        self.id = id
        self.applicationId = applicationId
        self.name = name
        self.issuer = issuer
        self.subject = subject
        self.claimsMatchingExpression = claimsMatchingExpression
        self.audiences = audiences
        self.description = description
        self.createdAt = createdAt
        self.disabledAt = disabledAt
    }
}

/// Entra's rules for federated identity credentials, checked wherever one is created.
public enum FederationRules {
    public static let defaultAudience = "api://AzureADTokenExchange"
    public static let maximumPerApplication = 20
    /// Issuer, subject and audience are each at most this many characters.
    public static let maximumValueLength = 600
    public static let maximumDescriptionLength = 600

    /// Checks a new credential's fields; the credential's own uniqueness (name, issuer + subject,
    /// count) is checked against the app's others with `checkAgainst`.
    public static func check(_ credential: FederatedIdentityCredential) throws(DirectoryRuleViolation) {
        try checkName(credential.name)
        try checkIssuer(credential.issuer)
        switch (credential.subject, credential.claimsMatchingExpression) {
        case (nil, nil):
            throw DirectoryRuleViolation(field: "subject", message: "give either a subject or a claimsMatchingExpression")
        case (.some, .some):
            throw DirectoryRuleViolation(field: "subject", message: "give a subject or a claimsMatchingExpression, not both")
        case (let subject?, nil):
            try checkValue(subject, field: "subject")
        case (nil, let expression?):
            do {
                _ = try ClaimsMatchingExpression(parsing: expression)
            } catch {
                throw DirectoryRuleViolation(field: "claimsMatchingExpression", message: "claimsMatchingExpression is not valid \(error)")
            }
        }
        guard credential.audiences.count == 1 else {
            throw DirectoryRuleViolation(
                field: "audiences", message: "audiences must hold exactly one value (usually \(defaultAudience)), not \(credential.audiences.count)")
        }
        try checkValue(credential.audiences[0], field: "audiences")
        guard credential.description.count <= maximumDescriptionLength, !credential.description.containsControlCharacters else {
            throw DirectoryRuleViolation(field: "description", message: "description may be at most \(maximumDescriptionLength) characters, without control characters")
        }
    }

    /// 3–120 characters of letters, digits, '-' and '_', starting with a letter or digit.
    public static func checkName(_ name: String) throws(DirectoryRuleViolation) {
        let bytes = Array(name.utf8)
        let isAlphanumeric = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard (3...120).contains(bytes.count), isAlphanumeric(bytes[0]),
            bytes.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") })
        else {
            throw DirectoryRuleViolation(
                field: "name",
                message: "name '\(OAuthError.quoted(name))' must be 3–120 characters of letters, digits, '-' and '_', starting with a letter or digit")
        }
    }

    /// An HTTPS URL without surrounding spaces, at most 600 characters.
    public static func checkIssuer(_ issuer: String) throws(DirectoryRuleViolation) {
        guard issuer.trimmingCharacters(in: .whitespacesAndNewlines) == issuer else {
            throw DirectoryRuleViolation(
                field: "issuer",
                message: "issuer '\(OAuthError.quoted(issuer))' has a leading or trailing space; tokens carry the issuer exactly, so it would never match")
        }
        try checkValue(issuer, field: "issuer")
        guard let url = URLComponents(string: issuer), url.scheme == "https", let host = url.host, !host.isEmpty,
            url.query == nil, url.fragment == nil, url.user == nil
        else {
            throw DirectoryRuleViolation(
                field: "issuer", message: "issuer '\(OAuthError.quoted(issuer))' must be an https:// URL without query, fragment or user name")
        }
    }

    static func checkValue(_ value: String, field: String) throws(DirectoryRuleViolation) {
        guard !value.isEmpty else { throw DirectoryRuleViolation(field: field, message: "\(field) must not be empty") }
        guard value.count <= maximumValueLength else {
            throw DirectoryRuleViolation(field: field, message: "\(field) is \(value.count) characters; at most \(maximumValueLength) are allowed")
        }
        guard !value.containsControlCharacters else {
            throw DirectoryRuleViolation(field: field, message: "\(field) must not contain control characters")
        }
    }

    /// Checks a new credential against the app's existing ones: unique name, unique issuer +
    /// subject, at most 20.
    public static func checkAgainst(_ existing: [FederatedIdentityCredential], adding credential: FederatedIdentityCredential) throws(DirectoryRuleViolation) {
        guard existing.count < maximumPerApplication else {
            throw DirectoryRuleViolation(
                field: "name", message: "the application already has \(maximumPerApplication) federated credentials, the most it may have; remove one first")
        }
        if existing.contains(where: { $0.name == credential.name }) {
            throw DirectoryRuleViolation(field: "name", message: "the application already has a federated credential named '\(credential.name)'")
        }
        if let subject = credential.subject, existing.contains(where: { $0.issuer == credential.issuer && $0.subject == subject }) {
            throw DirectoryRuleViolation(
                field: "subject", message: "the application already has a federated credential for issuer '\(credential.issuer)' and subject '\(subject)'")
        }
        if let expression = credential.claimsMatchingExpression,
            existing.contains(where: { $0.issuer == credential.issuer && $0.claimsMatchingExpression == expression })
        {
            throw DirectoryRuleViolation(
                field: "claimsMatchingExpression", message: "the application already has a federated credential for issuer '\(credential.issuer)' with this expression")
        }
    }
}

/// An issuer an administrator has vouched for (`sigil issuer trust`): Sigil may fetch its
/// metadata even on a loopback or private address, and trusts `caPEM` for its TLS certificate.
public struct TrustedIssuer: Sendable, Equatable {
    public var issuer: String
    public var caPEM: String?
    public var createdAt: Date

    public init(issuer: String, caPEM: String?, createdAt: Date) {
        self.issuer = issuer
        self.caPEM = caPEM
        self.createdAt = createdAt
    }
}
