/// What a store operation can report to its caller, beyond plain I/O failure.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A uniqueness rule was broken (duplicate name, identifier URI, jti, …).
    case conflict(String)
    case notFound(String)
    /// The database cannot be reached or is shut down.
    case unavailable(String)
    case invalidLocation(String)

    /// A rule the data enforced, not a fault of the connection that reported it.
    var leavesConnectionWorking: Bool {
        switch self {
        case .conflict, .notFound: true
        case .unavailable, .invalidLocation: false
        }
    }

    public var description: String {
        switch self {
        case .conflict(let message), .notFound(let message), .unavailable(let message), .invalidLocation(let message): message
        }
    }
}

extension StoreError: HarmlessToConnection {}
