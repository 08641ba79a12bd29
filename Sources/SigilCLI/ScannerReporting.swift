import Foundation
import SigilCore

/// What the server did with one reported hash.
struct LeakReportResult: Sendable, Equatable {
    var sha256: String
    var status: LeakReport.Status
    /// The application and credential, when found.
    var appId: String?
    var keyId: String?
    var displayName: String?
}

/// The two calls the scanner (`sigil scan --report`, git hooks) makes to the server, with the
/// profile every admin command uses:
///
///     let results = try await withAdminClient { try await $0.reportLeaks(sha256: hashes, source: "sigil scan --git .") }
extension AdminClient {
    /// Reports Sigil secrets found somewhere they should not be. Send only SHA-256 of each secret
    /// (lowercase hex over its UTF-8 bytes), never the secret: `SHA256.hash(data: Data(secret.utf8))`.
    /// The server revokes each matching live secret at once, records a `leakedCredentials` risk
    /// detection and audits it. Hashes go in requests of `batchSize` (each hash costs the server
    /// one SHA-256 per secret in the tenant, so small batches keep every request well inside its
    /// timeout); results come back once per distinct hash, in the order given. `source` (1–256 characters) says
    /// where they were found, e.g. `sigil scan --git /srv/repo`. Throws `CLIError` with the
    /// server's message when the report is refused (then nothing was revoked by that request).
    func reportLeaks(sha256: [String], source: String, batchSize: Int = 100) async throws -> [LeakReportResult] {
        precondition((1...LeakReport.maximumHashes).contains(batchSize), "batchSize must be 1–\(LeakReport.maximumHashes)")
        var results: [LeakReportResult] = []
        var seen = Set<String>()
        let distinct = sha256.filter { seen.insert($0).inserted }
        for batch in distinct.chunks(of: batchSize) {
            let reply = try await call("POST", "leakedCredentials", json: [
                "sha256": .array(batch.map(JSONValue.string)), "source": .string(source),
            ])
            for entry in reply["value"].arrayValue ?? [] {
                guard let hash = entry["sha256"].stringValue, let status = entry["status"].stringValue.flatMap(LeakReport.Status.init) else {
                    throw CLIError("the server answered the leak report in an unexpected shape")
                }
                results.append(LeakReportResult(
                    sha256: hash, status: status, appId: entry["appId"].stringValue, keyId: entry["keyId"].stringValue,
                    displayName: entry["displayName"].stringValue))
            }
        }
        return results
    }

    /// Records that a push went past a secret-scan block, and why, as one audit event
    /// (`secretScan.bypass`, target the repository) from a `scanBypassBody`. Returns the event's id.
    func recordScanBypass(_ body: JSONValue) async throws -> String {
        guard let id = try await call("POST", "scanBypasses", json: body)["id"].stringValue else {
            throw CLIError("the server answered the bypass record in an unexpected shape")
        }
        return id
    }

    static func scanBypassBody(reason: String, repository: String, ref: String?, author: String?, findings: [ScanBypass.Finding]) -> JSONValue {
        var body: [String: JSONValue] = [
            "reason": .string(reason), "repository": .string(repository),
            "findings": .array(findings.map { finding in
                var object: [String: JSONValue] = [
                    "rule": .string(finding.rule), "file": .string(finding.file), "line": .integer(Int64(finding.line)),
                    "fingerprint": .string(finding.fingerprint),
                ]
                if let commit = finding.commit { object["commit"] = .string(commit) }
                return .object(object)
            }),
        ]
        if let ref { body["ref"] = .string(ref) }
        if let author { body["author"] = .string(author) }
        return .object(body)
    }
}

/// Bypasses that could not be recorded because the server was unreachable, kept beside the
/// profile (0600) with their reason, repository, refs and findings (with their commits), and sent
/// at the next admin call that reaches the server. Nothing is lost while a server is down.
enum PendingBypasses {
    static var path: String { URL(fileURLWithPath: Profile.path).deletingLastPathComponent().appendingPathComponent("pending-bypasses.json").path }

    static func load() -> [JSONValue] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return (try? JSONParser.parse(Array(data)))?.arrayValue ?? []
    }

    /// Keeps `body` for later.
    static func queue(_ body: JSONValue) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AtomicFile.write(path, JSONValue.array(load() + [body]).serialized(), mode: 0o600)
    }

    /// Sends what is queued, oldest first; keeps what the server did not take.
    static func send(with client: AdminClient) async {
        let pending = load()
        guard !pending.isEmpty else { return }
        var left: [JSONValue] = []
        for body in pending {
            do {
                _ = try await client.recordScanBypass(body)
            } catch let error as CLIError where error.unreachable {
                left.append(body)
            } catch {
                // Refused as it stands (the server said why): keeping it would retry it forever.
                FileHandle.standardError.write(Data("warning: a queued scan bypass was refused and dropped: \(error)\n".utf8))
            }
        }
        if left.isEmpty {
            try? FileManager.default.removeItem(atPath: path)
        } else {
            try? AtomicFile.write(path, JSONValue.array(left).serialized(), mode: 0o600)
        }
    }
}
