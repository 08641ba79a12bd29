import Foundation
import HTTPTypes
import Hummingbird
import SigilCore

/// The Azure IMDS-compatible endpoint (loopback): `GET /metadata/identity/oauth2/token` with
/// `Metadata: true`, and `GET /healthz`. Clients find it through
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST`.
///
/// Identity: none named → the host's system identity; `client_id`, `object_id` or `msi_res_id`
/// (one at most) → the assigned identity it names, else 400 (never the system identity).
public enum ImdsRoute {
    public static let tokenPath = "/metadata/identity/oauth2/token"
    static let selectors = ["client_id", "object_id", "msi_res_id"]

    public static func router(runtime: AgentRuntime) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        router.get(RouterPath(tokenPath)) { request, _ in await token(request, runtime: runtime) }
        router.get("/healthz") { _, _ in Response.agentJSON(runtime.health.json) }
        return router
    }

    static func token(_ request: Request, runtime: AgentRuntime) async -> Response {
        do throws(LocalRefusal) {
            guard request.headers[values: HTTPField.Name("Metadata")!].contains(where: { $0.lowercased() == "true" }) else {
                throw LocalRefusal(code: "invalid_request", message: "Required metadata header not specified")
            }
            try LocalTokenRequest.checkLocal(request)
            let parsed = try LocalTokenRequest(request)
            let selector = try parsed.selector(accepted: selectors)
            let (identity, token) = try await runtime.answer(resource: parsed.resource, caller: nil) { configuration throws(IdentitySelectionError) in
                try configuration.identity(selectedBy: selector)
            }
            return .agentJSON(token.imdsJSON(clientId: identity.appId, resource: parsed.resource, now: Date()))
        } catch {
            return .imdsRefusal(error)
        }
    }
}
