import Foundation

/// The claim checks for a client assertion signed with a key registered in Sigil (RFC 7523 §3).
public struct ClientAssertionRules: Sendable {
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    public static let clockSkew: TimeInterval = 300
    /// The furthest in the future `exp` may lie: assertions are meant to be short-lived.
    public static let maximumLifetime: TimeInterval = 3600

    /// What a verified assertion tells the replay cache.
    public struct Accepted: Sendable, Equatable {
        public let jti: String
        public let expiresAt: Date
    }

    public let clientId: String
    /// The token endpoint URLs the `aud` may name, the one to tell clients about first.
    public let audiences: [String]
    public let now: Date

    public init(clientId: String, audiences: [String], now: Date) {
        self.clientId = clientId
        self.audiences = audiences
        self.now = now
    }

    public func check(_ claims: [String: JSONValue]) throws(OAuthError) -> Accepted {
        guard let iss = claims["iss"]?.stringValue else { throw .assertionClaim("the assertion has no 'iss' claim; it must be the client id") }
        guard iss == clientId else { throw .assertionClaim("'iss' is '\(OAuthError.quoted(iss))' but must be the client id '\(clientId)'") }
        guard let sub = claims["sub"]?.stringValue else { throw .assertionClaim("the assertion has no 'sub' claim; it must be the client id") }
        guard sub == clientId else { throw .assertionClaim("'sub' is '\(OAuthError.quoted(sub))' but must be the client id '\(clientId)'") }

        guard let audienceValues = Self.audiences(claims) else {
            throw .assertionClaim("the assertion has no 'aud' claim; it must be the token endpoint URL")
        }
        guard audienceValues.contains(where: audiences.contains) else {
            let expected = audiences.first ?? ""
            throw .assertionClaim("'aud' is '\(OAuthError.quoted(audienceValues.joined(separator: ", ")))' but must be the token endpoint '\(expected)'")
        }

        let exp = try Self.checkTimes(claims, now: now, maximumLifetime: Self.maximumLifetime)
        guard let jti = claims["jti"]?.stringValue, !jti.isEmpty else {
            throw .assertionClaim("the assertion has no 'jti'; every assertion needs a unique id so it cannot be replayed")
        }
        guard jti.utf8.count <= 256 else { throw .assertionClaim("'jti' is longer than 256 characters") }
        return Accepted(jti: jti, expiresAt: Date(timeIntervalSince1970: exp))
    }

    /// The time rules every assertion obeys: `exp` required and not past, `nbf` and `iat` (when
    /// present) not in the future, each with `clockSkew`; `exp` at most `maximumLifetime` ahead
    /// when one is given. Returns `exp` in seconds since 1970.
    public static func checkTimes(_ claims: [String: JSONValue], now: Date, maximumLifetime: TimeInterval?) throws(OAuthError) -> Double {
        guard let expValue = claims["exp"] else { throw .assertionTime("the assertion has no 'exp' claim") }
        guard let exp = expValue.numericDate else { throw .assertionTime("'exp' must be a NumericDate (seconds since 1970)") }
        let nowSeconds = now.timeIntervalSince1970
        guard exp + clockSkew > nowSeconds else {
            throw .assertionTime("it expired at \(format(exp)); the server time is \(format(nowSeconds))")
        }
        if let maximumLifetime, exp > nowSeconds + maximumLifetime + clockSkew {
            throw .assertionTime("'exp' \(format(exp)) is more than \(Int(maximumLifetime / 60)) minutes in the future; assertions must be short-lived")
        }
        for name in ["nbf", "iat"] {
            guard let value = claims[name] else { continue }
            guard let seconds = value.numericDate else { throw .assertionTime("'\(name)' must be a NumericDate (seconds since 1970)") }
            guard seconds <= nowSeconds + clockSkew else {
                throw .assertionTime("'\(name)' \(format(seconds)) is in the future; the server time is \(format(nowSeconds))")
            }
        }
        return exp
    }

    /// The `aud` claim's values: one string or an array of strings; nil when absent.
    public static func audiences(_ claims: [String: JSONValue]) -> [String]? {
        switch claims["aud"] {
        case .string(let value): [value]
        case .array(let values): values.compactMap(\.stringValue)
        default: nil
        }
    }

    static func format(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(.iso8601)
    }
}
