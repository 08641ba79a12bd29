import Foundation

/// The restrictions of a policy in Graph's shape, `{"passwordCredentials": [...],
/// "keyCredentials": [...]}` (a `tenantAppManagementPolicy`'s `applicationRestrictions`, an
/// `appManagementPolicy`'s `restrictions`), read strictly and written back the same way. The
/// store keeps them in this shape too.
public enum AppManagementPolicyJSON {
    /// Most restrictions in one array (there are four kinds at most).
    static let maximumEntries = 10
    /// Most CA certificates one `trustedCertificateAuthority` restriction lists.
    public static let maximumAuthorities = 20

    public static func restrictions(_ restrictions: [CredentialRestriction]) -> JSONValue {
        var object: [String: JSONValue] = [:]
        for group in CredentialRestriction.Group.allCases {
            object[group.rawValue] = .array(restrictions.filter { $0.kind.group == group }.map(restriction))
        }
        return .object(object)
    }

    static func restriction(_ restriction: CredentialRestriction) -> JSONValue {
        var object: [String: JSONValue] = [
            "restrictionType": .string(restriction.kind.rawValue), "state": restriction.isEnabled ? "enabled" : "disabled",
            "maxLifetime": .optional(restriction.maxLifetime),
            "restrictForAppsCreatedAfterDateTime": .optional(restriction.restrictForAppsCreatedAfter?.formatted(.iso8601)),
        ]
        if restriction.kind == .trustedCertificateAuthority {
            object["trustedCertificateAuthorities"] = .array(restriction.trustedCertificateAuthorities.map(JSONValue.string))
        }
        return .object(object)
    }

    /// Reads restrictions from `value` (the body's `field`): each known, in its group, listed
    /// once, with a valid state, lifetime, date and CA list.
    public static func parse(_ value: JSONValue, field: String) throws(DirectoryRuleViolation) -> [CredentialRestriction] {
        guard let object = value.objectValue else {
            throw DirectoryRuleViolation(field: field, message: "\(field) must be an object with passwordCredentials and keyCredentials arrays")
        }
        let groups = CredentialRestriction.Group.allCases.map(\.rawValue)
        if let unknown = object.keys.sorted().first(where: { !groups.contains($0) }) {
            throw DirectoryRuleViolation(field: field, message: "\(field) has an unknown member '\(unknown)'; it takes passwordCredentials and keyCredentials")
        }
        var restrictions: [CredentialRestriction] = []
        for group in CredentialRestriction.Group.allCases {
            guard let member = object[group.rawValue], member != .null else { continue }
            let path = "\(field).\(group.rawValue)"
            guard let entries = member.arrayValue, entries.count <= maximumEntries else {
                throw DirectoryRuleViolation(field: path, message: "\(path) must be an array of at most \(maximumEntries) restrictions")
            }
            for entry in entries {
                let parsed = try restriction(entry, group: group, path: path)
                guard !restrictions.contains(where: { $0.kind == parsed.kind }) else {
                    throw DirectoryRuleViolation(field: path, message: "the restriction \(parsed.kind.rawValue) is listed twice; each restriction may appear once in a policy")
                }
                restrictions.append(parsed)
            }
        }
        return restrictions
    }

    static func restriction(_ entry: JSONValue, group: CredentialRestriction.Group, path: String) throws(DirectoryRuleViolation) -> CredentialRestriction {
        guard let object = entry.objectValue else { throw DirectoryRuleViolation(field: path, message: "each entry of \(path) must be an object") }
        let allowed = ["restrictionType", "state", "maxLifetime", "restrictForAppsCreatedAfterDateTime", "trustedCertificateAuthorities"]
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw DirectoryRuleViolation(field: path, message: "unknown field '\(unknown)' in \(path); allowed: \(allowed.joined(separator: ", "))")
        }
        let inGroup = CredentialRestriction.Kind.allCases.filter { $0.group == group }.map(\.rawValue).joined(separator: ", ")
        guard let name = object["restrictionType"]?.stringValue else {
            throw DirectoryRuleViolation(field: path, message: "each entry of \(path) needs a restrictionType: one of \(inGroup)")
        }
        guard let kind = CredentialRestriction.Kind(rawValue: name), kind.group == group else {
            let elsewhere = CredentialRestriction.Kind(rawValue: name).map { " (it belongs in \($0.group.rawValue))" } ?? ""
            throw DirectoryRuleViolation(
                field: path, message: "unknown restriction '\(OAuthError.quoted(name))' in \(path)\(elsewhere); it takes \(inGroup)")
        }
        var restriction = CredentialRestriction(kind)
        switch object["state"] {
        case nil, .null, .string("enabled"): restriction.isEnabled = true
        case .string("disabled"): restriction.isEnabled = false
        default: throw DirectoryRuleViolation(field: path, message: "the state of \(name) must be enabled or disabled")
        }
        let lifetime = object["maxLifetime"].flatMap { $0 == .null ? nil : $0 }
        if kind.hasLifetime {
            guard let text = lifetime?.stringValue else {
                throw DirectoryRuleViolation(field: path, message: "\(name) needs a maxLifetime, an ISO-8601 duration such as P90D")
            }
            restriction.maxLifetime = try maxLifetime(text, restriction: name, path: path)
        } else if lifetime != nil {
            throw DirectoryRuleViolation(field: path, message: "\(name) takes no maxLifetime; only passwordLifetime and asymmetricKeyLifetime do")
        }
        switch object["restrictForAppsCreatedAfterDateTime"] {
        case nil, .null: break
        case .string(let text):
            restriction.restrictForAppsCreatedAfter = try createdAfter(text, restriction: name, path: path)
        default:
            throw DirectoryRuleViolation(field: path, message: "restrictForAppsCreatedAfterDateTime of \(name) must be a date-time string or null")
        }
        let authorities = object["trustedCertificateAuthorities"].flatMap { $0 == .null ? nil : $0 }
        if kind == .trustedCertificateAuthority {
            guard let list = authorities?.arrayValue, !list.isEmpty, list.count <= maximumAuthorities,
                list.allSatisfy({ $0.stringValue != nil })
            else {
                throw DirectoryRuleViolation(
                    field: path, message: "trustedCertificateAuthority needs trustedCertificateAuthorities: 1 to \(maximumAuthorities) CA certificates in PEM")
            }
            restriction.trustedCertificateAuthorities = list.compactMap(\.stringValue)
            for pem in restriction.trustedCertificateAuthorities {
                do {
                    _ = try TrustedAuthority(pem: pem)
                } catch {
                    throw DirectoryRuleViolation(field: path, message: error.message)
                }
            }
        } else if authorities != nil {
            throw DirectoryRuleViolation(field: path, message: "\(name) takes no trustedCertificateAuthorities; only trustedCertificateAuthority does")
        }
        return restriction
    }

    /// A `maxLifetime`: an ISO-8601 duration longer than zero (`P0D`, `P-1D` and `PT` are refused).
    public static func maxLifetime(_ text: String, restriction: String, path: String = "maxLifetime") throws(DirectoryRuleViolation) -> String {
        guard let seconds = ISO8601Duration.seconds(text) else {
            throw DirectoryRuleViolation(
                field: path, message: "the maxLifetime of \(restriction), '\(OAuthError.quoted(text))', is not an ISO-8601 duration such as P90D or P4DT12H30M5S")
        }
        guard seconds >= 1 else {
            throw DirectoryRuleViolation(field: path, message: "the maxLifetime of \(restriction) must be longer than zero (\(text) would refuse every credential)")
        }
        return text
    }

    /// A `restrictForAppsCreatedAfterDateTime`: an RFC 3339 date-time from 1970 to 9999. Dates in
    /// the past are accepted (Graph's way of restricting every app), and so are future ones (a
    /// restriction scheduled for apps created from then on).
    static func createdAfter(_ text: String, restriction: String, path: String) throws(DirectoryRuleViolation) -> Date {
        guard let date = RFC3339.date(text) else {
            throw DirectoryRuleViolation(
                field: path,
                message: "restrictForAppsCreatedAfterDateTime of \(restriction), '\(OAuthError.quoted(text))', is not a date-time from 1970 to 9999 such as 2026-01-31T00:00:00Z")
        }
        guard date.timeIntervalSince1970 >= 0 else {
            throw DirectoryRuleViolation(field: path, message: "restrictForAppsCreatedAfterDateTime of \(restriction) is before 1970; no app is that old (use null for every app)")
        }
        return date
    }
}
