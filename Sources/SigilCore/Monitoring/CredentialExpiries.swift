import Foundation

/// How many credentials of one kind run out soon, and when the next one does: what
/// `sigil_credentials_expiring` and `sigil_credential_next_expiry_timestamp_seconds` expose.
/// Counted over the whole store, so no series names an app or a tenant.
public struct CredentialExpiries: Sendable, Equatable {
    /// `passwordCredential` (client secrets) or `keyCredential` (certificates and keys with an end date).
    public enum Kind: String, CaseIterable, Sendable { case passwordCredential, keyCredential }

    /// The windows counted, as the `within` label and their length.
    public static let windows: [(label: String, seconds: TimeInterval)] = [("7d", 7 * 86_400), ("30d", 30 * 86_400)]

    public let kind: Kind
    /// Per window of `windows`, in its order: credentials in force whose end falls inside it.
    public let expiring: [Int]
    /// The earliest end still ahead, nil when no credential of this kind will end.
    public let nextExpiry: Date?

    public init(kind: Kind, expiring: [Int], nextExpiry: Date?) {
        self.kind = kind
        self.expiring = expiring
        self.nextExpiry = nextExpiry
    }
}
