import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SigilCore

/// A refusal of a local token request, with the status the client sees: 400 for everything the
/// client or the directory got wrong (clients retry 404, 410, 429 and 5xx for many seconds),
/// 503 only when the server is unreachable and nothing is cached.
struct LocalRefusal: Error, Sendable {
    var status: HTTPResponse.Status = .badRequest
    /// An OAuth error code (`invalid_request`, the server's `invalid_resource`…).
    var code: String
    var message: String
}

/// The parts of a local token request every endpoint reads the same way.
struct LocalTokenRequest: Sendable {
    /// Refuses a request on the loopback HTTP endpoints that did not come straight from a local
    /// client: a `Host` other than a loopback name (a web page that rebound its domain to
    /// 127.0.0.1 sends its own), or any `X-Forwarded-For` (a proxy relaying someone else), as
    /// Azure's IMDS refuses it.
    static func checkLocal(_ request: Request) throws(LocalRefusal) {
        if request.headers[HTTPField.Name("X-Forwarded-For")!] != nil {
            throw LocalRefusal(code: "invalid_request", message: "the request carries X-Forwarded-For; the agent answers local clients only, not through a proxy")
        }
        let host = (request.head.authority ?? "").lowercased()
        let name: Substring = host.hasPrefix("[") ? host.prefix { $0 != "]" }.dropFirst() : host.split(separator: ":", maxSplits: 1).first ?? ""
        guard ["127.0.0.1", "localhost", "::1"].contains(String(name)) || name.hasPrefix("127.") else {
            throw LocalRefusal(code: "invalid_request", message: "the Host header must name the loopback address the agent listens on, not '\(host.prefix(100))'")
        }
    }

    var query: [String: String]
    var resource: String

    /// The query, decoded strictly (a parameter given twice is refused), and its `resource`.
    init(_ request: Request) throws(LocalRefusal) {
        do {
            query = try FormParameters(decoding: Array((request.uri.query ?? "").utf8)).values
        } catch {
            throw LocalRefusal(code: "invalid_request", message: error.description)
        }
        guard let resource = query["resource"].map(Self.normalizedResource), !resource.isEmpty else {
            throw LocalRefusal(code: "invalid_request", message: "Required query variable 'resource' is missing")
        }
        self.resource = resource
    }

    /// `resource` as the client meant it. azure-identity sends it plain, msal percent-encodes
    /// it, so after the query's own decoding it may still hold `%XX` escapes: decode them once.
    static func normalizedResource(_ value: String) -> String {
        let bytes = Array(value.utf8)
        let escaped = bytes.indices.contains { index in
            bytes[index] == UInt8(ascii: "%") && index + 2 < bytes.count && bytes[index + 1].hexDigitValue != nil && bytes[index + 2].hexDigitValue != nil
        }
        guard escaped else { return value }
        // A literal '+' must survive: only the %XX escapes are undone here.
        return FormParameters.percentDecode(Array(value.replacingOccurrences(of: "+", with: "%2B").utf8)) ?? value
    }

    /// The identity selector among `accepted` parameter names.
    func selector(accepted: [String]) throws(LocalRefusal) -> IdentitySelector? {
        do {
            return try IdentitySelector.parse(query, accepted: accepted)
        } catch {
            throw LocalRefusal(code: "invalid_request", message: error.description)
        }
    }
}

extension AgentRuntime {
    /// Chooses the identity with `choose` (refreshing a configuration that may be stale once,
    /// rate-limited) and returns it with a token for `resource`.
    func answer(
        resource: String, caller: CallerProcess?, choose: (HostConfiguration) throws(IdentitySelectionError) -> AssignedIdentity
    ) async throws(LocalRefusal) -> (AssignedIdentity, IssuedToken) {
        let identity: AssignedIdentity
        do throws(IdentitySelectionError) {
            identity = try choose(configuration)
        } catch where error.mayBeStale {
            guard await refreshWhenStale() else { throw LocalRefusal(code: "invalid_request", message: error.description) }
            do throws(IdentitySelectionError) {
                identity = try choose(configuration)
            } catch {
                throw LocalRefusal(code: "invalid_request", message: error.description)
            }
        } catch {
            throw LocalRefusal(code: "invalid_request", message: error.description)
        }
        do throws(AgentServerError) {
            return (identity, try await cache.token(for: .init(identity: identity.appId, resource: resource, caller: caller), caller: caller))
        } catch {
            switch error {
            case .refused(_, let code, let description): throw LocalRefusal(code: code, message: description)
            case .unreachable(let reason):
                throw LocalRefusal(status: .serviceUnavailable, code: "service_unavailable", message: "the Sigil server is unreachable and no token is cached: \(reason)")
            }
        }
    }
}

extension IssuedToken {
    /// IMDS's answer (also the socket's): numbers written as strings, `expires_in` the
    /// remaining lifetime of this (possibly cached) token.
    func imdsJSON(clientId: String, resource: String, now: Date) -> JSONValue {
        let remaining = String(max(0, Int64(expiresOn.timeIntervalSince(now))))
        return [
            "access_token": .string(accessToken), "client_id": .string(clientId), "expires_in": .string(remaining),
            "expires_on": .string(String(Int64(expiresOn.timeIntervalSince1970))), "ext_expires_in": .string(remaining),
            "not_before": .string(String(Int64(issuedAt.timeIntervalSince1970))), "resource": .string(resource), "token_type": "Bearer",
        ]
    }
}

extension Response {
    /// A JSON answer that no intermediary keeps.
    static func agentJSON(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    /// IMDS's error shape: `{"error","error_description"}`.
    static func imdsRefusal(_ refusal: LocalRefusal) -> Response {
        agentJSON(["error": .string(refusal.code), "error_description": .string(refusal.message)], status: refusal.status)
    }
}
