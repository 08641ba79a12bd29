import Foundation
import SigilCore

/// Tokens the agent has fetched, per identity and resource, and for the Unix socket per caller
/// (uid, gid, executable and its hash): each process image then has a sign-in of its own in
/// the server's log, saying which uid and executable holds the token.
///
/// A token is renewed ahead of expiry, once less than half its lifetime or five minutes remain
/// (whichever comes first), in the background while the cached one is served. At most one
/// fetch per key runs at a time; concurrent requests wait for it. While the server is
/// unreachable, unexpired tokens are still served and the health shows `degraded`.
public actor TokenCache {
    /// What a token is cached under.
    public struct Key: Hashable, Sendable {
        public var identity: String
        public var resource: String
        /// For a socket caller: its uid, gid, executable and hash; nil on the HTTP routes.
        public var caller: String?

        public init(identity: String, resource: String, caller: CallerProcess? = nil) {
            self.identity = identity
            self.resource = resource
            self.caller = caller.map { "\($0.uid)/\($0.gid)/\($0.sha256)/\($0.path)" }
        }
    }

    /// Fetches a token from the server for a key, on behalf of a socket caller or nil.
    public typealias Fetch = @Sendable (Key, CallerProcess?) async throws(AgentServerError) -> IssuedToken

    /// How long to wait after a failed background renewal before trying again.
    public static let retryDelay: TimeInterval = 10
    /// Tokens kept at most (socket callers each have their own): past this, expired ones go
    /// first, then the cache starts over, so local callers cannot grow the agent without bound.
    public static let maximumTokens = 10_000

    private let fetch: Fetch
    private let health: AgentHealth
    private let clock: @Sendable () -> Date
    private var tokens: [Key: IssuedToken] = [:]
    private var fetches: [Key: Task<IssuedToken, any Error>] = [:]
    private var retryNotBefore: [Key: Date] = [:]

    public init(health: AgentHealth, clock: @escaping @Sendable () -> Date = Date.init, fetch: @escaping Fetch) {
        self.fetch = fetch
        self.health = health
        self.clock = clock
    }

    /// The moment a token should be renewed: when less than half its lifetime or five minutes
    /// remain, whichever comes first.
    public static func renewalTime(of token: IssuedToken) -> Date {
        let lifetime = token.expiresOn.timeIntervalSince(token.issuedAt)
        return token.expiresOn.addingTimeInterval(-max(lifetime / 2, 300))
    }

    /// A token for `key`: the cached one while it is unexpired (renewing it in the background
    /// when due), else a fresh one. Throws the server's refusal, or `unreachable` when the server
    /// cannot be reached and nothing usable is cached.
    public func token(for key: Key, caller: CallerProcess?) async throws(AgentServerError) -> IssuedToken {
        let now = clock()
        if let cached = tokens[key], cached.expiresOn > now {
            if now >= Self.renewalTime(of: cached), now >= retryNotBefore[key] ?? .distantPast {
                _ = startFetch(key, caller)
            }
            return cached
        }
        do {
            return try await startFetch(key, caller).value
        } catch let error as AgentServerError {
            throw error
        } catch {
            throw .unreachable(String(describing: error))
        }
    }

    /// The number of cached tokens, expired or not.
    public var count: Int { tokens.count }

    private func startFetch(_ key: Key, _ caller: CallerProcess?) -> Task<IssuedToken, any Error> {
        if let running = fetches[key] { return running }
        let task = Task { try await self.fetchAndStore(key, caller) }
        fetches[key] = task
        return task
    }

    private func fetchAndStore(_ key: Key, _ caller: CallerProcess?) async throws(AgentServerError) -> IssuedToken {
        defer { fetches[key] = nil }
        do throws(AgentServerError) {
            let token = try await fetch(key, caller)
            health.record(nil)
            if tokens.count >= Self.maximumTokens {
                let now = clock()
                tokens = tokens.filter { $0.value.expiresOn > now }
                if tokens.count >= Self.maximumTokens { tokens = [:] }
            }
            tokens[key] = token
            retryNotBefore[key] = nil
            return token
        } catch {
            health.record(error)
            switch error {
            case .unreachable: retryNotBefore[key] = clock().addingTimeInterval(Self.retryDelay)
            // The server refused this identity or resource: the cached token no longer stands.
            case .refused: tokens[key] = nil
            }
            throw error
        }
    }
}
