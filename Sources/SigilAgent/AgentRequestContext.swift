import Hummingbird
import NIOCore

/// The per-request context of the agent's endpoints: Hummingbird's storage plus the channel,
/// from which the socket endpoint reads its caller's kernel credentials.
public struct AgentRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Token requests have no body.
    public var maxUploadSize: Int { 4096 }
}
