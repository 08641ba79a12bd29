import Foundation

/// What the agent learns about a process that calls its Unix socket: the kernel's word for the
/// uid, gid and pid (SO_PEERCRED), and the executable `/proc` shows for that pid.
public struct CallerProcess: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    /// The executable's path (`/proc/PID/exe`).
    public var path: String
    /// Lower-case hex SHA-256 of the executable's contents.
    public var sha256: String

    public init(uid: UInt32, gid: UInt32, pid: Int32, path: String, sha256: String) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.path = path
        self.sha256 = sha256
    }
}

/// A mapping rule held on the server: a process on a host that matches *every* selector of the
/// rule may hold the identity (as SPIRE's selectors combine). Two services on one host hold
/// different identities through different rules.
///
/// A rule on the executable alone (`path`, `sha256`) is refused: any local user can run a copy
/// of an allowed binary (under a debugger or with a preloaded library), or connect first and
/// exec the allowed binary afterwards, so the executable means something only together with
/// the uid or gid the kernel vouches for.
public struct HostRule: Sendable, Equatable {
    /// One thing a rule looks at.
    public enum Selector: Sendable, Equatable {
        case uid(UInt32)
        case gid(UInt32)
        case path(String)
        case sha256(String)

        /// The kinds in the order rules list them.
        public static let kinds = ["uid", "gid", "path", "sha256"]

        /// The selector's kind as the API and the CLI name it (`uid`, `gid`, `path`, `sha256`).
        public var kind: String {
            switch self {
            case .uid: "uid"
            case .gid: "gid"
            case .path: "path"
            case .sha256: "sha256"
            }
        }

        /// The selector's value as text.
        public var value: String {
            switch self {
            case .uid(let id), .gid(let id): String(id)
            case .path(let path): path
            case .sha256(let digest): digest
            }
        }

        /// The selector's value as JSON: a number for ids, a string otherwise.
        public var json: JSONValue {
            switch self {
            case .uid(let id), .gid(let id): .integer(Int64(id))
            case .path, .sha256: .string(value)
            }
        }

        /// Reads a selector from its kind and text, refusing values that could never match.
        public init(kind: String, value: String) throws(DirectoryRuleViolation) {
            switch kind {
            case "uid", "gid":
                guard let id = UInt32(value) else {
                    throw DirectoryRuleViolation(field: kind, message: "\(kind) must be a number from 0 to \(UInt32.max), not '\(value)'")
                }
                self = kind == "uid" ? .uid(id) : .gid(id)
            case "path":
                guard value.hasPrefix("/"), value.utf8.count <= 4096, !value.containsControlCharacters else {
                    throw DirectoryRuleViolation(field: "path", message: "path must be an absolute path (starting with /) of at most 4096 bytes without control characters")
                }
                self = .path(value)
            case "sha256":
                let lowered = value.lowercased()
                guard lowered.utf8.count == 64, lowered.utf8.allSatisfy({ $0.hexDigitValue != nil }) else {
                    throw DirectoryRuleViolation(field: "sha256", message: "sha256 must be 64 hex digits (the executable's SHA-256, as sha256sum prints it)")
                }
                self = .sha256(lowered)
            default:
                throw DirectoryRuleViolation(field: "selector", message: "a rule selects by uid, gid, path or sha256, not '\(kind)'")
            }
        }

        public func matches(_ caller: CallerProcess) -> Bool {
            switch self {
            case .uid(let uid): caller.uid == uid
            case .gid(let gid): caller.gid == gid
            case .path(let path): caller.path == path
            case .sha256(let digest): caller.sha256 == digest
            }
        }
    }

    public var id: String
    /// The appId of the managed identity the rule hands out.
    public var identityAppId: String
    /// Checked together: a caller must match all of them. In `Selector.kinds` order, each kind once.
    public var selectors: [Selector]

    /// A rule, its selectors checked: at least one, each kind at most once, and an executable
    /// (`path`, `sha256`) only together with a `uid` or `gid`.
    public init(id: String, identityAppId: String, selectors: [Selector]) throws(DirectoryRuleViolation) {
        let kinds = selectors.map(\.kind)
        guard !selectors.isEmpty else {
            throw DirectoryRuleViolation(field: "uid", message: "a rule needs at least one of uid, gid, path and sha256")
        }
        guard Set(kinds).count == kinds.count else {
            throw DirectoryRuleViolation(field: "uid", message: "a rule names each of uid, gid, path and sha256 at most once")
        }
        guard kinds.contains("uid") || kinds.contains("gid") else {
            throw DirectoryRuleViolation(
                field: kinds.first ?? "path",
                message: "a rule on the executable (path or sha256) also needs a uid or gid: any local user can run a copy of a binary, or exec it after connecting, so only the user the kernel vouches for makes the executable mean something")
        }
        self.id = id
        self.identityAppId = identityAppId
        self.selectors = selectors.sorted { Selector.kinds.firstIndex(of: $0.kind)! < Selector.kinds.firstIndex(of: $1.kind)! }
    }

    /// Reads a rule's selectors from an object's `uid`, `gid`, `path` and `sha256` members
    /// (numbers or strings), as the admin API and the agent's configuration carry them.
    public init(id: String, identityAppId: String, members: [String: JSONValue]) throws(DirectoryRuleViolation) {
        var selectors: [Selector] = []
        for kind in Selector.kinds {
            guard let raw = members[kind], raw != .null else { continue }
            guard let text = raw.integerValue.map(String.init) ?? raw.stringValue else {
                throw DirectoryRuleViolation(field: kind, message: "'\(kind)' must be a number or a string")
            }
            selectors.append(try Selector(kind: kind, value: text))
        }
        try self.init(id: id, identityAppId: identityAppId, selectors: selectors)
    }

    public func matches(_ caller: CallerProcess) -> Bool { selectors.allSatisfy { $0.matches(caller) } }

    /// The selectors as the members of a JSON object (`{"uid": 1001, "path": "/usr/bin/x"}`).
    public var selectorMembers: [String: JSONValue] {
        Dictionary(uniqueKeysWithValues: selectors.map { ($0.kind, $0.json) })
    }

    /// The selectors as one canonical text, `uid=1001 path=/usr/bin/x`: how the store keeps them
    /// (and what makes two equal rules the same row).
    public var selectorText: String { selectors.map { "\($0.kind)=\($0.value)" }.joined(separator: " ") }

    /// Reads `selectorText` back.
    public init(id: String, identityAppId: String, selectorText: String) throws(DirectoryRuleViolation) {
        var selectors: [Selector] = []
        var rest = Substring(selectorText)
        // Paths may hold spaces: each part runs until the next " KIND=" or the end.
        while !rest.isEmpty {
            guard let equals = rest.firstIndex(of: "=") else { throw DirectoryRuleViolation(field: "selector", message: "a stored rule is damaged") }
            let kind = String(rest[..<equals])
            var valueEnd = rest.endIndex
            for next in Selector.kinds {
                if let range = rest[rest.index(after: equals)...].range(of: " \(next)="), range.lowerBound < valueEnd { valueEnd = range.lowerBound }
            }
            selectors.append(try Selector(kind: kind, value: String(rest[rest.index(after: equals)..<valueEnd])))
            rest = valueEnd == rest.endIndex ? "" : rest[rest.index(after: valueEnd)...]
        }
        try self.init(id: id, identityAppId: identityAppId, selectors: selectors)
    }

    /// Whether some rule for a caller with `uid` and `gid` looks at the executable's hash: only
    /// then is the executable worth hashing (every rule names a uid or gid, so others cannot match).
    public static func needsDigest(uid: UInt32, gid: UInt32, under rules: [HostRule]) -> Bool {
        rules.contains { rule in
            rule.selectors.contains { if case .sha256 = $0 { true } else { false } }
                && rule.selectors.allSatisfy { selector in
                    switch selector {
                    case .uid(let id): id == uid
                    case .gid(let id): id == gid
                    case .path, .sha256: true
                    }
                }
        }
    }

    /// The identities `caller` may hold under `rules`, each once, in rule order.
    public static func identities(for caller: CallerProcess, under rules: [HostRule]) -> [String] {
        var seen = Set<String>()
        return rules.filter { $0.matches(caller) }.map(\.identityAppId).filter { seen.insert($0).inserted }
    }
}
