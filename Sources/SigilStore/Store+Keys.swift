import Foundation
import SQLKit
import SigilCore

/// A token-signing key as stored: the private key sealed under the key-encryption key.
public struct StoredSigningKey: Sendable, Equatable {
    /// Slots as in SPIRE: `next` is published but does not sign yet, `active` signs, `retired`
    /// stays published until every token it signed has expired.
    public enum State: String, Sendable { case next, active, retired }

    public var kid: String
    public var algorithm: JWSAlgorithm
    public var state: State
    public var sealedPrivateKey: String
    public var publicJWK: String
    public var createdAt: Date
    public var activatedAt: Date?
    public var retiredAt: Date?

    public init(
        kid: String, algorithm: JWSAlgorithm, state: State, sealedPrivateKey: String, publicJWK: String,
        createdAt: Date, activatedAt: Date? = nil, retiredAt: Date? = nil
    ) {
        self.kid = kid
        self.algorithm = algorithm
        self.state = state
        self.sealedPrivateKey = sealedPrivateKey
        self.publicJWK = publicJWK
        self.createdAt = createdAt
        self.activatedAt = activatedAt
        self.retiredAt = retiredAt
    }
}

extension Store {
    public func signingKeys() async throws -> [StoredSigningKey] {
        try await read { database in
            try await database.raw("SELECT * FROM signing_keys ORDER BY created_at").all().map { row in
                StoredSigningKey(
                    kid: try row.string("kid"), algorithm: JWSAlgorithm(rawValue: try row.string("alg")) ?? .es256,
                    state: StoredSigningKey.State(rawValue: try row.string("state")) ?? .retired,
                    sealedPrivateKey: try row.string("sealed_private_key"), publicJWK: try row.string("public_jwk"),
                    createdAt: try row.date("created_at"), activatedAt: try row.optionalDate("activated_at"),
                    retiredAt: try row.optionalDate("retired_at"))
            }
        }
    }

    /// Rotates the keys of one algorithm atomically: the `next` key becomes `active`, the active
    /// one `retired`, `fresh` becomes the new `next`; retired keys older than `forgetBefore` are
    /// removed. When no key of the algorithm exists yet, `fresh` is inserted as active and
    /// `following` as next. `expectedActive` guards against two replicas rotating at once: the
    /// rotation happens only while the active key is still the one the caller saw.
    public func rotateSigningKeys(
        algorithm: JWSAlgorithm, expectedActive: String?, fresh: StoredSigningKey, following: StoredSigningKey?, forgetBefore: Date, now: Date
    ) async throws -> Bool {
        try await transaction(changesDirectory: false) { database in
            if dialect == .postgres {
                // READ COMMITTED would let two replicas both see "no active key"; take turns.
                try await database.raw("SELECT pg_advisory_xact_lock(7412)").run()
            }
            let alg = algorithm.rawValue
            let active = try await database.raw("SELECT kid FROM signing_keys WHERE alg = \(bind: alg) AND state = 'active'").first()
                .map { try $0.string("kid") }
            guard active == expectedActive else { return false }
            let nowMs = now.epochMilliseconds
            if active == nil {
                try await Self.insertSigningKey(fresh, state: .active, activatedAt: now, on: database)
                if let following { try await Self.insertSigningKey(following, state: .next, activatedAt: nil, on: database) }
            } else {
                try await database.raw("UPDATE signing_keys SET state = 'retired', retired_at = \(bind: nowMs) WHERE alg = \(bind: alg) AND state = 'active'").run()
                try await database.raw("UPDATE signing_keys SET state = 'active', activated_at = \(bind: nowMs) WHERE alg = \(bind: alg) AND state = 'next'").run()
                try await Self.insertSigningKey(fresh, state: .next, activatedAt: nil, on: database)
            }
            try await database.raw("""
                DELETE FROM signing_keys WHERE alg = \(bind: alg) AND state = 'retired' AND retired_at < \(bind: forgetBefore.epochMilliseconds)
                """).run()
            return true
        }
    }

    static func insertSigningKey(_ key: StoredSigningKey, state: StoredSigningKey.State, activatedAt: Date?, on database: any SQLDatabase) async throws {
        try await database.raw("""
            INSERT INTO signing_keys (kid, alg, state, sealed_private_key, public_jwk, created_at, activated_at, retired_at)
            VALUES (\(bind: key.kid), \(bind: key.algorithm.rawValue), \(bind: state.rawValue), \(bind: key.sealedPrivateKey),
                \(bind: key.publicJWK), \(bind: key.createdAt.epochMilliseconds), \(bind: activatedAt?.epochMilliseconds), NULL)
            """).run()
    }
}

extension Store {
    /// Re-seals every signing key's private half in one transaction (a key-encryption key
    /// rotation): `reseal` gets a kid and its sealed key and returns it sealed anew. Either every
    /// key is re-sealed or none is.
    public func resealSigningKeys(_ reseal: (_ kid: String, _ sealed: String) throws -> String) async throws -> Int {
        try await transaction(changesDirectory: false) { database in
            let rows = try await database.raw("SELECT kid, sealed_private_key FROM signing_keys").all()
            for row in rows {
                let kid = try row.string("kid")
                let resealed = try reseal(kid, try row.string("sealed_private_key"))
                try await database.raw("UPDATE signing_keys SET sealed_private_key = \(bind: resealed) WHERE kid = \(bind: kid)").run()
            }
            return rows.count
        }
    }
}
