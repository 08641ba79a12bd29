import Foundation
import Synchronization

/// The public base URL clients reach the server at (`--issuer-url`, or the bound address), and
/// every URL derived from it. Set once the listener is bound, which with port 0 is only known
/// after start.
public final class ServerURLs: Sendable {
    private let base: Mutex<String>

    public init(base: String) { self.base = Mutex(Self.trimmed(base)) }

    public var baseURL: String { base.withLock { $0 } }

    func setBase(_ value: String) { base.withLock { $0 = Self.trimmed(value) } }

    static func trimmed(_ value: String) -> String { value.hasSuffix("/") ? String(value.dropLast()) : value }

    /// The base URL of a listener: brackets around IPv6, and `localhost` for the wildcard address
    /// (the generated certificate names it).
    static func listenerBase(host: String, port: Int) -> String {
        let shown = host.contains(":") ? "[\(host)]" : (host == "0.0.0.0" ? "localhost" : host)
        return "https://\(shown):\(port)"
    }

    public func authority(tenantId: String) -> String { "\(baseURL)/\(tenantId)" }
    public func issuer(tenantId: String) -> String { "\(baseURL)/\(tenantId)/v2.0" }
    public func tokenEndpoint(tenantId: String) -> String { "\(baseURL)/\(tenantId)/oauth2/v2.0/token" }
    public func jwksURI(tenantId: String) -> String { "\(baseURL)/\(tenantId)/discovery/v2.0/keys" }
    public func introspectionEndpoint(tenantId: String) -> String { "\(baseURL)/\(tenantId)/oauth2/v2.0/introspect" }
    /// The revocation list of the tenant's tokens (a Sigil extension to the discovery document).
    public func revocationListURI(tenantId: String) -> String { "\(baseURL)/\(tenantId)/discovery/v2.0/revocations" }

    /// The `aud` values a client assertion may carry: the v2.0 token endpoint (what msal and
    /// azure-identity send) and the v1 one.
    func tokenAudiences(tenantId: String) -> [String] {
        [tokenEndpoint(tenantId: tenantId), "\(baseURL)/\(tenantId)/oauth2/token"]
    }
}
