import Foundation
import SigilCore
import SigilStore
import Synchronization

/// What the token endpoint reads on every request, kept in memory: tenants, clients with their
/// credentials (keys already parsed), resources and granted roles.
///
/// Every entry belongs to one directory generation. A request first asks the store for the
/// current generation (on PostgreSQL from its `NOTIFY` feed, with no query while that is live);
/// if any replica has committed a directory change since, the cache starts over. A removed secret
/// or a disabled app therefore stops working everywhere at once, while an unchanged directory
/// costs no further queries.
final class DirectoryCache: Sendable {
    struct Client: Sendable {
        let app: AppRegistration
        let passwords: [PasswordCredential]
        let keys: [KeyCredential]
        let federatedCredentials: [FederatedIdentityCredential]
        /// For a managed identity: the keys of the hosts that may vouch for it.
        let hostKeys: [HostKey]
    }

    /// A tenant's Conditional Access policies, compiled, with the risk of each risky service principal.
    struct ConditionalAccess: Sendable {
        let policies: ConditionalAccessPolicySet
        let risks: [String: RiskLevel]
    }

    private struct State {
        var generation: Int64 = -1
        var conditionalAccess: [String: ConditionalAccess] = [:]
        var clients: [String: Client] = [:]
        var resources: [String: AppRegistration] = [:]
        var roles: [String: [String]] = [:]
        var verificationKeys: [String: VerificationKey] = [:]
        var trustedIssuers: [String: [TrustedIssuer]] = [:]
        /// Tenants are never changed once created; they outlive generations.
        var tenants: [String: Tenant] = [:]
    }

    /// Entries kept per generation before the cache starts over (bounds memory).
    static let maximumEntries = 50_000

    let store: Store
    private let state = Mutex(State())

    init(store: Store) { self.store = store }

    /// The current generation, read from the store; pass it to the lookups of one request.
    func currentGeneration() async throws -> Int64 {
        let generation = try await store.directoryGeneration()
        state.withLock { state in
            // Generations only grow; a request that read an older one late must not roll the
            // cache back (its lookups then simply miss).
            if generation > state.generation {
                state = State(generation: generation, tenants: state.tenants)
            }
        }
        return generation
    }

    func tenant(id: String) async throws -> Tenant? {
        if let tenant = state.withLock({ $0.tenants[id] }) { return tenant }
        guard let tenant = try await store.tenant(id: id) else { return nil }
        state.withLock { $0.tenants[id] = tenant }
        return tenant
    }

    func client(tenantId: String, appId: String, generation: Int64) async throws -> Client? {
        try await cached(\.clients, key: tenantId + "/" + appId, generation: generation) {
            guard let app = try await store.application(tenantId: tenantId, appId: appId) else { return nil }
            return Client(
                app: app, passwords: try await store.passwordCredentials(applicationId: app.objectId),
                keys: app.kind.isManagedIdentity ? [] : try await store.keyCredentials(applicationId: app.objectId),
                federatedCredentials: app.kind == .systemAssignedIdentity ? [] : try await store.federatedCredentials(applicationId: app.objectId),
                hostKeys: app.kind.isManagedIdentity ? try await store.hostKeys(identityId: app.objectId) : [])
        }
    }

    /// The tenant's trust in `issuer`, if an administrator gave it.
    func trustedIssuer(tenantId: String, issuer: String, generation: Int64) async throws -> TrustedIssuer? {
        try await cached(\.trustedIssuers, key: tenantId, generation: generation) {
            try await store.trustedIssuers(tenantId: tenantId)
        }?.first { $0.issuer == issuer }
    }

    func resource(tenantId: String, identifier: String, generation: Int64) async throws -> AppRegistration? {
        try await cached(\.resources, key: tenantId + "/" + identifier, generation: generation) {
            try await store.resource(tenantId: tenantId, identifier: identifier)
        }
    }

    func grantedRoles(principalAppId: String, resourceAppId: String, generation: Int64) async throws -> [String] {
        try await cached(\.roles, key: principalAppId + "/" + resourceAppId, generation: generation) {
            try await store.grantedRoles(principalAppId: principalAppId, resourceAppId: resourceAppId)
        } ?? []
    }

    /// The tenant's policies and service principal risks of this generation. Risk detections and
    /// their dismissal change the directory generation too, so a new risk applies at once.
    func conditionalAccess(tenantId: String, generation: Int64) async throws -> ConditionalAccess {
        try await cached(\.conditionalAccess, key: tenantId, generation: generation) {
            ConditionalAccess(
                policies: ConditionalAccessPolicySet(
                    policies: try await store.conditionalAccessPolicies(tenantId: tenantId), locations: try await store.namedLocations(tenantId: tenantId)),
                risks: try await store.servicePrincipalRisks(tenantId: tenantId).mapValues(\.level))
        }!
    }

    /// The names of the admin roles `principal` holds, at any scope: the `roles` claim of its
    /// admin API token, which it gets only while it holds one (what each role permits is checked
    /// per admin call, not taken from the token).
    func adminRoles(principal: AppRegistration, generation: Int64) async throws -> [String] {
        try await cached(\.roles, key: "admin/" + principal.objectId, generation: generation) {
            Set(try await store.heldRoles(tenantId: principal.tenantId, principalObjectId: principal.objectId).map(\.role.displayName)).sorted()
        } ?? []
    }

    /// The parsed key of a credential (parsing certificates on every request is the costly part).
    func verificationKey(_ credential: KeyCredential) throws -> VerificationKey {
        if let key = state.withLock({ $0.verificationKeys[credential.keyId] }) { return key }
        let key = try credential.verificationKey()
        state.withLock { $0.verificationKeys[credential.keyId] = key }
        return key
    }

    /// Looks `key` up in one of the maps; on a miss loads it and keeps it if the generation has
    /// not moved meanwhile. Absent objects are not remembered, so a new app is found at once.
    private func cached<Value: Sendable>(
        _ map: WritableKeyPath<State, [String: Value]>, key: String, generation: Int64, load: () async throws -> Value?
    ) async throws -> Value? {
        if let hit = state.withLock({ $0.generation == generation ? $0[keyPath: map][key] : nil }) { return hit }
        guard let value = try await load() else { return nil }
        state.withLock { state in
            guard state.generation == generation else { return }
            if state[keyPath: map].count >= Self.maximumEntries { state[keyPath: map] = [:] }
            state[keyPath: map][key] = value
        }
        return value
    }
}
