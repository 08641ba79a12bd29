import Foundation
import Logging
import ServiceLifecycle
import SigilCore
import SigilStore
import Synchronization

/// Sigil's token-signing keys, cached from the store. One ring per algorithm (ES256, RS256); each
/// has an active key that signs, a next key that is already published in the JWKS, and retired
/// keys that stay published until every token they signed has expired.
///
/// Replicas share keys through the store: each refreshes its cache every refresh interval, so a
/// key that becomes active on one replica has been published by all of them for a whole
/// rotation period before.
public actor SigningKeyRing {
    struct Loaded: Sendable {
        let stored: StoredSigningKey
        let publicKey: VerificationKey
        let publicJWK: [String: JSONValue]
    }

    let store: Store
    let kek: KeyEncryptionKeys
    let logger: Logger
    public let rotationInterval: TimeInterval
    /// How long a `next` key must have been published before it may sign: the JWKS cache
    /// lifetime resource servers are told, plus how late a replica may be to publish it.
    public let promotionDelay: TimeInterval
    /// What requests read: behind a lock rather than the actor, so signing a token does not
    /// hop to the actor's executor.
    private struct Published {
        var keys: [Loaded] = []
        var signers: [JWSAlgorithm: (kid: String, key: SigningKey)] = [:]
    }
    private let current = Mutex(Published())

    public init(store: Store, kek: KeyEncryptionKeys, rotationInterval: TimeInterval, promotionDelay: TimeInterval, logger: Logger) {
        self.store = store
        self.kek = kek
        self.rotationInterval = rotationInterval
        self.promotionDelay = promotionDelay
        self.logger = logger
    }

    /// The algorithms the server signs tokens with, each with its own keys.
    public static let algorithms: [JWSAlgorithm] = [.es256, .rs256]

    /// Creates the first keys of each algorithm if the store has none, then loads the cache.
    public func start() async throws {
        try await refresh()
        for algorithm in Self.algorithms where current.withLock({ $0.signers[algorithm] }) == nil {
            _ = try await store.rotateSigningKeys(
                algorithm: algorithm, expectedActive: nil, fresh: try makeKey(algorithm), following: try makeKey(algorithm),
                forgetBefore: .distantPast, now: Date())
        }
        try await refresh()
    }

    /// Reloads keys from the store, unsealing the active private keys.
    public func refresh() async throws {
        var loaded: [Loaded] = []
        var signers: [JWSAlgorithm: (kid: String, key: SigningKey)] = [:]
        for stored in try await store.signingKeys() {
            let jwk = try JSONParser.parseObject(Array(stored.publicJWK.utf8))
            loaded.append(Loaded(stored: stored, publicKey: try VerificationKey(jwk: jwk), publicJWK: jwk))
            if stored.state == .active {
                let pem = try kek.ring.open(stored.sealedPrivateKey, context: stored.kid)
                signers[stored.algorithm] = (stored.kid, try SigningKey(pem: String(decoding: pem, as: UTF8.self)))
            }
        }
        current.withLock { $0 = Published(keys: loaded, signers: signers) }
    }

    /// The key that signs tokens of `algorithm` now.
    public nonisolated func signer(for algorithm: JWSAlgorithm) throws -> (kid: String, key: SigningKey) {
        guard let signer = current.withLock({ $0.signers[algorithm] }) else { throw KeyRingError.noActiveKey(algorithm) }
        return signer
    }

    /// A published key by `kid` (active, next or retired), for checking Sigil's own tokens.
    public nonisolated func verificationKey(kid: String) -> VerificationKey? {
        current.withLock { $0.keys.first { $0.stored.kid == kid }?.publicKey }
    }

    /// Every published key, as JWKS entries.
    public nonisolated func jwks() -> [JSONValue] {
        current.withLock { $0.keys.map { .object($0.publicJWK) } }
    }

    /// The stored keys without their private halves, for the admin API.
    public nonisolated func published() -> [StoredSigningKey] { current.withLock { $0.keys.map(\.stored) } }

    /// Rotates `algorithm` now: next → active, active → retired, a fresh next key. Refused while
    /// the next key is younger than `promotionDelay`: a resource server holding a JWKS fetched
    /// before it was published would reject every token it signs.
    @discardableResult
    public func rotate(_ algorithm: JWSAlgorithm, now: Date = Date()) async throws -> Bool {
        try await refresh()
        if let blocker = promotionBlocker(algorithm, now: now) { throw blocker }
        let rotated = try await store.rotateSigningKeys(
            algorithm: algorithm, expectedActive: current.withLock { $0.signers[algorithm]?.kid }, fresh: try makeKey(algorithm), following: nil,
            forgetBefore: now.addingTimeInterval(-(AccessToken.lifetime + 600)), now: now)
        try await refresh()
        if rotated { logger.info("rotated \(algorithm.rawValue) signing key; now signing with \((try? signer(for: algorithm))?.kid ?? "?")") }
        return rotated
    }

    /// Why `algorithm` cannot rotate at `now`, if it cannot: its next key is too new.
    public nonisolated func promotionBlocker(_ algorithm: JWSAlgorithm, now: Date = Date()) -> KeyRingError? {
        guard let next = current.withLock({ $0.keys.first { $0.stored.algorithm == algorithm && $0.stored.state == .next } }) else { return nil }
        let ready = next.stored.createdAt.addingTimeInterval(promotionDelay)
        guard ready > now else { return nil }
        return .nextKeyTooNew(algorithm, publishedFor: now.timeIntervalSince(next.stored.createdAt), readyAt: ready, delay: promotionDelay)
    }

    /// Rotates every algorithm whose active key is older than the rotation interval.
    func rotateDueKeys(now: Date = Date()) async throws {
        for key in current.withLock({ $0.keys }) where key.stored.state == .active {
            if let activated = key.stored.activatedAt, now.timeIntervalSince(activated) >= rotationInterval {
                do {
                    try await rotate(key.stored.algorithm, now: now)
                } catch KeyRingError.nextKeyTooNew {
                    // Due, but its successor is too new to sign: the next pass rotates.
                }
            }
        }
    }

    private func makeKey(_ algorithm: JWSAlgorithm) throws -> StoredSigningKey {
        let key = try SigningKey.generate(for: algorithm)
        let kid = key.publicKey.thumbprint
        var jwk = key.publicKey.jwkMembers
        jwk["kid"] = .string(kid)
        jwk["use"] = "sig"
        jwk["alg"] = .string(algorithm.rawValue)
        return StoredSigningKey(
            kid: kid, algorithm: algorithm, state: .next,
            sealedPrivateKey: try kek.ring.current.seal(Data(key.pemRepresentation.utf8), context: kid),
            publicJWK: JSONValue.object(jwk).serialized(), createdAt: Date())
    }
}

public enum KeyRingError: Error, CustomStringConvertible {
    case noActiveKey(JWSAlgorithm)
    case nextKeyTooNew(JWSAlgorithm, publishedFor: TimeInterval, readyAt: Date, delay: TimeInterval)
    public var description: String {
        switch self {
        case .noActiveKey(let algorithm): "no active \(algorithm.rawValue) signing key"
        case .nextKeyTooNew(let algorithm, let age, let ready, let delay):
            "The next \(algorithm.rawValue) key has been published for \(Int(age)) s; resource servers may cache the JWKS without it for up to "
                + "\(Int(delay)) s, so it may sign from \(ready.formatted(.iso8601)) (in \(Int(ready.timeIntervalSinceNow.rounded(.up))) s). Rotate again then."
        }
    }
}

/// The background job that keeps the key cache fresh and rotates keys when they are due.
struct KeyMaintenanceService: Service {
    let ring: SigningKeyRing
    let store: Store
    let refreshInterval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: refreshInterval) }
            } catch {
                return
            }
            do {
                try await ring.refresh()
                try await ring.rotateDueKeys()
            } catch {
                logger.error("key maintenance failed: \(error)")
            }
        }
    }
}
