import Foundation

/// A managed identity as a host sees it: enough to match a client's selector and to name it in
/// answers (`client_id` is the appId; `object_id` and `principal_id` are the objectId).
public struct AssignedIdentity: Sendable, Equatable, Codable {
    public var appId: String
    public var objectId: String
    public var displayName: String
    /// `/tenants/TID/userAssignedIdentities/NAME` (or the host's own path for the system identity).
    public var resourceId: String

    public init(appId: String, objectId: String, displayName: String, resourceId: String) {
        self.appId = appId
        self.objectId = objectId
        self.displayName = displayName
        self.resourceId = resourceId
    }

    /// Reads `{"appId","objectId","displayName","resourceId"}`; `displayName` may be absent.
    public init(json: JSONValue?) throws(HostConfigurationError) {
        guard let object = json?.objectValue else { throw HostConfigurationError("an identity is not a JSON object") }
        guard let appId = object["appId"]?.stringValue, !appId.isEmpty else { throw HostConfigurationError("an identity has no appId") }
        guard let objectId = object["objectId"]?.stringValue, let resourceId = object["resourceId"]?.stringValue else {
            throw HostConfigurationError("identity \(appId) lacks objectId or resourceId")
        }
        self.init(appId: appId, objectId: objectId, displayName: object["displayName"]?.stringValue ?? "", resourceId: resourceId)
    }

    /// The JSON form the agent API uses.
    public var json: JSONValue {
        ["appId": .string(appId), "objectId": .string(objectId), "displayName": .string(displayName), "resourceId": .string(resourceId)]
    }
}

/// The server's answer to a host's `GET /agent/v1/config`: who the host is, which identities it
/// may hand out, and the rules that choose one for a Unix-socket caller.
public struct HostConfiguration: Sendable, Equatable {
    public var hostId: String
    public var hostName: String
    public var tenantId: String
    public var tokenEndpoint: String
    public var systemAssignedIdentity: AssignedIdentity
    public var userAssignedIdentities: [AssignedIdentity]
    public var rules: [HostRule]
    /// How often the host rotates its key, in seconds.
    public var keyRotationSeconds: Int

    /// The rotation interval when the server names none: a day.
    public static let defaultKeyRotationSeconds = 86_400

    public init(
        hostId: String, hostName: String, tenantId: String, tokenEndpoint: String, systemAssignedIdentity: AssignedIdentity,
        userAssignedIdentities: [AssignedIdentity], rules: [HostRule], keyRotationSeconds: Int = defaultKeyRotationSeconds
    ) {
        self.hostId = hostId
        self.hostName = hostName
        self.tenantId = tenantId
        self.tokenEndpoint = tokenEndpoint
        self.systemAssignedIdentity = systemAssignedIdentity
        self.userAssignedIdentities = userAssignedIdentities
        self.rules = rules
        self.keyRotationSeconds = keyRotationSeconds
    }

    /// Reads the config document; a rule whose selector could never match is refused, not skipped.
    public init(json: JSONValue) throws(HostConfigurationError) {
        guard let object = json.objectValue else { throw HostConfigurationError("the host configuration is not a JSON object") }
        func text(_ name: String) throws(HostConfigurationError) -> String {
            guard let value = object[name]?.stringValue, !value.isEmpty else { throw HostConfigurationError("the host configuration has no \(name)") }
            return value
        }
        var users: [AssignedIdentity] = []
        for entry in object["userAssignedIdentities"]?.arrayValue ?? [] { users.append(try AssignedIdentity(json: entry)) }
        var rules: [HostRule] = []
        for entry in object["rules"]?.arrayValue ?? [] { rules.append(try Self.rule(entry)) }
        let rotation = object["keyRotationSeconds"]?.integerValue.map(Int.init) ?? Self.defaultKeyRotationSeconds
        guard rotation > 0 else { throw HostConfigurationError("keyRotationSeconds must be positive, not \(rotation)") }
        self.init(
            hostId: try text("hostId"), hostName: try text("hostName"), tenantId: try text("tenantId"), tokenEndpoint: try text("tokenEndpoint"),
            systemAssignedIdentity: try AssignedIdentity(json: object["systemAssignedIdentity"]), userAssignedIdentities: users, rules: rules,
            keyRotationSeconds: rotation)
    }

    private static func rule(_ json: JSONValue) throws(HostConfigurationError) -> HostRule {
        guard let object = json.objectValue, let id = object["id"]?.stringValue, let identity = object["identity"]?.stringValue else {
            throw HostConfigurationError("a rule lacks id or identity")
        }
        do {
            return try HostRule(id: id, identityAppId: identity, members: object)
        } catch {
            throw HostConfigurationError("rule \(id): \(error.message)")
        }
    }

    /// The document as the server sends it, so a saved copy reads back the same.
    public var json: JSONValue {
        let rules: [JSONValue] = rules.map { rule in
            var object = rule.selectorMembers
            object["id"] = .string(rule.id)
            object["identity"] = .string(rule.identityAppId)
            return .object(object)
        }
        return [
            "hostId": .string(hostId), "hostName": .string(hostName), "tenantId": .string(tenantId), "tokenEndpoint": .string(tokenEndpoint),
            "systemAssignedIdentity": systemAssignedIdentity.json, "userAssignedIdentities": .array(userAssignedIdentities.map(\.json)),
            "rules": .array(rules), "keyRotationSeconds": .integer(Int64(keyRotationSeconds)),
        ]
    }

    /// Every identity the host may hand out: the system identity first.
    public var identities: [AssignedIdentity] { [systemAssignedIdentity] + userAssignedIdentities }
}

/// Why a host configuration document was refused.
public struct HostConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
