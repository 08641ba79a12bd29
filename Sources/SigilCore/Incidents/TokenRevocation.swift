import Foundation

/// "Every token of this service principal issued at or before `revokedBefore`": what a
/// containment adds to the revocation list. Sigil's own resources and introspection refuse
/// those tokens; resource servers poll the list (`revocation_list_uri` in the discovery document).
///
/// A token carries `iat` in whole seconds: a token issued in the second of the containment is
/// refused too, which errs on the side of refusing.
public struct TokenRevocation: Sendable, Equatable {
    public var servicePrincipalId: String
    public var appId: String
    public var revokedBefore: Date

    public init(servicePrincipalId: String, appId: String, revokedBefore: Date) {
        self.servicePrincipalId = servicePrincipalId
        self.appId = appId
        self.revokedBefore = revokedBefore
    }

    /// Whether a token issued at `issuedAt` (its `iat`, seconds since 1970) is revoked.
    public func revokes(issuedAt: Int64) -> Bool {
        issuedAt <= Int64(revokedBefore.timeIntervalSince1970.rounded(.down))
    }

    /// When the entry can leave the list: every token it covers has expired by then (a token's
    /// lifetime plus the clock skew resources allow).
    public var expiresAt: Date { revokedBefore.addingTimeInterval(AccessToken.lifetime + Self.clockSkew) }

    /// The clock skew a resource allows when it checks `exp` (Sigil's own allow 60 seconds).
    public static let clockSkew: TimeInterval = 300
}
