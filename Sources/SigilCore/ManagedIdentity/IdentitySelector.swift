/// How a workload names the managed identity it wants from the agent: by appId (`client_id`),
/// by object (principal) id, or by resource id. No selector means the host's system identity.
public enum IdentitySelector: Sendable, Equatable {
    case clientId(String)
    case objectId(String)
    case resourceId(String)

    /// Every selector parameter any endpoint knows, and what it selects by. IMDS takes
    /// `client_id`, `object_id`, `msi_res_id`; App Service `client_id`, `object_id`,
    /// `principal_id`, `mi_res_id`.
    public static let parameters: [(name: String, make: @Sendable (String) -> IdentitySelector)] = [
        ("client_id", IdentitySelector.clientId), ("object_id", IdentitySelector.objectId), ("principal_id", IdentitySelector.objectId),
        ("msi_res_id", IdentitySelector.resourceId), ("mi_res_id", IdentitySelector.resourceId),
    ]

    /// The selector among `query`, or nil when there is none. A selector parameter the endpoint
    /// does not take is refused rather than ignored: ignoring it would hand out the system identity
    /// to a client that asked for another one. So are two selectors at once.
    public static func parse(_ query: [String: String], accepted: [String]) throws(IdentitySelectionError) -> IdentitySelector? {
        let given = parameters.filter { query[$0.name] != nil }
        if let foreign = given.first(where: { !accepted.contains($0.name) }) {
            throw .init(.malformed, "\(foreign.name) is not a selector here; this endpoint selects an identity by \(accepted.joined(separator: ", "))")
        }
        guard given.count <= 1 else {
            throw .init(.malformed, "give at most one identity selector, not \(given.map(\.name).joined(separator: " and "))")
        }
        return given.first.map { $0.make(query[$0.name]!) }
    }

    /// Whether this selector names `identity`. Ids compare without regard to case, as Azure's do.
    public func matches(_ identity: AssignedIdentity) -> Bool {
        switch self {
        case .clientId(let id): id.lowercased() == identity.appId.lowercased()
        case .objectId(let id): id.lowercased() == identity.objectId.lowercased()
        case .resourceId(let id): id.lowercased() == identity.resourceId.lowercased()
        }
    }

    /// "client_id 'x'", for refusals.
    public var description: String {
        switch self {
        case .clientId(let id): "client_id '\(id)'"
        case .objectId(let id): "object id '\(id)'"
        case .resourceId(let id): "resource id '\(id)'"
        }
    }
}

/// Why the agent refuses to choose an identity. Every one of these is a 400 for the client.
public struct IdentitySelectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Two selectors, or one this endpoint does not take.
        case malformed
        /// The selector names no identity assigned to this host. The host's copy of its
        /// configuration may be stale: worth a refresh before the final answer.
        case notAssigned
        /// A socket caller that matches no rule (also worth a refresh).
        case noMatchingRule
        /// A socket caller that matches rules for several identities and named none.
        case ambiguous
        /// An identity that rules hand to chosen processes: only the Unix socket, which can tell
        /// processes apart, may hand it out.
        case socketOnly
    }

    public let reason: Reason
    public let description: String

    public init(_ reason: Reason, _ description: String) {
        self.reason = reason
        self.description = description
    }

    /// Whether fresher configuration could change the answer.
    public var mayBeStale: Bool { reason == .notAssigned || reason == .noMatchingRule }
}

extension HostConfiguration {
    /// The identity for a loopback (IMDS or App Service) request: the system identity without a
    /// selector, else the assigned identity the selector names. A selector that names none is
    /// refused; it never falls back to the system identity. An identity that socket rules hand
    /// out is refused here: these endpoints cannot tell local processes apart, so they would give
    /// it to every process the rules leave out.
    public func identity(selectedBy selector: IdentitySelector?) throws(IdentitySelectionError) -> AssignedIdentity {
        let identity: AssignedIdentity
        if let selector {
            guard let named = identities.first(where: selector.matches) else {
                throw .init(.notAssigned, "no managed identity with \(selector.description) is assigned to host \(hostName)")
            }
            identity = named
        } else {
            identity = systemAssignedIdentity
        }
        guard !rules.contains(where: { $0.identityAppId == identity.appId }) else {
            throw .init(
                .socketOnly,
                "the managed identity \(identity.appId) is handed to chosen processes by rules on host \(hostName); ask the agent's Unix socket, which can tell processes apart")
        }
        return identity
    }

    /// The identity for a Unix-socket caller: one that a rule grants to the caller and that is
    /// assigned to this host. With several, the caller must name one (`client_id`).
    public func identity(for caller: CallerProcess, selectedBy selector: IdentitySelector?) throws(IdentitySelectionError) -> AssignedIdentity {
        let granted = HostRule.identities(for: caller, under: rules).compactMap { appId in identities.first { $0.appId == appId } }
        guard !granted.isEmpty else {
            throw .init(.noMatchingRule, "no rule on host \(hostName) matches the caller (\(caller.description))")
        }
        if let selector {
            guard let identity = granted.first(where: selector.matches) else {
                throw .init(.notAssigned, "no rule on host \(hostName) grants \(selector.description) to the caller (\(caller.description))")
            }
            return identity
        }
        guard granted.count == 1 else {
            let names = granted.map(\.appId).joined(separator: ", ")
            throw .init(.ambiguous, "the caller may hold several identities (\(names)); choose one with client_id")
        }
        return granted[0]
    }
}

extension CallerProcess: CustomStringConvertible {
    /// "uid 1000, gid 1000, pid 42, path /usr/bin/app, sha256 HEX": what a rule can select on.
    public var description: String { "uid \(uid), gid \(gid), pid \(pid), path \(path), sha256 \(sha256.isEmpty ? "not computed (no rule for this user looks at it)" : sha256)" }
}
