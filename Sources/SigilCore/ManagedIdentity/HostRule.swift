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

/// A mapping rule held on the server: a process on a host that matches the selector may hold
/// the identity. Two services on one host hold different identities through different rules.
public struct HostRule: Sendable, Equatable {
    /// What a rule looks at, one thing per rule.
    public enum Selector: Sendable, Equatable {
        case uid(UInt32)
        case gid(UInt32)
        case path(String)
        case sha256(String)

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
    public var selector: Selector

    public init(id: String, identityAppId: String, selector: Selector) {
        self.id = id
        self.identityAppId = identityAppId
        self.selector = selector
    }

    /// The identities `caller` may hold under `rules`, each once, in rule order.
    public static func identities(for caller: CallerProcess, under rules: [HostRule]) -> [String] {
        var seen = Set<String>()
        return rules.filter { $0.selector.matches(caller) }.map(\.identityAppId).filter { seen.insert($0).inserted }
    }
}
