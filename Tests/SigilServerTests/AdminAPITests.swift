import Foundation
import SigilCore
import Testing

/// The admin API: what administrators can do, what everyone else cannot, and how bad input is
/// refused (with nothing changed and a Graph-shaped error).
@Suite struct AdminAPITests {
    @Test func applicationLifecycleIsAuditedWithoutSecretValues() async throws {
        try await TestServer.with { server in
            let created = try await server.createApp("Orders API (prod)", identifierUri: "api://orders")
            #expect(created["displayName"] == "Orders API (prod)")
            #expect(created["identifierUris"] == ["api://orders"])
            #expect(created["passwordCredentials"] == [])
            let objectId = try #require(created["objectId"]?.stringValue)

            // Every reference form finds it, names and URIs percent-encoded in the path.
            for reference in [objectId, created["appId"]!.stringValue!, "Orders%20API%20(prod)", "orders%20api%20(PROD)", "api%3A%2F%2Forders"] {
                let found = try await server.admin("GET", "applications/\(reference)")
                #expect(found.status == 200, "\(reference): \(found.json)")
                #expect(found.json["objectId"]?.stringValue == objectId, "\(reference)")
            }

            let secret = try await server.addSecret(objectId)
            #expect(SigilSecretFormat.validate(secret.secret) == .success(.clientSecret))
            let shown = try await server.admin("GET", "applications/\(objectId)")
            let passwords = shown.json["passwordCredentials"]?.arrayValue ?? []
            #expect(passwords.count == 1)
            #expect(passwords.first?["hint"]?.stringValue == String(secret.secret.dropFirst(4).prefix(3)))
            #expect(passwords.first?["secretText"] == nil)
            #expect(!String(decoding: shown.body, as: UTF8.self).contains(secret.secret))

            let updated = try await server.admin("PATCH", "applications/\(objectId)", json: ["displayName": "orders", "appRoleAssignmentRequired": true])
            #expect(updated.status == 200)
            #expect(updated.json["appRoleAssignmentRequired"] == true)
            #expect(try await server.admin("DELETE", "applications/orders/passwordCredentials/\(secret.keyId)").status == 204)
            #expect(try await server.admin("DELETE", "applications/orders").status == 204)
            #expect(try await server.admin("GET", "applications/orders").status == 404)

            let audit = try await server.admin("GET", "auditLogs")
            let actions = (audit.json["value"]?.arrayValue ?? []).compactMap { $0["activityDisplayName"]?.stringValue }
            #expect(actions == [
                "application.delete", "application.passwordCredential.remove", "application.update",
                "application.passwordCredential.add", "application.create", "defaultAppManagementPolicy.allowSecrets",
            ])
            let raw = String(decoding: audit.body, as: UTF8.self)
            #expect(!raw.contains(secret.secret))
            let first = try #require(audit.json["value"]?.arrayValue?.first)
            #expect(first["initiatedBy"]?["displayName"] == "sigil-bootstrap-admin")
            #expect(first["initiatedBy"]?["ipAddress"] == "127.0.0.1")
            #expect(first["before"]?["displayName"] == "orders")
            // Filtering by target.
            let onlyThis = try await server.admin("GET", "auditLogs?appId=\(objectId)&top=2").json["value"]?.arrayValue ?? []
            #expect(onlyThis.count == 2)
        }
    }

    @Test func credentialsAreRemovedByKindOnly() async throws {
        try await TestServer.with { server in
            try await server.createApp("client")
            let key = try SigningKey.generate(for: .es256)
            let credential = try await server.addKey("client", ["type": "Jwk", "key": .object(key.publicKey.jwkMembers)])
            let keyId = try #require(credential["keyId"]?.stringValue)
            // A key credential's keyId under passwordCredentials is not found, and the key stays.
            let wrongKind = try await server.admin("DELETE", "applications/client/passwordCredentials/\(keyId)")
            #expect(wrongKind.status == 404)
            #expect(wrongKind.json["error"]?["message"]?.stringValue?.contains("no client secret") == true)
            #expect(try await server.admin("DELETE", "applications/client/keyCredentials/\(keyId)").status == 204)
        }
    }

    struct Case: Sendable {
        let name: String
        let status: Int
        let says: String
        let target: String?
        let request: @Sendable (TestServer) async throws -> TestServer.Reply
    }

    static let cases: [Case] = [
        Case(name: "no token", status: 401, says: "no bearer token", target: nil) { server in
            try await server.send("GET", "/admin/v1/applications")
        },
        Case(name: "not a bearer header", status: 401, says: "must be 'Bearer TOKEN'", target: nil) { server in
            try await server.send("GET", "/admin/v1/applications", headers: [("Authorization", "Basic abc")])
        },
        Case(name: "garbage token", status: 401, says: "malformed", target: nil) { server in
            try await server.admin("GET", "applications", token: "not-a-jwt")
        },
        Case(name: "token signed by a foreign key", status: 401, says: "not signed by a key this server publishes", target: nil) { server in
            let forged = try CompactJWS.sign(
                claims: ["tid": .string(server.tenantId), "roles": ["Administrator"], "exp": .integer(Int64(Date().timeIntervalSince1970) + 600)],
                with: try SigningKey.generate(for: .es256), kid: "forged")
            return try await server.admin("GET", "applications", token: forged)
        },
        Case(name: "token with a tampered role claim", status: 401, says: "signature is invalid", target: nil) { server in
            let token = try await server.adminToken()
            let parts = token.split(separator: ".")
            var claims = try JSONParser.parseObject(Array(Base64URL.decode(parts[1])!))
            claims["roles"] = ["Administrator", "Extra"]
            let tampered = parts[0] + "." + Base64URL.encode(Data(JSONValue.object(claims).serialized().utf8)) + "." + parts[2]
            return try await server.admin("GET", "applications", token: String(tampered))
        },
        Case(name: "token for another resource", status: 401, says: "is for another resource; request scope api://sigil-admin", target: nil) { server in
            try await server.createApp("other-api", identifierUri: "api://other")
            try await server.createApp("caller")
            let (_, secret) = try await server.addSecret("caller")
            let callerId = try await server.admin("GET", "applications/caller").json["appId"]!.stringValue!
            let token = try await server.token([("grant_type", "client_credentials"), ("client_id", callerId), ("client_secret", secret), ("scope", "api://other/.default")])
            return try await server.admin("GET", "applications", token: token.json["access_token"]?.stringValue ?? "")
        },
        Case(name: "a role without the permission", status: 403, says: "lacks the permission applications.create", target: nil) { server in
            try await server.assignRole("Security Reader", to: "caller")
            return try await server.admin("POST", "applications", json: ["displayName": "sneaky"], token: try await server.adminToken(as: "caller"))
        },
        Case(name: "an app role on the admin API", status: 400, says: "directory roles", target: nil) { server in
            try await server.admin("POST", "applications/api%3A%2F%2Fsigil-admin/appRoles", json: ["value": "Reader"])
        },
        Case(name: "bad JSON", status: 400, says: "not a valid JSON object", target: nil) { server in
            try await server.admin("POST", "applications", rawBody: Data(#"{"displayName": "x",}"#.utf8))
        },
        Case(name: "JSON array body", status: 400, says: "not a valid JSON object", target: nil) { server in
            try await server.admin("POST", "applications", rawBody: Data(#"["x"]"#.utf8))
        },
        Case(name: "wrong type", status: 400, says: "'displayName' must be a string, not a number", target: "displayName") { server in
            try await server.admin("POST", "applications", json: ["displayName": 5])
        },
        Case(name: "wrong type for a flag", status: 400, says: "must be true or false", target: "appRoleAssignmentRequired") { server in
            try await server.admin("POST", "applications", json: ["displayName": "x", "appRoleAssignmentRequired": "yes"])
        },
        Case(name: "unknown field", status: 400, says: "Unknown field 'owner'", target: "owner") { server in
            try await server.admin("POST", "applications", json: ["displayName": "x", "owner": "me"])
        },
        Case(name: "missing field", status: 400, says: "'displayName' is required", target: "displayName") { server in
            try await server.admin("POST", "applications", json: [:])
        },
        Case(name: "oversized name", status: 400, says: "at most 256", target: "displayName") { server in
            try await server.admin("POST", "applications", json: ["displayName": .string(String(repeating: "n", count: 300))])
        },
        Case(name: "control characters in a name", status: 400, says: "control characters", target: "displayName") { server in
            try await server.admin("POST", "applications", json: ["displayName": "bad\u{0}name"])
        },
        Case(name: "invalid identifier URI", status: 400, says: "must start with api://", target: "identifierUris") { server in
            try await server.admin("POST", "applications", json: ["displayName": "x", "identifierUris": ["http://insecure"]])
        },
        Case(name: "same identifier URI twice", status: 400, says: "the same URI twice", target: "identifierUris") { server in
            try await server.admin("POST", "applications", json: ["displayName": "x", "identifierUris": ["api://dup", "api://dup"]])
        },
        Case(name: "duplicate name", status: 409, says: "already exists", target: nil) { server in
            try await server.createApp("taken")
            return try await server.admin("POST", "applications", json: ["displayName": "TAKEN"])
        },
        Case(name: "duplicate identifier URI", status: 409, says: "already used by another application", target: nil) { server in
            try await server.createApp("uri-owner", identifierUri: "api://claimed")
            return try await server.admin("POST", "applications", json: ["displayName": "uri-thief", "identifierUris": ["api://claimed"]])
        },
        Case(name: "non-JSON content type", status: 400, says: "must be application/json", target: nil) { server in
            try await server.admin("POST", "applications", rawBody: Data("displayName=x".utf8), contentType: "application/x-www-form-urlencoded")
        },
        Case(name: "oversized body", status: 413, says: "larger than 65536 bytes", target: nil) { server in
            try await server.admin("POST", "applications", json: ["displayName": .string(String(repeating: "n", count: 70_000))])
        },
        Case(name: "deeply nested body", status: 400, says: "nested more than 32 levels", target: nil) { server in
            try await server.admin("POST", "applications", rawBody: Data(("{\"displayName\":" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "}").utf8))
        },
        Case(name: "unknown application", status: 404, says: "No application 'ghost'", target: nil) { server in
            try await server.admin("GET", "applications/ghost")
        },
        Case(name: "invalid PEM", status: 400, says: "not a PEM-encoded X.509 certificate", target: "key") { server in
            try await server.createApp("pem-app")
            return try await server.admin("POST", "applications/pem-app/keyCredentials", json: ["type": "AsymmetricX509Cert", "key": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"])
        },
        Case(name: "expired certificate", status: 400, says: "The certificate expired on", target: "key") { server in
            let key = try SigningKey.generate(for: .rs256)
            let expired = try Assertions.certificate(for: key, notValidAfter: Date().addingTimeInterval(-86_400), notValidBefore: Date().addingTimeInterval(-86_400 * 30))
            return try await server.admin("POST", "applications/pem-app/keyCredentials", json: ["type": "AsymmetricX509Cert", "key": .string(expired.pem)])
        },
        Case(name: "invalid JWK", status: 400, says: "only EC keys on curve P-256", target: "key") { server in
            try await server.admin("POST", "applications/pem-app/keyCredentials", json: ["type": "Jwk", "key": ["kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"]])
        },
        Case(name: "private JWK", status: 400, says: "private member 'd'", target: "key") { server in
            var members = try SigningKey.generate(for: .es256).publicKey.jwkMembers
            members["d"] = "c2VjcmV0"
            return try await server.admin("POST", "applications/pem-app/keyCredentials", json: ["type": "Jwk", "key": .object(members)])
        },
        Case(name: "JWK given as a string", status: 400, says: "must be a JSON Web Key object", target: "key") { server in
            try await server.admin("POST", "applications/pem-app/keyCredentials", json: ["type": "Jwk", "key": "{}"])
        },
        Case(name: "unknown credential type", status: 400, says: "'type' must be AsymmetricX509Cert or Jwk", target: "type") { server in
            try await server.admin("POST", "applications/pem-app/keyCredentials", json: ["type": "Symmetric", "key": "x"])
        },
        Case(name: "secret lifetime too long", status: 400, says: "at most two years", target: "lifetime") { server in
            try await server.admin("POST", "applications/pem-app/passwordCredentials", json: ["lifetime": "P5Y"])
        },
        Case(name: "secret lifetime not a duration", status: 400, says: "not an ISO-8601 duration", target: "lifetime") { server in
            try await server.admin("POST", "applications/pem-app/passwordCredentials", json: ["lifetime": "90 days"])
        },
        Case(name: "role value with a space", status: 400, says: "role value 'Orders Read'", target: "value") { server in
            try await server.admin("POST", "applications/pem-app/appRoles", json: ["value": "Orders Read"])
        },
        Case(name: "grant of a role the resource lacks", status: 404, says: "has no role 'Admin'", target: nil) { server in
            try await server.admin("POST", "appRoleAssignments", json: ["principalId": "pem-app", "resourceId": "taken", "appRoleId": "Admin"])
        },
        Case(name: "removing an unknown credential", status: 404, says: "no client secret with keyId", target: nil) { server in
            try await server.admin("DELETE", "applications/pem-app/passwordCredentials/\(UUID().uuidString)")
        },
        Case(name: "deleting the admin API", status: 403, says: "lock administrators out", target: nil) { server in
            try await server.admin("DELETE", "applications/api%3A%2F%2Fsigil-admin")
        },
        Case(name: "letting any app call the admin API", status: 403, says: "any application in the tenant could then call the admin API", target: nil) { server in
            try await server.admin("PATCH", "applications/api%3A%2F%2Fsigil-admin", json: ["appRoleAssignmentRequired": false])
        },
        Case(name: "disabling yourself", status: 403, says: "lock administrators out", target: nil) { server in
            try await server.admin("PATCH", "applications/sigil-bootstrap-admin", json: ["accountEnabled": false])
        },
        Case(name: "unknown log filter", status: 400, says: "Unknown query parameter 'user'", target: "user") { server in
            try await server.admin("GET", "signInLogs?user=x")
        },
        Case(name: "bad log result filter", status: 400, says: "result must be success or failure", target: "result") { server in
            try await server.admin("GET", "signInLogs?result=maybe")
        },
        Case(name: "bad log date", status: 400, says: "ISO-8601 date-time", target: "since") { server in
            try await server.admin("GET", "auditLogs?since=yesterday")
        },
        Case(name: "a name that looks like an identifier URI", status: 400, says: "must not look like an id or an identifier URI", target: "displayName") { server in
            try await server.admin("POST", "applications", json: ["displayName": "api://sigil-admin"])
        },
        Case(name: "a name that looks like an id", status: 400, says: "must not look like an id", target: "displayName") { server in
            try await server.admin("POST", "applications", json: ["displayName": .string(UUID().uuidString)])
        },
        Case(name: "NUL in a path", status: 400, says: "without control characters", target: nil) { server in
            try await server.admin("GET", "applications/a%00b")
        },
        Case(name: "removing your own last credential", status: 403, says: "last credential of the application you are signed in as", target: nil) { server in
            let admin = try await server.admin("GET", "applications/sigil-bootstrap-admin").json
            let keyId = admin["keyCredentials"]?.arrayValue?.first?["keyId"]?.stringValue ?? "none"
            return try await server.admin("DELETE", "applications/sigil-bootstrap-admin/keyCredentials/\(keyId)")
        },
        Case(name: "unknown admin route", status: 404, says: "There is no GET /admin/v1/widgets", target: nil) { server in
            try await server.admin("GET", "widgets")
        },
    ]

    @Test func grantsAndRolesAreRemovedAuditedAndTheLastAdministratorStays() async throws {
        try await TestServer.with { server in
            try await server.createApp("orders", identifierUri: "api://orders", roleRequired: true)
            try await server.createApp("worker")
            let (_, secret) = try await server.addSecret("worker")
            let workerId = try #require(try await server.admin("GET", "applications/worker").json["appId"]?.stringValue)
            try await server.grant("worker", "orders", role: "Orders.Read")
            let form = [("grant_type", "client_credentials"), ("client_id", workerId), ("client_secret", secret), ("scope", "api://orders/.default")]
            #expect(try await server.token(form).status == 200)

            // The role is held: it cannot be removed from under its holder.
            let held = try await server.admin("DELETE", "applications/orders/appRoles/Orders.Read")
            #expect(held.status == 409)
            #expect(held.json["error"]?["message"]?.stringValue?.contains("granted to worker") == true)

            let grants = try #require(try await server.admin("GET", "applications/worker/appRoleAssignments").json["value"]?.arrayValue)
            let grantId = try #require(grants.first?["id"]?.stringValue)
            #expect(try await server.admin("DELETE", "appRoleAssignments/\(grantId)").status == 204)
            #expect(try await server.admin("DELETE", "appRoleAssignments/\(grantId)").status == 404)
            let refused = try await server.token(form)
            #expect(refused.status == 400 || refused.status == 401 || refused.status == 403, "the role is gone: \(refused.json)")
            #expect(try await server.admin("DELETE", "applications/orders/appRoles/Orders.Read").status == 204)
            #expect(try await server.admin("GET", "applications/orders").json["appRoles"]?.arrayValue?.isEmpty == true)

            let audit = try #require(try await server.admin("GET", "auditLogs").json["value"]?.arrayValue).compactMap { $0["activityDisplayName"]?.stringValue ?? $0["action"]?.stringValue }
            #expect(audit.contains("appRoleAssignment.remove") && audit.contains("application.appRole.remove"), "\(audit)")

            // The bootstrap administrator's assignment is the only tenant-wide Administrator: it stays,
            // and its app cannot be deleted or disabled either.
            let admins = try #require(try await server.admin("GET", "roleManagement/directory/roleAssignments").json["value"]?.arrayValue)
            #expect(admins.count == 1)
            let last = try await server.admin("DELETE", "roleManagement/directory/roleAssignments/\(try #require(admins.first?["id"]?.stringValue))")
            #expect(last.status == 403)
            #expect(last.json["error"]?["message"]?.stringValue?.contains("last tenant-wide Administrator assignment") == true)
            // With a second administrator, the first may go; the second is then the last one.
            try await server.createApp("second-admin")
            let second = try await server.assignRole("Administrator", to: "second-admin")
            #expect(try await server.admin("DELETE", "applications/second-admin").status == 204)
            let remaining = try await server.admin("GET", "roleManagement/directory/roleAssignments").json["value"]?.arrayValue ?? []
            #expect(remaining.count == 1 && !remaining.contains { $0["id"]?.stringValue == second }, "deleting the app took its assignment")
            try await server.createApp("third-admin")
            let third = try await server.assignRole("Administrator", to: "third-admin")
            #expect(try await server.admin("DELETE", "roleManagement/directory/roleAssignments/\(third)").status == 204)
        }
    }

    @Test func everyBadAdminCallIsRefusedAndChangesNothing() async throws {
        try await TestServer.with { server in
            for testCase in Self.cases {
                let before = try await server.admin("GET", "applications").json
                let reply = try await testCase.request(server)
                #expect(reply.status == testCase.status, "\(testCase.name): \(reply.status) \(reply.json)")
                let error = reply.json["error"]
                #expect(error?["code"]?.stringValue?.isEmpty == false, "\(testCase.name): \(reply.json)")
                let message = error?["message"]?.stringValue ?? ""
                #expect(message.contains(testCase.says), "\(testCase.name): '\(message)' does not say '\(testCase.says)'")
                #expect(error?["target"]?.stringValue == testCase.target, "\(testCase.name)")
                if reply.status == 401 { #expect(reply.header("WWW-Authenticate")?.hasPrefix("Bearer") == true, "\(testCase.name)") }
                // Set-up calls inside a case may create apps; the refused call itself must not.
                let after = try await server.admin("GET", "applications").json
                let created = (after["value"]?.arrayValue ?? []).compactMap { $0["displayName"]?.stringValue }
                    .filter { name in !(before["value"]?.arrayValue ?? []).contains { $0["displayName"]?.stringValue == name } }
                #expect(created.allSatisfy { ["other-api", "caller", "taken", "uri-owner", "pem-app"].contains($0) }, "\(testCase.name) created \(created)")
            }
            #expect(Self.cases.count >= 35)
            // The refused non-admin call was audited as denied.
            let denied = try await server.admin("GET", "auditLogs?result=failure").json["value"]?.arrayValue ?? []
            #expect(denied.contains { $0["activityDisplayName"] == "admin.denied" && $0["initiatedBy"]?["displayName"] == "caller" })
        }
    }
}
