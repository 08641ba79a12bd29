import Foundation

/// A rejected input to the directory or the vault: which field, and what to change.
public struct DirectoryRuleViolation: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String
    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { message }
}

/// The rules directory objects obey, independent of how they arrive (API, CLI, bootstrap).
public enum DirectoryRules {
    public static let maximumDisplayNameLength = 256
    public static let maximumIdentifierUriLength = 256
    public static let maximumRoleValueLength = 120
    /// The longest a client secret may live (Entra's portal offers at most two years).
    public static let maximumSecretLifetime: TimeInterval = 2 * 365 * 86_400
    public static let defaultSecretLifetime: TimeInterval = 180 * 86_400

    public static func checkDisplayName(_ name: String, field: String = "displayName") throws(DirectoryRuleViolation) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DirectoryRuleViolation(field: field, message: "\(field) must not be empty")
        }
        guard name.count <= maximumDisplayNameLength else {
            throw DirectoryRuleViolation(field: field, message: "\(field) is \(name.count) characters; at most \(maximumDisplayNameLength) are allowed")
        }
        guard !name.containsControlCharacters else {
            throw DirectoryRuleViolation(field: field, message: "\(field) must not contain control characters")
        }
        // Apps are referred to by name, id or identifier URI alike; a name that looks like an id
        // or a URI could stand for another app.
        let lowered = name.lowercased()
        guard UUID(uuidString: name) == nil, !["api://", "https://", "http://", "urn:"].contains(where: lowered.hasPrefix) else {
            throw DirectoryRuleViolation(field: field, message: "\(field) must not look like an id or an identifier URI ('\(name)'); those refer to apps already")
        }
    }

    /// App ID URIs: `api://…`, `https://…` or `urn:…`, no whitespace, query or fragment.
    public static func checkIdentifierUri(_ uri: String) throws(DirectoryRuleViolation) {
        let field = "identifierUris"
        guard uri.count <= maximumIdentifierUriLength else {
            throw DirectoryRuleViolation(field: field, message: "identifier URI is longer than \(maximumIdentifierUriLength) characters")
        }
        guard uri.hasPrefix("api://") || uri.hasPrefix("https://") || uri.hasPrefix("urn:") else {
            throw DirectoryRuleViolation(field: field, message: "identifier URI '\(uri)' must start with api://, https:// or urn:")
        }
        guard !uri.contains(where: { $0.isWhitespace || $0 == "?" || $0 == "#" }),
            uri.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 })
        else {
            throw DirectoryRuleViolation(field: field, message: "identifier URI '\(uri)' must be printable ASCII without spaces, query or fragment")
        }
        guard !uri.hasSuffix("/"), !uri.hasSuffix("/.default"), uri.count > 8 else {
            throw DirectoryRuleViolation(field: field, message: "identifier URI '\(uri)' must name something and must not end in '/' or '/.default'")
        }
    }

    /// App role values travel in the `roles` claim: no spaces, not starting with '.'.
    public static func checkRoleValue(_ value: String) throws(DirectoryRuleViolation) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "._-:/"))
        guard !value.isEmpty, value.count <= maximumRoleValueLength,
            value.unicodeScalars.allSatisfy({ $0.isASCII && allowed.contains($0) }), !value.hasPrefix(".")
        else {
            throw DirectoryRuleViolation(
                field: "value",
                message: "role value '\(value)' must be 1–\(maximumRoleValueLength) characters of A–Z, a–z, 0–9, '.', '_', '-', ':' or '/', not starting with '.'"
            )
        }
    }

    /// Fewest distinct characters in the 40-character body of a client-chosen secret.
    public static let minimumChosenSecretVariety = 16

    /// A client-chosen secret value (`secretText`): a well-formed Sigil client secret (so the
    /// token endpoint and the scanner recognise it) whose body has at least 16 distinct
    /// characters. The value itself is never quoted back.
    public static func checkChosenSecret(_ secret: String) throws(DirectoryRuleViolation) {
        if case .failure(let problem) = SigilSecretFormat.validate(secret) {
            throw DirectoryRuleViolation(
                field: "secretText", message: "secretText is not a Sigil client secret: \(problem); leave it out and Sigil generates one")
        }
        guard secret.hasPrefix(SigilSecretFormat.Kind.clientSecret.rawValue) else {
            throw DirectoryRuleViolation(field: "secretText", message: "secretText must be a client secret (sgs_…), not a join token")
        }
        let body = secret.dropFirst(4).prefix(SigilSecretFormat.bodyLength)
        guard Set(body).count >= minimumChosenSecretVariety else {
            throw DirectoryRuleViolation(
                field: "secretText",
                message: "secretText is too easy to guess: its 40 characters after sgs_ hold fewer than \(minimumChosenSecretVariety) different ones; use a random value")
        }
    }

    /// A secret's lifetime, from an ISO-8601 duration such as `P90D`.
    public static func secretLifetime(_ text: String) throws(DirectoryRuleViolation) -> TimeInterval {
        guard let seconds = ISO8601Duration.seconds(text) else {
            throw DirectoryRuleViolation(field: "lifetime", message: "lifetime '\(text)' is not an ISO-8601 duration such as P90D or PT12H")
        }
        guard seconds >= 3600 else {
            throw DirectoryRuleViolation(field: "lifetime", message: "lifetime must be at least one hour (PT1H)")
        }
        guard seconds <= maximumSecretLifetime else {
            throw DirectoryRuleViolation(field: "lifetime", message: "lifetime must be at most two years (P2Y)")
        }
        return seconds
    }
}

/// ISO-8601 durations (`P1Y2M10DT2H30M`, `P3W`). Years count 365 days and months 30.
public enum ISO8601Duration {
    public static func seconds(_ text: String) -> TimeInterval? {
        var rest = Substring(text)
        guard rest.first == "P", rest.count > 1, rest.count <= 40 else { return nil }
        rest = rest.dropFirst()
        var total: Double = 0
        var inTime = false
        var number = ""
        var sawUnit = false
        for character in rest {
            if character == "T" {
                guard !inTime, number.isEmpty else { return nil }
                inTime = true
                continue
            }
            if character.isASCII, character.isNumber || character == "." {
                number.append(character)
                continue
            }
            guard let value = Double(number), value >= 0 else { return nil }
            let unit: Double
            switch (character, inTime) {
            case ("Y", false): unit = 365 * 86_400
            case ("M", false): unit = 30 * 86_400
            case ("W", false): unit = 7 * 86_400
            case ("D", false): unit = 86_400
            case ("H", true): unit = 3600
            case ("M", true): unit = 60
            case ("S", true): unit = 1
            default: return nil
            }
            total += value * unit
            number = ""
            sawUnit = true
        }
        return sawUnit && number.isEmpty ? total : nil
    }
}
