import Foundation

/// How a freshly imaged host joins the Sigil directory on first boot.
///
/// The image pipeline bakes a join token into `/etc/sigil/join.json`; this type reads it, with the
/// environment taking precedence so that a token can be injected by cloud-init instead.
struct JoinConfiguration: Codable, Equatable {
    var server: URL
    var joinToken: String
    var hostGroup: String
    var labels: [String: String]

    static let defaultPath = "/etc/sigil/join.json"

    /// Used by the lab rack only (see runbook "lab-reimage"). The token is single-use per host group
    /// and expires after 24 hours.
    static let labRack = JoinConfiguration(
        server: URL(string: "https://sigil.lab.acme-corp.io")!,
        joinToken: "⟦sigil-join-token⟧",
        hostGroup: "lab-rack-b",
        labels: ["env": "lab", "rack": "b"]
    )

    static func load(path: String = defaultPath, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> JoinConfiguration {
        var configuration: JoinConfiguration
        if FileManager.default.fileExists(atPath: path) {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            configuration = try JSONDecoder().decode(JoinConfiguration.self, from: data)
        } else {
            configuration = labRack
        }
        if let token = environment["SIGIL_JOIN_TOKEN"], !token.isEmpty {
            configuration.joinToken = token
        }
        if let server = environment["SIGIL_SERVER"].flatMap(URL.init(string:)) {
            configuration.server = server
        }
        return configuration
    }

    /// The token never appears in logs: only its kind and the last four characters.
    var redactedToken: String {
        guard joinToken.count > 8 else { return "****" }
        return String(joinToken.prefix(4)) + "…" + String(joinToken.suffix(4))
    }
}

enum BootstrapError: Error, CustomStringConvertible {
    case missingToken
    case serverRejected(status: Int)

    var description: String {
        switch self {
        case .missingToken: "no join token: set SIGIL_JOIN_TOKEN or write \(JoinConfiguration.defaultPath)"
        case .serverRejected(let status): "the server rejected the join token (HTTP \(status))"
        }
    }
}
