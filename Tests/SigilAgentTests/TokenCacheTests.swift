import Foundation
import SigilCore
import Synchronization
import Testing

@testable import SigilAgent

/// A token source for the cache with a clock the test moves: it counts fetches, answers with
/// numbered tokens, or fails the way the test says.
final class ScriptedServer: Sendable {
    private let state = Mutex<(now: Date, fetches: Int, failure: AgentServerError?)>((Date(timeIntervalSince1970: 1_700_000_000), 0, nil))
    let lifetime: TimeInterval

    init(lifetime: TimeInterval = 3600) { self.lifetime = lifetime }

    var now: Date { state.withLock { $0.now } }
    var fetches: Int { state.withLock { $0.fetches } }
    func advance(_ seconds: TimeInterval) { state.withLock { $0.now.addTimeInterval(seconds) } }
    func fail(with failure: AgentServerError?) { state.withLock { $0.failure = failure } }

    func cache(health: AgentHealth) -> TokenCache {
        TokenCache(health: health, clock: { self.now }) { _, _ async throws(AgentServerError) in
            try? await Task.sleep(for: .milliseconds(50))
            let (now, number, failure) = self.state.withLock { state in
                state.fetches += 1
                return (state.now, state.fetches, state.failure)
            }
            if let failure { throw failure }
            return IssuedToken(accessToken: "token-\(number)", issuedAt: now, expiresOn: now.addingTimeInterval(self.lifetime))
        }
    }
}

@Suite struct TokenCacheTests {
    let key = TokenCache.Key(identity: "app", resource: "api://orders")

    @Test func renewalIsDueAtHalfLifeOrFiveMinutesBeforeExpiryWhicheverComesFirst() {
        let start = Date(timeIntervalSince1970: 0)
        let hour = IssuedToken(accessToken: "", issuedAt: start, expiresOn: start.addingTimeInterval(3600))
        #expect(TokenCache.renewalTime(of: hour) == start.addingTimeInterval(1800))
        let sixMinutes = IssuedToken(accessToken: "", issuedAt: start, expiresOn: start.addingTimeInterval(360))
        #expect(TokenCache.renewalTime(of: sixMinutes) == start.addingTimeInterval(60))
    }

    @Test func cachedTokenIsServedThenRenewedInTheBackground() async throws {
        let server = ScriptedServer()
        let cache = server.cache(health: AgentHealth())
        let first = try await cache.token(for: key, caller: nil)
        #expect(first.accessToken == "token-1")
        server.advance(1000)
        #expect(try await cache.token(for: key, caller: nil).accessToken == "token-1")
        #expect(server.fetches == 1)
        server.advance(900)  // past half the lifetime: served from cache, renewed behind it
        #expect(try await cache.token(for: key, caller: nil).accessToken == "token-1")
        try await waitUntil { server.fetches == 2 }
        try await waitUntil { try await cache.token(for: key, caller: nil).accessToken == "token-2" }
        #expect(server.fetches == 2)
    }

    @Test func concurrentRequestsShareOneFetch() async throws {
        let server = ScriptedServer()
        let cache = server.cache(health: AgentHealth())
        let key = self.key
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 { group.addTask { try await cache.token(for: key, caller: nil).accessToken } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens == ["token-1"])
        #expect(server.fetches == 1)
    }

    @Test func unreachableServerServesUnexpiredTokensAndSaysDegraded() async throws {
        let server = ScriptedServer()
        let health = AgentHealth()
        let cache = server.cache(health: health)
        _ = try await cache.token(for: key, caller: nil)
        server.fail(with: .unreachable("connection refused"))
        server.advance(2000)
        #expect(try await cache.token(for: key, caller: nil).accessToken == "token-1")
        try await waitUntil { health.status.isDegraded }
        #expect(health.status.problem == "connection refused")
        #expect(health.json.objectValue?["status"] == "degraded")
        // Past expiry nothing is served: the caller gets the server's unreachability.
        server.advance(2000)
        await #expect(throws: AgentServerError.unreachable("connection refused")) { try await cache.token(for: key, caller: nil) }
        // The next success makes the agent healthy again.
        server.fail(with: nil)
        #expect(try await cache.token(for: key, caller: nil).accessToken.hasPrefix("token-"))
        #expect(!health.status.isDegraded)
        #expect(health.json.objectValue?["status"] == "ok")
    }

    @Test func aRefusedRenewalDropsTheCachedToken() async throws {
        let server = ScriptedServer()
        let cache = server.cache(health: AgentHealth())
        _ = try await cache.token(for: key, caller: nil)
        server.fail(with: .refused(status: 400, code: "invalid_client", description: "the identity is no longer assigned"))
        server.advance(2000)
        _ = try await cache.token(for: key, caller: nil)
        try await waitUntil { server.fetches == 2 }
        try await waitUntil { await cache.count == 0 }
        await #expect(throws: AgentServerError.self) { try await cache.token(for: key, caller: nil) }
    }
}

/// Polls `condition` every 10 ms for up to 5 seconds.
func waitUntil(_ condition: () async throws -> Bool) async throws {
    for _ in 0..<500 {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw TestFailure("condition not met within 5 seconds")
}
