import Foundation
import Logging
import SigilCore
import SigilStore

/// The issuer URL is part of every token and every validator's configuration, so it is stored at
/// first start and a later start on another URL is refused, unless `--issuer-url` asks for the
/// change on purpose (then it is audited). A listener on port 0 has no lasting URL: it pins
/// nothing.
enum IssuerPin {
    static let setting = "issuer_base_url"

    /// Checks (and on first start stores) the base URL this start would issue tokens under.
    static func settle(store: Store, tenant: Tenant, configuration: ServerConfiguration, logger: Logger) async throws {
        let explicit = configuration.issuerURL.map(ServerURLs.trimmed)
        guard let wanted = explicit ?? (configuration.port == 0 ? nil : ServerURLs.listenerBase(host: configuration.host, port: configuration.port))
        else { return }
        let pinned = try await store.settleServerSetting(setting, wanted)
        guard pinned != wanted else { return }
        guard explicit != nil else {
            throw ServerError.configuration(
                "this data's issuer URL is \(pinned) (fixed at first start); listening as \(wanted) would change the issuer of every token and "
                    + "break every validator. Listen on the same address, or pass --issuer-url \(wanted) to change it on purpose.")
        }
        try await store.changeServerSetting(setting, wanted, audit: AuditEvent(
            time: Date(), tenantId: tenant.id, actorId: "sigil", actorName: "sigil serve --issuer-url", action: "server.issuerUrl.change",
            targetType: "server", targetId: "issuerUrl", before: ["issuerUrl": .string(pinned)], after: ["issuerUrl": .string(wanted)],
            ipAddress: "local", correlationId: AdminAPI.newId()))
        logger.warning("the issuer URL changed from \(pinned) to \(wanted) (--issuer-url): resource servers and federated trusts must use the new issuer")
    }
}
