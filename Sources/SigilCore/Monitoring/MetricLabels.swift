/// The label values Sigil's Prometheus metrics may carry. Every set is fixed and small, and none
/// holds tenant data (no app id, no address, no free text), so a scrape reveals the server's
/// load and health, not who signs in.
public enum MetricLabels {
    /// `error` of `sigil_token_requests_total`: the RFC 6749 / Entra error codes the token
    /// endpoint answers with, `""` on success, and `other` for any code not listed here.
    public static let tokenErrors = [
        "", "invalid_request", "invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "invalid_resource",
        "invalid_grant", "access_denied", "server_error", "other",
    ]

    /// `credential_type` of `sigil_token_requests_total`: a `CredentialType`, or `none` when the
    /// request failed before one was presented.
    public static let credentialTypes = CredentialType.allCases.map(\.rawValue) + ["none"]

    /// The index of `error` in `tokenErrors` (`""` for a success, `other` for an unknown code).
    public static func tokenErrorIndex(_ error: String?) -> Int {
        guard let error else { return 0 }
        return tokenErrors.firstIndex(of: error) ?? tokenErrors.count - 1
    }

    /// The index of `type` in `credentialTypes` (the last, `none`, for nil).
    public static func credentialTypeIndex(_ type: CredentialType?) -> Int {
        switch type {
        case .clientSecret: 0
        case .certificate: 1
        case .clientAssertion: 2
        case .federatedIdentityCredential: 3
        case .managedIdentity: 4
        case nil: 5
        }
    }

    /// `status` of `sigil_http_request_duration_seconds`: `1xx` … `5xx`.
    public static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    /// The index in `statusClasses` of an HTTP status code (out-of-range codes count as `5xx`).
    public static func statusClassIndex(_ code: Int) -> Int {
        (100..<600).contains(code) ? code / 100 - 1 : statusClasses.count - 1
    }
}

/// Which part of the server a request went to, the `route` label of
/// `sigil_http_request_duration_seconds`, told from the path alone.
public enum RouteGroup: String, CaseIterable, Sendable {
    case token, admin, discovery, vault, agent, other

    /// The group's place in `allCases`, without making that array.
    public var index: Int {
        switch self {
        case .token: 0
        case .admin: 1
        case .discovery: 2
        case .vault: 3
        case .agent: 4
        case .other: 5
        }
    }

    /// `/{tenant}/oauth2/…` is `token`; `/admin/…`, `/agent/…` and `/vaults/…` are theirs;
    /// `/.well-known/…`, `/{tenant}/v2.0/…` and `/{tenant}/discovery/…` are `discovery`; the rest
    /// is `other` (requests to a vault's own host name are `vault`, which the path cannot tell).
    public init(path: String) {
        let segments = path.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true)
        guard let first = segments.first else {
            self = .other
            return
        }
        switch first {
        case "admin": self = .admin
        case "agent": self = .agent
        case "vaults": self = .vault
        case ".well-known": self = .discovery
        default:
            switch segments.dropFirst().first {
            case "oauth2": self = .token
            case "v2.0", "discovery": self = .discovery
            default: self = .other
            }
        }
    }
}
