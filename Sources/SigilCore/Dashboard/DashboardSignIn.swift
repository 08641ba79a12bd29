import Crypto
import Foundation

/// The dashboard's sign-in secrets (DESIGN §8): a one-time code that `sigil dashboard` prints, and
/// the session it becomes. Both are 256 random bits in base64url, kept in the store only as their
/// SHA-256; the CSRF token of a session is derived from the session secret, so it needs no row.
public enum DashboardSignIn {
    /// How long a one-time code may be exchanged for a session.
    public static let codeLifetime: TimeInterval = 300
    /// How long a session lasts from sign-in; it is not extended by use.
    public static let sessionLifetime: TimeInterval = 8 * 3600
    /// 32 bytes in unpadded base64url.
    public static let secretLength = 43

    /// A new code or session secret from the system CSPRNG.
    public static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Whether `text` has the shape of a secret this server mints (so nothing else is looked up).
    public static func isWellFormed(_ text: String) -> Bool {
        text.utf8.count == secretLength && Base64URL.decode(text)?.count == 32
    }

    /// The store's lookup key for a code or a session: the secret is 256 random bits, so an
    /// unsalted SHA-256 is safe.
    public static func digest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).lowerHex
    }

    /// The CSRF token of the session whose secret is `session`: HMAC-SHA256 of a fixed label under
    /// the session secret, so only a holder of the cookie (the browser's own pages) can know it.
    public static func csrfToken(session: String) -> String {
        Base64URL.encode(HMAC<SHA256>.authenticationCode(for: csrfLabel, using: SymmetricKey(data: Data(session.utf8))))
    }

    /// Whether `submitted` is the session's CSRF token (compared in constant time).
    public static func checkCSRF(_ submitted: String?, session: String) -> Bool {
        guard let submitted, let code = Base64URL.decode(submitted) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(code, authenticating: csrfLabel, using: SymmetricKey(data: Data(session.utf8)))
    }

    static let csrfLabel = Data("sigil-dashboard-csrf".utf8)
}
