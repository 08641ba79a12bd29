import Crypto
import Foundation
import SigilCore
import Testing

/// Leak reports (DESIGN §5, §7): a scanner sends only SHA-256 of the secrets it found; the server
/// revokes the matching credentials, records a `leakedCredentials` detection, raises the service
/// principal's risk and audits it all. The bad-input and attack cases were written first.
@Suite struct LeakReportTests {
    static func sha256Hex(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func report(_ server: TestServer, _ hashes: [String], source: String = "sigil scan --git /srv/billing") async throws -> TestServer.Reply {
        try await server.admin("POST", "leakedCredentials", json: ["sha256": .array(hashes.map(JSONValue.string)), "source": .string(source)])
    }

    @Test func aReportedSecretIsRevokedDetectedAndAudited() async throws {
        try await TestServer.with { server in
            let world = try await World.make(server)
            let (otherKeyId, otherSecret) = try await server.addSecret("billing")
            #expect(try await server.token(world.secretForm).status == 200)
            let before = try await server.admin("GET", "applications/billing").json
            #expect(before["riskLevel"] == "none")
            #expect(before["riskState"] == "none")
            #expect(try await server.admin("GET", "riskDetections").json["value"] == [])

            let leaked = Self.sha256Hex(world.secret)
            let unknown = Self.sha256Hex(SigilSecretFormat.generate(.clientSecret))
            let reply = try await Self.report(server, [leaked, unknown])
            #expect(reply.status == 200, "\(reply.json)")
            let results = reply.json["value"]?.arrayValue ?? []
            #expect(results.count == 2)
            #expect(results.first?["sha256"]?.stringValue == leaked)
            #expect(results.first?["status"] == "revoked")
            #expect(results.first?["appId"]?.stringValue == world.clientId)
            #expect(results.first?["keyId"]?.stringValue == world.secretKeyId)
            #expect(results.first?["displayName"] == "billing")
            #expect(results.last?["sha256"]?.stringValue == unknown)
            #expect(results.last?["status"] == "notFound")
            #expect(results.last?["appId"] == nil)
            #expect(results.last?["keyId"] == nil)

            // The revoked secret no longer gets a token, and says why; the other secret still works.
            let refused = try await server.token(world.secretForm)
            #expect(refused.status == 401)
            #expect(refused.json["access_token"] == nil)
            #expect(refused.json["error"] == "invalid_client")
            #expect(refused.json["error_codes"] == [7000215])
            let description = refused.json["error_description"]?.stringValue ?? ""
            #expect(description.contains("was revoked"), "\(description)")
            #expect(description.contains("reported leaked"), "\(description)")
            #expect(description.contains("Add a new credential"), "\(description)")
            #expect(description.contains(world.secretKeyId))
            #expect(!description.contains(world.secret))
            var otherForm = world.secretForm
            otherForm[2].1 = otherSecret
            #expect(try await server.token(otherForm).status == 200)

            // A second report of the same secret changes nothing more.
            let again = try await Self.report(server, [leaked])
            #expect(again.json["value"]?.arrayValue?.first?["status"] == "alreadyRevoked")
            #expect(again.json["value"]?.arrayValue?.first?["keyId"]?.stringValue == world.secretKeyId)

            // The credential shows its revocation; the other one does not.
            let shown = try await server.admin("GET", "applications/billing").json
            let passwords = shown["passwordCredentials"]?.arrayValue ?? []
            let revoked = try #require(passwords.first { $0["keyId"]?.stringValue == world.secretKeyId })
            #expect(revoked["revokedDateTime"]?.stringValue?.isEmpty == false)
            #expect(revoked["revokedReason"]?.stringValue?.contains("sigil scan --git /srv/billing") == true)
            let kept = try #require(passwords.first { $0["keyId"]?.stringValue == otherKeyId })
            #expect(kept["revokedDateTime"] == nil)
            #expect(shown["riskLevel"] == "high")
            #expect(shown["riskState"] == "atRisk")
            let listed = try await server.admin("GET", "applications").json["value"]?.arrayValue ?? []
            #expect(listed.first { $0["displayName"] == "billing" }?["riskLevel"] == "high")
            #expect(listed.first { $0["displayName"] == "orders" }?["riskLevel"] == "none")

            // One detection, Graph's field names, nothing secret.
            let detections = try await server.admin("GET", "riskDetections?appId=\(world.clientId)")
            let detection = try #require(detections.json["value"]?.arrayValue?.first)
            #expect(detections.json["value"]?.arrayValue?.count == 1)
            #expect(detection["riskEventType"] == "leakedCredentials")
            #expect(detection["riskLevel"] == "high")
            #expect(detection["riskState"] == "atRisk")
            #expect(detection["appId"]?.stringValue == world.clientId)
            #expect(detection["servicePrincipalId"] == shown["servicePrincipalId"])
            #expect(detection["keyIds"] == [.string(world.secretKeyId)])
            #expect(detection["source"] == "sigil scan --git /srv/billing")
            #expect(detection["detectedDateTime"]?.stringValue?.isEmpty == false)
            #expect(detection["correlationId"]?.stringValue?.isEmpty == false)
            #expect(try await server.admin("GET", "riskDetections?appId=\(world.resourceAppId)").json["value"] == [])

            // Audited once, without secret material.
            let audit = try await server.admin("GET", "auditLogs?appId=\(world.clientObjectId)")
            let revocations = (audit.json["value"]?.arrayValue ?? []).filter { $0["activityDisplayName"] == "application.passwordCredential.revoke" }
            #expect(revocations.count == 1)
            #expect(revocations.first?["before"]?["keyId"]?.stringValue == world.secretKeyId)
            #expect(revocations.first?["after"]?["revokedDateTime"]?.stringValue?.isEmpty == false)
            #expect(revocations.first?["correlationId"] == detection["correlationId"])
            let raw = String(decoding: audit.body, as: UTF8.self)
            #expect(!raw.contains(world.secret))
            #expect(!raw.contains(String(world.secret.dropFirst(4).prefix(20))))

            // Dismissing the detection lowers the service principal's risk, audited.
            let id = try #require(detection["id"]?.stringValue)
            let dismissed = try await server.admin("POST", "riskDetections/\(id)/dismiss")
            #expect(dismissed.status == 200, "\(dismissed.json)")
            #expect(dismissed.json["riskState"] == "dismissed")
            let after = try await server.admin("GET", "applications/billing").json
            #expect(after["riskLevel"] == "none")
            #expect(after["riskState"] == "dismissed")
            // Dismissing restores nothing: the secret stays revoked.
            #expect(try await server.token(world.secretForm).status == 401)
            let dismissals = try await server.admin("GET", "auditLogs?appId=\(id)").json["value"]?.arrayValue ?? []
            #expect(dismissals.map { $0["activityDisplayName"] } == ["riskDetection.dismiss"])
            // Dismissing twice is harmless and writes no second event.
            #expect(try await server.admin("POST", "riskDetections/\(id)/dismiss").status == 200)
            #expect(try await server.admin("GET", "auditLogs?appId=\(id)").json["value"]?.arrayValue?.count == 1)

            // The refused sign-in is in the log with the revoked secret's keyId reason.
            let failures = try await server.admin("GET", "signInLogs?appId=\(world.clientId)&result=failure").json["value"]?.arrayValue ?? []
            #expect(failures.contains { $0["status"]?["failureReason"]?.stringValue?.contains("reported leaked") == true })
        }
    }

    @Test func duplicatesInOneReportAreAnsweredOnce() async throws {
        try await TestServer.with { server in
            try await server.createApp("worker")
            let (keyId, secret) = try await server.addSecret("worker")
            let hash = Self.sha256Hex(secret)
            let reply = try await Self.report(server, [hash, hash])
            #expect(reply.status == 200)
            #expect(reply.json["value"]?.arrayValue?.map { $0["status"] } == ["revoked"])
            #expect(reply.json["value"]?.arrayValue?.first?["keyId"]?.stringValue == keyId)
            #expect(try await server.admin("GET", "riskDetections").json["value"]?.arrayValue?.count == 1)
        }
    }

    @Test func aScanBypassIsOneAuditEvent() async throws {
        try await TestServer.with { server in
            let reply = try await server.admin("POST", "scanBypasses", json: [
                "reason": "test fixture, not a real secret", "repository": "git@example.com:team/billing.git", "ref": "refs/heads/main",
                "findings": [["rule": "sigil-client-secret", "file": "tests/fixtures/app.env", "line": 3, "fingerprint": "abc123"]],
            ])
            #expect(reply.status == 201, "\(reply.json)")
            let id = try #require(reply.json["id"]?.stringValue)
            let events = try await server.admin("GET", "auditLogs?appId=git@example.com:team/billing.git").json["value"]?.arrayValue ?? []
            #expect(events.count == 1)
            let event = try #require(events.first)
            #expect(event["id"]?.stringValue == id)
            #expect(event["activityDisplayName"] == "secretScan.bypass")
            #expect(event["targetResources"] == [["type": "repository", "id": "git@example.com:team/billing.git"]])
            #expect(event["after"]?["reason"] == "test fixture, not a real secret")
            #expect(event["after"]?["ref"] == "refs/heads/main")
            #expect(event["after"]?["findings"]?.arrayValue?.first?["line"]?.integerValue == 3)
            #expect(event["after"]?["findings"]?.arrayValue?.first?["file"] == "tests/fixtures/app.env")
        }
    }

    // MARK: Bad input and attacks: each refused with a precise error, nothing changed.

    struct Case: Sendable {
        let name: String
        let status: Int
        let says: String
        let target: String?
        let request: @Sendable (Fixture) async throws -> TestServer.Reply
    }

    /// An app with a secret, and a Security Reader's token.
    struct Fixture: Sendable {
        let server: TestServer
        let secret: String
        let hash: String
        let nonAdminToken: String

        func report(_ body: JSONValue) async throws -> TestServer.Reply {
            try await server.admin("POST", "leakedCredentials", json: body)
        }

        func bypass(_ body: JSONValue) async throws -> TestServer.Reply {
            try await server.admin("POST", "scanBypasses", json: body)
        }

        func bypass(finding: JSONValue) async throws -> TestServer.Reply {
            try await bypass(["reason": "fixture", "repository": "repo", "findings": [finding]])
        }

        static let finding: JSONValue = ["rule": "sigil-client-secret", "file": "a.env", "line": 1, "fingerprint": "f"]
    }

    static let cases: [Case] = [
        Case(name: "no token", status: 401, says: "no bearer token", target: nil) { fixture in
            try await fixture.server.send(
                "POST", "/admin/v1/leakedCredentials", body: Data(#"{"sha256":["\#(fixture.hash)"],"source":"x"}"#.utf8),
                headers: [("Content-Type", "application/json")])
        },
        Case(name: "a reader reporting a leak", status: 403, says: "lacks the permission secretScanning.report", target: nil) { fixture in
            try await fixture.server.admin("POST", "leakedCredentials", json: ["sha256": [.string(fixture.hash)], "source": "x"], token: fixture.nonAdminToken)
        },
        Case(name: "a reader dismissing a detection", status: 403, says: "lacks the permission risk.manage", target: nil) { fixture in
            try await fixture.server.admin("POST", "riskDetections/\(UUID().uuidString.lowercased())/dismiss", token: fixture.nonAdminToken)
        },
        Case(name: "a reader recording a bypass", status: 403, says: "lacks the permission secretScanning.report", target: nil) { fixture in
            try await fixture.server.admin("POST", "scanBypasses", json: ["reason": "r", "repository": "x", "findings": [Fixture.finding]], token: fixture.nonAdminToken)
        },
        Case(name: "not JSON", status: 400, says: "not a valid JSON object", target: nil) { fixture in
            try await fixture.server.admin("POST", "leakedCredentials", rawBody: Data(#"{"sha256": ["#.utf8))
        },
        Case(name: "not application/json", status: 400, says: "must be application/json", target: nil) { fixture in
            try await fixture.server.admin("POST", "leakedCredentials", rawBody: Data("sha256=\(fixture.hash)".utf8), contentType: "application/x-www-form-urlencoded")
        },
        Case(name: "unknown field", status: 400, says: "Unknown field 'secrets'", target: "secrets") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash)], "source": "x", "secrets": [.string(fixture.secret)]])
        },
        Case(name: "sha256 not an array", status: 400, says: "'sha256' must be an array of strings", target: "sha256") { fixture in
            try await fixture.report(["sha256": .string(fixture.hash), "source": "x"])
        },
        Case(name: "sha256 holding a number", status: 400, says: "'sha256' must be an array of strings", target: "sha256") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash), 5], "source": "x"])
        },
        Case(name: "sha256 missing", status: 400, says: "'sha256' is required", target: "sha256") { fixture in
            try await fixture.report(["source": "x"])
        },
        Case(name: "empty sha256", status: 400, says: "give at least one", target: "sha256") { fixture in
            try await fixture.report(["sha256": [], "source": "x"])
        },
        Case(name: "63 hex characters", status: 400, says: "sha256[1] is 63 characters", target: "sha256") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash), .string(String(fixture.hash.dropLast()))], "source": "x"])
        },
        Case(name: "65 hex characters", status: 400, says: "sha256[0] is 65 characters", target: "sha256") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash + "a")], "source": "x"])
        },
        Case(name: "uppercase hex", status: 400, says: "lowercase", target: "sha256") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash.uppercased())], "source": "x"])
        },
        Case(name: "not hex", status: 400, says: "only 0-9 and a-f", target: "sha256") { fixture in
            try await fixture.report(["sha256": [.string(String(repeating: "g", count: 64))], "source": "x"])
        },
        Case(name: "the secret itself instead of its hash", status: 400, says: "send only its SHA-256", target: "sha256") { fixture in
            try await fixture.report(["sha256": [.string(fixture.secret)], "source": "x"])
        },
        Case(name: "1,001 hashes", status: 400, says: "at most 1000 entries", target: "sha256") { fixture in
            try await fixture.report(["sha256": .array(Array(repeating: .string(fixture.hash), count: 1001)), "source": "x"])
        },
        Case(name: "source missing", status: 400, says: "'source' is required", target: "source") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash)]])
        },
        Case(name: "source too long", status: 400, says: "at most 256", target: "source") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash)], "source": .string(String(repeating: "s", count: 257))])
        },
        Case(name: "source with control characters", status: 400, says: "control characters", target: "source") { fixture in
            try await fixture.report(["sha256": [.string(fixture.hash)], "source": "repo\u{1b}[2J"])
        },
        Case(name: "unknown detection", status: 404, says: "No risk detection", target: nil) { fixture in
            try await fixture.server.admin("POST", "riskDetections/\(UUID().uuidString.lowercased())/dismiss")
        },
        Case(name: "unknown detection filter", status: 400, says: "Unknown query parameter 'level'", target: "level") { fixture in
            try await fixture.server.admin("GET", "riskDetections?level=high")
        },
        Case(name: "bypass without reason", status: 400, says: "'reason' is required", target: "reason") { fixture in
            try await fixture.bypass(["repository": "repo", "findings": [Fixture.finding]])
        },
        Case(name: "bypass with a blank reason", status: 400, says: "reason must not be empty", target: "reason") { fixture in
            try await fixture.bypass(["reason": "   ", "repository": "repo", "findings": [Fixture.finding]])
        },
        Case(name: "bypass reason too long", status: 400, says: "at most 512", target: "reason") { fixture in
            try await fixture.bypass(["reason": .string(String(repeating: "r", count: 513)), "repository": "repo", "findings": [Fixture.finding]])
        },
        Case(name: "bypass without repository", status: 400, says: "'repository' is required", target: "repository") { fixture in
            try await fixture.bypass(["reason": "r", "findings": [Fixture.finding]])
        },
        Case(name: "bypass with an unknown field", status: 400, says: "Unknown field 'secret'", target: "secret") { fixture in
            try await fixture.bypass(["reason": "r", "repository": "repo", "findings": [Fixture.finding], "secret": .string(fixture.secret)])
        },
        Case(name: "bypass findings not an array", status: 400, says: "'findings' must be an array of objects", target: "findings") { fixture in
            try await fixture.bypass(["reason": "r", "repository": "repo", "findings": Fixture.finding])
        },
        Case(name: "bypass with no findings", status: 400, says: "give at least one", target: "findings") { fixture in
            try await fixture.bypass(["reason": "r", "repository": "repo", "findings": []])
        },
        Case(name: "bypass with 1,001 findings", status: 400, says: "at most 1000", target: "findings") { fixture in
            try await fixture.bypass(["reason": "r", "repository": "repo", "findings": .array(Array(repeating: Fixture.finding, count: 1001))])
        },
        Case(name: "finding that is a string", status: 400, says: "findings[0] must be an object", target: "findings") { fixture in
            try await fixture.bypass(finding: "a.env:1")
        },
        Case(name: "finding with an unknown field", status: 400, says: "findings[0] has an unknown field 'secret'", target: "findings") { fixture in
            try await fixture.bypass(finding: ["rule": "r", "file": "a.env", "line": 1, "fingerprint": "f", "secret": .string(fixture.secret)])
        },
        Case(name: "finding without a file", status: 400, says: "findings[0].file is required", target: "findings") { fixture in
            try await fixture.bypass(finding: ["rule": "r", "line": 1, "fingerprint": "f"])
        },
        Case(name: "finding with line 0", status: 400, says: "findings[0].line must be a whole number from 1", target: "findings") { fixture in
            try await fixture.bypass(finding: ["rule": "r", "file": "a.env", "line": 0, "fingerprint": "f"])
        },
        Case(name: "finding with a fractional line", status: 400, says: "findings[0].line must be a whole number from 1", target: "findings") { fixture in
            try await fixture.bypass(finding: ["rule": "r", "file": "a.env", "line": .number(1.5), "fingerprint": "f"])
        },
    ]

    @Test func everyBadReportIsRefusedAndChangesNothing() async throws {
        try await TestServer.with { server in
            try await server.createApp("victim")
            let (_, secret) = try await server.addSecret("victim")
            let victimId = try #require(try await server.admin("GET", "applications/victim").json["appId"]?.stringValue)
            // A caller holding an admin role that may read risk but not manage it or report leaks.
            try await server.createApp("reader")
            try await server.assignRole("Security Reader", to: "reader")
            let fixture = Fixture(server: server, secret: secret, hash: Self.sha256Hex(secret), nonAdminToken: try await server.adminToken(as: "reader"))

            func snapshot() async throws -> [JSONValue] {
                [
                    try await server.admin("GET", "applications/victim").json,
                    try await server.admin("GET", "riskDetections").json,
                    try await server.admin("GET", "auditLogs?result=success").json,
                ]
            }
            let before = try await snapshot()
            for testCase in Self.cases {
                let reply = try await testCase.request(fixture)
                #expect(reply.status == testCase.status, "\(testCase.name): \(reply.status) \(reply.json)")
                let error = reply.json["error"]
                let message = error?["message"]?.stringValue ?? ""
                #expect(message.contains(testCase.says), "\(testCase.name): '\(message)' does not say '\(testCase.says)'")
                #expect(error?["target"]?.stringValue == testCase.target, "\(testCase.name): \(reply.json)")
                #expect(!String(decoding: reply.body, as: UTF8.self).contains(secret), "\(testCase.name) echoed the secret")
            }
            #expect(try await snapshot() == before)
            #expect(Self.cases.count >= 30)
            // Still not revoked: the secret works.
            let works = try await server.token([
                ("grant_type", "client_credentials"), ("client_id", victimId), ("client_secret", secret), ("scope", "\(victimId)/.default"),
            ])
            #expect(works.status == 200, "\(works.json)")
        }
    }
}
