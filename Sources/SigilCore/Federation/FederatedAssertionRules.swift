import Foundation

/// Which federated credential, if any, accepts a verified external token. The issuer has already
/// been matched (it decides which keys verified the signature); this checks the times, then the
/// subject or expression, then the audience, and says exactly which of them did not match.
public struct FederatedAssertionRules: Sendable {
    /// The credentials of the app whose issuer equals the token's `iss`.
    public let candidates: [FederatedIdentityCredential]
    public let now: Date

    public init(candidates: [FederatedIdentityCredential], now: Date) {
        self.candidates = candidates
        self.now = now
    }

    /// The credential that accepts `claims`. External tokens may live as long as their issuer
    /// decides (Kubernetes and CI tokens are reused until they expire), so only `exp`, `nbf` and
    /// `iat` are checked, with the usual clock skew.
    public func match(_ claims: [String: JSONValue]) throws(OAuthError) -> FederatedIdentityCredential {
        _ = try ClientAssertionRules.checkTimes(claims, now: now, maximumLifetime: nil)
        let subject = claims["sub"]?.stringValue
        let byClaims = candidates.filter { credential in
            if let expected = credential.subject { return subject == expected }
            guard let text = credential.claimsMatchingExpression, let expression = try? ClaimsMatchingExpression(parsing: text) else {
                return false
            }
            return expression.matches(claims)
        }
        guard !byClaims.isEmpty else {
            let shown = subject.map { "'\(OAuthError.quoted($0))'" } ?? "absent"
            if candidates.allSatisfy({ $0.subject != nil }) { throw .federatedSubjectMismatch(shown) }
            throw .noMatchingFederatedCredential(shown)
        }
        let audiences = ClientAssertionRules.audiences(claims) ?? []
        guard let accepted = byClaims.first(where: { audiences.contains($0.audiences.first ?? "") }) else {
            throw .federatedAudienceMismatch(audiences.isEmpty ? "absent" : "'\(OAuthError.quoted(audiences.joined(separator: ", ")))'")
        }
        return accepted
    }
}
