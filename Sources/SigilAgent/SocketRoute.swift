import Foundation
import Hummingbird
import NIOCore
import SigilCore

/// The Unix-socket workload API: `GET /token?resource=R[&client_id=…]` over HTTP/1.1
/// (`curl --unix-socket PATH 'http://localhost/token?resource=R'`), answered in IMDS's shape.
///
/// Identity: the server-held rules choose it from the caller's kernel credentials (uid, gid)
/// and its executable (path, SHA-256), as `ProcessAttestation` finds them. A caller granted
/// exactly one identity gets it; with several it must name one by `client_id`; a caller that
/// matches no rule gets 400. The caller's attributes travel to the server as `xms_caller`.
public enum SocketRoute {
    public static let tokenPath = "/token"
    static let selectors = ["client_id"]

    public static func router(runtime: AgentRuntime) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        router.get(RouterPath(tokenPath)) { request, context in await token(request, channel: context.channel, runtime: runtime) }
        return router
    }

    static func token(_ request: Request, channel: any Channel, runtime: AgentRuntime) async -> Response {
        do throws(LocalRefusal) {
            let parsed = try LocalTokenRequest(request)
            let selector = try parsed.selector(accepted: selectors)
            let caller: CallerProcess
            do {
                let accepted = try await channel.pipeline.handler(type: AcceptTime.self).get()
                let rules = runtime.configuration.rules
                caller = try await ProcessAttestation.attest(channel, acceptedAtTicks: accepted.ticks) { uid, gid in
                    HostRule.needsDigest(uid: uid, gid: gid, under: rules)
                }
            } catch {
                throw LocalRefusal(code: "invalid_request", message: "\(error)")
            }
            let (identity, token) = try await runtime.answer(resource: parsed.resource, caller: caller) { configuration throws(IdentitySelectionError) in
                try configuration.identity(for: caller, selectedBy: selector)
            }
            return .agentJSON(token.imdsJSON(clientId: identity.appId, resource: parsed.resource, now: Date()))
        } catch {
            return .imdsRefusal(error)
        }
    }
}

/// Remembers when a connection was accepted (in boot-clock ticks): a process that started later
/// cannot be the one that connected. Added to each socket connection's pipeline as it is set up.
/// It passes every request part through untouched.
final class AcceptTime: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny
    let ticks = ProcessAttestation.bootTicks()
}
