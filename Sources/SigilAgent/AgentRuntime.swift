import Foundation
import Logging
import SigilCore
import Synchronization

/// The enrolled agent at run time: its registration and key, the host configuration it holds
/// (refreshed from the server, saved for restarts), the token cache and the health.
public final class AgentRuntime: Sendable {
    public let state: AgentState
    public let hostKey: HostKey
    public let health: AgentHealth
    public let cache: TokenCache
    let client: ServerClient
    let logger: Logger
    private let registrationBox: Locked<AgentRegistration>
    private let configurationBox: Locked<HostConfiguration>
    private let lastStaleRefresh = Mutex<Date?>(nil)

    /// An unknown selector or unmatched caller refreshes the configuration at most this often.
    public static let staleRefreshInterval: TimeInterval = 10

    /// Opens the enrolled state in `state`: finishes a key rotation a crash interrupted, and
    /// starts from the saved configuration (or from the registration alone).
    public init(state: AgentState, logger: Logger) throws {
        var registration = try state.readRegistration()
        if let pending = try? SigningKey(pem: String(contentsOfFile: state.pendingKeyPath, encoding: .utf8)) {
            if pending.publicKey.thumbprint == registration.keyThumbprint {
                guard rename(state.pendingKeyPath, state.keyPath) == 0 else { throw AgentStateError("cannot finish the key rotation in \(state.folder)") }
            } else {
                // Never named by agent.json: the rotation did not complete; rotate again soon.
                unlink(state.pendingKeyPath)
                registration.keyCreatedAt = .distantPast
            }
        }
        let key = try state.readKey()
        guard key.publicKey.thumbprint == registration.keyThumbprint else {
            throw AgentStateError("\(state.keyPath) is not the key \(state.registrationPath) names; enroll again")
        }
        self.state = state
        self.logger = logger
        hostKey = HostKey(key: key, kid: registration.kid)
        health = AgentHealth()
        client = try ServerClient(server: registration.server, caFile: registration.caFile)
        registrationBox = Locked(registration)
        configurationBox = Locked(state.readConfiguration() ?? registration.minimalConfiguration)
        let (client, hostKey, configurationBox) = (client, hostKey, configurationBox)
        cache = TokenCache(health: health) { key, caller async throws(AgentServerError) in
            try await client.token(
                identity: key.identity, resource: key.resource, caller: caller,
                tokenEndpoint: configurationBox.value.tokenEndpoint, hostKey: hostKey)
        }
    }

    public func shutdown() async { await client.shutdown() }

    public var registration: AgentRegistration { registrationBox.value }
    public var configuration: HostConfiguration { configurationBox.value }

    /// Fetches the configuration and saves it for the next start.
    public func refreshConfiguration() async throws(AgentServerError) {
        let systemAppId = registration.systemIdentity.appId
        do throws(AgentServerError) {
            let fresh = try await client.configuration(hostKey: hostKey, systemAppId: systemAppId)
            health.record(nil)
            // Saved before it is used, so whoever sees the new configuration finds it on disk too.
            do {
                try state.writeConfiguration(fresh)
            } catch {
                logger.warning("cannot save the host configuration", metadata: ["error": "\(error)"])
            }
            configurationBox.value = fresh
        } catch {
            health.record(error)
            throw error
        }
    }

    /// Refreshes the configuration after a request it could not answer, at most once per
    /// `staleRefreshInterval`; returns whether it did.
    func refreshWhenStale(now: Date = Date()) async -> Bool {
        let allowed = lastStaleRefresh.withLock { last in
            guard last.map({ now.timeIntervalSince($0) >= Self.staleRefreshInterval }) ?? true else { return false }
            last = now
            return true
        }
        guard allowed else { return false }
        do {
            try await refreshConfiguration()
            return true
        } catch {
            logger.info("cannot refresh the host configuration", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// When the host key is due for rotation.
    public var nextKeyRotation: Date {
        registration.keyCreatedAt.addingTimeInterval(TimeInterval(configuration.keyRotationSeconds))
    }

    /// Replaces the host key: the new key is saved aside, registered with the server under the
    /// old one, named in `agent.json`, then moved into place. A crash at any step leaves a key
    /// the server accepts (the old one stays valid ten minutes after the new one is registered).
    public func rotateKey(now: Date = Date()) async throws {
        let (key, proposedKid) = HostKey.generate()
        try state.writeKey(key, to: state.pendingKeyPath)
        let kid: String
        do {
            kid = try await client.registerKey(key, kid: proposedKid, hostKey: hostKey, systemAppId: registration.systemIdentity.appId)
            health.record(nil)
        } catch {
            health.record(error)
            unlink(state.pendingKeyPath)
            throw error
        }
        var registration = self.registration
        registration.kid = kid
        registration.keyThumbprint = key.publicKey.thumbprint
        registration.keyCreatedAt = now
        try state.adoptPendingKey(registration)
        registrationBox.value = registration
        hostKey.replace(with: key, kid: kid)
        logger.info("host key rotated", metadata: ["kid": "\(kid)"])
    }
}

/// A value shared between tasks, read and replaced whole under a lock.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    var value: Value {
        get { mutex.withLock { $0 } }
        set { mutex.withLock { $0 = newValue } }
    }
}
