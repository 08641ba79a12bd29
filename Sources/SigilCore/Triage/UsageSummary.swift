import Foundation

/// What a batch of successful sign-ins adds to the usage summaries the reports read (DESIGN §8):
/// per credential its first and last use and count, where it was used from (networks and user
/// agents), and per app and UTC day its secret and secretless sign-ins. Failed sign-ins are not
/// use. Summing the summaries of two batches gives the summary of both.
public struct UsageSummary: Sendable, Equatable {
    /// A credential as sign-ins name it: the app, the credential type and the credential id the
    /// log records (a secret's keyId, a certificate's thumbprint or a key's kid, a federated
    /// credential's id, a host key's kid).
    public struct Credential: Sendable, Hashable {
        public var appId: String
        public var type: CredentialType
        public var id: String

        public init(appId: String, type: CredentialType, id: String) {
            self.appId = appId
            self.type = type
            self.id = id
        }
    }

    public struct Use: Sendable, Equatable {
        public var tenantId: String
        public var first: Date
        public var last: Date
        public var signIns: Int
    }

    public enum SourceKind: String, Sendable, CaseIterable {
        case network, userAgent
    }

    public struct Source: Sendable, Hashable {
        public var credential: Credential
        public var kind: SourceKind
        public var value: String
    }

    public struct Sighting: Sendable, Equatable {
        public var last: Date
        public var signIns: Int
    }

    public struct AppDay: Sendable, Hashable {
        public var tenantId: String
        /// Midnight UTC of the day.
        public var day: Date
        public var appId: String
    }

    public struct DayCounts: Sendable, Equatable {
        public var secret = 0
        public var secretless = 0
    }

    /// At most this many networks, and as many user agents, are kept per credential: enough to
    /// see where it is used, bounded whatever the clients send.
    public static let maximumSourcesPerKind = 20
    /// User agents are kept to this many characters.
    public static let maximumUserAgentLength = 256

    public var credentials: [Credential: Use] = [:]
    public var sources: [Source: Sighting] = [:]
    public var days: [AppDay: DayCounts] = [:]

    public init(_ events: some Sequence<SignInEvent>) {
        for event in events where event.succeeded {
            guard let type = event.credentialType else { continue }
            let day = AppDay(tenantId: event.tenantId, day: Self.day(of: event.time), appId: event.appId)
            if type == .clientSecret { days[day, default: DayCounts()].secret += 1 } else { days[day, default: DayCounts()].secretless += 1 }
            guard let id = event.credentialId else { continue }
            let credential = Credential(appId: event.appId, type: type, id: id)
            credentials[credential] = credentials[credential].map {
                Use(tenantId: $0.tenantId, first: min($0.first, event.time), last: max($0.last, event.time), signIns: $0.signIns + 1)
            } ?? Use(tenantId: event.tenantId, first: event.time, last: event.time, signIns: 1)
            let seen: [(SourceKind, String?)] = [
                (.network, SignInNetwork.of(event.ipAddress)), (.userAgent, event.userAgent.map { String($0.prefix(Self.maximumUserAgentLength)) }),
            ]
            for case let (kind, value?) in seen where !value.isEmpty {
                let source = Source(credential: credential, kind: kind, value: value)
                sources[source] = sources[source].map { Sighting(last: max($0.last, event.time), signIns: $0.signIns + 1) }
                    ?? Sighting(last: event.time, signIns: 1)
            }
        }
    }

    /// Midnight UTC of the day `time` falls in.
    public static func day(of time: Date) -> Date {
        Date(timeIntervalSince1970: (time.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }
}
