import Foundation

/// How vaults are addressed, as Key Vault addresses them (DESIGN §6): each vault at its own host
/// name `https://NAME.VAULT_DOMAIN`, and the vault resource `https://VAULT_DOMAIN`.
/// `azure-keyvault-secrets` accepts a challenge only when the vault's `host:port` ends with
/// `.` + the challenge resource's `host:port`; on a port other than 443 the challenge therefore
/// names `https://VAULT_DOMAIN:PORT`, and the token service takes that as the same resource.
struct VaultAddressing: Sendable {
    /// Lower-case, without a trailing dot.
    let domain: String
    let urls: ServerURLs

    init(domain: String, urls: ServerURLs) {
        self.domain = domain.lowercased()
        self.urls = urls
    }

    /// The vault resource's identifier URI.
    var resource: String { "https://" + domain }

    /// The resource a challenge names, with the server's port when it is not 443.
    var challengeResource: String { resource + portSuffix }

    /// `https://NAME.VAULT_DOMAIN[:PORT]`: the vault's URL, and the base of every id it returns.
    func vaultURL(_ name: String) -> String { "https://\(name).\(domain)\(portSuffix)" }

    /// The vault a request's `Host` header names (`NAME.VAULT_DOMAIN[:PORT]`), if it names one.
    func vaultName(host: String?) -> String? {
        guard var host = host?.lowercased() else { return nil }
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") { host = String(host[..<colon]) }
        if host.hasSuffix(".") { host.removeLast() }
        let suffix = "." + domain
        guard host.hasSuffix(suffix) else { return nil }
        let name = host.dropLast(suffix.count)
        return name.isEmpty || name.contains(".") ? nil : String(name)
    }

    /// The resource identifier a token request names, with the vault resource's port alias
    /// (`https://VAULT_DOMAIN:PORT`) mapped to `https://VAULT_DOMAIN`.
    static func canonicalResource(_ identifier: String, domain: String) -> String {
        let prefix = "https://" + domain.lowercased() + ":"
        guard identifier.lowercased().hasPrefix(prefix), let port = Int(identifier.dropFirst(prefix.count)), (1...65535).contains(port) else {
            return identifier
        }
        return "https://" + domain.lowercased()
    }

    private var portSuffix: String {
        guard let port = URLComponents(string: urls.baseURL)?.port, port != 443 else { return "" }
        return ":\(port)"
    }
}
