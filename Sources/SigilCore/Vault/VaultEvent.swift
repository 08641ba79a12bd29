import Foundation

/// What Key Vault announces about a secret through Event Grid, and Sigil the same way.
public enum VaultEventType: String, Sendable, CaseIterable {
    /// A secret got a new version (its first one included).
    case secretNewVersionCreated = "Microsoft.KeyVault.SecretNewVersionCreated"
    /// The secret's current version expires within the subscription's lead time (30 days by default).
    case secretNearExpiry = "Microsoft.KeyVault.SecretNearExpiry"
    /// The secret's current version has expired.
    case secretExpired = "Microsoft.KeyVault.SecretExpired"
}

/// One event about one secret version, as it waits in the outbox: the facts only. The vault's URL
/// is the server's setting, so the Event Grid body is built from these facts when it is sent
/// (`eventGridEvent`), the same bytes on every attempt.
public struct VaultEvent: Sendable, Equatable {
    /// A UUID; receivers drop a redelivered event by it.
    public var id: String
    public var type: VaultEventType
    public var time: Date
    public var tenantId: String
    public var vaultName: String
    public var secretName: String
    public var version: String
    public var notBefore: Date?
    public var expires: Date?

    public init(
        id: String = RandomIdentifier.uuid(), type: VaultEventType, time: Date, tenantId: String, vaultName: String, secretName: String,
        version: String, notBefore: Date?, expires: Date?
    ) {
        self.id = id
        self.type = type
        self.time = time
        self.tenantId = tenantId
        self.vaultName = vaultName
        self.secretName = secretName
        self.version = version
        self.notBefore = notBefore
        self.expires = expires
    }

    /// The event in Event Grid's schema, as Azure Key Vault sends it. `vaultURL` is the vault's
    /// base URL (`https://NAME.VAULT_DOMAIN[:PORT]`), which `data.Id` starts with. `NBF` and
    /// `EXP` are seconds since the epoch, or null when the version has none.
    public func eventGridEvent(vaultURL: String) -> JSONValue {
        [
            "id": .string(id),
            "topic": .string(Self.topic(tenantId: tenantId, vaultName: vaultName)),
            "subject": .string(secretName),
            "eventType": .string(type.rawValue),
            "eventTime": .string(time.formatted(Self.timeFormat)),
            "data": [
                "Id": .string("\(vaultURL)/secrets/\(secretName)/\(version)"),
                "VaultName": .string(vaultName),
                "ObjectType": "Secret",
                "ObjectName": .string(secretName),
                "Version": .string(version),
                "NBF": notBefore.map { .integer(Int64($0.timeIntervalSince1970.rounded(.down))) } ?? .null,
                "EXP": expires.map { .integer(Int64($0.timeIntervalSince1970.rounded(.down))) } ?? .null,
            ],
            "dataVersion": "1",
            "metadataVersion": "1",
        ]
    }

    /// What a webhook receives: Event Grid posts an array of events, one here.
    public func body(vaultURL: String) -> String { JSONValue.array([eventGridEvent(vaultURL: vaultURL)]).serialized() }

    /// The event's source in the shape of an Azure resource id: Sigil has no subscriptions or
    /// resource groups, so the tenant takes the subscription's place and the group is `sigil`.
    public static func topic(tenantId: String, vaultName: String) -> String {
        "/subscriptions/\(tenantId)/resourceGroups/sigil/providers/Microsoft.KeyVault/vaults/\(vaultName)"
    }

    static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// How the event is kept in the outbox.
    public var stored: JSONValue {
        [
            "id": .string(id), "type": .string(type.rawValue), "time": .integer(Int64((time.timeIntervalSince1970 * 1000).rounded())),
            "tenantId": .string(tenantId), "vaultName": .string(vaultName), "secretName": .string(secretName), "version": .string(version),
            "nbf": notBefore.map { .integer(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? .null,
            "exp": expires.map { .integer(Int64(($0.timeIntervalSince1970 * 1000).rounded())) } ?? .null,
        ]
    }

    /// Reads what `stored` wrote; nil for anything else.
    public init?(stored: JSONValue) {
        func date(_ name: String) -> Date? { stored[member: name]?.integerValue.map { Date(timeIntervalSince1970: Double($0) / 1000) } }
        guard let id = stored[member: "id"]?.stringValue, let type = stored[member: "type"]?.stringValue.flatMap(VaultEventType.init(rawValue:)),
            let time = date("time"), let tenantId = stored[member: "tenantId"]?.stringValue, let vaultName = stored[member: "vaultName"]?.stringValue,
            let secretName = stored[member: "secretName"]?.stringValue, let version = stored[member: "version"]?.stringValue
        else { return nil }
        self.init(
            id: id, type: type, time: time, tenantId: tenantId, vaultName: vaultName, secretName: secretName, version: version, notBefore: date("nbf"),
            expires: date("exp"))
    }
}

extension JSONValue {
    /// A member of an object; nil for other values.
    fileprivate subscript(member name: String) -> JSONValue? { objectValue?[name] }
}
