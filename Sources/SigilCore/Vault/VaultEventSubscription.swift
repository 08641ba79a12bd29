import Crypto
import Foundation

/// A webhook that receives a vault's events (`sigil vault events add`).
public struct VaultEventSubscription: Sendable, Equatable {
    public var id: String
    public var vaultId: String
    /// Where events are POSTed.
    public var url: String
    /// Which secrets' events it receives; nil for every secret.
    public var filter: VaultEventFilter?
    /// How long before a version's `exp` its `SecretNearExpiry` is sent.
    public var nearExpiryLead: TimeInterval
    /// Whether `url` may be on a loopback, private or link-local address (and then plain HTTP):
    /// an administrator's explicit choice, off by default.
    public var allowPrivateNetwork: Bool
    public var createdAt: Date

    public init(
        id: String, vaultId: String, url: String, filter: VaultEventFilter?, nearExpiryLead: TimeInterval, allowPrivateNetwork: Bool, createdAt: Date
    ) {
        self.id = id
        self.vaultId = vaultId
        self.url = url
        self.filter = filter
        self.nearExpiryLead = nearExpiryLead
        self.allowPrivateNetwork = allowPrivateNetwork
        self.createdAt = createdAt
    }

    /// Whether this subscription receives `event` about `secretName`, whose moment (the version's
    /// creation, or `exp` less the lead time, or `exp`) was `moment` and whose version was created
    /// at `versionCreated`. Like Key Vault, a subscription hears of versions created after it;
    /// it also hears when an older version's expiry moment passes while it exists.
    public func receives(secretName: String, moment: Date, versionCreated: Date) -> Bool {
        (filter?.matches(secretName) ?? true) && (moment >= createdAt || versionCreated >= createdAt)
    }
}

/// `--secret-name PATTERN`: a glob over secret names, compared case-insensitively as Key Vault
/// compares names. `*` stands for any run of characters (none included) and `?` for one; every
/// other character stands for itself. Without a wildcard it is an exact name.
public struct VaultEventFilter: Sendable, Equatable {
    public let pattern: String

    public init(_ pattern: String) throws(DirectoryRuleViolation) {
        let scalars = pattern.unicodeScalars
        guard (1...127).contains(scalars.count),
            scalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-*?".unicodeScalars.contains($0)) })
        else {
            throw DirectoryRuleViolation(
                field: "secretName",
                message: "secret name pattern '\(pattern.prefix(64))' must be 1–127 characters of letters, digits, hyphens and the wildcards * and ?")
        }
        self.pattern = pattern
    }

    public func matches(_ name: String) -> Bool {
        ClaimsMatchingExpression.glob(pattern.lowercased(), matches: name.lowercased())
    }
}

/// The rules of event subscriptions and their delivery.
public enum VaultEventRules {
    public static let defaultNearExpiryLead: TimeInterval = 30 * 86_400
    /// The near-expiry lead time may be a minute to a year.
    public static let nearExpiryLeads: ClosedRange<TimeInterval> = 60...(365 * 86_400)
    public static let maximumURLLength = 2048
    /// The most subscriptions one vault may have: each event is written once per subscription.
    public static let maximumSubscriptionsPerVault = 25
    /// The signature header: `t=UNIX_SECONDS,sha256=HEX`.
    public static let signatureHeader = "X-Sigil-Signature"

    public static func nearExpiryLead(_ text: String) throws(DirectoryRuleViolation) -> TimeInterval {
        guard let seconds = ISO8601Duration.seconds(text), nearExpiryLeads.contains(seconds) else {
            throw DirectoryRuleViolation(field: "nearExpiry", message: "nearExpiry '\(text.prefix(64))' must be an ISO-8601 duration from PT1M to P365D, such as P30D")
        }
        return seconds
    }

    /// Checks a webhook URL's form: an absolute `https` URL (or `http` when the subscription may
    /// reach a private network), with a host, without user name, password or fragment.
    public static func checkURL(_ url: String, allowPrivateNetwork: Bool) throws(DirectoryRuleViolation) {
        let shown = url.count <= 200 ? url : String(url.prefix(200)) + "…"
        guard url.utf8.count <= maximumURLLength, !url.containsControlCharacters, let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty
        else {
            throw DirectoryRuleViolation(field: "url", message: "url '\(shown)' must be an absolute https:// URL of at most \(maximumURLLength) bytes")
        }
        guard components.user == nil, components.password == nil, components.fragment == nil else {
            throw DirectoryRuleViolation(field: "url", message: "url '\(shown)' must not carry a user name, password or #fragment; the body's signature authenticates Sigil")
        }
        guard scheme == "https" || (scheme == "http" && allowPrivateNetwork) else {
            throw DirectoryRuleViolation(
                field: "url",
                message: "url '\(shown)' must be https://; plain http:// is allowed only for a receiver on a private network (allowPrivateNetwork)")
        }
    }

    /// The signature of one delivery: HMAC-SHA256 with the subscription's key over
    /// `TIMESTAMP.BODY` (the decimal Unix time, a full stop, then the exact body bytes), as the
    /// header's value `t=TIMESTAMP,sha256=HEX`. The timestamp inside the signed text lets a
    /// receiver refuse a replayed delivery.
    public static func signature(body: some Sequence<UInt8>, timestamp: Int64, key: String) -> String {
        var authenticator = HMAC<SHA256>(key: SymmetricKey(data: Data(key.utf8)))
        authenticator.update(data: Data("\(timestamp).".utf8))
        authenticator.update(data: Data(body))
        return "t=\(timestamp),sha256=\(Data(authenticator.finalize()).lowerHex)"
    }

    /// How long to wait after failed attempt number `attempt` (1 for the first): `base`
    /// doubled each time up to `maximum`, then between half and all of that (`jitter` in
    /// 0..<1), so receivers coming back from an outage are not hit by every sender at once.
    public static func retryDelay(afterAttempt attempt: Int, base: TimeInterval, maximum: TimeInterval, jitter: Double) -> TimeInterval {
        let exponential = min(maximum, base * pow(2, Double(min(max(attempt, 1), 40) - 1)))
        return exponential / 2 + exponential / 2 * min(max(jitter, 0), 1)
    }

    /// Whether an answer ends the delivery for good: 2xx delivered it; 400 and 413 refuse the
    /// event itself (it would never be accepted), as Event Grid treats them. Anything else is retried.
    public static func isFinal(status: Int) -> Bool { (200..<300).contains(status) || status == 400 || status == 413 }
}
