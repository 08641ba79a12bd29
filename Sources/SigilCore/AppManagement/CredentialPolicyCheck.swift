import Foundation
import X509

/// A credential as an app management policy judges it: being added, or already on an app
/// (for the report).
public enum PolicyCredential: Sendable {
    /// A client secret lasting `lifetime` seconds (`requested` is how the lifetime was asked
    /// for, quoted back in a refusal); `custom` when the client chose the value.
    case password(lifetime: TimeInterval, requested: String, custom: Bool)
    /// An X.509 certificate (its lifetime is notAfter − notBefore).
    case certificate(Certificate)
    /// A bare public key, lasting until `end` from `start` (nil: no end).
    case key(start: Date, end: Date?)

    var group: CredentialRestriction.Group {
        if case .password = self { return .passwordCredentials }
        return .keyCredentials
    }
}

/// Why a policy refuses a credential: the policy, the restriction, and a message that says what
/// would be allowed.
public struct PolicyViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public let policyId: String
    public let policyName: String
    public let restriction: CredentialRestriction.Kind
    public let message: String
    public var description: String { message }
}

/// Evaluates the policy in force for an app against a credential. No I/O: the caller loads
/// the policy (in the transaction that adds the credential).
public enum CredentialPolicyCheck {
    /// Every restriction of `policy` that `credential` breaks, for an app created at `appCreatedAt`.
    public static func violations(of credential: PolicyCredential, appCreatedAt: Date, policy: AppManagementPolicy?) -> [PolicyViolation] {
        guard let policy, policy.isEnabled else { return [] }
        return policy.restrictions.filter { $0.kind.group == credential.group && $0.applies(toAppCreatedAt: appCreatedAt) }.compactMap { restriction in
            reason(restriction, credential).map {
                PolicyViolation(
                    policyId: policy.id, policyName: policy.displayName, restriction: restriction.kind,
                    message: "Policy '\(policy.displayName)' (restriction \(restriction.kind.rawValue)) \($0)")
            }
        }
    }

    /// Throws the first violation, if any.
    public static func check(_ credential: PolicyCredential, appCreatedAt: Date, policy: AppManagementPolicy?) throws(PolicyViolation) {
        if let first = violations(of: credential, appCreatedAt: appCreatedAt, policy: policy).first { throw first }
    }

    /// What the restriction says about the credential (continuing "Policy 'X' (restriction Y) "), or nil when it allows it.
    static func reason(_ restriction: CredentialRestriction, _ credential: PolicyCredential) -> String? {
        let most = restriction.maxLifetime ?? ""
        let limit = restriction.maxLifetimeSeconds ?? .infinity
        switch (restriction.kind, credential) {
        case (.passwordAddition, .password):
            return "does not allow client secrets on this app; add a certificate, a key or a federated credential instead."
        case (.customPasswordAddition, .password(_, _, true)):
            return "does not allow client-chosen secret values; leave out secretText and Sigil generates the secret."
        case (.passwordLifetime, .password(let lifetime, let requested, _)) where lifetime > limit:
            return "allows client secrets to last at most \(most); you asked for \(requested). Ask for \(most) or less."
        case (.asymmetricKeyLifetime, .certificate(let certificate)):
            let lifetime = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
            guard lifetime > limit else { return nil }
            return "allows certificates to last at most \(most); this one lasts \(ISO8601Duration.text(lifetime)) (notBefore to notAfter). Use a certificate valid for \(most) or less."
        case (.asymmetricKeyLifetime, .key(let start, let end)):
            guard let end else {
                return "allows keys to last at most \(most); this key has no end date. Give it an endDateTime at most \(most) ahead."
            }
            let lifetime = end.timeIntervalSince(start)
            guard lifetime > limit else { return nil }
            // Measured from now, so a key asked for "P365D" a moment ago says P365D, not P364DT23H59M59S.
            let shown = ISO8601Duration.text((lifetime / 60).rounded() * 60)
            return "allows keys to last at most \(most); this one lasts \(shown). Give it an endDateTime at most \(most) ahead."
        case (.trustedCertificateAuthority, .certificate(let certificate)):
            let authorities = restriction.trustedCertificateAuthorities.compactMap { try? TrustedAuthority(pem: $0) }
            guard !authorities.contains(where: { $0.issued(certificate) }) else { return nil }
            return "accepts only certificates issued by \(names(authorities)); this one was issued by \(certificate.issuer). Register a certificate one of them issued."
        case (.trustedCertificateAuthority, .key):
            let authorities = restriction.trustedCertificateAuthorities.compactMap { try? TrustedAuthority(pem: $0) }
            return "accepts only certificates issued by \(names(authorities)); a bare key has no issuer. Register a certificate one of them issued."
        default:
            // symmetricKeyAddition: Sigil has no symmetric key credentials, so nothing to refuse yet.
            return nil
        }
    }

    static func names(_ authorities: [TrustedAuthority]) -> String {
        authorities.map { "'\($0.certificate.subject)'" }.joined(separator: " or ")
    }
}

extension ISO8601Duration {
    /// Seconds as an ISO-8601 duration in days and time (`P365D`, `P4DT12H30M5S`, `PT0S`), whole seconds.
    public static func text(_ seconds: TimeInterval) -> String {
        var rest = Int(seconds.rounded())
        let days = rest / 86_400
        rest %= 86_400
        let (hours, minutes, secs) = (rest / 3600, rest % 3600 / 60, rest % 60)
        var time = ""
        if hours > 0 { time += "\(hours)H" }
        if minutes > 0 { time += "\(minutes)M" }
        if secs > 0 { time += "\(secs)S" }
        if days > 0 { return "P\(days)D" + (time.isEmpty ? "" : "T" + time) }
        return "PT" + (time.isEmpty ? "0S" : time)
    }
}

extension PolicyCredential {
    /// A client secret already on an app, as the policy report judges it.
    public init(_ credential: PasswordCredential) {
        let lifetime = credential.endDateTime.timeIntervalSince(credential.startDateTime)
        self = .password(lifetime: lifetime, requested: ISO8601Duration.text(lifetime), custom: credential.custom)
    }

    /// A key or certificate (being added or already on an app); nil when a stored certificate no longer parses.
    public init?(_ credential: KeyCredential) {
        switch credential.kind {
        case .certificate:
            guard let certificate = try? Certificate(pemEncoded: credential.material) else { return nil }
            self = .certificate(certificate)
        case .jwk:
            self = .key(start: credential.startDateTime, end: credential.endDateTime)
        }
    }
}
