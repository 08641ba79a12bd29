import Foundation

/// A machine enrolled through the agent. Its key pair is generated on the host and never leaves
/// it; the public half is a key credential of the host's system-assigned identity.
public struct EnrolledHost: Sendable, Equatable {
    public var id: String
    public var tenantId: String
    public var name: String
    /// The object id of the host's system-assigned identity.
    public var systemIdentityId: String
    public var createdAt: Date
    /// When the agent enrolled with the join token; nil until then.
    public var enrolledAt: Date?
    public var joinTokenExpiresAt: Date?
    /// The host name the agent reported when it enrolled (informational).
    public var reportedHostname: String?

    public init(
        id: String, tenantId: String, name: String, systemIdentityId: String, createdAt: Date, enrolledAt: Date?,
        joinTokenExpiresAt: Date?, reportedHostname: String?
    ) {
        self.id = id
        self.tenantId = tenantId
        self.name = name
        self.systemIdentityId = systemIdentityId
        self.createdAt = createdAt
        self.enrolledAt = enrolledAt
        self.joinTokenExpiresAt = joinTokenExpiresAt
        self.reportedHostname = reportedHostname
    }
}

/// Rules for hosts and managed identities, wherever they are created.
public enum ManagedIdentityRules {
    public static let defaultJoinTokenLifetime: TimeInterval = 600
    /// A join token may be valid for at most a day: it is a bearer secret until it is used.
    public static let maximumJoinTokenLifetime: TimeInterval = 86_400
    /// Agent keys rotate once a day; a replaced key keeps working this long, so requests signed
    /// just before the rotation still succeed.
    public static let keyRotationInterval: TimeInterval = 86_400
    public static let replacedKeyGrace: TimeInterval = 600

    /// Host names: 1–63 characters of letters, digits, '-', '_' and '.', starting with a letter or digit.
    public static func checkHostName(_ name: String) throws(DirectoryRuleViolation) {
        let bytes = Array(name.utf8)
        let allowed = { (byte: UInt8) in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: ".")
        }
        guard (1...63).contains(bytes.count), bytes.allSatisfy(allowed), allowed(bytes[0]), bytes[0] != UInt8(ascii: "-"),
            bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "_"), UUID(uuidString: name) == nil
        else {
            throw DirectoryRuleViolation(
                field: "name", message: "host name '\(OAuthError.quoted(name))' must be 1–63 characters of letters, digits, '-', '_' and '.', starting with a letter or digit (and not a UUID)")
        }
    }

    /// The display name of a host's system-assigned identity.
    public static func systemIdentityName(host: String) -> String { "host:" + host }

    /// The resource id a managed identity is selected by (`msi_res_id`, `mi_res_id`), in the
    /// shape Azure gives managed identities.
    public static func resourceId(tenantId: String, identity: AppRegistration) -> String {
        switch identity.kind {
        case .systemAssignedIdentity:
            "/tenants/\(tenantId)/hosts/\(identity.displayName.dropFirst("host:".count))"
        default:
            "/tenants/\(tenantId)/userAssignedIdentities/\(identity.displayName)"
        }
    }

    /// A join token's lifetime, from an ISO-8601 duration.
    public static func joinTokenLifetime(_ text: String) throws(DirectoryRuleViolation) -> TimeInterval {
        guard let seconds = ISO8601Duration.seconds(text), seconds >= 1, seconds <= maximumJoinTokenLifetime else {
            throw DirectoryRuleViolation(field: "joinTokenLifetime", message: "the join token lifetime must be an ISO-8601 duration from PT1S to P1D, such as PT10M, not '\(OAuthError.quoted(text))'")
        }
        return seconds
    }
}
