import Foundation
import HTTPTypes
import Hummingbird
import SigilCore

/// The App Service-compatible endpoint (loopback): `GET /msi/token` with
/// `X-IDENTITY-HEADER: <IDENTITY_HEADER>`; clients find it through `IDENTITY_ENDPOINT` and
/// `IDENTITY_HEADER`. Refusals are `400 {"statusCode":400,"message":…}`.
///
/// Identity: none named → the host's system identity; `client_id`, `object_id`, `principal_id`
/// or `mi_res_id` (one at most) → the assigned identity it names, else 400.
public enum AppServiceRoute {
    public static let tokenPath = "/msi/token"
    static let selectors = ["client_id", "object_id", "principal_id", "mi_res_id"]

    /// The router; `identityHeader` is the secret generated when the agent started.
    public static func router(runtime: AgentRuntime, identityHeader: String) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        router.get(RouterPath(tokenPath)) { request, _ in await token(request, runtime: runtime, identityHeader: identityHeader) }
        return router
    }

    static func token(_ request: Request, runtime: AgentRuntime, identityHeader: String) async -> Response {
        do throws(LocalRefusal) {
            let presented = request.headers[HTTPField.Name("X-IDENTITY-HEADER")!] ?? ""
            guard ConstantTime.equal(Array(presented.utf8), Array(identityHeader.utf8)) else {
                throw LocalRefusal(code: "invalid_request", message: presented.isEmpty ? "the X-IDENTITY-HEADER header is missing" : "the X-IDENTITY-HEADER header is wrong")
            }
            try LocalTokenRequest.checkLocal(request)
            let parsed = try LocalTokenRequest(request)
            let selector = try parsed.selector(accepted: selectors)
            let (identity, token) = try await runtime.answer(resource: parsed.resource, caller: nil) { configuration throws(IdentitySelectionError) in
                try configuration.identity(selectedBy: selector)
            }
            return .agentJSON([
                "access_token": .string(token.accessToken), "expires_on": .string(String(Int64(token.expiresOn.timeIntervalSince1970))),
                "resource": .string(parsed.resource), "token_type": "Bearer", "client_id": .string(identity.appId),
            ])
        } catch {
            return .agentJSON(["statusCode": .integer(Int64(error.status.code)), "message": .string(error.message)], status: error.status)
        }
    }

    /// A fresh `IDENTITY_HEADER`: 32 random bytes, base64url.
    public static func generateIdentityHeader() -> String {
        var generator = SystemRandomNumberGenerator()
        return Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
